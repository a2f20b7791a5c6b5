/**
 * Reading a trace directory: open + check everything up front (manifest, .npy / .deltas headers,
 * sizes, sha256), then stream frames with positional reads into one reused buffer per layer, so
 * memory does not grow with the number of frames (a .deltas layer: one frame of levels it updates). Reads are synchronous: simple, and fast enough that
 * the consumer, not the disk, is the bottleneck.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InputError } from '../lib/errors.js';
import { DTYPES, openNpy, readNpyHeader, typedView, type ActArray, type Dtype } from './npy.js';
import { readManifest, type Encoding, type LayerSpec, type Manifest } from './manifest.js';
import { DecodeScratch, DeltaDecoder, readDeltasHeader } from './deltas.js';
import { inputCount, layerOf, type Layer } from './layer.js';

export interface TraceLayer {
  /** Position in manifest.layers. */
  index: number;
  spec: LayerSpec;
  /** The spec as the one normalised, validated Layer (built once, when the trace is opened). */
  layer: Layer;
  /** Path of the layer's file. */
  path: string;
  /** How the file stores the levels (act.encoding). */
  encoding: Encoding;
  /** Bytes of the file. */
  fileBytes: number;
  dtype: Dtype;
  frames: number;
  /** Elements and bytes of one frame (inputCount of the layer). */
  frameElements: number;
  frameBytes: number;
  /** Byte offset of frame 0 (its record in a .deltas file). */
  dataOffset: number;
  /** .deltas: the largest compressed record (the read buffer); 0 for .npy. */
  maxRecord: number;
  /** .deltas: the file's format version (1: new levels, 2: their differences); 0 for .npy. */
  deltasVersion: 0 | 1 | 2;
}

export interface Trace {
  dir: string;
  manifest: Manifest;
  layers: TraceLayer[];
}

export interface OpenTraceOptions {
  /** Check each file's sha256 against the manifest (default true; streamed). */
  verify?: boolean;
}

export interface ReadFramesOptions {
  /** First frame (default 0). */
  from?: number;
  /** One past the last frame (default all). */
  to?: number;
  /** Read-buffer size; whole frames are read per call (default 1 MiB and at most 64 frames, at least one frame). */
  chunkBytes?: number;
}

const DEFAULT_CHUNK = 1 << 20;
// Small layers need no megabyte of buffer: a read of 64 frames already amortises the call.
const DEFAULT_CHUNK_FRAMES = 64;

/** Open a trace directory and check manifest, headers, sizes and (unless told not to) checksums. */
export function openTrace(dir: string, options: OpenTraceOptions = {}): Trace {
  const manifest = readManifest(dir);
  const layers = manifest.layers.map((spec, index): TraceLayer => {
    const path = join(dir, spec.act.file);
    const fd = openNpy(path);
    try {
      const encoding = spec.act.encoding ?? 'npy';
      const fileBytes = fstatSync(fd).size;
      const h =
        encoding === 'deltas' ? readDeltasHeader(fd, path, fileBytes) : { ...readNpyHeader(fd, path), maxRecord: 0, version: 0 as const };
      const where = `manifest /layers/${index}`;
      if (h.dtype !== spec.act.dtype) {
        throw new InputError(`dtype ${h.dtype} disagrees with ${where}/act/dtype = ${spec.act.dtype}`, { file: path, offset: 0 });
      }
      const want = [manifest.frames, ...spec.input];
      if (want.length !== h.shape.length || want.some((n, i) => n !== h.shape[i])) {
        throw new InputError(`shape (${h.shape.join(', ')}) disagrees with ${where}: [frames, ...input] = (${want.join(', ')})`, {
          file: path,
          offset: 0,
        });
      }
      const layer = layerOf(spec);
      const elements = inputCount(layer);
      return {
        index,
        spec,
        layer,
        path,
        encoding,
        fileBytes,
        dtype: h.dtype,
        frames: manifest.frames,
        frameElements: elements,
        frameBytes: elements * DTYPES[h.dtype].bytes,
        dataOffset: h.dataOffset,
        maxRecord: h.maxRecord,
        deltasVersion: h.version,
      };
    } finally {
      closeSync(fd);
    }
  });
  if (options.verify ?? true) {
    for (const l of layers) {
      const actual = sha256File(l.path);
      if (actual !== l.spec.sha256) {
        throw new InputError(`sha256 mismatch: manifest /layers/${l.index}/sha256 says ${l.spec.sha256}, file has ${actual}`, {
          file: l.path,
        });
      }
    }
  }
  return { dir, manifest, layers };
}

/** sha256 (hex) of a file, streamed in 1 MiB reads. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(DEFAULT_CHUNK);
  const fd = openNpy(path);
  try {
    for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Frames of one layer, in order. Each yielded array is a view into a reused buffer: it is valid
 * until the next step (copy it to keep it). float32 frames are checked for NaN / ±Infinity.
 * A .deltas layer is decoded from frame 0 whatever `from` is (frames before it are not yielded).
 */
export function* readFrames(layer: TraceLayer, options: ReadFramesOptions = {}): Generator<ActArray, void, undefined> {
  const from = options.from ?? 0;
  const to = options.to ?? layer.frames;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= layer.frames)) {
    throw new RangeError(`readFrames: frames [${from}, ${to}) outside [0, ${layer.frames})`);
  }
  if (layer.encoding === 'deltas') {
    yield* readDeltaFrames(layer, from, to);
    return;
  }
  const perChunk = Math.max(
    1,
    options.chunkBytes !== undefined
      ? Math.floor(options.chunkBytes / layer.frameBytes)
      : Math.min(DEFAULT_CHUNK_FRAMES, Math.floor(DEFAULT_CHUNK / layer.frameBytes)),
  );
  const buf = new ArrayBuffer(Math.min(perChunk, Math.max(1, to - from)) * layer.frameBytes);
  const bytes = new Uint8Array(buf);
  const fd = openNpy(layer.path);
  try {
    for (let t = from; t < to; ) {
      const n = Math.min(perChunk, to - t);
      readExactly(fd, bytes, n * layer.frameBytes, layer.dataOffset + t * layer.frameBytes, layer.path);
      for (let k = 0; k < n; k++, t++) {
        const frame = typedView(layer.dtype, buf, k * layer.frameBytes, layer.frameElements);
        if (layer.dtype === 'float32') checkFinite(frame as Float32Array, layer, t);
        yield frame;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** One frame, read into `out` when given (same dtype and length) or a fresh array. */
export function readFrame(layer: TraceLayer, t: number, out?: ActArray): ActArray {
  if (!(Number.isInteger(t) && t >= 0 && t < layer.frames)) throw new RangeError(`readFrame: frame ${t} outside [0, ${layer.frames})`);
  const dst = out ?? typedView(layer.dtype, new ArrayBuffer(layer.frameBytes), 0, layer.frameElements);
  if (dst.length !== layer.frameElements || dst.BYTES_PER_ELEMENT !== DTYPES[layer.dtype].bytes) {
    throw new RangeError(
      `readFrame: out has ${dst.length} × ${dst.BYTES_PER_ELEMENT} bytes, frame is ${layer.frameElements} × ${layer.dtype}`,
    );
  }
  if (layer.encoding === 'deltas') {
    for (const f of readDeltaFrames(layer, t, t + 1)) dst.set(f as never);
    return dst;
  }
  const fd = openNpy(layer.path);
  try {
    readExactly(
      fd,
      new Uint8Array(dst.buffer, dst.byteOffset, layer.frameBytes),
      layer.frameBytes,
      layer.dataOffset + t * layer.frameBytes,
      layer.path,
    );
  } finally {
    closeSync(fd);
  }
  if (layer.dtype === 'float32') checkFinite(dst as Float32Array, layer, t);
  return dst;
}

/**
 * All layers frame by frame: step t yields one view per layer (same order as trace.layers), each
 * valid until the next step. This is how engines walk a trace.
 */
export function* frameReader(trace: Trace, options: ReadFramesOptions = {}): Generator<ActArray[], void, undefined> {
  const frames: ActArray[] = new Array(trace.layers.length);
  for (const [i, frame] of layerSteps(trace.layers.map((l) => readFrames(l, options)))) {
    frames[i] = frame;
    if (i === frames.length - 1) yield frames;
  }
}

/** Steps the layers' frame generators in turn, frame by frame: [layer index, its frame]; ends when any ends. */
function* layerSteps(its: Generator<ActArray, void, undefined>[]): Generator<[number, ActArray], void, undefined> {
  try {
    if (its.length === 0) return;
    for (;;)
      for (let i = 0; i < its.length; i++) {
        const r = its[i]!.next();
        if (r.done) return;
        yield [i, r.value];
      }
  } finally {
    for (const it of its) it.return(undefined);
  }
}

/** A whole layer in memory, shape [frames, ...input] flattened (small traces and tests only). */
export function readLayer(layer: TraceLayer): ActArray {
  const all = typedView(layer.dtype, new ArrayBuffer(layer.frames * layer.frameBytes), 0, layer.frames * layer.frameElements);
  let t = 0;
  for (const f of readFrames(layer)) all.set(f as never, t++ * layer.frameElements);
  return all;
}

function* readDeltaFrames(
  layer: TraceLayer,
  from: number,
  to: number,
  changes?: FrameChanges,
  scratch?: DecodeScratch,
): Generator<ActArray, void, undefined> {
  const fd = openNpy(layer.path);
  try {
    const d = new DeltaDecoder(
      fd,
      layer.path,
      layer.dtype,
      layer.frameElements,
      layer.dataOffset,
      layer.maxRecord,
      layer.deltasVersion || 2,
      scratch,
    );
    d.collect = changes !== undefined;
    for (let t = 0; t < to; t++) {
      const frame = d.next();
      if (changes) {
        changes.changed = t > 0 ? d.changed.subarray(0, d.count) : null;
        changes.previous = t > 0 ? d.previous.subarray(0, d.count) : null;
      }
      if (t >= from) yield frame;
    }
  } finally {
    closeSync(fd);
  }
}

/** Where a layer's last yielded frame differs from the one before it (a .deltas layer, after frame 0), else null. */
export interface FrameChanges {
  changed: Uint32Array | null;
  /** The levels the changed elements held in the frame before (previous[k] at changed[k]), in the layer's dtype. */
  previous: ActArray | null;
}

/**
 * Every layer's frame, with where it changed since the frame before, one layer at a time: frame 0's layers in order,
 * then frame 1's, …. A .deltas file stores exactly the changes, so a consumer can work by them instead of comparing
 * whole frames. `changes` is null for .npy layers and for frame 0. Each item is valid only until the next: the
 * .deltas layers decode through one DecodeScratch (the largest layer's buffers, not the sum over layers), and
 * `changes.previous` lives there; the frame and `changes.changed` stay until the same layer's next frame.
 */
export function* layerFramesWithChanges(
  trace: Trace,
  options: ReadFramesOptions = {},
): Generator<{ layer: number; frame: ActArray; changes: FrameChanges }, void, undefined> {
  const scratch = new DecodeScratch();
  const changes = trace.layers.map((): FrameChanges => ({ changed: null, previous: null }));
  const its = trace.layers.map((l, i) =>
    l.encoding === 'deltas' ? readDeltaFrames(l, options.from ?? 0, options.to ?? l.frames, changes[i], scratch) : readFrames(l, options),
  );
  for (const [layer, frame] of layerSteps(its)) yield { layer, frame, changes: changes[layer]! };
}

function readExactly(fd: number, dst: Uint8Array, length: number, position: number, file: string): void {
  for (let done = 0; done < length; ) {
    const n = readSync(fd, dst, done, length - done, position + done);
    if (n === 0)
      throw new InputError(`truncated .npy data (file shrank while reading): expected ${length - done} more bytes`, {
        file,
        offset: position + done,
      });
    done += n;
  }
}

function checkFinite(frame: Float32Array, layer: TraceLayer, t: number): void {
  for (let i = 0; i < frame.length; i++) {
    if (!Number.isFinite(frame[i]!)) {
      throw new InputError(`non-finite value ${frame[i]} in frame ${t}, element ${i}`, {
        file: layer.path,
        offset: layer.dataOffset + (t * layer.frameElements + i) * 4,
      });
    }
  }
}
