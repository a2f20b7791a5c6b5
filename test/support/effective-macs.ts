/**
 * Test oracles: effective MACs and receptive-field non-zero counts from concrete tensors (MACs whose
 * activation and weight are both non-zero), by integral images of the non-zero mask, one per stride
 * phase, so a tap's count over all output positions is one O(1) box sum. Tests check the trace engines'
 * counts against these and these against brute-force loops.
 *
 * Layouts (tfjs / TensorFlow): activations HWC (dense: C); weights HWIO = [kh, kw, Cin/groups, Cout]
 * (dense: [Cin, Cout]). Output channel co belongs to group ⌊co / (Cout/groups)⌋, which is also
 * tfjs's depthwise channel order (ci·multiplier + m). Padding contributes zeros.
 */
import { gemmOf, LatticeIntegral, latticeLen, phaseOf, receptiveFieldCounts, spatial, type Layer } from '../../sim/index.js';

/**
 * Count of non-zero inputs over all output positions for tap (ky, kx) of input channel `ci`:
 * Σ_{oh,ow} [x(oh·sh + ky·dh − pt, ow·sw + kx·dw − pl, ci) ≠ 0].
 */
type TapCounter = (ci: number, ky: number, kx: number) => number;

function tapCounter(l: Layer, act: ArrayLike<number>): TapCounter {
  const { H, W, C, OH, OW } = spatial(l);
  const [sh, sw] = l.stride;
  const [dh, dw] = l.dilation;
  const [pt, , pl] = l.padding;
  const cache = new Map<number, LatticeIntegral>();
  const lattice = (ci: number, r0: number, c0: number): LatticeIntegral => {
    const key = (ci * sh + r0) * sw + c0;
    let p = cache.get(key);
    if (!p) {
      p = new LatticeIntegral(
        (i, j) => (act[((r0 + sh * i) * W + c0 + sw * j) * C + ci] !== 0 ? 1 : 0),
        latticeLen(H, r0, sh),
        latticeLen(W, c0, sw),
      );
      cache.set(key, p);
    }
    return p;
  };
  return (ci, ky, kx) => {
    // Output (oh, ow) reads input (oh·sh + ky·dh − pt, ow·sw + kx·dw − pl): a strided box.
    const [r0, i0] = phaseOf(ky * dh - pt, sh);
    const [c0, j0] = phaseOf(kx * dw - pl, sw);
    return lattice(ci, r0, c0).box(i0, i0 + OH, j0, j0 + OW);
  };
}

/**
 * Effective MACs of a layer for one frame. `weights` omitted ⇒ all weights non-zero.
 */
export function effectiveMacs(l: Layer, act: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const { C, OC } = spatial(l);
  const { N, groups } = gemmOf(l);
  const cin = C / groups;
  const [kh, kw] = l.kernel;
  const count = tapCounter(l, act);
  let total = 0;
  for (let g = 0; g < groups; g++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++)
        for (let c = 0; c < cin; c++) {
          const n = count(g * cin + c, ky, kx);
          if (n === 0) continue;
          if (!weights) {
            total += n * N;
            continue;
          }
          const base = ((ky * kw + kx) * cin + c) * OC;
          let nzw = 0;
          for (let o = g * N; o < (g + 1) * N; o++) if (weights[base + o] !== 0) nzw++;
          total += n * nzw;
        }
  return total;
}

/**
 * Per-pixel non-zero counts per channel group: counts[g·H·W + p] = #{c in group g : act[p·C + c] ≠ 0}.
 * The map receptiveFieldCounts integrates; trace-driven engines build it from deltas instead.
 */
export function channelNonZeroMap(l: Layer, act: ArrayLike<number>): Int32Array {
  const { H, W, C } = spatial(l);
  const cin = C / l.groups;
  const out = new Int32Array(l.groups * H * W);
  for (let p = 0, i = 0; p < H * W; p++) for (let c = 0; c < C; c++, i++) if (act[i] !== 0) out[Math.floor(c / cin) * H * W + p]!++;
  return out;
}

/** Non-zero inputs in each output's receptive field (all weights taken as non-zero), per group: result[(g·OH + oh)·OW + ow]. */
export function receptiveFieldNonZeros(l: Layer, act: ArrayLike<number>): Int32Array {
  return receptiveFieldCounts(l, channelNonZeroMap(l, act));
}
