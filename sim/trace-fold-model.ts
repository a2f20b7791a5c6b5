/**
 * The trace-driven work model: fold extents from one frame's real event positions (EventStats).
 *
 * - os (Sr = M outputs, Sc = N filters, T = K): PE (m, n) steps through the events in output m's
 *   receptive field (× weight density when zero weights are skipped too); a fold lasts as long as
 *   its slowest row, so load imbalance inside a fold costs cycles.
 * - ws (Sr = K, Sc = N, T = M): each step streams one output's K-slice across the rows; it is
 *   skipped only when that slice holds no event (vector skipping), so the extent is the number of
 *   outputs with an event in the fold's K-tile.
 * - is (Sr = K, Sc = M, T = N): inputs are stationary, their zeros cannot shorten time; a fold whose
 *   stationary tile holds no event has no work and is skipped.
 * A fold with extent 0 costs nothing (computeLayer skips it). Without activation skipping (gating
 * only) extents are dense and only the effective MACs follow the data.
 *
 * On the depthwise-channels mapping a fold's columns hold several groups, each fed its own stream:
 * - os: a row's PEs of one group share their input stream and step through that group's receptive-
 *   field events for the row's output; the fold lasts as long as its slowest (row, group).
 * - ws: a step (one output) is skipped only when none of the tile's groups has an event in its K-tile.
 * - is: the stationary tile is the columns' (group, output) K-slices; skipped when it holds no event.
 * All three use the real per-event counts (exact, as on scalesim).
 *
 * os with `rowSync: lockstep`: the fold's rows (and groups) share one step sequence, so a step (a k of the
 * reduction) is skipped only when no row of the fold has an event there: the extent is the size of the union
 * of the rows' event positions (a K-bit set per row tile, filled in one pass over events × taps), × the kept
 * share of weight vectors across the fold's columns with weight skipping (statistical, as weight zeros are).
 */
import type { HwModel, SystolicSpec } from './hw-model.js';
import {
  colsOfGroup,
  keptFraction,
  type FoldLoad,
  type FoldModel,
  type FoldTile,
  type MappedGemm,
  type TemporalSkip,
} from './fold-model.js';
import { rowSyncOf } from './mapping.js';
import { spatial, type Layer } from '../traces/layer.js';
import { gemmOf } from './workload.js';
import type { EventStats } from './activity.js';

/**
 * Events per (output position, K-tile of `rows`) per group: out[(g·M + m)·tiles + kt], with K
 * ordered as the weights (HWIO: k = (ky·kw + kx)·Cin/groups + c). One pass over events × taps.
 */
export function eventsPerKTile(l: Layer, w: EventStats, rows: number, out?: Int32Array): { counts: Int32Array; tiles: number } {
  const { W, C, OH, OW } = spatial(l);
  const cin = C / l.groups;
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [dh, dw] = l.dilation;
  const [pt, , pl] = l.padding;
  const K = kh * kw * cin;
  const tiles = Math.ceil(K / rows);
  const M = OH * OW;
  const n = l.groups * M * tiles;
  const counts = out && out.length === n ? out.fill(0) : new Int32Array(n);
  const idx = w.idx;
  for (let e = 0; e < idx.length; e++) {
    const i = idx[e]!;
    const c = i % C;
    const p = (i - c) / C;
    const x = p % W;
    const y = (p - x) / W;
    const g = Math.floor(c / cin);
    const cl = c - g * cin;
    for (let ky = 0; ky < kh; ky++) {
      const ty = y + pt - ky * dh;
      if (ty < 0 || ty % sh !== 0) continue;
      const oh = ty / sh;
      if (oh >= OH) continue;
      for (let kx = 0; kx < kw; kx++) {
        const tx = x + pl - kx * dw;
        if (tx < 0 || tx % sw !== 0) continue;
        const ow = tx / sw;
        if (ow >= OW) continue;
        const kt = Math.floor(((ky * kw + kx) * cin + cl) / rows);
        counts[(g * M + oh * OW + ow) * tiles + kt]!++;
      }
    }
  }
  return { counts, tiles };
}

/**
 * What a frame's fold models derive from its events and the array height alone (the lock-step os step sets, the ws / is
 * events per K-tile), shared by the simulations given the same cache: a sweep's points at one threshold
 * (sweep/job.ts runBatch). Points that agree on the layer, the kind of events and the rows compute them once a frame and
 * hold one set of buffers, whatever else their hw-models vary (bandwidth, buffers, energy, columns), so a sweep over
 * such keys is flat in points. Each entry remembers the events object it was computed from: a frame's events are a new
 * object every frame (activity.ts), so a second point given the same object reuses the statistics.
 */
export class FoldStatsCache {
  private readonly entries = new Map<Layer, Map<string, unknown>>();
  /** The entry of `l` under `key`, made by `make` the first time. */
  entry<T>(l: Layer, key: string, make: () => T): T {
    let byKey = this.entries.get(l);
    if (!byKey) this.entries.set(l, (byKey = new Map()));
    let e = byKey.get(key) as T | undefined;
    if (e === undefined) byKey.set(key, (e = make()));
    return e;
  }
  /** Entries held (a test's measure of sharing). */
  get size(): number {
    let n = 0;
    for (const m of this.entries.values()) n += m.size;
    return n;
  }
}

/**
 * What an array's fold models keep in a FoldStatsCache (per layer and kind of events), as a key: ws and is the events
 * per K-tile, os with lock-step rows its step sets; null where they keep nothing there (os with independent rows: small
 * buffers of each model's own). Equal keys share entries.
 */
function foldStatsKey(hw: Pick<SystolicSpec, 'rows' | 'dataflow' | 'skipZeroActivations' | 'rowSync'>): string | null {
  if (hw.dataflow !== 'os') return `k-tiles ${hw.rows}`;
  return rowSyncOf(hw) === 'lockstep' ? `lockstep ${hw.skipZeroActivations} ${hw.rows}` : null;
}

/** Which hw-models' fold models share their per-frame statistics (equal strings), or null: what a sweep batches together. */
export const foldStatsFamily = (hw: HwModel): string | null => (hw.kind === 'systolic' ? foldStatsKey(hw) : null);

/** Where a layer's fold models may share their per-frame statistics: the cache, and which events they are given. */
export interface FoldStatsShare {
  cache: FoldStatsCache;
  kind: string;
}

/**
 * The work models of one layer on one systolic array, frame after frame: call the result with each
 * frame's EventStats. The per-tile buffers are allocated once and reused (a frame allocates no typed
 * array), so a returned FoldModel is valid until the next call. With `share`, the per-frame statistics
 * that depend only on the events and the rows live in the cache (FoldStatsCache) and are computed once
 * a frame for every model that shares them.
 */
export function traceFoldModels(
  l: Layer,
  hw: Pick<SystolicSpec, 'rows' | 'dataflow' | 'skipZeroActivations' | 'skipZeroWeights' | 'rowSync'>,
  share?: FoldStatsShare,
): (w: EventStats, weightDensity: number) => FoldModel {
  // Without a share: a private entry, recomputed at every call (a caller may refill the same events object).
  const key = foldStatsKey(hw);
  const entryOf = <T extends { of: EventStats | null }>(make: () => T): T =>
    share && key !== null ? share.cache.entry(l, `${key} ${share.kind}`, make) : make();
  /** Whether `e` must be computed from `w` (then marked as computed from it). */
  const stale = (e: { of: EventStats | null }, w: EventStats): boolean => {
    if (share && e.of === w) return false;
    e.of = w;
    return true;
  };
  const { OH, OW } = spatial(l);
  const M = OH * OW;
  const skipA = hw.skipZeroActivations;
  // Weight skipping along the stream: element-wise (os) or whole vectors across the used rows (is).
  const keepW = (skip: TemporalSkip, rows: number, wd: number): number => keptFraction(skip, hw.skipZeroWeights, wd, rows);

  if (hw.dataflow === 'os') {
    // Per row tile (group × rows of outputs): slowest row, Σ row steps, Σ events — one tight pass
    // over rf, done on the frame's first fold; every column tile of a row tile reuses them.
    const rowTiles = Math.ceil(M / hw.rows);
    if (rowSyncOf(hw) === 'lockstep') {
      const steps = entryOf(() => new LockstepSteps(l, hw.rows, rowTiles, hw.skipZeroActivations));
      return lockstepOs(hw, rowTiles, steps, stale);
    }
    const nz = new Float64Array(l.groups * rowTiles);
    const max = new Float64Array(l.groups * rowTiles);
    const steps = new Float64Array(l.groups * rowTiles); // lock-step folds need no per-row steps
    const prepare = (rf: EventStats['rf'], m: MappedGemm, wd: number): void => {
      const kw = keepW(m.skip.filter, hw.rows, wd);
      if (kw === 1 && skipA) rowTileEvents(rf, l.groups, M, hw.rows, max, nz);
      else rowTileSteps(rf, l.groups, M, hw.rows, skipA, kw, m.T, max, steps, nz);
      if (kw === 1 && skipA) steps.set(nz); // a row's steps are its events
    };
    return (w, wd) => {
      let ready = false;
      return {
        fold(m, t, out) {
          if (!ready) prepare(w.rf, m, wd);
          ready = true;
          const rt = t.rowStart / hw.rows;
          if (!m.packed) {
            const tile = t.group * rowTiles + rt;
            out.extent = max[tile]!;
            out.issued = steps[tile]! * t.cols;
            out.effective = nz[tile]! * t.cols * wd;
            out.rowSteps = skipA || hw.skipZeroWeights ? steps[tile]! : 0;
            return;
          }
          // depthwise-channels: the slowest (row, group) of the tile; each group's rows step for its columns.
          let hi = 0,
            st = 0,
            rs = 0,
            n = 0;
          for (let g = t.group; g < t.group + (t.groupSpan ?? 1); g++) {
            const tile = g * rowTiles + rt;
            const c = colsOfGroup(m, t, g);
            hi = Math.max(hi, max[tile]!);
            st += steps[tile]! * c;
            rs += steps[tile]!;
            n += nz[tile]! * c;
          }
          out.extent = hi;
          out.issued = st;
          out.effective = n * wd;
          // Each (row, group) stream's steps; its weight vector is the group's columns (mapping.ts).
          out.rowSteps = skipA || hw.skipZeroWeights ? rs : 0;
        },
      };
    };
  }
  const tiles = Math.ceil(gemmOf(l).K / hw.rows);
  const perKTile = entryOf(() => ({ of: null as EventStats | null, counts: new Int32Array(l.groups * M * tiles) }));
  const { counts } = perKTile;
  const ktOf = (rowStart: number) => Math.floor(rowStart / hw.rows);
  if (hw.dataflow === 'ws') {
    // depthwise-channels: outputs with an event in any of the tile's groups, marked with the fold's stamp.
    const seen = new Int32Array(M);
    let stamp = 0;
    return (w, wd) => {
      if (stale(perKTile, w)) eventsPerKTile(l, w, hw.rows, counts);
      return {
        fold(m, t, out) {
          const kt = ktOf(t.rowStart);
          let active = 0,
            nz = 0;
          if (!m.packed) {
            for (let o = t.group * M; o < (t.group + 1) * M; o++) {
              const n = counts[o * tiles + kt]!;
              if (n !== 0) active++;
              nz += n;
            }
            nz *= t.cols;
          } else {
            if (++stamp === 0x7fffffff) {
              seen.fill(0);
              stamp = 1;
            }
            for (let g = t.group; g < t.group + (t.groupSpan ?? 1); g++) {
              let ng = 0;
              for (let o = 0; o < M; o++) {
                const n = counts[(g * M + o) * tiles + kt]!;
                if (n !== 0 && seen[o] !== stamp) {
                  seen[o] = stamp;
                  active++;
                }
                ng += n;
              }
              nz += ng * colsOfGroup(m, t, g);
            }
          }
          out.extent = skipA ? active : m.T;
          out.issued = t.rows * t.cols * out.extent;
          out.effective = nz * wd;
          out.rowSteps = 0;
        },
      };
    };
  }
  return (w, wd) => {
    if (stale(perKTile, w)) eventsPerKTile(l, w, hw.rows, counts);
    return {
      fold(m, t, out) {
        const kt = ktOf(t.rowStart);
        let nz = 0;
        // Column j of a depthwise-channels pass is (group, output) = j: counts' own index.
        const o0 = m.packed ? t.colStart : t.group * M + t.colStart;
        for (let o = o0; o < o0 + t.cols; o++) nz += counts[o * tiles + kt]!;
        // Weights stream per group: a step's vector is rows × the tile's groups.
        const p = keepW(m.skip.filter, t.rows * (t.groupSpan ?? 1), wd);
        out.extent = skipA && nz === 0 ? 0 : Math.ceil(m.T * p - 1e-9);
        out.issued = t.rows * t.cols * m.T * (out.extent === 0 ? 0 : p);
        out.effective = nz * m.T * wd;
        out.rowSteps = 0;
      },
    };
  };
}

/** os, activations skipped, dense weights: per row tile, the slowest row's events and Σ events (the hot path). */
function rowTileEvents(rf: EventStats['rf'], groups: number, M: number, rows: number, max: Float64Array, nz: Float64Array): void {
  for (let g = 0, tile = 0; g < groups; g++) {
    const gEnd = (g + 1) * M;
    for (let r0 = g * M; r0 < gEnd; r0 += rows, tile++) {
      let hi = 0,
        n = 0;
      const end = Math.min(gEnd, r0 + rows);
      for (let r = r0; r < end; r++) {
        const e = rf[r]!;
        const d = e - hi;
        hi += d & ~(d >> 31); // max without a branch: which row is slowest is noise to a branch predictor (2× faster here)
        n += e;
      }
      max[tile] = hi;
      nz[tile] = n;
    }
  }
}

/** The general case: a row's steps are its events (or T without skipping) × the kept weight fraction. */
function rowTileSteps(
  rf: EventStats['rf'],
  groups: number,
  M: number,
  rows: number,
  skipA: boolean,
  kw: number,
  T: number,
  max: Float64Array,
  steps: Float64Array,
  nz: Float64Array,
): void {
  for (let g = 0, tile = 0; g < groups; g++)
    for (let r0 = 0; r0 < M; r0 += rows, tile++) {
      let hi = 0,
        st = 0,
        n = 0;
      for (let r = g * M + r0; r < g * M + Math.min(M, r0 + rows); r++) {
        const e = rf[r]!;
        const s = kw === 1 ? T : Math.ceil((skipA ? e : T) * kw - 1e-9);
        hi = Math.max(hi, s);
        st += s;
        n += e;
      }
      max[tile] = hi;
      steps[tile] = st;
      nz[tile] = n;
    }
}

/**
 * os with lock-step rows: per row tile (group × rows outputs) the set of reduction steps k at which any of its rows
 * has an event (K bits, 32 per word), its size and the tile's events, all filled in one pass over events × taps on the
 * frame's first fold (LockstepSteps, once per frame for all the models sharing it); a fold's extent is the set's size
 * (the union of its groups' sets on depthwise-channels).
 */
function lockstepOs(
  hw: Pick<SystolicSpec, 'rows' | 'skipZeroActivations' | 'skipZeroWeights'>,
  rowTiles: number,
  st: LockstepSteps,
  stale: (e: LockstepSteps, w: EventStats) => boolean,
): (w: EventStats, weightDensity: number) => FoldModel {
  const kWords = st.kWords;
  const skipA = hw.skipZeroActivations;
  const { bits, union, nz } = st;
  const scratch = new Uint32Array(kWords);
  return (w, wd) => {
    let ready = false;
    return {
      fold(m: MappedGemm, t: FoldTile, out: FoldLoad) {
        if (!ready && skipA && stale(st, w)) st.prepare(w);
        ready = true;
        const rt = t.rowStart / hw.rows;
        const span = t.groupSpan ?? 1;
        let steps: number, events: number, effective: number;
        if (!skipA) {
          steps = m.T;
          events = 0;
          effective = t.rows * t.cols * m.T;
        } else if (span === 1) {
          const tile = t.group * rowTiles + rt;
          steps = union[tile]!;
          events = nz[tile]!;
          effective = events * t.cols;
        } else {
          // depthwise-channels: the fold's groups share the step sequence too: the union of their sets.
          scratch.fill(0);
          events = 0;
          effective = 0;
          for (let g = t.group; g < t.group + span; g++) {
            const tile = g * rowTiles + rt;
            for (let i = 0, o = tile * kWords; i < kWords; i++) scratch[i]! |= bits[o + i]!;
            events += nz[tile]!;
            effective += nz[tile]! * colsOfGroup(m, t, g);
          }
          steps = popcount(scratch, 0, kWords);
        }
        // With weight skipping a step is also dropped when every column's weight there is zero (a vector across the columns).
        const pW = keptFraction('vector', hw.skipZeroWeights, wd, t.cols);
        out.extent = Math.ceil(steps * pW - 1e-9);
        out.issued = t.rows * t.cols * out.extent;
        out.effective = effective * wd;
        out.rowSteps = skipA ? events * pW : 0;
      },
    };
  };
}

/** The lock-step os step sets of one layer on arrays of `rows` rows, kept from frame to frame (see lockstepOs). */
class LockstepSteps {
  of: EventStats | null = null;
  readonly kWords: number;
  readonly bits: Uint32Array;
  // Integer counts (a tile's steps ≤ K, its (event, output) pairs ≤ rows · K): 32 bits, half of a float's memory.
  readonly union: Uint32Array;
  readonly nz: Uint32Array;
  private readonly taps: TapGeometry | null;
  private readonly n: number;
  private readonly rows: number;
  // Sparse events persist: their step counts are kept and updated by each frame's changes (cost ∝ changes, not events),
  // while the bits come from the same stream's consecutive frames; otherwise (delta events, a gap) rebuilt from idx.
  // A (tile, k) count is at most `rows` (one event per output of the tile at step k).
  private counts: Uint8Array | Uint16Array | null = null;
  private lastStream: object | null = null;
  private lastT = -1;

  constructor(l: Layer, rows: number, rowTiles: number, skipA: boolean) {
    const K = gemmOf(l).K;
    this.kWords = Math.ceil(K / 32);
    this.taps = skipA ? tapGeometry(l, rows) : null;
    this.bits = skipA ? new Uint32Array(l.groups * rowTiles * this.kWords) : new Uint32Array(0);
    this.union = new Uint32Array(l.groups * rowTiles);
    this.nz = new Uint32Array(l.groups * rowTiles);
    this.n = l.groups * rowTiles * K;
    this.rows = rows;
  }

  private restart(): void {
    this.bits.fill(0);
    this.union.fill(0);
    this.nz.fill(0);
  }

  /** The step sets of frame `w`'s events. */
  prepare(w: EventStats): void {
    const { taps, bits, union, nz } = this;
    const ch = w.changes;
    if (!ch) {
      this.lastStream = null;
      this.restart();
      eventSteps(taps!, w.idx, bits, union, nz);
      return;
    }
    const counts = (this.counts ??= this.rows <= 0xff ? new Uint8Array(this.n) : new Uint16Array(this.n));
    if (ch.stream === this.lastStream && ch.t === this.lastT + 1) {
      countSteps(taps!, ch.entered, 1, counts, bits, union, nz);
      countSteps(taps!, ch.left, -1, counts, bits, union, nz);
    } else {
      counts.fill(0);
      this.restart();
      countSteps(taps!, w.idx, 1, counts, bits, union, nz);
    }
    this.lastStream = ch.stream;
    this.lastT = ch.t;
  }
}

/**
 * Where an input pixel's events land on an os array, per axis (computed once per layer): for input row y, the
 * (output row, kernel row) pairs whose receptive field holds it, list[start[y]..start[y+1]) (columns alike).
 */
interface TapGeometry {
  C: number;
  cin: number;
  K: number;
  kw: number;
  OW: number;
  W: number;
  rows: number;
  rowTiles: number;
  kWords: number;
  y: AxisTaps;
  x: AxisTaps;
  /** Per pixel, reused: each tap's reduction offset (HWIO, channel 0) and its output's row tile within the group. */
  tapK: Int32Array;
  tapTile: Int32Array;
  /** Depthwise (K ≤ 32, one word per tile): the pixel's taps merged by tile, each tile's step bits and tap count. */
  tileOf: Int32Array;
  maskOf: Int32Array;
  countOf: Int32Array;
}

interface AxisTaps {
  start: Int32Array;
  out: Int32Array;
  tap: Int32Array;
}

function axisTaps(n: number, on: number, s: number, d: number, pad: number, k: number): AxisTaps {
  const per: [number, number][][] = Array.from({ length: n }, () => []);
  for (let t = 0; t < k; t++)
    for (let o = 0; o < on; o++) {
      const y = o * s - pad + t * d;
      if (y >= 0 && y < n) per[y]!.push([o, t]);
    }
  const start = new Int32Array(n + 1);
  for (let y = 0; y < n; y++) start[y + 1] = start[y]! + per[y]!.length;
  const flat = per.flat();
  return { start, out: Int32Array.from(flat, (p) => p[0]), tap: Int32Array.from(flat, (p) => p[1]) };
}

function tapGeometry(l: Layer, rows: number): TapGeometry {
  const { H, W, C, OH, OW } = spatial(l);
  const [kh, kw] = l.kernel;
  const y = axisTaps(H, OH, l.stride[0], l.dilation[0], l.padding[0], kh);
  const x = axisTaps(W, OW, l.stride[1], l.dilation[1], l.padding[2], kw);
  const K = gemmOf(l).K;
  return {
    C,
    cin: C / l.groups,
    K,
    kw,
    OW,
    W,
    rows,
    rowTiles: Math.ceil((OH * OW) / rows),
    kWords: Math.ceil(K / 32),
    y,
    x,
    tapK: new Int32Array(kh * kw),
    tapTile: new Int32Array(kh * kw),
    tileOf: new Int32Array(kh * kw),
    maskOf: new Int32Array(kh * kw),
    countOf: new Int32Array(kh * kw),
  };
}

/** The taps of input pixel p into g.tapK / g.tapTile; returns their number. */
function pixelTaps(g: TapGeometry, p: number): number {
  const py = (p / g.W) | 0;
  const px = p - py * g.W;
  const { y, x, tapK, tapTile, kw, cin, OW, rows } = g;
  let taps = 0;
  for (let a = y.start[py]!; a < y.start[py + 1]!; a++)
    for (let b = x.start[px]!; b < x.start[px + 1]!; b++) {
      tapK[taps] = (y.tap[a]! * kw + x.tap[b]!) * cin;
      tapTile[taps++] = ((y.out[a]! * OW + x.out[b]!) / rows) | 0;
    }
  return taps;
}

/**
 * Sets bit k of row tile (g, ⌊m / rows⌋) for every event that output m of group g meets at reduction step k (HWIO
 * order), counting in union the bits set and in nz the (event, output) pairs, per tile (the buffers start cleared).
 * Events come in HWC order, so those of one pixel, and of one group in it, are consecutive: the pixel's taps are found
 * once per pixel, then each tap takes the group's run of events, with its tile's counts summed in locals (a
 * read-modify-write of one tile's count per event would chain every event on the last one's store).
 */
function eventSteps(geo: TapGeometry, idx: Uint32Array, bits: Uint32Array, union: Uint32Array, nz: Uint32Array): void {
  const { C, cin, rowTiles, kWords, tapK, tapTile } = geo;
  const n = idx.length;
  if (cin === 1 && kWords === 1) {
    depthwiseEventSteps(geo, idx, bits, union, nz);
    return;
  }
  let e = 0;
  while (e < n) {
    const p = (idx[e]! / C) | 0;
    const taps = pixelTaps(geo, p);
    const from = p * C;
    const to = from + C;
    while (e < n && idx[e]! < to) {
      const g = cin === C ? 0 : ((idx[e]! - from) / cin) | 0;
      const c0 = from + g * cin; // the group's first input index: k = tapK + (i − c0)
      let e1 = e + 1;
      while (e1 < n && idx[e1]! < c0 + cin) e1++;
      const base = g * rowTiles;
      for (let t = 0; t < taps; t++) {
        const tile = base + tapTile[t]!;
        const k0 = tapK[t]! - c0;
        const w0 = tile * kWords;
        let u = 0;
        for (let j = e; j < e1; j++) {
          const k = k0 + idx[j]!;
          const o = w0 + (k >>> 5);
          const was = bits[o]!;
          const now = (was | (1 << (k & 31))) >>> 0; // unsigned, as the word reads back
          bits[o] = now;
          u += +(now !== was); // branch-free: whether the step was already set is noise to a branch predictor
        }
        union[tile]! += u;
        nz[tile]! += e1 - e;
      }
      e = e1;
    }
  }
}

/**
 * eventSteps on a depthwise layer with K ≤ 32: an event is its own group and a tile's steps are one word, so the
 * pixel's taps are merged by tile first (a 3×3 kernel's nine taps fall in a few tiles of consecutive outputs) and each
 * event sets a few masks.
 */
function depthwiseEventSteps(geo: TapGeometry, idx: Uint32Array, bits: Uint32Array, union: Uint32Array, nz: Uint32Array): void {
  const { C, rowTiles, tapK, tapTile, tileOf, maskOf, countOf } = geo;
  const n = idx.length;
  let e = 0;
  while (e < n) {
    const p = (idx[e]! / C) | 0;
    const taps = pixelTaps(geo, p);
    let tiles = 0;
    for (let t = 0; t < taps; t++) {
      const tile = tapTile[t]!;
      let j = 0;
      while (j < tiles && tileOf[j] !== tile) j++;
      if (j === tiles) {
        tileOf[tiles] = tile;
        maskOf[tiles] = 0;
        countOf[tiles++] = 0;
      }
      maskOf[j]! |= 1 << tapK[t]!;
      countOf[j]!++;
    }
    const from = p * C;
    const to = from + C;
    for (; e < n && idx[e]! < to; e++) {
      const base = (idx[e]! - from) * rowTiles; // group = channel
      for (let j = 0; j < tiles; j++) {
        const o = base + tileOf[j]!;
        const was = bits[o]!;
        const now = (was | maskOf[j]!) >>> 0;
        bits[o] = now;
        union[o]! += popcount32(now ^ was);
        nz[o]! += countOf[j]!;
      }
    }
  }
}

/** Set bits of a 32-bit word. */
function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * eventSteps kept by counts: counts[(g·rowTiles + tile)·K + k] = events of the row tile at step k, and its bit set while
 * the count is not zero (union and nz follow). Adds (sign 1) or removes (sign −1) the events idx, so a persistent event
 * set (sparse events) is updated by its changes from frame to frame: the same bits, union and nz as eventSteps over the
 * whole set.
 */
function countSteps(
  geo: TapGeometry,
  idx: Uint32Array,
  sign: 1 | -1,
  counts: Uint8Array | Uint16Array,
  bits: Uint32Array,
  union: Uint32Array,
  nz: Uint32Array,
): void {
  const { C, cin, K, rowTiles, kWords, tapK, tapTile } = geo;
  const n = idx.length;
  const flipAt = sign === 1 ? 0 : 1; // the count the bit flips from: set by the first event, cleared with the last
  let e = 0;
  while (e < n) {
    const p = (idx[e]! / C) | 0;
    const taps = pixelTaps(geo, p);
    const from = p * C;
    const to = from + C;
    while (e < n && idx[e]! < to) {
      const g = cin === C ? 0 : ((idx[e]! - from) / cin) | 0;
      const c0 = from + g * cin;
      let e1 = e + 1;
      while (e1 < n && idx[e1]! < c0 + cin) e1++;
      const base = g * rowTiles;
      for (let t = 0; t < taps; t++) {
        const tile = base + tapTile[t]!;
        const k0 = tapK[t]! - c0;
        let u = 0;
        for (let j = e; j < e1; j++) {
          const k = k0 + idx[j]!;
          const at = tile * K + k;
          const was = counts[at]!;
          counts[at] = was + sign;
          if (was === flipAt) {
            bits[tile * kWords + (k >>> 5)]! ^= 1 << (k & 31);
            u++;
          }
        }
        union[tile]! += sign * u;
        nz[tile]! += sign * (e1 - e);
      }
      e = e1;
    }
  }
}

/** Set bits of words [from, from + n). */
function popcount(a: Uint32Array, from: number, n: number): number {
  let c = 0;
  for (let i = from; i < from + n; i++) {
    let v = a[i]!;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    c += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return c;
}
