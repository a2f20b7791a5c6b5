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
 * Each activation's fan-out (nOutputs) is set from the MAC layer it feeds: kh·kw·filters/stride² for a
 * conv, kh·kw/stride² for a depthwise conv, units for a dense.
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
}

/** Per-frame MAC layers of each net, before the global average pool and the classifier. */
type Block = { op: 'conv2d'; filters: number; kernel: number; stride: number } | { op: 'depthwise2d'; kernel: number; stride: number };
const conv = (filters: number, kernel = 3, stride = 2): Block => ({ op: 'conv2d', filters, kernel, stride });
const dw = (stride = 2): Block => ({ op: 'depthwise2d', kernel: 3, stride });
const NET_BLOCKS: Record<NetName, Block[]> = {
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

/** Build a fresh, seeded model (weights depend only on the spec). */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  if (!NETS.includes(spec.net)) throw new InputError(`unknown net "${spec.net}" (one of ${NETS.join(', ')})`);
  if (!VARIANTS.includes(spec.variant)) throw new InputError(`unknown variant "${spec.variant}" (one of ${VARIANTS.join(', ')})`);
  if (!(Number.isInteger(spec.classes) && spec.classes >= 2)) throw new InputError(`classes must be an integer >= 2, got ${spec.classes}`);
  let seed = spec.seed;
  const init = () => tf.initializers.heUniform({ seed: seed++ });
  const input = tf.input({ shape: [null, ...spec.frameShape], name: 'frames' });
  // tfjs counts a depthwise kernel's fan-in as kh·kw·C (it is kh·kw): scale He's variance back up by C.
  const dwInit = (channels: number) =>
    tf.initializers.varianceScaling({ scale: 2 * channels, mode: 'fanIn', distribution: 'uniform', seed: seed++ });
  let x: tf.SymbolicTensor = input;
  let channels = spec.frameShape[2];
  if (spec.motionInput) {
    x = new MotionInput({ name: 'motion' }).apply(x) as tf.SymbolicTensor;
    channels *= 2;
  }
  NET_BLOCKS[spec.net].forEach((b, i) => {
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
  assignFanOuts(model);
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
  /** The activation layer whose quantiser step scales that input's levels; null for the model input. */
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

/** The MAC layers of a model built by `buildModel` / `deltaise` (or any chain of FrameWise conv/dense layers). */
export function macLayers(model: tf.LayersModel): MacLayer[] {
  const out: MacLayer[] = [];
  for (const layer of model.layers) {
    if (!(layer instanceof FrameWise)) continue;
    const inner = layer.layer;
    const kind = inner.getClassName();
    const op = kind === 'Conv2D' ? 'conv2d' : kind === 'DepthwiseConv2D' ? 'depthwise2d' : kind === 'Dense' ? 'dense' : null;
    if (op === null) continue;
    const cfg = inner.getConfig();
    const input = (sourceOutput(layer).shape as number[]).slice(2);
    const output = (layer.outputShape as number[]).slice(2);
    let src = sourceLayer(layer);
    const inputLayer = src.name;
    while (!(src instanceof QuantisedActivation) && src.getClassName() !== 'InputLayer') src = sourceLayer(src);
    const quantiser = src instanceof QuantisedActivation ? src.name : null;
    if (op === 'dense') {
      out.push({
        name: layer.name,
        op,
        input,
        output,
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0, 0, 0],
        dilation: [1, 1],
        groups: 1,
        inputLayer,
        quantiser,
      });
      continue;
    }
    const kernel = pair(cfg.kernelSize);
    const stride = pair(cfg.strides);
    const dilation = pair(cfg.dilationRate ?? 1);
    const [t, b] = cfg.padding === 'same' ? samePadding(input[0]!, kernel[0], stride[0], dilation[0]) : [0, 0];
    const [l, r] = cfg.padding === 'same' ? samePadding(input[1]!, kernel[1], stride[1], dilation[1]) : [0, 0];
    const groups = op === 'depthwise2d' ? input[2]! : 1;
    out.push({ name: layer.name, op, input, output, kernel, stride, padding: [t, b, l, r], dilation, groups, inputLayer, quantiser });
  }
  return out;
}

/** Operations a non-zero input of this MAC layer costs: its average fan-out. */
export function fanOut(mac: MacLayer): number {
  const [kh, kw] = mac.kernel;
  const s2 = mac.stride[0] * mac.stride[1];
  if (mac.op === 'dense') return mac.output[0]!;
  if (mac.op === 'depthwise2d') return (kh * kw * (mac.output[2]! / mac.input[2]!)) / s2;
  return (kh * kw * mac.output[2]!) / s2;
}

/** The quantised activation layers of a model, in order. */
export function activationLayers(model: tf.LayersModel): QuantisedActivation[] {
  return model.layers.filter((l): l is QuantisedActivation => l instanceof QuantisedActivation);
}

/** Set each activation layer's nOutputs from the MAC layer it feeds. */
export function assignFanOuts(model: tf.LayersModel): void {
  const byName = new Map(activationLayers(model).map((l) => [l.name, l]));
  for (const mac of macLayers(model)) {
    if (mac.quantiser !== null) byName.get(mac.quantiser)!.nOutputs = fanOut(mac);
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
 * initialised to their step); other relu activations get a linear DeltaActivation right after them.
 * All other weights are copied; fan-outs are recomputed.
 */
export function deltaise(model: tf.LayersModel, opts: DeltaiseOptions = {}): tf.LayersModel {
  const [inputLayer, ...rest] = model.layers;
  if (model.inputs.length !== 1 || inputLayer?.getClassName() !== 'InputLayer')
    throw new InputError('deltaise: the model must have one input');
  const input = tf.input({ shape: model.inputs[0]!.shape.slice(1), name: inputLayer.name });
  let x: tf.SymbolicTensor = input;
  let prev: tf.layers.Layer = inputLayer;
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
  assignFanOuts(out);
  return out;
}
