/**
 * A tiny per-frame Keras functional model with the structures of MobileNetV2 and InceptionV3: a
 * stride-2 conv, batch norms (one without scale, as InceptionV3's), relu6, zero padding before a valid
 * depthwise conv, a linear bottleneck added to a residual, three branches (one behind an average pool)
 * concatenated on a positive axis, a max-pool, flatten, a relu dense head with dropout and a softmax.
 * Weights (and the batch norms' moving statistics) are seeded, so the model is the same on every backend.
 *
 *   input 8×8×3 → c1 3×3/2 (4) → bn1 → r1 relu6 ─┬─ pad → dw 3×3 → proj 1×1 (4) → bn2 ─ add ─┬─ c2 1×1 (2, relu) ────────┐
 *                                                 └──────────────────────────────────────────┘ ├─ c3 3×3 (3, relu) ────────┤ cat → pool 2 → flatten → d1 (8, relu) → drop → fc (3, softmax)
 *                                                                                              └─ avg 3×3/1 → c4 1×1 (2, relu) ┘
 */
import { tf } from '../../src/tf/backend.js';

export const TOY_FRAME: [number, number, number] = [8, 8, 3];

export function toyKerasModel(seed = 1): tf.LayersModel {
  const L = tf.layers;
  const ap = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const inp = tf.input({ shape: TOY_FRAME, name: 'frame' });
  const r1 = ap(
    L.reLU({ maxValue: 6, name: 'r1' }),
    ap(L.batchNormalization({ name: 'bn1' }), ap(L.conv2d({ name: 'c1', filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), inp)),
  );
  const dw = ap(L.depthwiseConv2d({ name: 'dw', kernelSize: 3 }), ap(L.zeroPadding2d({ name: 'pad', padding: 1 }), r1));
  const bn2 = ap(L.batchNormalization({ name: 'bn2', scale: false }), ap(L.conv2d({ name: 'proj', filters: 4, kernelSize: 1 }), dw));
  const add = ap(L.add({ name: 'add' }), [bn2, r1]);
  const c2 = ap(L.conv2d({ name: 'c2', filters: 2, kernelSize: 1, activation: 'relu' }), add);
  const c3 = ap(L.conv2d({ name: 'c3', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), add);
  const c4 = ap(
    L.conv2d({ name: 'c4', filters: 2, kernelSize: 1, activation: 'relu' }),
    ap(L.averagePooling2d({ name: 'avg', poolSize: 3, strides: 1, padding: 'same' }), add),
  );
  const cat = ap(L.concatenate({ name: 'cat', axis: 3 }), [c2, c3, c4]);
  const flat = ap(L.flatten({ name: 'flat' }), ap(L.maxPooling2d({ name: 'pool', poolSize: 2 }), cat));
  const d1 = ap(L.dense({ name: 'd1', units: 8, activation: 'relu' }), flat);
  const fc = ap(L.dense({ name: 'fc', units: 3, activation: 'softmax' }), ap(L.dropout({ name: 'drop', rate: 0 }), d1));
  const model = tf.model({ inputs: inp, outputs: fc, name: 'toy' });
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  // Moving variances and biases in [0.5, 1.5) (biases > 0 keep every relu alive), everything else in [-0.5, 0.5).
  model.setWeights(
    model.weights.map((w) => {
      const v = Float32Array.from(
        { length: w.shape.reduce((a, b) => a! * b!, 1)! },
        () => next() - 0.5 + (/variance|bias/.test(w.name) ? 1 : 0),
      );
      return tf.tensor(v, w.shape as number[]);
    }),
  );
  return model;
}
