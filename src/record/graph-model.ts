/**
 * Recording a trace from a pretrained tfjs GRAPH model, DeltaCNN-style: no retraining, a delta
 * threshold applied to the activations the float network computes.
 *
 * Each MAC node (Conv2D / _FusedConv2D, (Fused)DepthwiseConv2dNative, MatMul / _FusedMatMul with
 * a constant weight) becomes a trace layer; per frame its INPUT tensor is fetched from the graph
 * and stored as integer levels, level = round(value / q), value ≈ level · q within q/2:
 *   - q = `threshold` for every activation, so a change below about q is a zero delta (the
 *     quantiser of the paper's Delta Activation Layer, round(x/q)·q, applied post hoc);
 *   - a layer fed by the image alone (through preprocessing, no MAC upstream) is stored at the
 *     input's own step, one 8-bit pixel level (probed on the graph, e.g. 1/255 for [-1, 1]
 *     inputs), so it is exact and its deltas are the camera's.
 * Integer levels rather than float32 + a simulation-time threshold: the trace is self-contained
 * and compact (uint8 / int8 / int16, the narrowest that holds the levels), the simulator's integer
 * semantics (a level that differs is a delta) apply unchanged, and the functional delta executor
 * can replay it. Levels beyond int16 are clamped (counted in model.clampedLevels).
 *
 * With `drift` the recording is CLOSED LOOP instead (drift/closed-loop.ts): each MAC layer reads the
 * levels computed from the quantised layers before it, dense inference runs on the same frames, and
 * drift.json says how far the outputs moved (drift/metrics.ts); `drift.search` first picks per-layer
 * thresholds for a drift budget (drift/threshold-search.ts).
 *
 * Limits: without `drift`, quantisation is applied to the recording only, open loop: each layer sees the float
 * network's activations, not the quantised output of the layer before (true delta inference
 * would feed quantised activations forward; the difference is within q per layer). A transposed
 * convolution (Conv2DBackpropInput) is recorded in its GEMM view (graph/topology.ts); other MAC-like
 * ops (Conv3D, Einsum) are not recognised.
 */
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import type { Encoding, Manifest } from '../../traces/manifest.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import { initBackend, tf } from '../tf/backend.js';
import type { Clip } from '../video/types.js';
import type { FrameSource } from './sources.js';
import { frameToInput, modelInput, uniformInput, type ModelInput } from './graph/input.js';
import { loadGraphModel, readGraphModelJson, resolveModelFile } from './graph/load.js';
import { LevelSpill, writeSpills } from './graph/spill.js';
import { makeTempDir } from './temp-dir.js';
import { findMacNodes, layerGeometryFor, nodeOf, type GraphModelJson, type MacNode, type NodeGeometry } from './graph/topology.js';
import { computedTensors, networkGraphOf, tensorOf } from './graph/network.js';
import type { TraceGraph } from '../../traces/graph.js';
import { checkKnobs, knobModelKeys, thresholdSpecFor, type RecorderKnobs } from './knobs.js';
import { calibrate, calibrationHead, resolveThresholds } from './thresholds.js';
import { UpdateMask } from './update-mask.js';
import { graphClosedLoop, type ClosedLoopNet } from './drift/closed-loop.js';
import { DriftAccumulator } from './drift/metrics.js';
import { driftOutputs, macsPerElement, perLayerOf, searchOnHead, type DriftOptions } from './drift/recording.js';

/** Frames from anywhere (e.g. `decodeFrames` of src/video/ffmpeg.ts): H·W·C values in [0, 1], [y][x][c]. */
export interface FrameStream {
  h: number;
  w: number;
  c: number;
  frames: Iterable<Float32Array> | AsyncIterable<Float32Array>;
  /** For the manifest's clip.source. */
  source: string;
  firstFrame?: number;
  /** More manifest clip keys (e.g. a video's nativeFps, duplicatedFrames), read after the last frame. */
  clipInfo?: Record<string, unknown>;
}

/** A frame source (sources.ts) as a recorder's frame stream: its frames, and its clip keys for the manifest. */
export function frameStreamOf(source: FrameSource): FrameStream {
  const [h, w, c] = source.frameShape;
  return { h, w, c, frames: source.read(), source: source.clip.source, firstFrame: source.clip.firstFrame, clipInfo: source.clip };
}

/** A graph model's input frames: a whole decoded clip, or a stream of frames. */
export type GraphFrames = Clip | FrameStream;

/** What every pretrained-model recorder (graph, Keras, ONNX) takes besides its model and threshold. */
export interface RecordFramesOptions {
  frames: GraphFrames;
  /** Record at most this many frames (default: all). */
  maxFrames?: number;
  /** Trace directory to write (replaced atomically). */
  out: string;
  /** Frame rate written to the manifest (default 15). */
  fps?: number;
  /** Model input values of pixel levels 0 and 255 (default: the recorder's, from the model's source or input type). */
  inputRange?: [number, number];
  /** manifest model.name (default: from the model's reference: `human:NAME`, `nsfwjs:NAME`, or the file's / folder's name). */
  name?: string;
  /** Weight precision written to the manifest (default: the weights' storage format, e.g. 16 for float16, 8 for uint8). */
  weightBits?: number;
  /** Layer file encoding (traces/README.md; default npy). */
  encoding?: Encoding;
}

/** inputRange defaults to the known model table, else [0, 255] for int32 inputs, [0, 1] for float ones. */
export interface RecordGraphModelOptions extends RecorderKnobs, RecordFramesOptions {
  /** Path of a graph model.json (weights beside it), or `human:NAME` (@vladmandic/human's models/NAME.json). */
  model: string;
  /** Delta threshold q > 0: activations are stored as levels round(a / q) (unless `thresholds` says otherwise). */
  threshold?: number;
  /** [H, W] for a graph input of free height and width (frames are resized to it). */
  inputSize?: [number, number];
  /** Record closed loop and measure the output drift against dense inference (drift.json). */
  drift?: DriftOptions;
}

/** One fetched tensor: every MAC node reading it becomes a layer sharing its levels. */
interface Recorded {
  step: number | number[];
  spill?: LevelSpill;
  mask?: UpdateMask;
}

export async function recordGraphModelTrace(opts: RecordGraphModelOptions): Promise<Manifest> {
  thresholdSpecFor(opts.threshold, opts);
  checkKnobs(opts);
  if (opts.maxFrames !== undefined && !(Number.isInteger(opts.maxFrames) && opts.maxFrames > 0)) {
    throw new InputError(`maxFrames must be a positive integer (got ${opts.maxFrames})`);
  }
  const backend = await initBackend();
  const file = resolveModelFile(opts.model);
  const json = readGraphModelJson(file);
  const macs = findMacNodes(json, file);
  if (macs.length === 0) throw new InputError('the graph has no MAC nodes (Conv2D, DepthwiseConv2dNative, MatMul with weights)', { file });
  const { model } = await loadGraphModel(file, json);
  const spillDir = makeTempDir('deltasim-graph-'); // removed on Ctrl-C / SIGTERM too
  const recorded = new Map<string, Recorded>();
  try {
    return await record(opts, { file, json, backend, model, macs }, recorded, spillDir.path);
  } finally {
    for (const r of recorded.values()) r.spill?.close();
    spillDir.remove();
    model.dispose();
  }
}

interface Loaded {
  file: string;
  json: GraphModelJson;
  backend: string;
  model: tf.GraphModel;
  macs: MacNode[];
}

async function record(
  opts: RecordGraphModelOptions,
  { file, json, backend, model, macs }: Loaded,
  recorded: Map<string, Recorded>,
  spillDir: string,
): Promise<Manifest> {
  const spec = thresholdSpecFor(opts.threshold, opts);
  const input = modelInput(model, file, opts.inputRange, opts.inputSize);

  // Unique tensors to fetch (several MAC nodes may read one), then the MAC outputs for the shape check.
  for (const m of macs) if (!recorded.has(m.input)) recorded.set(m.input, { step: 0 });
  const tensors = [...recorded.keys()];
  const fetch = [...tensors, ...macs.map((m) => m.node)];
  const run = (x: tf.Tensor): tf.Tensor[] => {
    try {
      const r = model.execute({ [input.name]: x }, fetch);
      return Array.isArray(r) ? r : [r]; // one name fetched: one tensor, not a list
    } catch (e) {
      throw cannotRun(e, input, file);
    }
  };

  const imageSteps = probeInputSteps(macs, input, run, tensors);
  const names = layerNames(macs.map((m) => m.node));
  let graph: TraceGraph;
  try {
    graph = graphOf(model, json, input, macs, names);
  } catch (e) {
    throw e instanceof InputError ? e : cannotRun(e, input, file);
  }

  // Relative thresholds: each tensor's range over the first frames (run twice: calibration, then recording).
  const cal = await calibrate(framesOf(opts.frames, opts.maxFrames), spec, async (f, add) => {
    const x = frameToInput(f, opts.frames, input);
    const outs = run(x);
    try {
      for (let i = 0; i < tensors.length; i++) add(tensors[i]!, await outs[i]!.data());
    } finally {
      tf.dispose([x, ...outs]);
    }
  });
  let stream = cal.stream;
  let resolved = resolveThresholds(
    cal.spec,
    macs.map((m, i) => ({ name: names[i]!, tensor: m.input })),
    imageSteps,
    cal.ranges,
  );
  for (const [tensor, step] of resolved.steps) recorded.get(tensor)!.step = step;

  let geometry: NodeGeometry[] | undefined;
  // Closed loop: geometry first (one open-loop run), then the threshold search on the first frames, if asked.
  let loop: { net: ClosedLoopNet; acc: DriftAccumulator } | undefined;
  let search: Parameters<typeof driftOutputs>[1];
  if (opts.drift) {
    if (opts.updateMask && opts.drift.search)
      throw new InputError('--drift-budget: the threshold search runs without an update mask; drop --update-tile / --mask-dilation');
    const { head, all } = await calibrationHead(stream, opts.drift.search?.frames ?? 1);
    stream = all;
    if (head.length === 0) throw new InputError('no frames to record');
    const x0 = frameToInput(head[0]!, opts.frames, input);
    const outs0 = run(x0);
    try {
      geometry = shapesFromFirstFrame(macs, outs0, tensors, recorded, spillDir, opts.encoding);
    } finally {
      tf.dispose([x0, ...outs0]);
    }
    const net = graphClosedLoop(model, json, input.name, tensors);
    const frameSize = { h: opts.frames.h, w: opts.frames.w };
    const modelLabel = opts.name ?? modelName(opts.model, file);
    if (opts.drift.search) {
      const geo = geometry;
      const layerRefs = macs.map((m, i) => ({ name: names[i]!, tensor: m.input }));
      const costs = macsPerElement(
        macs.map((m, i) => ({ tensor: m.input, layer: { name: names[i]!, ...geo[i]!, weightBits: 8, weightDensity: 1 } })),
      );
      const searchable = tensors.filter((t) => !imageSteps.has(t));
      const result = searchOnHead(net, head, (f) => frameToInput(f, opts.frames, input), resolved.steps, searchable, costs, {
        drift: opts.drift,
        model: modelLabel,
        frame: frameSize,
        keyFrameEvery: opts.keyFrameEvery,
      });
      const perLayer = perLayerOf(result, searchable, layerRefs);
      resolved = resolveThresholds({ mode: 'per-layer', perLayer }, layerRefs, imageSteps);
      for (const [tensor, step] of resolved.steps) recorded.get(tensor)!.step = step;
      search = { result, perLayer, options: { ...opts.drift.search, frames: head.length } };
    }
    loop = {
      net,
      acc: new DriftAccumulator({ task: opts.drift.task, model: modelLabel, frame: frameSize, keyFrameEvery: opts.keyFrameEvery }),
    };
  }
  let frames = 0;
  for await (const frame of stream) {
    const x = frameToInput(frame, opts.frames, input);
    if (loop) {
      try {
        const dense = loop.net.dense(x);
        const out = loop.net.closedLoop(x, (t, values) => {
          const r = recorded.get(t)!;
          if (opts.updateMask)
            r.mask ??= new UpdateMask(shapeOf(geometry!, macs, t), { ...opts.updateMask, keyFrameEvery: opts.keyFrameEvery });
          r.spill!.append(values, r.step, r.mask);
          return r.spill!.dequantised(r.step);
        });
        loop.acc.add(out, dense);
      } finally {
        x.dispose();
      }
      frames++;
      continue;
    }
    const outs = run(x);
    try {
      geometry ??= shapesFromFirstFrame(macs, outs, tensors, recorded, spillDir, opts.encoding);
      for (let i = 0; i < tensors.length; i++) {
        const r = recorded.get(tensors[i]!)!;
        if (opts.updateMask) r.mask ??= new UpdateMask(outs[i]!.shape.slice(1), { ...opts.updateMask, keyFrameEvery: opts.keyFrameEvery });
        r.spill!.append(heapView(outs[i]!) ?? (await outs[i]!.data()), r.step, r.mask);
      }
    } finally {
      tf.dispose([x, ...outs]);
    }
    frames++;
  }
  if (frames === 0 || !geometry) throw new InputError('no frames to record');
  const geo = geometry;

  const layers: LayerDraft[] = macs.map((m, i) => {
    const r = recorded.get(m.input)!;
    const spill = r.spill!;
    return {
      name: names[i]!,
      ...geo[i]!,
      weightBits: opts.weightBits ?? m.weightBits,
      weightDensity: weightDensity(model, m.weight),
      act: { dtype: spill.dtype(), scale: r.step, signed: spill.min < 0 },
    };
  });
  const spills = macs.map((m) => recorded.get(m.input)!.spill!);
  const clamped = [...recorded.values()].reduce((s, r) => s + r.spill!.clamped, 0);
  const drift = loop ? driftOutputs(loop.acc, search) : undefined;
  const header = {
    model: {
      name: opts.name ?? modelName(opts.model, file),
      source: opts.model,
      recorder: 'graph-model',
      backend,
      ...knobModelKeys(resolved, opts),
      inputRange: input.range,
      clampedLevels: clamped,
      ...drift?.modelKey,
    },
    frames,
    fps: opts.fps ?? 15,
    clip: { ...(opts.frames as FrameStream).clipInfo, source: opts.frames.source, firstFrame: opts.frames.firstFrame ?? 0 },
    layers,
    graph,
    encoding: opts.encoding,
    files: drift?.files,
  };
  return await writeTrace(opts.out, header, (w) => writeSpills(w, spills));
}

/**
 * A tensor's values where the wasm backend keeps them, without the copy `data()` makes (on centernet, 37 M values a
 * frame: 0.1–0.2 CPU s of copying and the garbage it leaves); undefined on other backends. The view is read at once,
 * before any other tfjs call (one could grow the wasm memory, which detaches it: then it is empty and the spill's
 * length check fails loudly, not silently).
 */
function heapView(t: tf.Tensor): ArrayLike<number> | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array | Int32Array | Uint8Array };
  return typeof b.typedArrayFromHeap === 'function' && (t.dtype === 'float32' || t.dtype === 'int32') ? b.typedArrayFromHeap(t) : undefined;
}

/** The network graph, its shapes from one execution on a uniform image (shapes do not depend on the pixels). */
function graphOf(model: tf.GraphModel, json: GraphModelJson, input: ModelInput, macs: MacNode[], names: string[]): TraceGraph {
  const tensors = computedTensors(json, input.name);
  const x = uniformInput(0, input);
  // tfjs names output 0 of a node by the node's name
  const r = model.execute(
    { [input.name]: x },
    tensors.map((t) => t.replace(/:0$/, '')),
  );
  const outs = Array.isArray(r) ? r : [r];
  const shapes = new Map<string, readonly number[]>(tensors.map((t, i) => [t, outs[i]!.shape]));
  shapes.set(tensorOf(nodeOf(input.name)), [1, input.h, input.w, input.c]);
  tf.dispose([x, ...outs]);
  return networkGraphOf(json, input.name, macs, names, shapes);
}

/** An execution failure, e.g. an --input-size the network's strides or reshapes do not fit. */
function cannotRun(e: unknown, input: ModelInput, file: string): InputError {
  const why = e instanceof Error ? e.message : String(e);
  return new InputError(`the graph cannot run on a ${input.h}×${input.w}×${input.c} input (${why})`, { file });
}

export async function* framesOf(src: GraphFrames, max = Infinity): AsyncGenerator<Float32Array> {
  if (!(src.h > 0 && src.w > 0 && src.c > 0)) throw new InputError(`bad frame shape ${src.h}×${src.w}×${src.c}`);
  const n = src.h * src.w * src.c;
  let count = 0;
  if (src.frames instanceof Float32Array) {
    const clip = src as Clip;
    for (let t = 0; t < clip.t && count < max; t++, count++) yield clip.frames.subarray(t * n, (t + 1) * n);
    return;
  }
  for await (const f of src.frames) {
    if (count >= max) return;
    if (f.length !== n) throw new InputError(`frame ${count} has ${f.length} values, expected ${src.h}×${src.w}×${src.c}`);
    yield f;
    count++;
  }
}

/**
 * Steps of the tensors fed by the image alone (shared with the Keras recorder): one pixel level's change, per channel, found by
 * running two uniform images (levels 0 and 1), read at the centre pixel. The level grid must also hold the offset (the value
 * at pixel 0, e.g. −1 for [−1, 1] inputs), so the step is divided by the smallest m ≤ 4 that
 * makes offset / step an integer (e.g. 2/255 → 1/255); otherwise the offset is rounded.
 */
export function probeInputSteps(
  macs: readonly Pick<MacNode, 'fromGraphInput' | 'op' | 'input'>[],
  input: ModelInput,
  run: (x: tf.Tensor) => tf.Tensor[],
  tensors: string[],
): Map<string, number | number[]> {
  const targets = [...new Set(macs.filter((m) => m.fromGraphInput && m.op !== 'dense').map((m) => m.input))];
  const steps = new Map<string, number | number[]>();
  if (targets.length === 0) return steps;
  const [v0, v1] = [0, 1].map((level) => {
    const x = uniformInput(level, input);
    const outs = run(x);
    const values = targets.map((t) => {
      const o = outs[tensors.indexOf(t)]!;
      // The centre pixel: a corner may be zero padding (ZeroPadding2D before a strided conv).
      const [, H = 1, W = 1, C = o.shape[o.shape.length - 1]!] = o.shape.length === 4 ? o.shape : [];
      const at = (Math.floor(H / 2) * W + Math.floor(W / 2)) * C;
      return Array.from(o.dataSync().subarray(at, at + C));
    });
    tf.dispose([x, ...outs]);
    return values;
  });
  targets.forEach((t, i) => {
    const s = inputStep(v0![i]!, v1![i]!);
    if (s !== undefined) steps.set(t, s);
  });
  return steps;
}

/**
 * The step of a tensor fed by the image alone, from its per-channel values at pixel levels 0 (`v0`)
 * and 1 (`v1`): see probeInputSteps. Undefined when it is not an increasing linear function of the
 * pixels (the tensor keeps q). Shared with the ONNX recorder.
 */
export function inputStep(v0: readonly number[], v1: readonly number[]): number | number[] | undefined {
  const per = v0.map((b, c) => {
    const a = v1[c]! - b;
    if (!(a > 0 && Number.isFinite(a))) return undefined;
    const m = [1, 2, 3, 4].find((k) => nearInteger((b * k) / a)) ?? 1;
    // Values come from float32 arithmetic: snap 1/N steps (1/255) to the exact fraction.
    return nearInteger(m / a) ? 1 / Math.round(m / a) : a / m;
  });
  if (per.some((s) => s === undefined)) return undefined;
  const s = per as number[];
  return s.every((v) => Math.abs(v - s[0]!) <= 1e-6 * s[0]!) ? s[0]! : s;
}

/** Within float32 noise of an integer (relative 1e-4). */
function nearInteger(x: number): boolean {
  return Math.abs(x - Math.round(x)) <= 1e-4 * Math.max(1, Math.abs(x));
}

/** Layer geometry from the first frame's tensors; opens the spill files (sizes are known now). */
function shapesFromFirstFrame(
  macs: MacNode[],
  outs: tf.Tensor[],
  tensors: string[],
  recorded: Map<string, Recorded>,
  spillDir: string,
  encoding: Encoding | undefined,
): NodeGeometry[] {
  tensors.forEach((t, i) => {
    recorded.get(t)!.spill = new LevelSpill(join(spillDir, `${i}.i16`), outs[i]!.size, { changes: encoding === 'deltas' });
  });
  return macs.map((m, i) => {
    const inShape = outs[tensors.indexOf(m.input)]!.shape;
    const outShape = outs[tensors.length + i]!.shape;
    if (inShape[0] !== 1) throw new Error(`"${m.node}": input batch ${inShape[0]}, expected 1`);
    const g = layerGeometryFor(m, inShape.slice(1));
    if (m.transposed) return g; // its output is the column tensor, not the node's (graph/topology.ts)
    if (JSON.stringify(g.output) !== JSON.stringify(outShape.slice(1))) {
      throw new Error(`"${m.node}": computed output ${JSON.stringify(g.output)} but the graph gives ${JSON.stringify(outShape.slice(1))}`);
    }
    return g;
  });
}

/** The [H, W, C] (or [K]) shape of a recorded tensor, from the geometry of a layer reading it. */
function shapeOf(geometry: NodeGeometry[], macs: MacNode[], tensor: string): number[] {
  return geometry[macs.findIndex((m) => m.input === tensor)]!.input;
}

/** Fraction of non-zero weights of a constant of the loaded model. */
function weightDensity(model: tf.GraphModel, weight: string): number {
  const w = model.weights[weight]?.[0];
  if (!w) return 1;
  const d = w.dataSync();
  let nz = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) nz++;
  return d.length ? nz / d.length : 1;
}

/** Node names without their common leading path segments, restricted to the manifest's characters, unique. */
export function layerNames(nodes: string[]): string[] {
  const parts = nodes.map((n) => n.split('/'));
  let common = 0;
  while (parts.every((p) => p.length > common + 1 && p[common] === parts[0]![common])) common++;
  const seen = new Set<string>();
  return parts.map((p) => {
    const base = p
      .slice(common)
      .join('/')
      .replace(/[^A-Za-z0-9_.\-/]/g, '_');
    let name = base;
    for (let k = 2; seen.has(name); k++) name = `${base}_${k}`;
    seen.add(name);
    return name;
  });
}

function modelName(model: string, file: string): string {
  if (model.startsWith('human:')) return model;
  return basename(file) === 'model.json' ? basename(dirname(file)) : basename(file, '.json');
}
