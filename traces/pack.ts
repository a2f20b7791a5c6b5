/**
 * Re-encode a trace (npy ⇄ deltas): the same manifest and levels, other layer files. Streams
 * frame by frame through the reader and writer, so memory stays flat in T.
 */
import type { Encoding } from './manifest.js';
import { frameReader, openTrace, type OpenTraceOptions } from './reader.js';
import { writeTrace, type LayerDraft } from './writer.js';

/** Write `inDir`'s trace to `outDir` with every layer in `encoding`; returns the manifest written. */
export async function packTrace(inDir: string, outDir: string, encoding: Encoding, options: OpenTraceOptions = {}) {
  const trace = openTrace(inDir, options);
  const m = trace.manifest;
  const layers = m.layers.map((l): LayerDraft => {
    const { sha256: _, act, ...rest } = l;
    return { ...rest, act: { dtype: act.dtype, scale: act.scale, signed: act.signed, encoding } };
  });
  const header = {
    model: m.model,
    frames: m.frames,
    fps: m.fps,
    ...(m.clip ? { clip: m.clip } : {}),
    layers,
    ...(m.graph ? { graph: m.graph } : {}),
  };
  return await writeTrace(outDir, header, (w) => {
    for (const frames of frameReader(trace)) w.appendFrames(frames);
  });
}
