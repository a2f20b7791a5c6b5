/**
 * FrozenFrameWise: a FrameWise whose layer always runs in inference mode, even in a training call.
 * Used for the batch normalisation of a pretrained network being fine-tuned (deltaise-graph.ts): its
 * moving mean and variance stay the pretrained ones and are not updated, and each frame is normalised
 * by them rather than by the statistics of a small batch of correlated video frames (the standard
 * choice when fine-tuning; Keras' `trainable = False` BN does the same). Its scale and offset still train.
 */
import { tf } from '../backend.js';
import { FrameWise } from './frame-wise.js';
import type { Kwargs } from './quantised-activation.js';

export class FrozenFrameWise extends FrameWise {
  static override readonly className: string = 'FrozenFrameWise';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return super.call(inputs, { ...kwargs, training: false });
  }
}
tf.serialization.registerClass(FrozenFrameWise as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
