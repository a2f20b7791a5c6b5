/**
 * DepthwiseConv2dNativeBackpropFilter (missing on wasm). Per input channel c the filter gradient
 * is a regular one whose contraction runs over the batch; over all c that is a grouped problem,
 * written as ONE depthwise conv over N·C channels (x as a 1-image batch [1,H,W,C·N], dy as the
 * filter [Ho,Wo,C·N,M]) followed by a sum over N. It does exactly the direct method's MACs.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, filterGradInput, pair, type Conv2DGeometry } from './conv_math.js';

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x: xInfo, dy: dyInfo } = inputs as tf.DepthwiseConv2dNativeBackpropFilterInputs;
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const x = asTensor<tf.Rank.R4>(xInfo!);
    const dy = asTensor<tf.Rank.R4>(dyInfo!);
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
    const [N, H, W, C] = x.shape;
    const [, Ho, Wo] = dy.shape;
    const [fh, fw, , M] = filterShape;
    const g: Conv2DGeometry = {
      filter: [fh, fw],
      strides: pair(strides),
      dilations: pair(dilations),
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    };
    return tf.tidy(() => {
      const xs = filterGradInput(tf.reshape(tf.transpose(x, [1, 2, 3, 0]), [1, H, W, C * N]), [Ho, Wo], g);
      const dyF = tf.reshape(tf.transpose(tf.reshape(dy, [N, Ho, Wo, C, M]), [1, 2, 3, 0, 4]), [Ho, Wo, C * N, M]);
      // Roles swap: the conv's stride is the op's dilation and its dilation the op's stride.
      const out = tf.depthwiseConv2d(xs, dyF as tf.Tensor4D, g.dilations, 'valid', 'NHWC', g.strides); // [1,fh,fw,C·N·M]
      return tf.sum(tf.reshape(out, [fh, fw, C, N, M]), 3);
    });
  },
};
