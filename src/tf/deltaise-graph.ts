/**
 * Delta-ising a pretrained per-frame Keras network (issue 18 item 2): `deltaiseKeras` turns a functional
 * Keras model of one frame (any DAG: branches, Add, Concatenate; e.g. nsfwjs's MobileNetV2 and
 * InceptionV3, record/keras/load.ts) into a video model of this project's kind, input (batch, time, H, W, C):
 *   - every layer is copied with its weights: single-input layers wrapped FrameWise (time folded into
 *     the batch), merges (Add, Concatenate, …) applied to the (batch, time, …) tensors directly;
 *   - batch normalisation runs in inference mode for good (FrozenFrameWise): the pretrained moving
 *     statistics are kept, not re-estimated from small batches of correlated frames; scale and offset train;
 *   - a measuring activation layer (linear: it quantises what the network computed, it adds no relu) sits
 *     (a) after every activation — ReLU / ReLU(max 6) / Activation layers and activations fused into
 *         conv / dense layers — except a softmax, and
 *     (b) on every other tensor a MAC layer reads, found by looking back through pass-through layers
 *         (padding, pools, dropout, flatten, reshape, concatenation): the linear bottlenecks and residual
 *         sums of MobileNetV2, which no activation covers; without it the 1×1 expansions behind them
 *         would read a changed value at every neuron of every frame;
 *     which layer depends on the variant: delta — DeltaActivation (trainable thresholds, `thresholdInit`;
 *     threshold-only "DeltaCNN-style" use: `trainableThreshold: false` and no training), plus the input
 *     Delta Activation Layer on the frames (on by default, as in models.ts); l1 — L1Activation (spatial
 *     L1 penalty, fixed step); baseline — L1Activation with no penalty, only to tally spatial sparsity;
 *   - fan-outs are set per consumer (models.ts consumerMacs/assignFanOuts: the MAC layers behind each
 *     measuring layer through any non-MAC layers, summed);
 *   - the network's own output per frame (batch, time, K) is averaged over time by `clip_mean` into
 *     the clip prediction (batch, K), as buildModel's models; distill.ts's `perFrameModel` gives the per-frame one.
 * With every threshold / step → 0 the copy computes exactly what the original computes on each frame.
 */
import { tf } from './backend.js';
import { InputError } from '../../lib/errors.js';
import { DeltaActivation, FrameWise, FrozenFrameWise, L1Activation, type ThresholdGranularity } from './layers/index.js';
import type { QuantisedActivation } from './layers/index.js';
import { DEFAULT_STEP, VARIANTS, assignFanOuts, inputDeltaLayer, type FanOutConvention, type Variant } from './models.js';

export interface DeltaiseKerasOptions {
  /** Which measuring layer to insert (default 'delta'). */
  variant?: Variant;
  /** Penalty weight of every inserted layer (default 0; the trainer sets it per phase). */
  spRate?: number;
  /** delta: initial threshold of every inserted layer; l1 / baseline: their fixed quantiser step (default DEFAULT_STEP). */
  thresholdInit?: number;
  /** delta: train the thresholds (default true; false for threshold-only deltas). */
  trainableThreshold?: boolean;
  granularity?: ThresholdGranularity;
  /** delta: the input Delta Activation Layer on the frames (default true). */
  inputDelta?: boolean;
  /** Its initial threshold in the model's input units (default models.ts's INPUT_THRESHOLD_INIT, for inputs in [0, 1]). */
  inputThreshold?: number;
  /** Fan-out convention of the penalty (default 'authors'). */
  fanOut?: FanOutConvention;
}

/** Name of the layer that averages the per-frame outputs into the clip prediction. */
export const CLIP_MEAN = 'clip_mean';

/** Layers of a pretrained model that carry MACs the fan-outs can count (macGeometry). */
const MACS = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);
/** Layers with MACs this module cannot count yet, refused rather than left uncounted. */
const REFUSED = new Set([
  'SeparableConv2D',
  'Conv2DTranspose',
  'Conv1D',
  'Conv3D',
  'LocallyConnected2D',
  'Model',
  'Functional',
  'Sequential',
]);
/** Weightless layers that move, pick or average values: a MAC layer behind them reads what is before them. */
const PASS_THROUGH = new Set([
  'ZeroPadding2D',
  'Cropping2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Dropout',
  'SpatialDropout2D',
  'Flatten',
  'Reshape',
  'Concatenate',
]);
/** Merge layers: several inputs, applied to the (batch, time, …) tensors as they are. */
const MERGES = new Set(['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate']);
const ACTIVATION_LAYERS = new Set(['ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'ThresholdedReLU']);

const inputsOf = (layer: tf.layers.Layer): tf.SymbolicTensor[] => {
  const inp = layer.input;
  return Array.isArray(inp) ? inp : [inp];
};

/** The layer ends in an activation function other than linear and softmax (the classifier's). */
function endsInActivation(layer: tf.layers.Layer): boolean {
  if (ACTIVATION_LAYERS.has(layer.getClassName())) return true;
  const act = layer.getConfig().activation;
  return typeof act === 'string' && act !== 'linear' && act !== 'softmax';
}

/** Names of the layers whose output gets a measuring layer (rules (a) and (b) above). */
function measuredLayers(model: tf.LayersModel): Set<string> {
  const measured = new Set(model.layers.filter(endsInActivation).map((l) => l.name));
  const cover = (t: tf.SymbolicTensor): void => {
    const src = t.sourceLayer as tf.layers.Layer;
    if (measured.has(src.name) || src.getClassName() === 'InputLayer') return;
    if (PASS_THROUGH.has(src.getClassName())) inputsOf(src).forEach(cover);
    else measured.add(src.name);
  };
  for (const layer of model.layers) if (MACS.has(layer.getClassName())) inputsOf(layer).forEach(cover);
  return measured;
}

function clone(layer: tf.layers.Layer, config: tf.serialization.ConfigDict): tf.layers.Layer {
  const cls = layer.constructor as unknown as { fromConfig(cls: unknown, cfg: tf.serialization.ConfigDict): tf.layers.Layer };
  return cls.fromConfig(layer.constructor, config);
}

/** A new video model: `model` (one frame in, one vector out) per frame, with measuring layers as described above. */
export function deltaiseKeras(model: tf.LayersModel, opts: DeltaiseKerasOptions = {}): tf.LayersModel {
  const variant = opts.variant ?? 'delta';
  if (!VARIANTS.includes(variant)) throw new InputError(`unknown variant "${variant}" (one of ${VARIANTS.join(', ')})`);
  const step = opts.thresholdInit ?? DEFAULT_STEP;
  if (!(Number.isFinite(step) && step > 0)) throw new InputError(`threshold / step must be a number > 0, got ${step}`);
  if (opts.inputDelta && variant !== 'delta') throw new InputError(`the input delta layer is for delta models, not ${variant}`);
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new InputError(
      `deltaise: the model must have one input and one output (it has ${model.inputs.length} and ${model.outputs.length})`,
    );
  const frame = model.inputs[0]!.shape.slice(1);
  if (frame.length !== 3 || frame.some((d) => d == null))
    throw new InputError(`deltaise: the model must take [H, W, C] frames of a known size, it takes ${JSON.stringify(frame)}`);
  if (model.outputs[0]!.shape.length !== 2)
    throw new InputError(`deltaise: the model must output one vector per frame, its output is ${JSON.stringify(model.outputs[0]!.shape)}`);
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (REFUSED.has(kind)) throw new InputError(`deltaise: layer "${layer.name}" (${kind}) is not supported`);
    if (kind === 'Dense' && (layer.input as tf.SymbolicTensor).shape.length !== 2)
      throw new InputError(`deltaise: dense layer "${layer.name}" is applied per pixel; only dense layers on vectors are counted`);
    if (kind !== 'InputLayer' && layer.inboundNodes.length !== 1)
      throw new InputError(`deltaise: layer "${layer.name}" is used ${layer.inboundNodes.length} times (shared layers are not supported)`);
  }
  const measured = measuredLayers(model);
  const measure = (name: string, x: tf.SymbolicTensor): tf.SymbolicTensor => {
    const layer: QuantisedActivation =
      variant === 'delta'
        ? new DeltaActivation({
            name: `${name}_delta`,
            activation: 'linear',
            spRate: opts.spRate ?? 0,
            thresholdInit: step,
            trainableThreshold: opts.trainableThreshold ?? true,
            granularity: opts.granularity ?? 'channel',
          })
        : new L1Activation({ name: `${name}_${variant}`, activation: 'linear', step, spRate: variant === 'l1' ? (opts.spRate ?? 0) : 0 });
    return layer.apply(x) as tf.SymbolicTensor;
  };

  const tensors = new Map<string, tf.SymbolicTensor>();
  const copies: Array<[tf.Tensor[], tf.layers.Layer]> = [];
  const added: tf.Tensor[] = []; // scales made up for unscaled batch norms
  let input: tf.SymbolicTensor | undefined;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    let x: tf.SymbolicTensor;
    if (kind === 'InputLayer') {
      input = tf.input({ shape: [null, ...(frame as number[])], name: layer.name });
      x = input;
      if (variant === 'delta' && (opts.inputDelta ?? true)) {
        const inp = inputDeltaLayer({ spRate: opts.spRate, thresholdInit: opts.inputThreshold, granularity: opts.granularity });
        inp.trainable = opts.trainableThreshold ?? true; // its only weight is the threshold
        x = inp.apply(x) as tf.SymbolicTensor;
      }
    } else {
      const ins = inputsOf(layer).map((t) => {
        const mapped = tensors.get(t.sourceLayer.name);
        if (!mapped) throw new InputError(`deltaise: layer "${layer.name}" comes before its input "${t.sourceLayer.name}"`);
        return mapped;
      });
      const config = layer.getConfig();
      if (MERGES.has(kind)) {
        // A non-negative axis counted on (batch, …) moves one along on (batch, time, …).
        const axis = config.axis;
        const copy = clone(layer, typeof axis === 'number' && axis >= 0 ? { ...config, axis: axis + 1 } : config);
        x = copy.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor;
      } else {
        if (ins.length !== 1) throw new InputError(`deltaise: layer "${layer.name}" (${kind}) has ${ins.length} inputs`);
        const bn = kind === 'BatchNormalization';
        // tfjs cannot take the gradient of a batch norm without a scale (its FusedBatchNorm gradient saves
        // the absent scale tensor and fails): such a layer gets scale = 1 instead, which computes the same.
        const unscaled = bn && config.scale === false;
        const inner = clone(layer, { ...config, name: `${layer.name}_frame`, ...(unscaled ? { scale: true } : {}) });
        const wrapped = new (bn ? FrozenFrameWise : FrameWise)({ layer: inner, name: layer.name });
        x = wrapped.apply(ins[0]!) as tf.SymbolicTensor;
        if (layer.weights.length > 0) {
          const weights = layer.getWeights();
          if (unscaled) added.push(tf.onesLike(weights[0]!));
          copies.push([unscaled ? [added.at(-1)!, ...weights] : weights, wrapped]);
        }
      }
      if (measured.has(layer.name)) x = measure(layer.name, x);
    }
    tensors.set(layer.name, x);
  }
  const perFrame = tensors.get(model.outputs[0]!.sourceLayer.name)!;
  const clipMean = tf.layers.globalAveragePooling1d({ name: CLIP_MEAN }).apply(perFrame) as tf.SymbolicTensor;
  const out = tf.model({ inputs: input!, outputs: clipMean, name: `${model.name}-${variant}` });
  for (const [weights, to] of copies) to.setWeights(weights);
  tf.dispose(added);
  assignFanOuts(out, opts.fanOut);
  return out;
}
