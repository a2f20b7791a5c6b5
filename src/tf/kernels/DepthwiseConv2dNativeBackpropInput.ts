/**
 * DepthwiseConv2dNativeBackpropInput (missing on wasm): a depthwise conv of the zero-dilated dy
 * (C·M channels) with the flipped filter, then a sum over the channel multiplier M.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, pair, transposedConvInput } from './conv_math.js';

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy: dyInfo, filter: filterInfo } = inputs as tf.DepthwiseConv2dNativeBackpropInputInputs;
    const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const dy = asTensor<tf.Rank.R4>(dyInfo!);
    const filter = asTensor<tf.Rank.R4>(filterInfo!);
    const [fh, fw, C, M] = filter.shape;
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
    const [N, H, W] = inputShape;
    return tf.tidy(() => {
      const dyd = transposedConvInput(dy, [H, W], {
        filter: [fh, fw],
        strides: pair(strides),
        dilations: pair(dilations),
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      });
      const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, C * M, 1]) as tf.Tensor4D;
      const out = tf.depthwiseConv2d(dyd, flipped, 1, 'valid', 'NHWC', pair(dilations)); // [N,H,W,C·M]
      return M === 1 ? out : tf.sum(tf.reshape(out, [N, H, W, C, M]), 4);
    });
  },
};
