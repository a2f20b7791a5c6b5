/**
 * The spatial-sparsity baseline of the paper (its "L1 regulizer" layer) with the same quantiser as the
 * Delta Activation Layer, so that its traces are integer levels too:
 *   Y = round(relu(x) / q) · q  with a fixed step q (not trained),
 *   loss += spRate · nOutputs · mean |Y|.
 * With spRate = 0 it is the plain baseline: relu + fixed-step quantisation.
 */
import { tf } from '../backend.js';
import { absSign, quantise } from './quantise.js';
import { QuantisedActivation, type QuantisedActivationArgs } from './quantised-activation.js';

export interface L1ActivationArgs extends QuantisedActivationArgs {
  /** Quantiser step q (> 0). */
  step?: number;
}

export class L1Activation extends QuantisedActivation {
  static readonly className = 'L1Activation';
  readonly step: number;

  constructor(args: L1ActivationArgs = {}) {
    super(args);
    this.step = args.step ?? 0.05;
    if (!(this.step > 0)) throw new Error(`${this.name}: step must be > 0, got ${this.step}`);
  }

  quantiserStep(): tf.Tensor {
    return tf.tensor1d([this.step]);
  }

  activate(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => quantise(this.applyActivation(x), tf.scalar(this.step)));
  }

  protected penalty(y: tf.Tensor): tf.Scalar {
    return tf.mul(this.spRate * this.nOutputs, tf.mean(absSign(y))) as tf.Scalar;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), step: this.step };
  }
}
tf.serialization.registerClass(L1Activation);
