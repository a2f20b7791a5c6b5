/**
 * The wasm replacement kernels (src/tf/kernels/) against the cpu backend's own kernels, and
 * end-to-end gradients of a small conv + depthwise + maxpool net on both backends.
 * Error measure: max |wasm − cpu| / max |cpu| over the whole output (≤ 1e-5).
 */
import { expect } from 'chai';
import { initBackend, tf } from '../../src/tf/backend.js';
import { replacementKernels } from '../../src/tf/kernels/index.js';

type Shape4 = [number, number, number, number];
type Shape5 = [number, number, number, number, number];
type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

const TOL = 1e-5;

/** Deterministic values in [-1, 1) (LCG), shifted by `offset`. */
function values(shape: number[], seed: number, offset = 0): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1 + offset;
  }
  return out;
}

/** Runs `onCpu` on cpu and `onWasm` on wasm; returns the max relative error over their outputs. */
async function relErrorCpuVsWasm(onCpu: () => tf.Tensor[], onWasm = onCpu): Promise<number> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const outs = tf.tidy(backend === 'cpu' ? onCpu : onWasm);
    const data = outs.map((t) => t.dataSync().slice());
    tf.dispose(outs);
    return data;
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  let err = 0;
  cpu.forEach((ref, k) => {
    expect(wasm[k]!.length).to.equal(ref.length);
    let diff = 0;
    let scale = 0;
    ref.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - wasm[k]![i]!));
      scale = Math.max(scale, Math.abs(v));
    });
    expect(scale, 'reference output is all zeros: the case tests nothing').to.be.greaterThan(0);
    err = Math.max(err, diff / scale);
  });
  return err;
}

const maxErr = { value: 0 };
async function expectAgree(onCpu: () => tf.Tensor[], onWasm = onCpu): Promise<void> {
  const err = await relErrorCpuVsWasm(onCpu, onWasm);
  maxErr.value = Math.max(maxErr.value, err);
  expect(err).to.be.at.most(TOL);
}

/** A [fh,fw,C,M] filter with d − 1 zero rows/columns between taps: dilation d as an undilated filter. */
function expandFilter(w: Float32Array, [fh, fw, C, M]: Shape4, d: number): Float32Array {
  const W = (fw - 1) * d + 1;
  const out = new Float32Array(((fh - 1) * d + 1) * W * C * M);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) out.set(w.subarray((i * fw + j) * C * M, (i * fw + j + 1) * C * M), (i * d * W + j * d) * C * M);
  }
  return out;
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

interface Conv2DCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
}

// Several shapes: square/non-square images and filters, batch and channels > 1, strides 1 and 2
// (also unequal), padding same / valid / explicit.
const conv2dCases: Conv2DCase[] = [];
for (const [x, filter] of [
  [
    [1, 5, 5, 1],
    [3, 3, 1, 1],
  ],
  [
    [2, 7, 6, 3],
    [3, 3, 3, 4],
  ],
  [
    [3, 9, 8, 2],
    [2, 4, 2, 3],
  ],
  [
    [2, 8, 8, 4],
    [5, 5, 4, 2],
  ],
] as [Shape4, Shape4][]) {
  for (const strides of [1, 2]) for (const pad of ['same', 'valid'] as const) conv2dCases.push({ x, filter, strides, pad });
}
conv2dCases.push({ x: [2, 9, 7, 3], filter: [3, 2, 3, 2], strides: [2, 1], pad: 'same' });
conv2dCases.push({
  x: [2, 9, 7, 3],
  filter: [3, 3, 3, 2],
  strides: 2,
  pad: [
    [0, 0],
    [1, 2],
    [0, 1],
    [0, 0],
  ],
});

const label = (c: { x: number[]; filter: number[]; strides: unknown; pad: unknown; dilations?: number }) =>
  `x ${c.x.join('×')}, filter ${c.filter.join('×')}, stride ${JSON.stringify(c.strides)}, pad ${JSON.stringify(c.pad)}` +
  (c.dilations ? `, dilation ${c.dilations}` : '');

describe('wasm replacement kernels agree with cpu', () => {
  before(async function () {
    const name = await initBackend({ prefer: 'wasm', quiet: true });
    if (name !== 'wasm') this.skip(); // tfjs-node was initialised first by another suite: nothing to compare
  });
  after(async () => {
    await tf.setBackend('wasm');
    console.log(`      max relative error over all cases: ${maxErr.value.toExponential(2)}`);
  });

  it('registers every replacement on wasm in place of what wasm ships', () => {
    expect(replacementKernels.map((k) => k.kernelName)).to.have.members([
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'Conv3DBackpropFilterV2',
      'Conv3DBackpropInputV2',
      'MaxPoolGrad',
      'SplitV',
    ]);
    for (const k of replacementKernels) expect(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc).to.equal(k.kernelFunc);
  });

  describe('Conv2DBackpropFilter', () => {
    for (const c of conv2dCases) {
      it(label(c), () =>
        expectAgree(() => {
          const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
          const x = tf.tensor(values(c.x, 1), c.x);
          const dy = tf.tensor(values(info.outShape, 2), info.outShape);
          return [run('Conv2DBackpropFilter', { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter })];
        }),
      );
    }
  });

  describe('Conv2DBackpropInput', () => {
    for (const c of conv2dCases) {
      it(label(c), () =>
        expectAgree(() => {
          const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
          const filter = tf.tensor(values(c.filter, 3), c.filter);
          const dy = tf.tensor(values(info.outShape, 2), info.outShape);
          return [run('Conv2DBackpropInput', { dy, filter }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x })];
        }),
      );
    }
  });

  const depthwiseCases: Conv2DCase[] = [];
  for (const [x, filter] of [
    [
      [2, 7, 6, 3],
      [3, 3, 3, 1],
    ],
    [
      [3, 8, 9, 2],
      [3, 2, 2, 2],
    ],
    [
      [1, 9, 9, 4],
      [5, 5, 4, 3],
    ],
  ] as [Shape4, Shape4][]) {
    for (const strides of [1, 2]) for (const pad of ['same', 'valid'] as const) depthwiseCases.push({ x, filter, strides, pad });
    depthwiseCases.push({ x, filter, strides: 1, pad: 'same', dilations: 2 });
  }
  depthwiseCases.push({
    x: [2, 9, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  });

  // cpu's depthwise backprops ignore `dilations` (tfjs' own gradients assert dilation 1), so for a
  // dilated case the reference is the same problem with the filter zero-expanded to its effective
  // size, run undilated on cpu (its filter gradient read back at the dilated taps).
  for (const kernel of ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    describe(kernel, () => {
      for (const c of depthwiseCases) {
        const d = c.dilations ?? 1;
        const wide: Shape4 = [(c.filter[0] - 1) * d + 1, (c.filter[1] - 1) * d + 1, c.filter[2], c.filter[3]];
        const kernelRun = (dilated: boolean) => () => {
          const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, d, c.pad, undefined, true);
          const dy = tf.tensor(values(info.outShape, 2), info.outShape);
          const attrs = { strides: c.strides, dilations: dilated ? d : 1, pad: c.pad };
          if (kernel.endsWith('Filter')) {
            const x = tf.tensor(values(c.x, 1), c.x);
            if (dilated) return [run(kernel, { x, dy }, { ...attrs, filterShape: c.filter })];
            const dW = run(kernel, { x, dy }, { ...attrs, filterShape: wide });
            return [tf.stridedSlice(dW, [0, 0, 0, 0], wide, [d, d, 1, 1])];
          }
          const w = values(c.filter, 3);
          const filter = dilated ? tf.tensor(w, c.filter) : tf.tensor(expandFilter(w, c.filter, d), wide);
          return [run(kernel, { dy, filter }, { ...attrs, inputShape: c.x })];
        };
        it(label(c), () => expectAgree(kernelRun(d === 1), kernelRun(true)));
      }
    });
  }

  const conv3dCases: { x: Shape5; filter: Shape5; strides: number | [number, number, number]; pad: 'same' | 'valid' }[] = [];
  for (const [x, filter] of [
    [
      [2, 5, 6, 7, 3],
      [2, 3, 3, 3, 2],
    ],
    [
      [1, 6, 5, 5, 2],
      [3, 2, 3, 2, 4],
    ],
  ] as [Shape5, Shape5][]) {
    for (const strides of [1, 2]) for (const pad of ['same', 'valid'] as const) conv3dCases.push({ x, filter, strides, pad });
  }
  conv3dCases.push({ x: [2, 7, 6, 5, 2], filter: [3, 3, 2, 2, 3], strides: [2, 1, 2], pad: 'same' });

  for (const kernel of ['Conv3DBackpropFilterV2', 'Conv3DBackpropInputV2']) {
    describe(kernel, () => {
      for (const c of conv3dCases) {
        it(label(c), () =>
          expectAgree(() => {
            const info = tf.backend_util.computeConv3DInfo(c.x, c.filter, c.strides, 1, c.pad);
            const dy = tf.tensor(values(info.outShape, 2), info.outShape);
            return [
              kernel.endsWith('FilterV2')
                ? run(kernel, { x: tf.tensor(values(c.x, 1), c.x), dy }, { strides: c.strides, pad: c.pad, filterShape: c.filter })
                : run(
                    kernel,
                    { dy, filter: tf.tensor(values(c.filter, 3), c.filter) },
                    { strides: c.strides, pad: c.pad, inputShape: c.x },
                  ),
            ];
          }),
        );
      }
    });
  }

  describe('MaxPoolGrad', () => {
    const cases: { x: Shape4; size: number | [number, number]; strides: number; pad: Pad; offset: number }[] = [];
    for (const offset of [-3, 0]) {
      // −3: every window's max is negative
      for (const [x, size] of [
        [[2, 7, 6, 3], 2],
        [[1, 9, 8, 2], 3],
        [
          [3, 6, 7, 1],
          [3, 2],
        ],
      ] as [Shape4, number][]) {
        for (const strides of [1, 2]) for (const pad of ['same', 'valid'] as const) cases.push({ x, size, strides, pad, offset });
      }
    }
    // Ties: quantised inputs put the same maximum twice in a window; the first one gets dy.
    cases.push({ x: [2, 6, 6, 2], size: 3, strides: 1, pad: 'same', offset: 7 });
    for (const c of cases) {
      it(`${label({ ...c, filter: [c.size].flat() })}, values offset ${c.offset}`, () =>
        expectAgree(() => {
          const raw = values(c.x, 5, c.offset);
          const input = tf.tensor(c.offset === 7 ? raw.map((v) => Math.round(v)) : raw, c.x) as tf.Tensor4D;
          const output = tf.maxPool(input, c.size, c.strides, c.pad as 'same');
          const dy = tf.tensor(values(output.shape, 6), output.shape);
          return [run('MaxPoolGrad', { dy, input, output }, { filterSize: c.size, strides: c.strides, pad: c.pad })];
        }));
    }
  });

  describe('SplitV', () => {
    const cases: { shape: number[]; sizes: number[] | number; axis: number }[] = [
      { shape: [1, 2, 5, 5, 7], sizes: [2, 1, 4], axis: 4 }, // a concatenation's gradient on (batch, time, H, W, C)
      { shape: [2, 3, 4, 6, 5], sizes: [1, -1], axis: 1 },
      { shape: [3, 4, 6, 2, 2], sizes: 3, axis: 2 },
      { shape: [4, 6], sizes: [2, 4], axis: -1 },
      { shape: [6, 2, 3], sizes: [6], axis: 0 },
    ];
    for (const c of cases) {
      it(`${JSON.stringify(c.shape)} into ${JSON.stringify(c.sizes)} along axis ${c.axis}`, () =>
        expectAgree(() => tf.split(tf.tensor(values(c.shape, 7), c.shape), c.sizes, c.axis)));
    }
  });

  it('end to end: tf.grads of a conv + depthwise + maxpool net match between wasm and cpu', () =>
    expectAgree(() => {
      const x = tf.tensor4d(values([2, 12, 10, 3], 11, -0.5), [2, 12, 10, 3]);
      const params = [
        tf.tensor4d(values([3, 3, 3, 4], 12), [3, 3, 3, 4]),
        tf.tensor4d(values([3, 3, 4, 2], 13), [3, 3, 4, 2]),
        tf.tensor4d(values([1, 1, 8, 5], 14), [1, 1, 8, 5]),
        tf.tensor5d(values([2, 3, 3, 5, 2], 15), [2, 3, 3, 5, 2]),
      ] as const;
      const loss = (xi: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, w4: tf.Tensor) => {
        const a = tf.relu(tf.conv2d(xi as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same'));
        const b = tf.depthwiseConv2d(a, w2 as tf.Tensor4D, 1, 'same');
        const c = tf.maxPool(tf.sub(b, 2) as tf.Tensor4D, 2, 2, 'valid'); // shifted so that window maxima are negative
        const d = tf.conv2d(c, w3 as tf.Tensor4D, 1, 'valid');
        const e = tf.conv3d(tf.reshape(d, [1, 2, 3, 2, 5]) as tf.Tensor5D, w4 as tf.Tensor5D, 2, 'same');
        return tf.add(tf.sum(tf.square(d)), tf.sum(tf.square(e)));
      };
      return tf.grads(loss)([x, ...params]);
    }));
});
