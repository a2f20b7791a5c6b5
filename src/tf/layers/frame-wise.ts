/**
 * FrameWise: tfjs's TimeDistributed with a fast `call`. The stock one loops over time steps (one conv
 * per frame, then a stack); folding time into the batch — (B, T, …) → (B·T, …) → layer → (B, T, …) —
 * runs one conv per clip batch instead. Shapes, weights and (de)serialisation are TimeDistributed's.
 */
import { tf } from '../backend.js';
import type { Kwargs } from './quantised-activation.js';

type TimeDistributed = ReturnType<typeof tf.layers.timeDistributed>;
type WrapperArgs = Parameters<typeof tf.layers.timeDistributed>[0];

// TimeDistributed's class is not exported by name; its serialisation registry entry is public.
const registered = tf.serialization.SerializationMap.getMap().classNameMap.TimeDistributed;
if (!registered) throw new Error('tfjs did not register TimeDistributed');
const TimeDistributedClass = registered[0] as unknown as new (args: WrapperArgs) => TimeDistributed;

export class FrameWise extends TimeDistributedClass {
  static readonly className: string = 'FrameWise';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [b, t] = x.shape as number[];
      const folded = tf.reshape(x, [b! * t!, ...x.shape.slice(2)]);
      const out = this.layer.call(folded, kwargs);
      const y = Array.isArray(out) ? out[0]! : out;
      return tf.reshape(y, [b!, t!, ...y.shape.slice(1)]);
    });
  }
}
tf.serialization.registerClass(FrameWise as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** Wrap a per-frame layer so that it applies to every frame of (batch, time, …). */
export function frameWise(layer: tf.layers.Layer, name?: string): FrameWise {
  return new FrameWise({ layer, ...(name ? { name } : {}) });
}
