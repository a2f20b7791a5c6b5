/**
 * Recording a trace from an ONNX model (e.g. a PyTorch export), DeltaCNN-style like graph-model.ts:
 * no retraining, each MAC node's input (Conv, ConvTranspose, Gemm / MatMul with a constant weight,
 * see onnx/topology.ts) stored per frame as integer levels round(value / q), the layers fed by the
 * image alone at the input's own step. The model runs in onnxruntime-node (its bundled CPU
 * runtime) with every intermediate tensor made a graph output (onnx/model.ts withOutputs).
 *
 * Frames: pixels (8-bit levels, as a camera gives them) mapped linearly onto `inputRange`
 * (default [0, 1]; a per-channel mean/std normalisation done outside the model is an affine map
 * per channel: give the range it produces for one channel or fold it into the model), at the
 * model's own input size (sources decode / render at it). Channels-first inputs [1, C, H, W] are
 * fed transposed; a [1, H, W, C] input (C of 1 or 3, the second dimension not) as it is. Recorded
 * NCHW tensors are transposed to the trace's channels-last layout.
 *
 * The runtime is loaded when a recording starts (a platform without its native binding fails
 * there, with a clear error, not every command). It runs on one thread: same inputs ⇒ the same float results ⇒ byte-identical traces.
 * Limits as graph-model.ts (open loop quantisation); only 2-D convolutions, batch 1, [1, K] inputs
 * of matrix products.
 */
import { basename, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { InputError } from '../../lib/errors.js';
import type { Manifest } from '../../traces/manifest.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import type { NodeGeometry } from './graph/topology.js';
import { LevelSpill, writeSpills } from './graph/spill.js';
import { framesOf, frameStreamOf, inputStep, layerNames, type RecordFramesOptions } from './graph-model.js';
import { onnxGraph, type TraceGraph } from './onnx/graph.js';
import { readOnnxModel, withOutputs, type OnnxModel } from './onnx/model.js';
import { findOnnxMacs, onnxLayerGeometry } from './onnx/topology.js';
import type { RecordGraphOptions } from './from-model.js';
import { openFrameSource } from './sources.js';
import { makeTempDir } from './temp-dir.js';
import { checkKnobs, knobModelKeys, thresholdSpecFor, type RecorderKnobs } from './knobs.js';
import { calibrate, resolveThresholds } from './thresholds.js';
import { UpdateMask } from './update-mask.js';

/** The model's image input as the recorder feeds it. */
export interface OnnxImageInput {
  name: string;
  layout: 'NCHW' | 'NHWC';
  /** Frame size; a dimension the model leaves open is undefined until a source fixes it. */
  h: number | undefined;
  w: number | undefined;
  c: number;
}

/** The one float image input of a model: [1, C, H, W] or [1, H, W, C]. */
export function onnxImageInput(model: OnnxModel): OnnxImageInput {
  const { file } = model;
  if (model.inputs.length !== 1)
    throw new InputError(`the model has ${model.inputs.length} inputs; only single-input models can be recorded`, { file });
  const inp = model.inputs[0]!;
  if (inp.elemType !== 1) throw new InputError(`input "${inp.name}" is not float32 (ONNX element type ${inp.elemType})`, { file });
  const d = inp.dims;
  const isC = (x: number | undefined) => x === 1 || x === 3;
  if (d.length !== 4 || (d[0] !== undefined && d[0] !== 1) || !(isC(d[1]) || isC(d[3])))
    throw new InputError(
      `input "${inp.name}" has shape ${JSON.stringify(d.map((x) => x ?? '?'))}; an image [1, C, H, W] or [1, H, W, C] with C = 1 or 3 is needed`,
      { file },
    );
  // ONNX convolutions are channels-first: NCHW unless only the last dimension can be the channels.
  return isC(d[1])
    ? { name: inp.name, layout: 'NCHW', h: d[2], w: d[3], c: d[1]! }
    : { name: inp.name, layout: 'NHWC', h: d[1], w: d[2], c: d[3]! };
}

/** Frames at the model's input size (h, w; c its channels); inputRange defaults to [0, 1]. */
export interface RecordOnnxModelOptions extends RecorderKnobs, RecordFramesOptions {
  /** The model file, read with readOnnxModel. */
  model: OnnxModel;
  /** Delta threshold q > 0 (unless `thresholds` says otherwise). */
  threshold?: number;
}

/** What a recording found besides the manifest: the network graph (manifest version 2, attached after the v2 merge). */
export interface OnnxRecording {
  manifest: Manifest;
  graph: TraceGraph;
}

export interface RecordOnnxOptions extends Omit<RecordGraphOptions, 'graph'> {
  /** Path of the .onnx file. */
  onnx: string;
  inputRange?: [number, number];
}

/**
 * An ONNX model over a video (decoded at the model's input size) or a dataset clip (rendered at it);
 * a model whose height and width are open takes the video's own size, or `size` for a dataset.
 */
export async function recordOnnxTrace(o: RecordOnnxOptions): Promise<OnnxRecording> {
  if ((o.video === undefined) === (o.data === undefined)) throw new InputError('give exactly one of --video FILE and --data SPEC');
  thresholdSpecFor(o.threshold, o);
  checkKnobs(o);
  const model = readOnnxModel(o.onnx);
  const input = onnxImageInput(model);
  const size = o.size ?? 64;
  const shape = (h: number, w: number) => [h, w, input.c] as const;
  const source = await openFrameSource(o, {
    video: input.h !== undefined && input.w !== undefined ? shape(input.h, input.w) : undefined,
    videoChannels: o.channels ?? input.c,
    dataset: shape(input.h ?? size, input.w ?? size),
  });
  return recordOnnxModelTrace({
    model,
    threshold: o.threshold,
    out: o.out,
    fps: source.fps,
    maxFrames: o.frames,
    weightBits: o.weightBits,
    inputRange: o.inputRange,
    thresholds: o.thresholds,
    keyFrameEvery: o.keyFrameEvery,
    updateMask: o.updateMask,
    encoding: o.encoding,
    frames: frameStreamOf(source),
  });
}

export async function recordOnnxModelTrace(opts: RecordOnnxModelOptions): Promise<OnnxRecording> {
  const spec = thresholdSpecFor(opts.threshold, opts);
  checkKnobs(opts);
  if (opts.maxFrames !== undefined && !(Number.isInteger(opts.maxFrames) && opts.maxFrames > 0))
    throw new InputError(`maxFrames must be a positive integer (got ${opts.maxFrames})`);
  const { model } = opts;
  const { file } = model;
  const input = onnxImageInput(model);
  const src = opts.frames;
  if ((input.h !== undefined && src.h !== input.h) || (input.w !== undefined && src.w !== input.w) || src.c !== input.c)
    throw new InputError(
      `the model takes ${input.h ?? '?'}×${input.w ?? '?'}×${input.c} frames (H×W×C), the clip has ${src.h}×${src.w}×${src.c}`,
      { file },
    );
  const range = opts.inputRange ?? [0, 1];
  if (!(range[1] > range[0])) throw new InputError(`input range ${JSON.stringify(range)} is empty`);
  const macs = findOnnxMacs(model);
  if (macs.length === 0)
    throw new InputError('the model has no MAC nodes (Conv, ConvTranspose, Gemm / MatMul with a constant weight)', { file });

  const ort = await loadRuntime();
  // Every computed tensor becomes an output: the first run gives all shapes (geometry, graph).
  const known = new Set([...model.outputs, input.name]);
  const all = [...new Set(model.nodes.flatMap((n) => n.outputs))].filter((t) => t !== '' && !known.has(t));
  // Two sessions: one returning every tensor, run once for the shapes, one only what is recorded (fetching
  // every tensor stops the runtime fusing ops and costs a copy each: 4× slower on ResNet-50). The first is not
  // optimised (shapes do not depend on it): 0.02 against 0.2–1 CPU s to create on ResNet-18.
  let probe: Ort.InferenceSession | undefined = await createSession(ort, withOutputs(model.bytes, all), file, 'disabled');
  const tensors = [...new Set(macs.map((m) => m.input))];
  const session = await createSession(
    ort,
    withOutputs(
      model.bytes,
      tensors.filter((t) => !known.has(t)),
    ),
    file,
  );
  const feed = new Feeder(ort, input, src.h, src.w, range);
  // The image input itself is read from the feed: onnxruntime returns only outputs.
  const run = async (fetch: readonly string[], s = session): Promise<Ort.InferenceSession.ReturnType> => {
    const x = feed.tensor();
    try {
      // Nothing to compute when the input alone is asked for (the probe, which fetches every output, ran the model).
      const want = fetch.filter((t) => t !== input.name);
      const r = want.length ? await s.run({ [input.name]: x }, want) : {};
      // A copy: the feed's buffer is rewritten by the next frame.
      return fetch.includes(input.name) ? { ...r, [input.name]: new ort.Tensor('float32', (x.data as Float32Array).slice(), x.dims) } : r;
    } catch (e) {
      throw new InputError(`onnxruntime cannot run the model on ${src.h}×${src.w}×${src.c} frames (${errText(e)})`, { file });
    }
  };
  const spillDir = makeTempDir('deltasim-onnx-');
  const spills = new Map<string, LevelSpill>();
  try {
    // Probe: uniform images at pixel levels 0 and 1 give every shape and, from the recording session, the image-fed
    // tensors' steps.
    feed.uniform(0);
    const all0 = await run([...new Set([...model.outputs, ...all, input.name])], probe);
    const shapes = new Map(Object.entries(all0).map(([k, t]) => [k, t.dims.map(Number)]));
    await probe.release();
    probe = undefined;
    const r0 = await run(tensors);
    feed.uniform(1);
    const r1 = await run(tensors);
    shapes.set(input.name, [1, input.c, src.h, src.w]); // as NCHW, whatever the layout: channelsLast reads it so
    const nodeNames = layerNames(model.nodes.map((n) => n.name));
    const geometry = macs.map((m) => onnxLayerGeometry(m, file, shapes.get(m.input)!, shapes.get(m.output)!));
    const graph = onnxGraph(
      { nodes: model.nodes, input: { name: input.name, shape: [src.h, src.w, src.c] }, outputs: model.outputs },
      macs,
      nodeNames,
      shapes,
    );
    const imageSteps = new Map<string, number | number[]>();
    for (const m of macs) {
      if (!m.fromGraphInput || m.kind === 'dense') continue;
      const s = inputStep(channelValues(r0[m.input]!, input, m.input), channelValues(r1[m.input]!, input, m.input));
      if (s !== undefined) imageSteps.set(m.input, s);
    }
    const names = macs.map((m) => nodeNames[m.node.index]!);
    // Relative thresholds: each tensor's range over the first frames (run twice: calibration, then recording).
    const cal = await calibrate(framesOf(src, opts.maxFrames), spec, async (f, add) => {
      feed.frame(f);
      const r = await run(tensors);
      for (const t of tensors) add(t, r[t]!.data as Float32Array);
    });
    const stream = cal.stream;
    const resolved = resolveThresholds(
      cal.spec,
      macs.map((m, i) => ({ name: names[i]!, tensor: m.input })),
      imageSteps,
      cal.ranges,
    );
    const steps = resolved.steps;
    // Recorded NCHW tensors that are transposed to channels-last before quantising (a mask, per-channel steps, an npy trace): one buffer each, reused every frame.
    const isNhwcInput = (t: string) => t === input.name && input.layout === 'NHWC';
    const sizes = tensors.map((t) => shapes.get(t)!.reduce((a, b) => a * b, 1));
    const bufs: (Float32Array | undefined)[] = tensors.map(() => undefined); // allocated when first needed
    const changes = opts.encoding === 'deltas'; // spool changes, not frames (graph/spill.ts)
    tensors.forEach((t, i) => spills.set(t, new LevelSpill(join(spillDir.path, `${i}.i16`), sizes[i]!, { changes })));
    // Update masks see channels-last [H, W, C] (rank-4 tensors) like the trace.
    const masks = tensors.map((t) => {
      if (!opts.updateMask) return undefined;
      const d = shapes.get(t)!;
      const shape = d.length === 4 ? (isNhwcInput(t) ? d.slice(1) : [d[2]!, d[3]!, d[1]!]) : d.slice(1);
      return new UpdateMask(shape, { ...opts.updateMask, keyFrameEvery: opts.keyFrameEvery });
    });

    let frames = 0;
    for await (const frame of stream) {
      feed.frame(frame);
      const r = await run(tensors);
      tensors.forEach((t, i) => {
        const data = r[t]!.data as Float32Array;
        const dims = shapes.get(t)!;
        const spill = spills.get(t)!;
        const step = steps.get(t)!;
        if (dims.length !== 4 || isNhwcInput(t)) spill.append(data, step, masks[i]);
        else if (!spill.appendChannelsFirst(data, dims[1]!, step, masks[i])) {
          const buf = (bufs[i] ??= new Float32Array(sizes[i]!));
          toChannelsLast(data, dims, buf);
          spill.append(buf, step, masks[i]);
        }
      });
      frames++;
    }
    if (frames === 0) throw new InputError('no frames to record');

    const layers: LayerDraft[] = macs.map((m, i) => {
      const spill = spills.get(m.input)!;
      return {
        name: names[i]!,
        ...(geometry[i] as NodeGeometry),
        weightBits: opts.weightBits ?? m.weightBits,
        weightDensity: m.weightDensity,
        act: { dtype: spill.dtype(), scale: steps.get(m.input)!, signed: spill.min < 0 },
      };
    });
    const header = {
      model: {
        name: opts.name ?? basename(file).replace(/\.onnx$/i, ''),
        source: file,
        recorder: 'onnx',
        backend: `onnxruntime-node ${ort.env.versions.node} cpu`,
        ...knobModelKeys(resolved, opts),
        inputRange: range,
        clampedLevels: [...spills.values()].reduce((s, x) => s + x.clamped, 0),
      },
      frames,
      fps: opts.fps ?? 15,
      clip: { ...(src as { clipInfo?: Record<string, unknown> }).clipInfo, source: src.source, firstFrame: src.firstFrame ?? 0 },
      layers,
      graph,
      encoding: opts.encoding,
    };
    const layerSpills = macs.map((m) => spills.get(m.input)!);
    const manifest = await writeTrace(opts.out, header, (w) => writeSpills(w, layerSpills));
    return { manifest, graph };
  } finally {
    for (const s of spills.values()) s.close();
    spillDir.remove();
    await Promise.all([probe?.release(), session.release()]);
  }
}

type Runtime = typeof Ort;
let runtime: Runtime | undefined;

async function loadRuntime(): Promise<Runtime> {
  try {
    runtime ??= await import('onnxruntime-node');
    return runtime;
  } catch (e) {
    // An optional dependency: a package manager drops it when its install script (a download of GPU
    // providers) fails offline; skipping that script keeps the bundled CPU runtime.
    throw new InputError(
      `onnxruntime-node cannot be loaded on ${process.platform}-${process.arch} (${errText(e)}); install it with ` +
        '`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (its CPU runtime is bundled for Linux, macOS and Windows on x64 and arm64)',
    );
  }
}

async function createSession(
  ort: Runtime,
  bytes: Uint8Array,
  file: string,
  graphOptimizationLevel: Ort.InferenceSession.SessionOptions['graphOptimizationLevel'] = 'all',
): Promise<Ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel,
    });
  } catch (e) {
    throw new InputError(`onnxruntime cannot load the model (${errText(e)})`, { file });
  }
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** The model input for one frame, written into one reused buffer. */
class Feeder {
  private readonly data: Float32Array;
  private readonly dims: number[];
  private readonly n: number;
  constructor(
    private readonly ort: Runtime,
    private readonly input: OnnxImageInput,
    private readonly h: number,
    private readonly w: number,
    private readonly range: [number, number],
  ) {
    this.n = h * w * input.c;
    this.data = new Float32Array(this.n);
    this.dims = input.layout === 'NCHW' ? [1, input.c, h, w] : [1, h, w, input.c];
  }

  tensor(): Ort.Tensor {
    return new this.ort.Tensor('float32', this.data, this.dims);
  }

  /** A frame of values in [0, 1] ([y][x][c]) as 8-bit pixel levels mapped onto the range. */
  frame(f: Float32Array): void {
    const { c } = this.input;
    const [lo, hi] = this.range;
    const plane = this.h * this.w;
    const nchw = this.input.layout === 'NCHW';
    for (let i = 0; i < this.n; i++) {
      const v = f[i]!;
      const pixel = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
      const at = nchw ? (i % c) * plane + Math.floor(i / c) : i;
      this.data[at] = lo + (pixel * (hi - lo)) / 255;
    }
  }

  uniform(level: number): void {
    const [lo, hi] = this.range;
    this.data.fill(lo + (level * (hi - lo)) / 255);
  }
}

/** Per-channel values of a probe output at its first pixel (NCHW rank 4 unless it is an NHWC model input). */
function channelValues(t: Ort.Tensor, input: OnnxImageInput, name: string): number[] {
  const d = t.dims.map(Number);
  const data = t.data as Float32Array;
  if (d.length !== 4) return [data[0]!];
  if (name === input.name && input.layout === 'NHWC') return Array.from(data.subarray(0, d[3]!));
  const plane = d[2]! * d[3]!;
  return Array.from({ length: d[1]! }, (_, c) => data[c * plane]!);
}

/**
 * [1, C, H, W] → [H, W, C], four channels at a time: each output pixel gets 16 contiguous bytes per pass (a
 * channel-by-channel sweep wrote 4 bytes per cache line of the whole output each pass; 1.5–2× slower on ResNet-18's
 * tensors here).
 */
function toChannelsLast(src: Float32Array, dims: readonly number[], out: Float32Array): void {
  const [C, H, W] = [dims[1]!, dims[2]!, dims[3]!];
  const plane = H * W;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const b0 = c * plane;
    const b1 = b0 + plane;
    const b2 = b1 + plane;
    const b3 = b2 + plane;
    for (let p = 0, o = c; p < plane; p++, o += C) {
      out[o] = src[b0 + p]!;
      out[o + 1] = src[b1 + p]!;
      out[o + 2] = src[b2 + p]!;
      out[o + 3] = src[b3 + p]!;
    }
  }
  for (; c < C; c++) {
    const base = c * plane;
    for (let p = 0; p < plane; p++) out[p * C + c] = src[base + p]!;
  }
}
