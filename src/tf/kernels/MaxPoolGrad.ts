/**
 * MaxPoolGrad (wasm's is wrong when a window's max is negative). Plain JS: each dy value goes to
 * the FIRST maximum of its window in window order (row-major), exactly as the cpu backend does.
 */
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './conv_math.js';

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy: dyInfo, input: xInfo } = inputs as tf.MaxPoolGradInputs;
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    const x = asTensor<tf.Rank.R4>(xInfo!);
    const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
    const xs = x.dataSync() as Float32Array;
    const dys = asTensor(dyInfo!).dataSync() as Float32Array;
    const dx = new Float32Array(xs.length);
    const best = new Float32Array(C);
    const where = new Int32Array(C);
    for (let n = 0; n < N; n++) {
      for (let oy = 0; oy < Ho; oy++) {
        const y0 = oy * info.strideHeight - info.padInfo.top;
        for (let ox = 0; ox < Wo; ox++) {
          const x0 = ox * info.strideWidth - info.padInfo.left;
          best.fill(-Infinity);
          where.fill(-1);
          for (let wy = 0; wy < info.effectiveFilterHeight; wy += info.dilationHeight) {
            const y = y0 + wy;
            if (y < 0 || y >= H) continue;
            for (let wx = 0; wx < info.effectiveFilterWidth; wx += info.dilationWidth) {
              const xx = x0 + wx;
              if (xx < 0 || xx >= W) continue;
              const base = ((n * H + y) * W + xx) * C;
              for (let c = 0; c < C; c++) {
                if (xs[base + c]! > best[c]!) {
                  best[c] = xs[base + c]!;
                  where[c] = base + c;
                }
              }
            }
          }
          const dyBase = ((n * Ho + oy) * Wo + ox) * C;
          for (let c = 0; c < C; c++) if (where[c]! >= 0) dx[where[c]!] += dys[dyBase + c]!;
        }
      }
    }
    return tf.tensor4d(dx, x.shape);
  },
};
