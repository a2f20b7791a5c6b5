/** How much disk a trace's layer files take, by encoding, against the same levels as dense .npy files. */
import { DTYPES, encodeNpyHeader } from './npy.js';
import type { Encoding } from './manifest.js';
import type { Trace } from './reader.js';

export interface TraceStorage {
  /** Number of layer files per encoding. */
  layersByEncoding: Partial<Record<Encoding, number>>;
  /** Bytes of all layer files. */
  fileBytes: number;
  /** Bytes the same layers take as .npy (header + T × frame). */
  npyBytes: number;
}

export function storageOf(trace: Trace): TraceStorage {
  const s: TraceStorage = { layersByEncoding: {}, fileBytes: 0, npyBytes: 0 };
  for (const l of trace.layers) {
    s.layersByEncoding[l.encoding] = (s.layersByEncoding[l.encoding] ?? 0) + 1;
    s.fileBytes += l.fileBytes;
    s.npyBytes += encodeNpyHeader(l.dtype, [l.frames, ...l.spec.input]).length + l.frames * l.frameElements * DTYPES[l.dtype].bytes;
  }
  return s;
}
