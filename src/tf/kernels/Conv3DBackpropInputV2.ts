/**
 * Conv3DBackpropInputV2 (wasm's is wrong for stride > 1). Built on conv2d, never on Conv3D:
 * ONE 2-D input gradient over the N·Do dy slices with the filter's depth taps stacked as output
 * channels gives, per tap a, the contribution of dy slice t to input depth t·sd − padFront + a;
 * those are scattered by zero-dilating along depth, shifting by a and summing.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, conv2dInputGrad, padCrop, zeroDilate } from './conv_math.js';

export const conv3DBackpropInputV2Config: tf.KernelConfig = {
  kernelName: tf.Conv3DBackpropInputV2,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy: dyInfo, filter: filterInfo } = inputs as tf.Conv3DBackpropInputV2Inputs;
    const { strides, pad, inputShape } = attrs as unknown as tf.Conv3DBackpropInputV2Attrs;
    const dy = asTensor<tf.Rank.R5>(dyInfo!);
    const filter = asTensor<tf.Rank.R5>(filterInfo!);
    const info = tf.backend_util.computeConv3DInfo(inputShape, filter.shape, strides, 1, pad);
    const [N, D, H, W, Ci] = inputShape;
    const [, Do, Ho, Wo, Co] = dy.shape;
    const [fd, fh, fw] = filter.shape;
    const sd = info.strideDepth;
    return tf.tidy(() => {
      const stacked = tf.reshape(tf.transpose(filter, [1, 2, 0, 3, 4]), [fh, fw, fd * Ci, Co]) as tf.Tensor4D;
      const perTap = conv2dInputGrad(tf.reshape(dy, [N * Do, Ho, Wo, Co]), stacked, [H, W], {
        filter: [fh, fw],
        strides: [info.strideHeight, info.strideWidth],
        dilations: [1, 1],
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      }); // [N·Do, H, W, fd·Ci], channel = (a, c)
      const spread = zeroDilate(tf.reshape(perTap, [N, Do, H * W, fd * Ci]), 1, sd); // depth t → t·sd
      const Dd = spread.shape[1]!;
      const parts = Array.from({ length: fd }, (_, a) => {
        const tap = tf.slice(spread, [0, 0, 0, a * Ci], [N, Dd, H * W, Ci]);
        const shift = a - info.padInfo.front;
        return padCrop(tap, [0, shift, 0, 0], [0, D - Dd - shift, 0, 0]);
      });
      return tf.reshape(tf.addN(parts), [N, D, H, W, Ci]);
    });
  },
};
