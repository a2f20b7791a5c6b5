/** Effective MACs from concrete tensors (integral images) equal a brute-force loop. */
import { expect } from 'chai';
import fc from 'fast-check';
import { validateLayer, type Layer } from '../../sim/index.js';
import { effectiveMacs, receptiveFieldNonZeros } from '../support/effective-macs.js';
import { convOutputSize } from '../../traces/layer.js';

/** Naive count: every output, every tap, both operands non-zero. */
function naive(l: Layer, x: number[], w: number[] | null): { total: number; rf: number[] } {
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW, OC] = l.output as [number, number, number];
  const cin = C / l.groups;
  const nPer = OC / l.groups;
  const rf = new Array<number>(l.groups * OH * OW).fill(0);
  let total = 0;
  for (let g = 0; g < l.groups; g++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let ky = 0; ky < l.kernel[0]; ky++)
          for (let kx = 0; kx < l.kernel[1]; kx++) {
            const ih = oh * l.stride[0] + ky * l.dilation[0] - l.padding[0];
            const iw = ow * l.stride[1] + kx * l.dilation[1] - l.padding[2];
            if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
            for (let c = 0; c < cin; c++) {
              if (x[(ih * W + iw) * C + g * cin + c] === 0) continue;
              rf[(g * OH + oh) * OW + ow]!++;
              for (let o = g * nPer; o < (g + 1) * nPer; o++) if (w?.[((ky * l.kernel[1] + kx) * cin + c) * OC + o] !== 0) total++;
            }
          }
  return { total, rf };
}

const layerArb = fc
  .record({
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    cinPerGroup: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 3 }),
    outPerGroup: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  })
  .filter((p) => p.dh * (p.kh - 1) + 1 <= p.H + p.pad[0] + p.pad[1] && p.dw * (p.kw - 1) + 1 <= p.W + p.pad[2] + p.pad[3])
  .map((p): Layer => {
    const C = p.cinPerGroup * p.groups;
    const OC = p.outPerGroup * p.groups;
    return validateLayer({
      name: 'l',
      op: 'conv2d',
      input: [p.H, p.W, C],
      output: [convOutputSize(p.H, p.kh, p.sh, p.pad[0], p.pad[1], p.dh), convOutputSize(p.W, p.kw, p.sw, p.pad[2], p.pad[3], p.dw), OC],
      kernel: [p.kh, p.kw],
      stride: [p.sh, p.sw],
      padding: p.pad,
      dilation: [p.dh, p.dw],
      groups: p.groups,
      weightBits: 8,
      weightDensity: 1,
    });
  });

const caseArb = layerArb.chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  const nw = l.kernel[0] * l.kernel[1] * (l.input[2]! / l.groups) * l.output[2]!;
  const density = fc.double({ min: 0, max: 1, noNaN: true });
  return fc.record({
    l: fc.constant(l),
    x: density.chain((d) =>
      fc.array(
        fc.double({ min: 0, max: 1, noNaN: true }).map((u) => (u < d ? 1 + Math.floor(u * 100) : 0)),
        { minLength: n, maxLength: n },
      ),
    ),
    w: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: nw, maxLength: nw }),
  });
});

describe('effective MACs from tensors', () => {
  it('equal a brute-force count (random shapes, strides, padding, dilation, groups, zeros)', () => {
    fc.assert(
      fc.property(caseArb, ({ l, x, w }) => {
        const ref = naive(l, x, w);
        expect(effectiveMacs(l, x, w)).to.equal(ref.total);
        expect(effectiveMacs(l, x)).to.equal(naive(l, x, null).total);
        expect(Array.from(receptiveFieldNonZeros(l, x))).to.deep.equal(ref.rf);
      }),
      { seed: 20210101, numRuns: 300 },
    );
  });
  it('depthwise: tfjs channel order (ci·multiplier + m) is the group order', () => {
    const l = validateLayer({
      name: 'dw',
      op: 'depthwise2d',
      input: [3, 3, 2],
      output: [3, 3, 4],
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1, 1, 1],
      dilation: [1, 1],
      groups: 2,
      weightBits: 8,
      weightDensity: 1,
    });
    const x = new Array(18).fill(0);
    x[(1 * 3 + 1) * 2 + 1] = 5; // centre pixel, channel 1 only
    // channel 1 reaches all 9 outputs of its 2 output channels: 18 MACs
    expect(effectiveMacs(l, x)).to.equal(18);
    expect(Array.from(receptiveFieldNonZeros(l, x)).slice(9)).to.deep.equal(new Array(9).fill(1));
  });
  it('all-zero input has none; all-ones input has every in-bounds MAC', () => {
    const l = validateLayer({
      name: 'c',
      op: 'conv2d',
      input: [4, 4, 2],
      output: [4, 4, 3],
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1, 1, 1],
      dilation: [1, 1],
      groups: 1,
      weightBits: 8,
      weightDensity: 1,
    });
    expect(effectiveMacs(l, new Array(32).fill(0))).to.equal(0);
    // all ones: per axis the 4 outputs see 2+3+3+2 = 10 in-bounds taps ⇒ 10·10 pairs · 2 channels · 3 filters
    expect(effectiveMacs(l, new Array(32).fill(1))).to.equal(600);
  });
});
