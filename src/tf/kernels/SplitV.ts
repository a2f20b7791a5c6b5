/**
 * SplitV (the gradient of a concatenation, and tf.split): wasm's slices a 5-D tensor — a concatenation of
 * (batch, time, H, W, C) maps in a delta-ised InceptionV3 — element by element, ~100× slower than one of
 * rank ≤ 4 (its most expensive kernel in a training step). Here x is viewed as [outer, axis, inner] and
 * each piece sliced from that rank-3 view, which wasm copies row by row.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './conv_math.js';

export const splitVConfig: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x: xInfo } = inputs as tf.SplitVInputs;
    const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
    const x = asTensor(xInfo!);
    const at = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, at);
    const outer = x.shape.slice(0, at).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(at + 1).reduce((a, b) => a * b, 1);
    return tf.tidy(() => {
      const view = tf.reshape(x, [outer, x.shape[at]!, inner]);
      let begin = 0;
      return sizes.map((size) => {
        const piece = tf.slice(view, [0, begin, 0], [outer, size, inner]);
        begin += size;
        return tf.reshape(
          piece,
          x.shape.map((d, k) => (k === at ? size : d)),
        );
      });
    });
  },
};
