/**
 * The quantiser shared by the activation layers: y = round(a / q) · q, as in Yousefzadeh & Sifalakis
 * (2021). Gradients follow the authors' Keras code: the rounding is a straight-through estimator
 * (dy/da = 1), q receives no gradient through the division, and the gradient that reaches q through
 * the multiplication is sign-flipped (dL/dq = −Σ dy · round(a/q)). The flip is what lets the
 * sparsity loss (which grows with q · |Δlevel|) push the step UP instead of down.
 */
import { tf } from '../backend.js';

/** Sum `x` down to `shape`, undoing NumPy-style broadcasting (leading axes and size-1 axes). */
export function sumToShape(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    // Fast path (per-channel / per-neuron steps): `shape` is a suffix of x's shape → one 2-D column sum.
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length <= x.rank && shape.every((d, i) => d === x.shape[x.rank - shape.length + i])) {
      return tf.reshape(tf.sum(tf.reshape(x, [-1, n]), 0), [...shape]);
    }
    let y = x;
    const lead = y.rank - shape.length;
    if (lead > 0) y = tf.sum(y, [...Array(lead).keys()]);
    const axes = shape.flatMap((d, i) => (d === 1 && y.shape[i] !== 1 ? [i] : []));
    if (axes.length > 0) y = tf.sum(y, axes, true);
    return tf.reshape(y, [...shape]);
  });
}

/** round(a / q) · q with the straight-through and sign-flipped gradients described above. `q` must broadcast to `a`. */
export const quantise: (a: tf.Tensor, q: tf.Tensor) => tf.Tensor = tf.customGrad(
  (a: tf.Tensor | tf.GradSaveFunc, q: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
    const x = a as tf.Tensor;
    const step = q as tf.Tensor;
    const level = tf.round(tf.div(x, step));
    (save as tf.GradSaveFunc)([level]);
    return {
      value: tf.mul(level, step),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [dy, sumToShape(tf.neg(tf.mul(dy, saved[0]!)), step.shape)],
    };
  },
) as unknown as (a: tf.Tensor, q: tf.Tensor) => tf.Tensor;

/** Integer levels of a quantised activation, as trace recording stores them. */
export function toLevels(y: tf.Tensor, q: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.round(tf.div(y, q)));
}

/**
 * |x| with TensorFlow's subgradient sign(0) = 0. tfjs's own abs uses −1 at 0, which on quantised
 * activations (where most deltas and many values are exactly 0) would push every unchanged neuron.
 */
export const absSign: (x: tf.Tensor) => tf.Tensor = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const t = x as tf.Tensor;
  (save as tf.GradSaveFunc)([t]);
  return { value: tf.abs(t), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.sign(saved[0]!)) };
}) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * Temporal differences along axis 1: Y[:,1:] − Y[:,:−1]. Frames are flattened first: tfjs-wasm slices
 * rank ≤ 4 natively but takes a path ~100× slower for 5-D tensors.
 */
export function temporalDeltas(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [b, t, ...frame] = y.shape as number[];
    const flat = tf.reshape(y, [b!, t!, -1]);
    const d = tf.sub(tf.slice(flat, [0, 1, 0], [-1, t! - 1, -1]), tf.slice(flat, [0, 0, 0], [-1, t! - 1, -1]));
    return tf.reshape(d, [b!, t! - 1, ...frame]);
  });
}
