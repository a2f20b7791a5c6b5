/**
 * Convolution gradients written as FORWARD convolutions, so that they run on whatever fast
 * forward kernels the current backend has (XNNPACK on wasm). Shared by the replacement kernels.
 *
 * Notation (NHWC): x [N,H,W,Ci], filter [fh,fw,Ci,Co], dy [N,Ho,Wo,Co]; output row p reads input
 * rows p·s − padTop + i·d for filter taps i (s = stride, d = dilation); columns alike.
 */
import * as tf from '@tensorflow/tfjs';

export type Pair = [number, number];

/** Geometry of one 2-D convolution, as needed by its gradients. */
export interface Conv2DGeometry {
  filter: Pair; // [fh, fw]
  strides: Pair;
  dilations: Pair;
  padTop: number;
  padLeft: number;
}

/** Pads (positive) or crops (negative) each axis by `before[k]` / `after[k]` elements. */
export function padCrop(x: tf.Tensor, before: number[], after: number[]): tf.Tensor {
  const begin = before.map((b) => Math.max(0, -b));
  const size = x.shape.map((n, k) => n - begin[k]! - Math.max(0, -after[k]!));
  const cropped = begin.some((b) => b > 0) || size.some((n, k) => n !== x.shape[k]) ? tf.slice(x, begin, size) : x;
  const pads = before.map((b, k): Pair => [Math.max(0, b), Math.max(0, after[k]!)]);
  return pads.some(([b, a]) => b > 0 || a > 0) ? tf.pad(cropped, pads) : cropped;
}

/** Inserts f − 1 zeros between consecutive elements along `axis` (length L → (L−1)·f + 1). */
export function zeroDilate(x: tf.Tensor, axis: number, f: number): tf.Tensor {
  if (f === 1) return x;
  const L = x.shape[axis]!;
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const spread = tf.pad(tf.reshape(x, [outer, L, 1, inner]), [
    [0, 0],
    [0, 0],
    [0, f - 1],
    [0, 0],
  ]);
  const sliced = tf.slice(tf.reshape(spread, [outer, L * f, inner]), [0, 0, 0], [outer, (L - 1) * f + 1, inner]);
  const shape = [...x.shape];
  shape[axis] = (L - 1) * f + 1;
  return tf.reshape(sliced, shape);
}

/**
 * The input rows/columns a filter gradient touches, as a stride-1-free layout: x (already in the
 * layout [*, H, W, *]) padded/cropped so that a VALID conv with the Ho×Wo "filter" dy, dilated by
 * the stride and strided by the dilation, yields exactly fh×fw outputs.
 */
export function filterGradInput(x: tf.Tensor4D, outHW: Pair, g: Conv2DGeometry): tf.Tensor4D {
  const [, H, W] = x.shape;
  const needH = (g.filter[0] - 1) * g.dilations[0] + (outHW[0] - 1) * g.strides[0] + 1;
  const needW = (g.filter[1] - 1) * g.dilations[1] + (outHW[1] - 1) * g.strides[1] + 1;
  return padCrop(x, [0, g.padTop, g.padLeft, 0], [0, needH - g.padTop - H, needW - g.padLeft - W, 0]) as tf.Tensor4D;
}

/**
 * dy zero-dilated by the stride and padded/cropped so that a stride-1 VALID conv with the
 * spatially flipped filter (same dilation) yields exactly the H×W input gradient.
 */
export function transposedConvInput(dy: tf.Tensor4D, inHW: Pair, g: Conv2DGeometry): tf.Tensor4D {
  const dilated = zeroDilate(zeroDilate(dy, 1, g.strides[0]), 2, g.strides[1]);
  const [, Hd, Wd] = dilated.shape;
  const spanH = (g.filter[0] - 1) * g.dilations[0];
  const spanW = (g.filter[1] - 1) * g.dilations[1];
  const top = spanH - g.padTop;
  const left = spanW - g.padLeft;
  return padCrop(dilated, [0, top, left, 0], [0, inHW[0] + spanH - Hd! - top, inHW[1] + spanW - Wd! - left, 0]) as tf.Tensor4D;
}

/** dW [fh,fw,Ci,Co] of a regular conv: ONE conv2d with batch and channels swapped. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: Conv2DGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    // x as a batch of Ci one-"pixel-channel"-per-example images [Ci,H,W,N]; dy as the filter [Ho,Wo,N,Co].
    const xT = filterGradInput(tf.transpose(x, [3, 1, 2, 0]), [dy.shape[1], dy.shape[2]], g);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const dW = tf.conv2d(xT, dyT, g.dilations, 'valid', 'NHWC', g.strides); // [Ci,fh,fw,Co]
    return tf.transpose(dW, [1, 2, 0, 3]);
  });
}

/** dx [N,H,W,Ci] of a regular conv: conv2d of the zero-dilated dy with the flipped, transposed filter. */
export function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inHW: Pair, g: Conv2DGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [fh,fw,Co,Ci]
    return tf.conv2d(transposedConvInput(dy, inHW, g), flipped as tf.Tensor4D, 1, 'valid', 'NHWC', g.dilations);
  });
}

/** Reads a tensor handed to a kernel (the engine passes Tensors; direct backend calls pass TensorInfo). */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  return (info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info)) as tf.Tensor<R>;
}

export function pair(v: number | number[]): Pair {
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];
}
