/** Conv2DBackpropFilter (missing on wasm): one forward conv2d, see conv_math.conv2dFilterGrad. */
import * as tf from '@tensorflow/tfjs';
import { asTensor, conv2dFilterGrad } from './conv_math.js';

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as tf.Conv2DBackpropFilterInputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter replacement: only NHWC is supported');
    const info = tf.backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    return conv2dFilterGrad(asTensor(x!), asTensor(dy!), {
      filter: [info.filterHeight, info.filterWidth],
      strides: [info.strideHeight, info.strideWidth],
      dilations: [1, 1],
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
  },
};
