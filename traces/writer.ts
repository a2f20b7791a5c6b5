/**
 * Writing a trace directory: frames are appended per layer (streamed to the .npy or .deltas files,
 * hashed on the way), then manifest.json is written; the directory appears under its name only when all of
 * it is complete (writeDirAtomic).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../lib/atomic.js';
import { DTYPES, encodeNpyHeader, type ActArray } from './npy.js';
import { validateManifest, ENCODING_EXT, MANIFEST_FILE, type ActSpec, type Encoding, type LayerSpec, type Manifest } from './manifest.js';
import { DeltaEncoder, encodeDeltasHeader } from './deltas.js';
import { inputCount } from './layer.js';
import type { GraphNode, TraceGraph } from './graph.js';

/** A layer as the writer takes it: act.file defaults to `<name>.npy` (`.deltas`), sha256 is computed. */
export type LayerDraft = Omit<LayerSpec, 'act' | 'sha256'> & { act: Omit<ActSpec, 'file'> & { file?: string } };

/** Everything of the manifest except what the writer fills in. */
export interface TraceHeader {
  model: Manifest['model'];
  /** Frames every layer will get (the .npy headers are written first). */
  frames: number;
  fps: number;
  clip?: Manifest['clip'];
  layers: LayerDraft[];
  /** The network's graph (traces/graph.ts): the manifest is then written as version 2. */
  graph?: TraceGraph;
  /** Encoding of layers whose draft names none (default `npy`); `deltas` is the compact one. */
  encoding?: Encoding;
  /** Text files written beside the manifest, in the same atomic replacement (e.g. drift.json): name → content. */
  files?: Record<string, string>;
}

export interface TraceWriter {
  readonly manifest: Readonly<Manifest>;
  /** Append the next frame of one layer (by index or name): a typed array of its dtype, one frame long. */
  appendFrame(layer: number | string, frame: ActArray): void;
  /** Append the next frame of every layer, in manifest order. */
  appendFrames(frames: readonly ActArray[]): void;
  /**
   * Append the next frame of `.deltas` layers as changes found by the caller (a recorder's spill): `body` is the
   * record body before deflating, the LEB128 gaps (deltas.ts putGap) of the n changed levels then the levels in the
   * layers' dtype. Several layers (of one dtype, reading one tensor) take the same record, deflated once. A layer is
   * written either this way or with appendFrame(s), not both.
   */
  appendChanges(layers: readonly number[], n: number, body: Uint8Array): void;
}

/** File name a layer gets when its draft names none. */
export function defaultActFile(layerName: string, encoding: Encoding = 'npy'): string {
  return `${layerName.replace(/[/\\]/g, '_')}${ENCODING_EXT[encoding]}`;
}

/**
 * Write a trace to `dir` (replacing it only on success). `fill` appends exactly `header.frames`
 * frames to every layer. The manifest is validated before any data is written, so a bad header
 * fails fast (InputError) and leaves nothing behind. Returns the manifest written.
 */
export async function writeTrace(dir: string, header: TraceHeader, fill: (w: TraceWriter) => void | Promise<void>): Promise<Manifest> {
  const manifest = canonicalManifest(header);
  validateManifest(manifest, join(dir, MANIFEST_FILE));
  await writeDirAtomic(dir, async (tmp) => {
    const sinks: LayerSink[] = [];
    try {
      for (const l of manifest.layers) sinks.push(new LayerSink(join(tmp, l.act.file), l, manifest.frames));
      const byName = new Map(manifest.layers.map((l, i) => [l.name, i]));
      const writer: TraceWriter = {
        manifest,
        appendFrame(layer, frame) {
          const i = typeof layer === 'number' ? layer : byName.get(layer);
          if (i === undefined || sinks[i] === undefined) throw new RangeError(`appendFrame: no layer ${JSON.stringify(layer)}`);
          sinks[i]!.append(frame);
        },
        appendFrames(frames) {
          if (frames.length !== sinks.length) throw new RangeError(`appendFrames: ${frames.length} frames for ${sinks.length} layers`);
          frames.forEach((f, i) => sinks[i]!.append(f));
        },
        appendChanges(layers, n, body) {
          const to = layers.map((i) => {
            if (sinks[i] === undefined) throw new RangeError(`appendChanges: no layer ${i}`);
            return sinks[i]!;
          });
          if (to.length === 0) return;
          const record = to[0]!.encodeChanges(n, body);
          for (const s of to) s.appendRecord(record, to[0]!.layer.act.dtype);
        },
      };
      await fill(writer);
      sinks.forEach((s, i) => {
        manifest.layers[i]!.sha256 = s.finish();
      });
    } finally {
      for (const s of sinks) s.close();
    }
    for (const [name, text] of Object.entries(header.files ?? {})) writeFileAtomic(join(tmp, name), text);
    writeFileAtomic(join(tmp, MANIFEST_FILE), formatManifest(manifest));
  });
  return manifest;
}

/** One layer's file being written: header first, then frames (.npy: as they are; .deltas: as records), hashing everything. */
class LayerSink {
  private readonly delta: DeltaEncoder | undefined;
  private fd: number | undefined;
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private pos = 0;
  private readonly elements: number;
  private readonly ctor: unknown;

  private changes = false;

  constructor(
    path: string,
    readonly layer: LayerSpec,
    private readonly frames: number,
  ) {
    this.elements = inputCount(layer);
    this.ctor = DTYPES[layer.act.dtype].make(new ArrayBuffer(0), 0, 0).constructor;
    this.fd = openSync(path, 'wx');
    const shape = [frames, ...layer.input];
    if (layer.act.encoding === 'deltas') {
      this.delta = new DeltaEncoder(layer.act.dtype, this.elements);
      this.write(encodeDeltasHeader(layer.act.dtype, shape));
    } else this.write(encodeNpyHeader(layer.act.dtype, shape));
  }

  append(frame: ActArray): void {
    const name = this.layer.name;
    if (frame.constructor !== this.ctor)
      throw new TypeError(`layer ${name}: ${frame.constructor.name} given, dtype is ${this.layer.act.dtype}`);
    if (frame.length !== this.elements) throw new RangeError(`layer ${name}: frame of ${frame.length} values, expected ${this.elements}`);
    if (this.written === this.frames) throw new RangeError(`layer ${name}: more than the ${this.frames} frames announced`);
    if (frame instanceof Float32Array && !frame.every(Number.isFinite))
      throw new RangeError(`layer ${name}: non-finite value in frame ${this.written}`);
    if (this.changes) throw new Error(`layer ${name}: appendFrame after appendChanges`);
    if (this.delta) for (const part of this.delta.encode(frame)) this.write(part);
    else this.write(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
    this.written++;
  }

  /** One frame's record from changes found by the caller (TraceWriter.appendChanges). */
  encodeChanges(n: number, body: Uint8Array): Uint8Array[] {
    const name = this.layer.name;
    if (!this.delta) throw new Error(`layer ${name}: appendChanges needs the deltas encoding, not ${this.layer.act.encoding ?? 'npy'}`);
    if (!(Number.isInteger(n) && n >= 0 && n <= this.elements))
      throw new RangeError(`layer ${name}: ${n} changes of ${this.elements} values`);
    return this.delta.encodeChanges(n, body);
  }

  /** Writes a record encodeChanges made (for this layer or another of `dtype` reading the same tensor). */
  appendRecord(record: readonly Uint8Array[], dtype: string): void {
    const name = this.layer.name;
    if (!this.delta) throw new Error(`layer ${name}: appendChanges needs the deltas encoding, not ${this.layer.act.encoding ?? 'npy'}`);
    if (dtype !== this.layer.act.dtype) throw new TypeError(`layer ${name}: changes of ${dtype} levels, dtype is ${this.layer.act.dtype}`);
    if (this.written === this.frames) throw new RangeError(`layer ${name}: more than the ${this.frames} frames announced`);
    if (this.written > 0 && !this.changes) throw new Error(`layer ${name}: appendChanges after appendFrame`);
    this.changes = true;
    for (const part of record) this.write(part);
    this.written++;
  }

  finish(): string {
    if (this.written !== this.frames)
      throw new RangeError(`layer ${this.layer.name}: ${this.written} frames written, ${this.frames} announced`);
    this.close();
    return this.hash.digest('hex');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private write(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done, bytes.length - done, this.pos + done);
    this.pos += bytes.length;
    this.hash.update(bytes);
  }
}

/** JSON with 2-space indent but arrays of numbers on one line (shapes stay readable). */
export function formatManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2).replace(/\[[\s\d.,eE+-]*\]/g, (a) => a.replace(/\s+/g, '').replace(/,/g, ', '))}\n`;
}

/** The manifest with a stable key order (same input ⇒ same bytes) and a placeholder sha256. */
function canonicalManifest(h: TraceHeader): Manifest {
  const layers = h.layers.map((l): LayerSpec => {
    const encoding = l.act.encoding ?? h.encoding ?? 'npy';
    const geometry =
      l.op === 'dense' ? {} : { kernel: l.kernel, stride: l.stride, padding: l.padding, dilation: l.dilation, groups: l.groups };
    return {
      name: l.name,
      op: l.op,
      input: [...l.input],
      output: [...l.output],
      ...geometry,
      weightBits: l.weightBits,
      weightDensity: l.weightDensity,
      act: {
        file: l.act.file ?? defaultActFile(l.name, encoding),
        dtype: l.act.dtype,
        scale: l.act.scale,
        signed: l.act.signed,
        // absent means npy: npy traces stay byte-identical to those written before encodings existed
        ...(encoding === 'npy' ? {} : { encoding }),
      },
      sha256: '0'.repeat(64),
    };
  });
  return {
    format: 'deltasim-trace',
    version: h.graph ? 2 : 1,
    model: h.model,
    frames: h.frames,
    fps: h.fps,
    ...(h.clip ? { clip: h.clip } : {}),
    layers,
    ...(h.graph ? { graph: canonicalGraph(h.graph) } : {}),
  };
}

const tensor = (t: { name: string; shape: number[] }) => ({ name: t.name, shape: [...t.shape] });

/** The graph with a stable key order. */
function canonicalGraph(g: TraceGraph): TraceGraph {
  const node = (n: GraphNode): GraphNode => ({
    name: n.name,
    op: n.op,
    ...(n.opType !== undefined ? { opType: n.opType } : {}),
    inputs: [...n.inputs],
    output: tensor(n.output),
    ...(n.kernel ? { kernel: n.kernel } : {}),
    ...(n.stride ? { stride: n.stride } : {}),
    ...(n.padding ? { padding: n.padding } : {}),
  });
  return { inputs: g.inputs.map(tensor), nodes: g.nodes.map(node), ...(g.outputs ? { outputs: [...g.outputs] } : {}) };
}
