/**
 * The Delta Activation Layer (Yousefzadeh & Sifalakis 2021, "Training for temporal sparsity in deep
 * neural networks, application in video processing"). Input (batch, time, …):
 *   s = sigma ? cumsum_t(x) : x            (layers fed with deltas integrate them back)
 *   s = s + bias                           (optional; conv/dense feeding delta layers then carry none)
 *   Y = round(act(s) / q) · q,  q = |threshold|   (STE rounding, sign-flipped threshold gradient)
 *   loss += spRate · nOutputs · mean |Y_t − Y_{t−1}|  over the T−1 deltas of the clip
 * Output: Y (deltaLevel 0), Y_t − Y_{t−1} with Y_{−1} = 0 (level 1), or only the T−1 deltas (level 2).
 * nOutputs is the authors' kh·kw·filters of the consumers by default (models.ts, FanOutConvention). With
 * activation 'linear' on the raw frames this is also the authors' input layer (`inp_delta`,
 * models.ts's inputDeltaLayer): the first conv then sees round(x/q)·q, whose frame-to-frame changes are
 * only those larger than about q/2, instead of every pixel that sensor noise touches.
 * Deviation from the authors' code, on purpose: level 2 returns T−1 frames (they repeat the first delta
 * to keep T) and deltas are new − old for both levels (their level-2 path used old − new).
 */
import { tf } from '../backend.js';
import { absSign, quantise, temporalDeltas } from './quantise.js';
import { MIN_STEP, QuantisedActivation, type QuantisedActivationArgs } from './quantised-activation.js';

export type ThresholdGranularity = 'channel' | 'neuron' | 'layer';
export type DeltaLevel = 0 | 1 | 2;

export interface DeltaActivationArgs extends QuantisedActivationArgs {
  granularity?: ThresholdGranularity;
  thresholdInit?: number;
  trainableThreshold?: boolean;
  trainableBias?: boolean;
  sigma?: boolean;
  deltaLevel?: DeltaLevel;
}

export class DeltaActivation extends QuantisedActivation {
  static readonly className = 'DeltaActivation';
  readonly granularity: ThresholdGranularity;
  readonly thresholdInit: number;
  readonly trainableThreshold: boolean;
  readonly trainableBias: boolean;
  readonly sigma: boolean;
  readonly deltaLevel: DeltaLevel;
  private threshold: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: DeltaActivationArgs = {}) {
    super(args);
    this.granularity = args.granularity ?? 'channel';
    this.thresholdInit = args.thresholdInit ?? 0.05;
    this.trainableThreshold = args.trainableThreshold ?? true;
    this.trainableBias = args.trainableBias ?? false;
    this.sigma = args.sigma ?? false;
    this.deltaLevel = args.deltaLevel ?? 0;
    if (!['channel', 'neuron', 'layer'].includes(this.granularity)) throw new Error(`${this.name}: bad granularity ${this.granularity}`);
    if (![0, 1, 2].includes(this.deltaLevel)) throw new Error(`${this.name}: deltaLevel must be 0, 1 or 2`);
    if (!(this.thresholdInit !== 0 && Number.isFinite(this.thresholdInit)))
      throw new Error(`${this.name}: thresholdInit must be a non-zero number`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const frame = shape.slice(2);
    if (frame.length === 0 || frame.some((d) => d == null)) {
      throw new Error(`${this.name}: needs (batch, time, …) input with known frame dims, got ${JSON.stringify(shape)}`);
    }
    const channels = frame[frame.length - 1] as number;
    const thrShape = this.granularity === 'channel' ? [channels] : this.granularity === 'neuron' ? (frame as number[]) : [1];
    this.threshold = this.addWeight(
      'threshold',
      thrShape,
      'float32',
      tf.initializers.constant({ value: this.thresholdInit }),
      undefined,
      this.trainableThreshold,
    );
    if (this.trainableBias) {
      this.bias = this.addWeight('bias', [channels], 'float32', tf.initializers.zeros(), undefined, true);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (this.deltaLevel !== 2) return shape;
    const t = shape[1];
    return [shape[0]!, t == null ? null : t - 1, ...shape.slice(2)];
  }

  /** The threshold's variable (null before build), for a trainer that gives thresholds their own learning rate. */
  get thresholdVariable(): tf.LayerVariable | null {
    return this.threshold;
  }

  quantiserStep(): tf.Tensor {
    return tf.tidy(() => tf.maximum(tf.abs(this.threshold!.read()), MIN_STEP));
  }

  activate(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let s = this.sigma ? tf.cumsum(x, 1) : x;
      if (this.bias) s = tf.add(s, this.bias.read());
      return quantise(this.applyActivation(s), this.quantiserStep());
    });
  }

  protected penalty(y: tf.Tensor): tf.Scalar {
    if (y.shape[1]! < 2) return tf.scalar(0);
    return tf.mul(this.spRate * this.nOutputs, tf.mean(absSign(temporalDeltas(y)))) as tf.Scalar;
  }

  protected override emit(y: tf.Tensor): tf.Tensor {
    if (this.deltaLevel === 2) return temporalDeltas(y);
    if (this.deltaLevel === 1) {
      // Y_t − Y_{t−1} with Y_{−1} = 0, i.e. the deltas of Y with a zero frame in front.
      const zero = tf.zeros([y.shape[0]!, 1, ...y.shape.slice(2)]);
      return temporalDeltas(tf.concat([zero, y], 1));
    }
    return y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      granularity: this.granularity,
      thresholdInit: this.thresholdInit,
      trainableThreshold: this.trainableThreshold,
      trainableBias: this.trainableBias,
      sigma: this.sigma,
      deltaLevel: this.deltaLevel,
    };
  }
}
tf.serialization.registerClass(DeltaActivation);
