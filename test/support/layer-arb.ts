/** A fast-check arbitrary of small random conv layers (strides, dilation, padding, groups) for brute-force checks. */
import fc from 'fast-check';
import { convOutputSize, validateLayer, type Layer } from '../../traces/layer.js';

/** Layers up to `maxHW`² inputs with up to `maxPerGroup` output channels per group. */
export function smallConvLayers(maxHW: number, maxPerGroup: number): fc.Arbitrary<Layer> {
  return fc
    .record({
      H: fc.integer({ min: 1, max: maxHW }),
      W: fc.integer({ min: 1, max: maxHW }),
      cin: fc.integer({ min: 1, max: 3 }),
      groups: fc.integer({ min: 1, max: 3 }),
      nPer: fc.integer({ min: 1, max: maxPerGroup }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 2 }),
      sw: fc.integer({ min: 1, max: 2 }),
      dh: fc.integer({ min: 1, max: 2 }),
      dw: fc.integer({ min: 1, max: 2 }),
      pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    })
    .filter((p) => p.dh * (p.kh - 1) + 1 <= p.H + p.pad[0] + p.pad[1] && p.dw * (p.kw - 1) + 1 <= p.W + p.pad[2] + p.pad[3])
    .map(
      (p): Layer =>
        validateLayer({
          name: 'l',
          op: 'conv2d',
          input: [p.H, p.W, p.cin * p.groups],
          output: [
            convOutputSize(p.H, p.kh, p.sh, p.pad[0], p.pad[1], p.dh),
            convOutputSize(p.W, p.kw, p.sw, p.pad[2], p.pad[3], p.dw),
            p.nPer * p.groups,
          ],
          kernel: [p.kh, p.kw],
          stride: [p.sh, p.sw],
          padding: p.pad,
          dilation: [p.dh, p.dw],
          groups: p.groups,
          weightBits: 8,
          weightDensity: 1,
        }),
    );
}
