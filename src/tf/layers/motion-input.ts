/**
 * MotionInput: (batch, time, H, W, C) → (batch, time, H, W, 2C), each frame followed by its temporal
 * difference [x_t, x_t − x_{t−1}] (x_{−1} = x_0, so frame 0's difference is zero). A per-frame CNN whose
 * clip prediction is a mean over frames cannot tell motion classes apart from single frames (left vs
 * right, cw vs ccw, grow vs shrink look alike frame by frame); with the difference channel the first
 * conv sees I and ∂I/∂t together, from which the motion direction is local. It has no weights and no
 * MACs: the first conv's input is this layer's output.
 */
import { tf } from '../backend.js';
import { temporalDeltas } from './quantise.js';
import type { Kwargs, LayerArgs } from './quantised-activation.js';

export class MotionInput extends tf.layers.Layer {
  static readonly className = 'MotionInput';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    return [...shape.slice(0, -1), c == null ? null : 2 * c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [b, t, ...frame] = x.shape as number[];
      const n = frame.reduce((p, q) => p * q, 1);
      const c = frame[frame.length - 1]!;
      const d = t! > 1 ? tf.concat([tf.zeros([b!, 1, n]), tf.reshape(temporalDeltas(x), [b!, t! - 1, n])], 1) : tf.zeros([b!, t!, n]);
      // Concatenate along channels on rank-2 views (5-D concat is slow on wasm).
      const y = tf.concat([tf.reshape(x, [-1, c]), tf.reshape(d, [-1, c])], 1);
      return tf.reshape(y, [b!, t!, ...frame.slice(0, -1), 2 * c]);
    });
  }
}
tf.serialization.registerClass(MotionInput);
