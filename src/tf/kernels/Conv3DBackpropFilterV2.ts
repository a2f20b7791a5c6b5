/**
 * Conv3DBackpropFilterV2 (wasm's is wrong for stride > 1). Built on conv2d, never on Conv3D:
 * each output depth t and filter depth tap a pair the input slice z = t·sd − padFront + a with
 * dy slice t. Gathering those slices for all a into the channel axis ([N·Do, H, W, Ci·fd]) makes
 * the whole gradient ONE 2-D filter gradient whose contraction runs over N·Do.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor, conv2dFilterGrad, padCrop } from './conv_math.js';

export const conv3DBackpropFilterV2Config: tf.KernelConfig = {
  kernelName: tf.Conv3DBackpropFilterV2,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x: xInfo, dy: dyInfo } = inputs as tf.Conv3DBackpropFilterV2Inputs;
    const { strides, pad, filterShape } = attrs as unknown as tf.Conv3DBackpropFilterV2Attrs;
    const x = asTensor<tf.Rank.R5>(xInfo!);
    const dy = asTensor<tf.Rank.R5>(dyInfo!);
    const info = tf.backend_util.computeConv3DInfo(x.shape, filterShape, strides, 1, pad);
    const [N, D, H, W, Ci] = x.shape;
    const [, Do, Ho, Wo, Co] = dy.shape;
    const [fd, fh, fw] = filterShape;
    const sd = info.strideDepth;
    return tf.tidy(() => {
      // Depth padded/cropped to exactly the slices used; slice t·sd + a for tap a of output t.
      const needD = fd - 1 + (Do - 1) * sd + 1;
      const xp = padCrop(x, [0, info.padInfo.front, 0, 0, 0], [0, needD - info.padInfo.front - D, 0, 0, 0]);
      const idx = Array.from({ length: Do * fd }, (_, k) => Math.floor(k / fd) * sd + (k % fd));
      const slices = tf.reshape(tf.gather(xp, idx, 1), [N * Do, fd, H, W, Ci]);
      const xs = tf.reshape(tf.transpose(slices, [0, 2, 3, 4, 1]), [N * Do, H, W, Ci * fd]); // channel = (c, a)
      const dW = conv2dFilterGrad(xs as tf.Tensor4D, tf.reshape(dy, [N * Do, Ho, Wo, Co]), {
        filter: [fh, fw],
        strides: [info.strideHeight, info.strideWidth],
        dilations: [1, 1],
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
      }); // [fh,fw,Ci·fd,Co]
      return tf.transpose(tf.reshape(dW, [fh, fw, Ci, fd, Co]), [3, 0, 1, 2, 4]);
    });
  },
};
