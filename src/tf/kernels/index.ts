/**
 * Replacement kernels for the wasm backend, tfjs-core kernel-registry style (one file each).
 * tfjs-backend-wasm 4.22 lacks Conv2DBackpropFilter and both depthwise backprops (training a conv
 * net fails without them) and computes others wrongly (Conv3D backprops — the input gradient even at stride 1 for a filter
 * [2,3,3,3,2]; MaxPoolGrad when a window's maximum is negative). Conv2DBackpropInput is right
 * but 3–11× slower than a forward conv, so it is replaced for speed only; so is SplitV (a concatenation's
 * gradient), ~100× slower on the 5-D tensors of video models than on rank ≤ 4.
 * All are built from forward ops that wasm runs fast, except MaxPoolGrad (a cheap JS loop).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import { conv3DBackpropFilterV2Config } from './Conv3DBackpropFilterV2.js';
import { conv3DBackpropInputV2Config } from './Conv3DBackpropInputV2.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import { maxPoolGradConfig } from './MaxPoolGrad.js';
import { splitVConfig } from './SplitV.js';

export const replacementKernels: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  conv3DBackpropFilterV2Config,
  conv3DBackpropInputV2Config,
  maxPoolGradConfig,
  splitVConfig,
];

/** Registers the replacements, first unregistering what wasm ships under the same names. Idempotent. */
export function registerReplacementKernels(): void {
  for (const config of replacementKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) != null) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
}
