/**
 * Receptive-field event counts: per output position, how many events (non-zero levels or deltas) its
 * receptive field holds, and the scatter form for sparse frames. A PE row's work on an output-stationary
 * array, and the touched outputs, come from these (activity.ts).
 */
import { spatial, type Layer } from '../traces/layer.js';

/** Receptive-field event counts (EventStats.rf), as narrow as the layer's K allows. */
export type RfArray = Uint8Array | Uint16Array | Int32Array;

/** Integral image of a lattice of counts: sum[i·(w+1) + j] = Σ value over rows < i, columns < j. */
export class LatticeIntegral {
  readonly sum: Float64Array;
  constructor(
    value: (i: number, j: number) => number,
    readonly h: number,
    readonly w: number,
  ) {
    const w1 = w + 1;
    this.sum = new Float64Array((h + 1) * w1);
    for (let i = 0; i < h; i++) {
      let row = 0;
      for (let j = 0; j < w; j++) {
        row += value(i, j);
        this.sum[(i + 1) * w1 + j + 1] = this.sum[i * w1 + j + 1]! + row;
      }
    }
  }
  /** Sum over lattice rows [i0, i1) and columns [j0, j1), clipped to the lattice. */
  box(i0: number, i1: number, j0: number, j1: number): number {
    i0 = Math.max(0, i0);
    j0 = Math.max(0, j0);
    i1 = Math.min(this.h, i1);
    j1 = Math.min(this.w, j1);
    if (i1 <= i0 || j1 <= j0) return 0;
    const w1 = this.w + 1;
    return this.sum[i1 * w1 + j1]! - this.sum[i0 * w1 + j1]! - this.sum[i1 * w1 + j0]! + this.sum[i0 * w1 + j0]!;
  }
}

/** The lattice (r0 + s·i) over [0, n): its length. */
export const latticeLen = (n: number, r0: number, s: number): number => (r0 < n ? Math.ceil((n - r0) / s) : 0);
/** Split an offset into (phase in [0, s), lattice index). */
export const phaseOf = (y: number, s: number): [number, number] => {
  const r = ((y % s) + s) % s;
  return [r, (y - r) / s];
};

/**
 * Σ of a per-pixel count map over each output's receptive field, per group:
 * out[(g·OH + oh)·OW + ow]. With dilation 1 each output is one box sum of one integral image per
 * group; with dilation d, of the integral image of its d×d phase lattice. Padding counts nothing. With `touched`, also
 * the outputs with a non-zero count, per group (in the same pass on the hot path).
 */
export function receptiveFieldCounts<T extends RfArray>(l: Layer, counts: ArrayLike<number>, out?: T, touched?: Float64Array): T {
  const { H, W, OH, OW } = spatial(l);
  const groups = l.groups;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [dh, dw] = l.dilation;
  const [pt, , pl] = l.padding;
  const res = (out ?? new Int32Array(groups * OH * OW)) as T;
  if (dh === 1 && dw === 1) {
    boxCounts(counts, groups, H, W, OH, OW, kh, kw, sh, sw, pt, pl, res, touched);
    return res;
  }
  for (let g = 0; g < groups; g++) {
    const base = g * H * W;
    const lattices = new Map<number, LatticeIntegral>();
    const lattice = (r0: number, c0: number): LatticeIntegral => {
      let it = lattices.get(r0 * dw + c0);
      if (!it) {
        it = new LatticeIntegral((i, j) => counts[base + (r0 + dh * i) * W + c0 + dw * j]!, latticeLen(H, r0, dh), latticeLen(W, c0, dw));
        lattices.set(r0 * dw + c0, it);
      }
      return it;
    };
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        // The receptive field is a kh×kw box on the dilation lattice that holds its top-left tap.
        const [r0, i0] = phaseOf(oh * sh - pt, dh);
        const [c0, j0] = phaseOf(ow * sw - pl, dw);
        res[(g * OH + oh) * OW + ow] = lattice(r0, c0).box(i0, i0 + kh, j0, j0 + kw);
      }
    if (touched) {
      let t = 0;
      for (let m = g * OH * OW; m < (g + 1) * OH * OW; m++) t += +(res[m] !== 0);
      touched[g] = t;
    }
  }
  return res;
}

// Reused between calls (the hot path runs per layer-frame: no typed array is allocated per frame).
let scratch = new Int32Array(0);
let cols = new Int32Array(0);

/** Dilation 1: one integral image per group, one clipped box sum per output (the hot path of trace work). */
function boxCounts(
  counts: ArrayLike<number>,
  groups: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
  res: RfArray,
  touched: Float64Array | undefined,
): void {
  const w1 = W + 1;
  if (scratch.length < (H + 1) * w1) scratch = new Int32Array((H + 1) * w1);
  const I = scratch;
  I.fill(0, 0, w1); // row 0 and column 0 are the zero border (the scratch is reused)
  if (cols.length < 2 * OW) cols = new Int32Array(2 * OW);
  const x = cols; // each output column's box: [x[2·ow], x[2·ow + 1])
  for (let ow = 0; ow < OW; ow++) {
    x[2 * ow] = Math.max(0, ow * sw - pl);
    x[2 * ow + 1] = Math.max(x[2 * ow]!, Math.min(W, ow * sw - pl + kw));
  }
  for (let g = 0; g < groups; g++) {
    const base = g * H * W;
    for (let y = 0; y < H; y++) {
      let row = 0;
      const src = base + y * W,
        dst = (y + 1) * w1,
        up = y * w1;
      I[dst] = 0;
      for (let x = 0; x < W; x++) {
        row += counts[src + x]!;
        I[dst + x + 1] = I[up + x + 1]! + row;
      }
    }
    let t = 0;
    for (let oh = 0; oh < OH; oh++) {
      const y0 = Math.max(0, oh * sh - pt);
      const y1 = Math.max(y0, Math.min(H, oh * sh - pt + kh));
      const r0 = y0 * w1,
        r1 = y1 * w1,
        o = (g * OH + oh) * OW;
      for (let ow = 0; ow < OW; ow++) {
        const a = x[2 * ow]!,
          b = x[2 * ow + 1]!;
        const v = I[r1 + b]! - I[r0 + b]! - I[r1 + a]! + I[r0 + a]!;
        res[o + ow] = v;
        t += +(v !== 0); // branch-free: touched outputs are scattered
      }
    }
    if (touched) touched[g] = t;
  }
}

/** For each input index along one axis, the outputs whose receptive field holds it (CSR: list[start[y]..start[y+1])). */
function axisReach(n: number, on: number, s: number, d: number, pad: number, k: number): { start: Int32Array; list: Int32Array } {
  const per: number[][] = Array.from({ length: n }, () => []);
  for (let o = 0; o < on; o++)
    for (let t = 0; t < k; t++) {
      const y = o * s - pad + t * d;
      if (y >= 0 && y < n) per[y]!.push(o);
    }
  const start = new Int32Array(n + 1);
  for (let y = 0; y < n; y++) start[y + 1] = start[y]! + per[y]!.length;
  return { start, list: Int32Array.from(per.flat()) };
}

/** Adds v events at a count-map cell to the receptive-field counts of the outputs it reaches, and the touched outputs. */
export type ReceptiveFieldAdd = (k: number, v: number, out: RfArray, touched: Float64Array) => void;

/**
 * The same counts as receptiveFieldCounts, by scattering each non-zero cell of the count map into the
 * outputs it reaches: cheaper when few cells are non-zero (sparse event maps). `cells` lists the
 * non-zero map indices (g·H·W + p), each once; `cost(n)` estimates the work of n cells, in the same
 * units as `boxCost` (the integral-image path), so callers can pick the cheaper one.
 */
export function receptiveFieldScatter(l: Layer): {
  /** Fills out and, per group, touched (outputs with a non-zero count) in the same pass. */
  scatter: <T extends RfArray>(counts: ArrayLike<number>, cells: Uint32Array, n: number, out: T, touched: Float64Array) => T;
  cost: (n: number) => number;
  boxCost: number;
  /** Adds v events at map cell k into out over the outputs it reaches, keeping touched (per group) in step. */
  add: ReceptiveFieldAdd;
} {
  const { H, W, OH, OW } = spatial(l);
  const HW = H * W,
    M = OH * OW;
  const rows = axisReach(H, OH, l.stride[0], l.dilation[0], l.padding[0], l.kernel[0]);
  const cols = axisReach(W, OW, l.stride[1], l.dilation[1], l.padding[2], l.kernel[1]);
  const fan = (rows.list.length / H) * (cols.list.length / W); // mean outputs reached per cell
  return {
    cost: (n) => n * (fan + 4),
    boxCost: l.groups * (HW + 4 * M),
    add: (k, v, out, touched) => {
      const g = (k / HW) | 0;
      const p = k - g * HW;
      const y = (p / W) | 0;
      const x = p - y * W;
      const base = g * M;
      let t = 0;
      const a1 = rows.start[y + 1]!,
        b0 = cols.start[x]!,
        b1 = cols.start[x + 1]!,
        rl = rows.list,
        cl = cols.list;
      for (let a = rows.start[y]!; a < a1; a++) {
        const o = base + rl[a]! * OW;
        for (let b = b0; b < b1; b++) {
          const j = o + cl[b]!;
          const old = out[j]!;
          const now = old + v;
          out[j] = now;
          t += +(old === 0) - +(now === 0); // an output joins or leaves the touched ones
        }
      }
      touched[g] += t;
    },
    scatter: (counts, cells, n, out, touched) => {
      out.fill(0);
      touched.fill(0);
      const rs = rows.start,
        rl = rows.list,
        cs = cols.start,
        cl = cols.list;
      for (let e = 0; e < n; e++) {
        const k = cells[e]!;
        const g = (k / HW) | 0;
        const p = k - g * HW;
        const y = (p / W) | 0;
        const x = p - y * W;
        const v = counts[k]!;
        const base = g * M;
        let t = 0;
        const a1 = rs[y + 1]!,
          b0 = cs[x]!,
          b1 = cs[x + 1]!; // hoisted: the stores to out could alias them for the compiler
        for (let a = rs[y]!; a < a1; a++) {
          const o = base + rl[a]! * OW;
          for (let b = b0; b < b1; b++) {
            const j = o + cl[b]!;
            const old = out[j]!;
            t += +(old === 0);
            out[j] = old + v;
          }
        }
        touched[g] += t;
      }
      return out;
    },
  };
}
