/**
 * Recording a trace from a pretrained Keras layers model (keras/load.ts: a model.json path or
 * `nsfwjs:NAME`), DeltaCNN-style as graph-model.ts records tfjs graph models: the network is float,
 * so every MAC layer's input is stored per frame as levels round(value / q), the layers fed by the
 * image alone (through padding and the like) at the input's own pixel step; same open-loop limits.
 *
 * The activations come from a probe model (tf.model on the same layers) whose outputs are the MAC
 * layers' input tensors, so a tensor read by several layers (a multi-branch block's input) is
 * fetched and stored once. A SeparableConv2D's pointwise half reads the depthwise result, which the
 * model does not expose: it is computed from the recorded input with the layer's own depthwise
 * kernel (no bias: Keras adds it after the pointwise product). Geometry and the network graph
 * (manifest version 2, layers-graph.ts) come from the model's static shapes.
 * The DeltaCNN knobs are the graph recorder's (knobs.ts, with the same flags and manifest keys):
 * absolute, relative or per-layer thresholds (thresholds.ts; relative ranges measured on the first
 * frames with the probe), periodic key frames and tile-granular update masks (update-mask.ts, on each
 * recorded tensor's [H, W, C] shape from the static geometry).
 * With `drift` the recording is closed loop instead (drift/closed-loop.ts, as graph-model.ts), with
 * drift.json, and `drift.search` picks per-layer thresholds for a drift budget first (from the
 * resolved thresholds; not with an update mask, as the graph recorder).
 */
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import type { Manifest } from '../../traces/manifest.js';
import type { GraphNode, TraceGraph } from '../../traces/graph.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import { initBackend, tf } from '../tf/backend.js';
import type { RecordGraphOptions } from './from-model.js';
import { frameToInput, type ModelInput } from './graph/input.js';
import { LevelSpill, writeSpills } from './graph/spill.js';
import { framesOf, frameStreamOf, probeInputSteps, type FrameStream, type RecordFramesOptions } from './graph-model.js';
import { loadKerasModel, type LoadedKerasModel } from './keras/load.js';
import { kerasMacs, tensorName, type KerasMac } from './keras/topology.js';
import { layersGraphOf } from './layers-graph.js';
import { openFrameSource } from './sources.js';
import { makeTempDir } from './temp-dir.js';
import { kerasClosedLoop } from './drift/closed-loop.js';
import { DriftAccumulator } from './drift/metrics.js';
import { driftOutputs, macsPerElement, perLayerOf, searchOnHead, type DriftOptions } from './drift/recording.js';
import { checkKnobs, knobModelKeys, thresholdSpecFor, type RecorderKnobs } from './knobs.js';
import { calibrate, calibrationHead, resolveThresholds } from './thresholds.js';
import { UpdateMask } from './update-mask.js';

/** inputRange defaults to the source's (nsfwjs: [0, 1]), else [0, 1]. */
export interface RecordKerasModelOptions extends RecorderKnobs, RecordFramesOptions {
  /** A Keras layers model.json path or `nsfwjs:NAME` (loaded and disposed here), or a model loadKerasModel returned (the caller's to dispose). */
  model: string | LoadedKerasModel;
  /** Delta threshold q > 0: activations are stored as levels round(a / q) (unless `thresholds` says otherwise). */
  threshold?: number;
  /** Record closed loop and measure the output drift against dense inference (drift.json). */
  drift?: DriftOptions;
}

export interface RecordKerasOptions extends Omit<RecordGraphOptions, 'graph' | 'size'> {
  /** A Keras layers model.json path or `nsfwjs:NAME`. */
  keras: string;
  inputRange?: [number, number];
  drift?: DriftOptions;
}

/** A Keras model over a video (decoded at the model's input size) or a dataset clip (rendered at it). */
export async function recordKerasTrace(o: RecordKerasOptions): Promise<Manifest> {
  if ((o.video === undefined) === (o.data === undefined)) throw new InputError('give exactly one of --video FILE and --data SPEC');
  thresholdSpecFor(o.threshold, o);
  checkKnobs(o);
  await initBackend({ quiet: true });
  const loaded = await loadKerasModel(o.keras);
  try {
    const input = imageInput(loaded, o.inputRange);
    const frameShape = [input.h, input.w, input.c] as const;
    const source = await openFrameSource(o, { video: frameShape, dataset: frameShape });
    return await recordKerasModelTrace({
      model: loaded,
      threshold: o.threshold,
      thresholds: o.thresholds,
      keyFrameEvery: o.keyFrameEvery,
      updateMask: o.updateMask,
      out: o.out,
      fps: source.fps,
      maxFrames: o.frames,
      weightBits: o.weightBits,
      encoding: o.encoding,
      inputRange: o.inputRange,
      drift: o.drift,
      frames: frameStreamOf(source),
    });
  } finally {
    loaded.model.dispose();
  }
}

/** The model's one image input [N, H, W, C], fixed H, W and C. */
export function imageInput(loaded: LoadedKerasModel, range?: [number, number]): ModelInput {
  const { model, file } = loaded;
  if (model.inputs.length !== 1)
    throw new InputError(`the model has ${model.inputs.length} inputs; only single-input models can be recorded`, { file });
  const shape = model.inputs[0]!.shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => !(d !== null && d > 0)))
    throw new InputError(`input shape ${JSON.stringify(shape)}; an image input [N, H, W, C] with fixed H, W, C is needed`, { file });
  const chosen = range ?? loaded.inputRange ?? [0, 1];
  if (!(chosen[1] > chosen[0])) throw new InputError(`input range ${JSON.stringify(chosen)} is empty`);
  const [h, w, c] = shape.slice(1) as number[];
  return { name: tensorName(model.inputs[0]!), h: h!, w: w!, c: c!, dtype: 'float32', range: chosen };
}

export async function recordKerasModelTrace(opts: RecordKerasModelOptions): Promise<Manifest> {
  const spec = thresholdSpecFor(opts.threshold, opts);
  checkKnobs(opts);
  if (opts.drift?.search && opts.updateMask)
    throw new InputError('--drift-budget: the threshold search runs without an update mask; drop --update-tile / --mask-dilation');
  if (opts.maxFrames !== undefined && !(Number.isInteger(opts.maxFrames) && opts.maxFrames > 0))
    throw new InputError(`maxFrames must be a positive integer (got ${opts.maxFrames})`);
  const backend = await initBackend({ quiet: true });
  const loaded = typeof opts.model === 'string' ? await loadKerasModel(opts.model) : opts.model;
  const spillDir = makeTempDir('deltasim-keras-'); // removed on Ctrl-C / SIGTERM too
  const spills: LevelSpill[] = [];
  let probe: tf.LayersModel | undefined;
  try {
    const { model, file } = loaded;
    const input = imageInput(loaded, opts.inputRange);
    const src = opts.frames;
    if (src.c !== input.c) throw new InputError(`frames have ${src.c} channels; the model takes ${input.c}`, { file });
    const macs = kerasMacs(model, loaded.weightBits, file);
    if (macs.length === 0)
      throw new InputError('the model has no MAC layers (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, Conv2DTranspose)', { file });

    // The recorded tensors: model tensors (fetched by the probe; the image input is the feed itself),
    // then depthwise results of SeparableConv2D layers (computed from their fetched input).
    const fetched = [...new Map(macs.filter((m) => m.tensor).map((m) => [m.input, m.tensor!])).entries()];
    const imageKey = tensorName(model.inputs[0]!);
    const probed = fetched.filter(([k]) => k !== imageKey);
    probe = probed.length ? tf.model({ inputs: model.inputs, outputs: probed.map(([, t]) => t) }) : undefined;
    const derived = macs.filter((m) => m.part === 'depthwise');
    const tensors = [...fetched.map(([k]) => k), ...derived.map((m) => m.output.name)];
    const run = (x: tf.Tensor): tf.Tensor[] =>
      tf.tidy(() => {
        const outs = probe ? (probe.predict(x) as tf.Tensor | tf.Tensor[]) : [];
        const list = Array.isArray(outs) ? outs : [outs];
        const byKey = new Map(probed.map(([k], i) => [k, list[i]!]));
        byKey.set(imageKey, x.clone());
        return [...fetched.map(([k]) => byKey.get(k)!), ...derived.map((m) => depthwiseOf(m, byKey.get(m.input)!))];
      });

    // Each recorded tensor's [H, W, C] (or [K]) shape: the input geometry of a layer reading it.
    const shapes = new Map<string, readonly number[]>(macs.map((m) => [m.input, m.geometry.input]));
    const spillOf = new Map<string, LevelSpill>();
    const masks = new Map<string, UpdateMask>();
    tensors.forEach((t, i) => {
      const s = new LevelSpill(
        join(spillDir.path, `${i}.i16`),
        shapes.get(t)!.reduce((a, b) => a * b, 1),
        { changes: opts.encoding === 'deltas' },
      );
      spills.push(s);
      spillOf.set(t, s);
      if (opts.updateMask) masks.set(t, new UpdateMask(shapes.get(t)!, { ...opts.updateMask, keyFrameEvery: opts.keyFrameEvery }));
    });

    // The step of each tensor (relative thresholds: its range over the first frames, open loop, as graph-model.ts).
    const imageSteps = probeInputSteps(macs, input, run, tensors);
    const cal = await calibrate(framesOf(src, opts.maxFrames), spec, async (f, add) => {
      const x = frameToInput(f, src, input);
      const outs = run(x);
      try {
        for (let i = 0; i < tensors.length; i++) add(tensors[i]!, await outs[i]!.data());
      } finally {
        tf.dispose([x, ...outs]);
      }
    });
    const refs = macs.map((m) => ({ name: m.name, tensor: m.input }));
    let resolved = resolveThresholds(cal.spec, refs, imageSteps, cal.ranges);
    let steps = resolved.steps;

    // Closed loop: the per-layer threshold search on the first frames (if asked), then every frame run closed loop.
    let stream: AsyncIterable<Float32Array> = cal.stream;
    let loop: { net: ReturnType<typeof kerasClosedLoop>; acc: DriftAccumulator } | undefined;
    let search: Parameters<typeof driftOutputs>[1];
    if (opts.drift) {
      const net = kerasClosedLoop(model, macs, file);
      const frameSize = { h: src.h, w: src.w };
      const name = opts.name ?? loaded.name;
      if (opts.drift.search) {
        const { head, all } = await calibrationHead(stream, opts.drift.search.frames);
        stream = all;
        const costs = macsPerElement(
          macs.map((m) => ({ tensor: m.input, layer: { name: m.name, ...m.geometry, weightBits: 8, weightDensity: 1 } })),
        );
        const searchable = tensors.filter((t) => !imageSteps.has(t));
        const result = searchOnHead(net, head, (f) => frameToInput(f, src, input), steps, searchable, costs, {
          drift: opts.drift,
          model: name,
          frame: frameSize,
          keyFrameEvery: opts.keyFrameEvery,
        });
        // after the search the layers' q are its, per layer (the manifest says so; the start is in model.drift.search)
        const perLayer = perLayerOf(result, searchable, refs);
        resolved = resolveThresholds({ mode: 'per-layer', perLayer }, refs, imageSteps);
        steps = resolved.steps;
        search = { result, perLayer, options: { ...opts.drift.search, frames: head.length } };
      }
      loop = {
        net,
        acc: new DriftAccumulator({ task: opts.drift.task, model: name, frame: frameSize, keyFrameEvery: opts.keyFrameEvery }),
      };
    }

    let frames = 0;
    for await (const frame of stream) {
      const x = frameToInput(frame, src, input);
      if (loop) {
        try {
          const dense = loop.net.dense(x);
          const out = loop.net.closedLoop(x, (t, values) => {
            const s = spillOf.get(t)!;
            s.append(values, steps.get(t)!, masks.get(t));
            return s.dequantised(steps.get(t)!);
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
        for (let i = 0; i < tensors.length; i++) spills[i]!.append(await outs[i]!.data(), steps.get(tensors[i]!)!, masks.get(tensors[i]!));
      } finally {
        tf.dispose([x, ...outs]);
      }
      frames++;
    }
    if (frames === 0) throw new InputError('no frames to record');

    const layers: LayerDraft[] = macs.map((m) => {
      const spill = spillOf.get(m.input)!;
      return {
        name: m.name,
        ...m.geometry,
        weightBits: opts.weightBits ?? m.weightBits,
        weightDensity: density(m.weight),
        act: { dtype: spill.dtype(), scale: steps.get(m.input)!, signed: spill.min < 0 },
      };
    });
    const layerSpills = macs.map((m) => spillOf.get(m.input)!);
    const drift = loop ? driftOutputs(loop.acc, search) : undefined;
    const header = {
      model: {
        name: opts.name ?? loaded.name,
        source: loaded.source,
        recorder: 'keras',
        backend,
        ...knobModelKeys(resolved, opts),
        inputRange: input.range,
        clampedLevels: spills.reduce((s, x) => s + x.clamped, 0),
        ...drift?.modelKey,
      },
      frames,
      fps: opts.fps ?? 15,
      clip: { ...(src as FrameStream).clipInfo, source: src.source, firstFrame: src.firstFrame ?? 0 },
      layers,
      graph: kerasGraphOf(model, macs),
      encoding: opts.encoding,
      files: drift?.files,
    };
    return await writeTrace(opts.out, header, (w) => writeSpills(w, layerSpills));
  } finally {
    for (const s of spills) s.close();
    spillDir.remove();
    if (typeof opts.model === 'string') loaded.model.dispose();
  }
}

/** A SeparableConv2D's depthwise result: what its pointwise half reads. */
function depthwiseOf(m: KerasMac, x: tf.Tensor): tf.Tensor {
  const cfg = m.layer.getConfig();
  const g = m.geometry;
  return tf.depthwiseConv2d(
    x as tf.Tensor4D,
    m.weight.read() as tf.Tensor4D,
    g.stride as [number, number],
    cfg.padding as 'same' | 'valid',
    'NHWC',
    g.dilation as [number, number],
  );
}

/** Fraction of non-zero weights. */
function density(w: tf.LayerVariable): number {
  const d = w.read().dataSync();
  let nz = 0;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) nz++;
  return d.length ? nz / d.length : 1;
}

/** The network graph (per-image shapes), SeparableConv2D as its two MAC nodes, Conv2DTranspose as its GEMM then Col2Im. */
export function kerasGraphOf(model: tf.LayersModel, macs: readonly KerasMac[]): TraceGraph {
  const byLayer = new Map<string, KerasMac[]>();
  for (const m of macs) byLayer.set(m.layer.name, [...(byLayer.get(m.layer.name) ?? []), m]);
  return layersGraphOf(
    model,
    [...byLayer.keys()].map((name) => ({ name })),
    {
      lead: 1,
      macNodes: (layer, node) => {
        const parts = byLayer.get(layer.name)!;
        const nodes: GraphNode[] = parts.map((m) => ({
          name: m.name,
          op: 'mac',
          opType: m.part === 'whole' ? node.opType! : `${node.opType}/${m.part}`,
          inputs: [m.input],
          output: m.output,
        }));
        if (parts[0]!.part === 'transpose')
          nodes.push({ name: `${layer.name}/col2im`, op: 'other', opType: 'Col2Im', inputs: [parts[0]!.output.name], output: node.output });
        return nodes;
      },
    },
  );
}
