/**
 * Small video CNNs (input [T, H, W, C], default 64×64×1) whose per-frame layers are folded over time
 * (FrameWise) and whose clip prediction is the mean over time of the per-frame softmax.
 * Every conv / dense except the classifier is followed by an activation layer that ends in the
 * quantiser, so every variant can be traced as integer levels:
 *   baseline — L1Activation with spRate 0 (relu + fixed-step quantiser)
 *   l1       — L1Activation (spatial L1 penalty)
 *   delta    — DeltaActivation (trainable thresholds, temporal-delta penalty)
 * With `motionInput` a MotionInput layer first appends each frame's temporal difference as channels
 * (needed for motion-defined classes; a per-frame CNN cannot see motion otherwise).
 * Delta models also get the authors' input Delta Activation Layer on the raw frames (`inp_delta`, linear,
 * threshold init 3 on 0..255 frames = 3/255 on ours, which are in [0, 1]) unless `inputDelta` is false:
 * without it every pixel that noise touches is a changed input of the first conv.
 * Each activation's fan-out (nOutputs, the weight of its penalty) is set from the MAC layers it feeds,
 * summed over all of them, by one of two conventions (FanOutConvention):
 *   authors    — kh·kw·filters for a conv, kh·kw·multiplier for a depthwise conv, units for a dense:
 *                the synapses a neuron drives, as in the authors' code (default since issue 18);
 *   per-stride — the same divided by the consumer's stride² (the MACs per input neuron on average):
 *                this project's convention before, which gives stride-2 layers a quarter of the penalty.
 * Pools between an activation and its consumer (max-pool blocks, the global average pool) are not
 * counted by either.
 */
import { tf } from './backend.js';
import { InputError } from '../../lib/errors.js';
import type { LayerSpec } from '../../traces/manifest.js';
import {
  DeltaActivation,
  L1Activation,
  MotionInput,
  QuantisedActivation,
  frameWise,
  FrameWise,
  type ThresholdGranularity,
} from './layers/index.js';

export const NETS = ['plain', 'mobilenet'] as const;
export const VARIANTS = ['baseline', 'l1', 'delta'] as const;
export type NetName = (typeof NETS)[number];
export type Variant = (typeof VARIANTS)[number];

export interface ModelSpec {
  net: NetName;
  variant: Variant;
  classes: number;
  /** One frame: [H, W, C]. */
  frameShape: [number, number, number];
  seed: number;
  /** Penalty weight for l1 / delta (ignored by baseline). */
  spRate?: number;
  /** Fixed quantiser step (baseline, l1) or initial threshold (delta). */
  step?: number;
  granularity?: ThresholdGranularity;
  /**
   * Feed the first conv each frame together with its temporal difference (MotionInput, 2·C channels).
   * Needed for motion-defined classes such as the procedural dataset's: frame by frame they look alike.
   */
  motionInput?: boolean;
  /** Input Delta Activation Layer on the frames (default: on for delta, off otherwise; delta only). */
  inputDelta?: boolean;
  /** Its initial threshold, in frame units [0, 1] (default INPUT_THRESHOLD_INIT). */
  inputThreshold?: number;
  /** How the penalty's fan-outs are counted (default 'authors'). */
  fanOut?: FanOutConvention;
  /** Per-frame blocks instead of the net's own (NET_BLOCKS[net]); `net` then only names the model. */
  blocks?: Block[];
}

export const FAN_OUTS = ['authors', 'per-stride'] as const;
export type FanOutConvention = (typeof FAN_OUTS)[number];
export const DEFAULT_FAN_OUT: FanOutConvention = 'authors';
/** The convention of models saved before it was an option (their meta.json has no fanOut). */
export const LEGACY_FAN_OUT: FanOutConvention = 'per-stride';

/** The authors' input threshold init, 3 on 0..255 frames, mapped to our [0, 1] frames. */
export const INPUT_THRESHOLD_INIT = 3 / 255;
/** Name of the input Delta Activation Layer (the authors' `inp_delta`). */
export const INPUT_DELTA = 'inp_delta';

/**
 * Per-frame blocks of each net, before the global average pool and the classifier: MAC layers (each
 * followed by an activation layer) and max-pools (none: a pool of quantised levels stays on their grid).
 */
export type Block =
  | { op: 'conv2d'; filters: number; kernel: number; stride: number }
  | { op: 'depthwise2d'; kernel: number; stride: number }
  | { op: 'maxpool'; pool: number; stride: number };
export const conv = (filters: number, kernel = 3, stride = 2): Block => ({ op: 'conv2d', filters, kernel, stride });
export const dw = (stride = 2): Block => ({ op: 'depthwise2d', kernel: 3, stride });
export const maxpool = (pool = 2, stride = pool): Block => ({ op: 'maxpool', pool, stride });
export const NET_BLOCKS: Record<NetName, Block[]> = {
  plain: [conv(8), conv(16), conv(32), conv(32)],
  mobilenet: [conv(8), dw(), conv(16, 1, 1), dw(), conv(32, 1, 1), dw(), conv(32, 1, 1)],
};

export const DEFAULT_STEP = 0.05;

function activationLayer(spec: ModelSpec, name: string): QuantisedActivation {
  const step = spec.step ?? DEFAULT_STEP;
  if (spec.variant === 'delta') {
    return new DeltaActivation({ name, spRate: spec.spRate ?? 0, thresholdInit: step, granularity: spec.granularity ?? 'channel' });
  }
  return new L1Activation({ name, step, spRate: spec.variant === 'l1' ? (spec.spRate ?? 0) : 0 });
}

/** The authors' Delta Activation Layer on the raw frames: linear (frames are >= 0), its own threshold. */
export function inputDeltaLayer(
  opts: { spRate?: number; thresholdInit?: number; granularity?: ThresholdGranularity } = {},
): DeltaActivation {
  const thresholdInit = opts.thresholdInit ?? INPUT_THRESHOLD_INIT;
  if (!(Number.isFinite(thresholdInit) && thresholdInit > 0))
    throw new InputError(`input threshold must be a number > 0, got ${thresholdInit}`);
  return new DeltaActivation({
    name: INPUT_DELTA,
    activation: 'linear',
    spRate: opts.spRate ?? 0,
    thresholdInit,
    granularity: opts.granularity ?? 'channel',
  });
}

/** The input Delta Activation Layer of a model (fed by its input), or null. */
export function inputDeltaOf(model: tf.LayersModel): DeltaActivation | null {
  const l = model.layers.find((l) => l instanceof DeltaActivation && sourceLayer(l).getClassName() === 'InputLayer');
  return (l as DeltaActivation | undefined) ?? null;
}

function checkFanOut(fanOut: FanOutConvention): void {
  if (!FAN_OUTS.includes(fanOut)) throw new InputError(`unknown fan-out convention "${fanOut}" (one of ${FAN_OUTS.join(', ')})`);
}

/** Build a fresh, seeded model (weights depend only on the spec). */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  if (!NETS.includes(spec.net)) throw new InputError(`unknown net "${spec.net}" (one of ${NETS.join(', ')})`);
  if (!VARIANTS.includes(spec.variant)) throw new InputError(`unknown variant "${spec.variant}" (one of ${VARIANTS.join(', ')})`);
  if (!(Number.isInteger(spec.classes) && spec.classes >= 2)) throw new InputError(`classes must be an integer >= 2, got ${spec.classes}`);
  const inputDelta = spec.inputDelta ?? spec.variant === 'delta';
  if (inputDelta && spec.variant !== 'delta') throw new InputError(`the input delta layer is for delta models, not ${spec.variant}`);
  checkFanOut(spec.fanOut ?? DEFAULT_FAN_OUT);
  let seed = spec.seed;
  const init = () => tf.initializers.heUniform({ seed: seed++ });
  const input = tf.input({ shape: [null, ...spec.frameShape], name: 'frames' });
  // tfjs counts a depthwise kernel's fan-in as kh·kw·C (it is kh·kw): scale He's variance back up by C.
  const dwInit = (channels: number) =>
    tf.initializers.varianceScaling({ scale: 2 * channels, mode: 'fanIn', distribution: 'uniform', seed: seed++ });
  let x: tf.SymbolicTensor = input;
  let channels = spec.frameShape[2];
  if (inputDelta) {
    const layer = inputDeltaLayer({ spRate: spec.spRate, thresholdInit: spec.inputThreshold, granularity: spec.granularity });
    x = layer.apply(x) as tf.SymbolicTensor;
  }
  if (spec.motionInput) {
    x = new MotionInput({ name: 'motion' }).apply(x) as tf.SymbolicTensor;
    channels *= 2;
  }
  (spec.blocks ?? NET_BLOCKS[spec.net]).forEach((b, i) => {
    if (b.op === 'maxpool') {
      const pool = tf.layers.maxPooling2d({ name: `pool${i + 1}_frame`, poolSize: b.pool, strides: b.stride, padding: 'same' });
      x = frameWise(pool, `pool${i + 1}`).apply(x) as tf.SymbolicTensor;
      return;
    }
    const id = `${b.op === 'depthwise2d' ? 'dw' : 'conv'}${i + 1}`;
    const layer =
      b.op === 'conv2d'
        ? tf.layers.conv2d({
            name: `${id}_frame`,
            filters: b.filters,
            kernelSize: b.kernel,
            strides: b.stride,
            padding: 'same',
            kernelInitializer: init(),
          })
        : tf.layers.depthwiseConv2d({
            name: `${id}_frame`,
            kernelSize: b.kernel,
            strides: b.stride,
            padding: 'same',
            depthwiseInitializer: dwInit(channels),
          });
    if (b.op === 'conv2d') channels = b.filters;
    x = frameWise(layer, id).apply(x) as tf.SymbolicTensor;
    x = activationLayer(spec, `act${i + 1}`).apply(x) as tf.SymbolicTensor;
  });
  x = frameWise(tf.layers.globalAveragePooling2d({ name: 'gap_frame' }), 'gap').apply(x) as tf.SymbolicTensor;
  x = frameWise(tf.layers.dense({ name: 'fc_frame', units: spec.classes, kernelInitializer: init() }), 'fc').apply(x) as tf.SymbolicTensor;
  x = tf.layers.softmax({ name: 'frame_softmax', axis: -1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling1d({ name: 'clip_mean' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: `${spec.net}-${spec.variant}` });
  assignFanOuts(model, spec.fanOut);
  return model;
}

/**
 * A MAC layer as the trace manifest describes it (docs/design.md §3; padding by TensorFlow's 'same' rule, the
 * extra row/column at the bottom/right), plus where its input comes from.
 */
export type MacLayer = Required<
  Pick<LayerSpec, 'name' | 'op' | 'input' | 'output' | 'kernel' | 'stride' | 'padding' | 'dilation' | 'groups'>
> & {
  /** The model layer whose (batch, time, …) output is this layer's input. */
  inputLayer: string;
  /** The activation layer whose quantiser step scales that input's levels; null for the model input or behind a merge. */
  quantiser: string | null;
};

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

function samePadding(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function sourceOutput(layer: tf.layers.Layer): tf.SymbolicTensor {
  const inp = layer.input;
  if (Array.isArray(inp)) throw new InputError(`layer ${layer.name} has several inputs: only single-input chains are supported`);
  return inp;
}

function sourceLayer(layer: tf.layers.Layer): tf.layers.Layer {
  return sourceOutput(layer).sourceLayer as tf.layers.Layer;
}

/** The trace geometry of a MAC layer (a FrameWise conv, depthwise conv or dense), without where its input comes from. */
export type MacGeometry = Omit<MacLayer, 'inputLayer' | 'quantiser'>;

/** The geometry of `layer` if it is a FrameWise-wrapped MAC layer, else null. */
export function macGeometry(layer: tf.layers.Layer): MacGeometry | null {
  if (!(layer instanceof FrameWise)) return null;
  const inner = layer.layer;
  const kind = inner.getClassName();
  const op = kind === 'Conv2D' ? 'conv2d' : kind === 'DepthwiseConv2D' ? 'depthwise2d' : kind === 'Dense' ? 'dense' : null;
  if (op === null) return null;
  const input = (sourceOutput(layer).shape as number[]).slice(2);
  const output = (layer.outputShape as number[]).slice(2);
  if (op === 'dense') {
    return { name: layer.name, op, input, output, kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 };
  }
  const cfg = inner.getConfig();
  const kernel = pair(cfg.kernelSize);
  const stride = pair(cfg.strides);
  const dilation = pair(cfg.dilationRate ?? 1);
  const [t, b] = cfg.padding === 'same' ? samePadding(input[0]!, kernel[0], stride[0], dilation[0]) : [0, 0];
  const [l, r] = cfg.padding === 'same' ? samePadding(input[1]!, kernel[1], stride[1], dilation[1]) : [0, 0];
  const groups = op === 'depthwise2d' ? input[2]! : 1;
  return { name: layer.name, op, input, output, kernel, stride, padding: [t, b, l, r], dilation, groups };
}

/** The MAC layers of a model built by `buildModel` / `deltaise` / `deltaiseKeras` (any graph of FrameWise conv/dense layers). */
export function macLayers(model: tf.LayersModel): MacLayer[] {
  const out: MacLayer[] = [];
  for (const layer of model.layers) {
    const mac = macGeometry(layer);
    if (mac === null) continue;
    let src = sourceLayer(layer);
    const inputLayer = src.name;
    // Back through single-input layers; a merge (add, concatenation) has no one quantiser.
    while (!(src instanceof QuantisedActivation) && src.getClassName() !== 'InputLayer' && !Array.isArray(src.input))
      src = sourceLayer(src);
    const quantiser = src instanceof QuantisedActivation ? src.name : null;
    out.push({ ...mac, inputLayer, quantiser });
  }
  return out;
}

/**
 * Fan-out of one input neuron into this MAC layer: its synapses (kh·kw·filters; kh·kw·multiplier for a
 * depthwise conv; units for a dense) by the authors' convention, divided by stride² by 'per-stride'
 * (then it is the layer's MACs per input neuron, which is what a non-zero input costs on average).
 */
export function fanOut(mac: MacGeometry, convention: FanOutConvention = DEFAULT_FAN_OUT): number {
  const [kh, kw] = mac.kernel;
  if (mac.op === 'dense') return mac.output[0]!;
  const s2 = convention === 'per-stride' ? mac.stride[0] * mac.stride[1] : 1;
  if (mac.op === 'depthwise2d') return (kh * kw * (mac.output[2]! / mac.input[2]!)) / s2;
  return (kh * kw * mac.output[2]!) / s2;
}

/** The quantised activation layers of a model, in order. */
export function activationLayers(model: tf.LayersModel): QuantisedActivation[] {
  return model.layers.filter((l): l is QuantisedActivation => l instanceof QuantisedActivation);
}

/**
 * The MAC layers that read each activation layer's output, on any graph (chains, branches, merges): its
 * consumers are followed forward through every layer that is neither a MAC layer nor an activation layer
 * (pools, padding, dropout, flatten, concatenation, batch norm, adds, …: the MACs behind them are what a
 * changed value costs), stopping at MAC layers (counted, each once) and at activation layers (whose own
 * changes are counted for them).
 */
export function consumerMacs(model: tf.LayersModel): Map<QuantisedActivation, MacGeometry[]> {
  return new Map(activationLayers(model).map((act) => [act, macsReading(model, act)]));
}

/** The MAC layers that read `from`'s output, followed forward as consumerMacs says. */
function macsReading(model: tf.LayersModel, from: tf.layers.Layer): MacGeometry[] {
  const inModel = new Set(model.layers);
  const macs = new Map<string, MacGeometry>();
  const seen = new Set<tf.layers.Layer>();
  const stack = [from];
  while (stack.length > 0) {
    const layer = stack.pop()!;
    for (const node of layer.outboundNodes) {
      const next = node.outboundLayer as tf.layers.Layer;
      if (!inModel.has(next) || seen.has(next)) continue;
      seen.add(next);
      const mac = macGeometry(next);
      if (mac !== null) macs.set(mac.name, mac);
      else if (!(next instanceof QuantisedActivation)) stack.push(next);
    }
  }
  return [...macs.values()];
}

/**
 * The fan-out of the model's input when no activation layer measures it (no input Delta Activation Layer): the
 * MAC layers that read the frames directly, by the convention the model's activation layers were given (the
 * one whose sums equal their nOutputs; the default when they do not tell). 0 when an activation layer reads the
 * input, or it reaches no MAC layer.
 */
export function unmeasuredInputFanOut(model: tf.LayersModel): number {
  const input = model.layers.find((l) => l.getClassName() === 'InputLayer');
  if (!input) return 0;
  const macs = macsReading(model, input);
  if (macs.length === 0) return 0;
  const consumers = [...consumerMacs(model)].filter(([, m]) => m.length > 0);
  const fits = (c: FanOutConvention) =>
    consumers.every(([act, m]) => Math.abs(act.nOutputs - m.reduce((n, mac) => n + fanOut(mac, c), 0)) <= 1e-9 * act.nOutputs);
  const convention = fits(DEFAULT_FAN_OUT) ? DEFAULT_FAN_OUT : (FAN_OUTS.find(fits) ?? DEFAULT_FAN_OUT);
  return macs.reduce((n, mac) => n + fanOut(mac, convention), 0);
}

/**
 * Set each activation layer's nOutputs: the fan-outs of all the MAC layers it feeds (consumerMacs),
 * summed (the authors' n_outputs on a branching network). A layer that feeds none keeps its value.
 */
export function assignFanOuts(model: tf.LayersModel, convention: FanOutConvention = DEFAULT_FAN_OUT): void {
  checkFanOut(convention);
  for (const [layer, macs] of consumerMacs(model)) {
    if (macs.length > 0) layer.nOutputs = macs.reduce((n, mac) => n + fanOut(mac, convention), 0);
  }
}

/** Set the penalty weight of every activation layer (phase changes). */
export function setSpRate(model: tf.LayersModel, spRate: number): void {
  for (const l of activationLayers(model)) l.setSpRate(spRate);
}

export interface DeltaiseOptions {
  spRate?: number;
  /** Initial threshold; default: the replaced layer's step, else DEFAULT_STEP. */
  thresholdInit?: number;
  granularity?: ThresholdGranularity;
  /** Put the input Delta Activation Layer on the frames (default true; kept if the model has one). */
  inputDelta?: boolean;
  /** Its initial threshold in frame units (default INPUT_THRESHOLD_INIT). */
  inputThreshold?: number;
  /** Fan-out convention of the penalty (default 'authors'). */
  fanOut?: FanOutConvention;
}

function reluOf(layer: tf.layers.Layer): boolean {
  const cfg = layer.getConfig();
  const inner = layer instanceof FrameWise ? layer.layer.getConfig() : {};
  return layer.getClassName() === 'ReLU' || cfg.activation === 'relu' || inner.activation === 'relu';
}

function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  const cls = layer.constructor as unknown as { fromConfig(cls: unknown, cfg: tf.serialization.ConfigDict): tf.layers.Layer };
  return cls.fromConfig(layer.constructor, layer.getConfig());
}

/**
 * The paper's refinement phase: a copy of a single-chain model with a Delta Activation Layer after
 * every activation. Quantised activation layers are replaced by DeltaActivation (relu inside, threshold
 * initialised to their step); other relu activations get a linear DeltaActivation right after them;
 * the frames get the input Delta Activation Layer unless `inputDelta` is false or there is one already.
 * All other weights are copied; fan-outs are recomputed.
 */
export function deltaise(model: tf.LayersModel, opts: DeltaiseOptions = {}): tf.LayersModel {
  const [inputLayer, ...rest] = model.layers;
  if (model.inputs.length !== 1 || inputLayer?.getClassName() !== 'InputLayer')
    throw new InputError('deltaise: the model must have one input');
  const input = tf.input({ shape: model.inputs[0]!.shape.slice(1), name: inputLayer.name });
  let x: tf.SymbolicTensor = input;
  let prev: tf.layers.Layer = inputLayer;
  if ((opts.inputDelta ?? true) && inputDeltaOf(model) === null) {
    x = inputDeltaLayer({ spRate: opts.spRate, thresholdInit: opts.inputThreshold, granularity: opts.granularity }).apply(
      x,
    ) as tf.SymbolicTensor;
  }
  const copies: Array<[tf.layers.Layer, tf.layers.Layer]> = [];
  const deltaArgs = (name: string, thresholdInit: number, activation: 'relu' | 'linear') =>
    new DeltaActivation({
      name,
      activation,
      spRate: opts.spRate ?? 0,
      thresholdInit: opts.thresholdInit ?? thresholdInit,
      granularity: opts.granularity ?? 'channel',
    });
  for (const layer of rest) {
    if (sourceLayer(layer) !== prev)
      throw new InputError(`deltaise: layer ${layer.name} is not fed by ${prev.name}; only single-chain models are supported`);
    prev = layer;
    if (layer instanceof QuantisedActivation && !(layer instanceof DeltaActivation)) {
      const step = layer instanceof L1Activation ? layer.step : DEFAULT_STEP;
      x = deltaArgs(layer.name, step, layer.activation).apply(x) as tf.SymbolicTensor;
      continue;
    }
    const copy = cloneLayer(layer);
    x = copy.apply(x) as tf.SymbolicTensor;
    copies.push([layer, copy]);
    if (reluOf(layer)) x = deltaArgs(`${layer.name}_delta`, DEFAULT_STEP, 'linear').apply(x) as tf.SymbolicTensor;
  }
  const out = tf.model({ inputs: input, outputs: x, name: `${model.name}-delta` });
  for (const [from, to] of copies) to.setWeights(from.getWeights());
  assignFanOuts(out, opts.fanOut);
  return out;
}
