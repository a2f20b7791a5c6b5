/**
 * FrozenFrameWise: a FrameWise whose layer always runs in inference mode, even in a training call.
 * Used for the batch normalisation of a pretrained network being fine-tuned (deltaise-graph.ts): its
 * moving mean and variance stay the pretrained ones and are not updated, and each frame is normalised
 * by them rather than by the statistics of a small batch of correlated video frames (the standard
 * choice when fine-tuning; Keras' `trainable = False` BN does the same). Its scale and offset still train.
 * A channels-last batch norm is computed here as the affine map it is in inference mode,
 * (x − mean)·k + offset with k = scale / sqrt(variance + ε): the same values as tfjs' batchNorm, whose
 * gradient (for a training-mode op) tiles per-channel factors to the input's full size and takes about
 * as long as the convolutions of MobileNetV2 on wasm.
 */
import { tf } from '../backend.js';
import { FrameWise } from './frame-wise.js';
import type { Kwargs } from './quantised-activation.js';

export class FrozenFrameWise extends FrameWise {
  static override readonly className: string = 'FrozenFrameWise';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const cfg = this.layer.getConfig();
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis];
    const channelsLast =
      this.layer.getClassName() === 'BatchNormalization' && axis.length === 1 && [-1, x.rank - 2].includes(Number(axis[0]));
    if (!channelsLast) return super.call(inputs, { ...kwargs, training: false });
    return tf.tidy(() => {
      // Weights in tfjs' order: scale (if any), offset (if any), moving mean, moving variance.
      const w = this.layer.weights.map((v) => v.read());
      const scale = cfg.scale ? w.shift()! : null;
      const offset = cfg.center ? w.shift()! : null;
      const [mean, variance] = w as [tf.Tensor, tf.Tensor];
      let k = tf.rsqrt(tf.add(variance, Number(cfg.epsilon)));
      if (scale) k = tf.mul(k, scale);
      const y = tf.mul(tf.sub(x, mean), k);
      return offset ? tf.add(y, offset) : y;
    });
  }
}
tf.serialization.registerClass(FrozenFrameWise as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
