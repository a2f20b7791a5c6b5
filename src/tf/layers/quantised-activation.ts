/**
 * Common base of the activation layers that end in the quantiser (DeltaActivation, L1Activation).
 * Input and output are (batch, time, …). Each subclass says how it turns its input into the quantised
 * activation Y (`activate`) and which sparsity penalty it adds; the base owns the penalty's plumbing:
 * it is registered once with `addLoss` and re-evaluated on every training call, so that
 * `model.calculateLosses()` (and `model.fit`) see the value of the current step.
 */
import { tf } from '../backend.js';
import { temporalDeltas, toLevels } from './quantise.js';

export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
export type ActivationName = 'relu' | 'linear';
export type Kwargs = Record<string, unknown>;

export interface QuantisedActivationArgs extends LayerArgs {
  /** Weight of the sparsity penalty (the paper's sp_rate); changeable between phases with the setter. */
  spRate?: number;
  /**
   * Fan-out of each neuron (the paper's n_outputs): the penalty is scaled by the operations a non-zero
   * costs. Set by models.ts's assignFanOuts: kh·kw·filters of every consumer, summed (the authors'
   * convention, default) or that ÷ stride² ('per-stride', the old default). Saved in the layer config, so
   * a loaded model keeps the value it was trained with.
   */
  nOutputs?: number;
  activation?: ActivationName;
}

/** Smallest quantiser step: keeps round(a/q) finite if a threshold is driven to zero. */
export const MIN_STEP = 1e-6;

export abstract class QuantisedActivation extends tf.layers.Layer {
  spRate: number;
  nOutputs: number;
  readonly activation: ActivationName;
  private lastPenalty: tf.Scalar | null = null;
  private lastCounts: tf.Tensor1D | null = null;

  constructor(args: QuantisedActivationArgs) {
    super(args);
    this.spRate = args.spRate ?? 0;
    this.nOutputs = args.nOutputs ?? 1;
    this.activation = args.activation ?? 'relu';
    if (!(this.nOutputs > 0)) throw new Error(`${this.name}: nOutputs must be > 0, got ${this.nOutputs}`);
    if (!(this.spRate >= 0)) throw new Error(`${this.name}: spRate must be >= 0, got ${this.spRate}`);
    this.addLoss(() => this.lastPenalty ?? tf.scalar(0));
  }

  /** Set the penalty weight (e.g. 1e-4 in phase 1, 1e-6 in phase 2). */
  setSpRate(spRate: number): void {
    if (!(spRate >= 0)) throw new Error(`${this.name}: spRate must be >= 0, got ${spRate}`);
    this.spRate = spRate;
  }

  /** The quantiser step q (> 0), shaped to broadcast against one frame's activations: [C], [H,W,C] or [1]. */
  abstract quantiserStep(): tf.Tensor;

  /** Input (batch, time, …) → quantised activation Y, before any delta is taken. */
  abstract activate(x: tf.Tensor): tf.Tensor;

  /** The penalty for this call, given Y (batch, time, …); a scalar. */
  protected abstract penalty(y: tf.Tensor): tf.Scalar;

  /** Y → what the layer outputs (Y itself, or its deltas). */
  protected emit(y: tf.Tensor): tf.Tensor {
    return y;
  }

  /** Integer levels round(Y / q) of a quantised activation Y of this layer (for traces; scale = q). */
  levels(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => toLevels(y, this.quantiserStep()));
  }

  protected applyActivation(x: tf.Tensor): tf.Tensor {
    return this.activation === 'relu' ? tf.relu(x) : x;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const y = this.activate(x);
      if (kwargs.training === true) {
        this.lastPenalty?.dispose();
        this.lastPenalty = tf.keep(this.spRate > 0 ? this.penalty(y) : tf.scalar(0));
        this.lastCounts?.dispose();
        this.lastCounts = tf.keep(activityCounts(y));
      }
      return this.emit(y);
    });
  }

  /**
   * [non-zero levels, levels, non-zero deltas, deltas] of Y in the last training call (a tensor, so
   * that the trainer can read all layers with one download); null before the first one.
   */
  lastActivityCounts(): tf.Tensor1D | null {
    return this.lastCounts;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), spRate: this.spRate, nOutputs: this.nOutputs, activation: this.activation };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.lastPenalty?.dispose();
    this.lastPenalty = null;
    this.lastCounts?.dispose();
    this.lastCounts = null;
    return super.dispose();
  }
}

/** [non-zero values, values, non-zero temporal deltas, deltas] of a (batch, time, …) tensor. */
export function activityCounts(y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const nz = (t: tf.Tensor) => tf.sum(tf.cast(tf.notEqual(t, 0), 'float32'));
    const deltas = y.shape[1]! > 1 ? temporalDeltas(y) : null;
    const nDeltas = deltas ? deltas.size : 0;
    return tf.stack([nz(y), tf.scalar(y.size), deltas ? nz(deltas) : tf.scalar(0), tf.scalar(nDeltas)]) as tf.Tensor1D;
  });
}
