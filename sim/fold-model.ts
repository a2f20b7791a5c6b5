/**
 * Fold models: how long each fold of a layer runs. The dataflow mapping fixes which operand
 * streams in time; the fold model says how many of those time steps the fold actually needs.
 *
 * - dense: every fold streams all T steps (SCALE-Sim).
 * - statistical: uniform random zeros at given densities (like Sparseloop's uniform model); the
 *   fold extent is the expected number of steps that carry work.
 * - trace-driven (trace-fold-model.ts): a frame's real events over the fold's tile; extent = its
 *   slowest row.
 */
import type { Gemm } from './workload.js';

/** How zeros of an operand can shorten the temporal dimension of a fold. */
export type TemporalSkip =
  | 'element' // each time step is one element per PE row (per row and group on depthwise-channels): a zero is a step saved (os)
  | 'vector' // each time step is a vector across the used rows (and the tile's groups): skipped only if all of it is zero (ws/is)
  | 'none'; // the operand is stationary: its zeros can be gated, never skipped

/**
 * One fold: a tile of the Sr×Sc spatial extent. On the `scalesim` mapping it lies in one group's GEMM
 * (`group`, colStart within that group's columns, groupSpan 1); on `depthwise-channels` the columns
 * are every group's, group-major (column j = g·groupCols + c), colStart is global, `group` is the
 * tile's first group and `groupSpan` how many groups its columns hold.
 */
export interface FoldTile {
  group: number;
  /** Groups in the tile's columns; absent: 1 (computeLayer always sets it). */
  groupSpan?: number;
  rowStart: number;
  rows: number;
  colStart: number;
  cols: number;
}

/** The mapped layer a work model sees. */
export interface MappedGemm {
  gemm: Gemm;
  /** os only: the rows share one step sequence (lock-step) rather than walking their own event lists. */
  lockstep: boolean;
  dataflow: 'os' | 'ws' | 'is';
  Sr: number;
  /** Columns of all the folds of one pass: one group's (scalesim), or groups × groupCols (depthwise-channels). */
  Sc: number;
  T: number;
  /** Columns one group's GEMM needs (os/ws: N, is: M). */
  groupCols: number;
  /** True on depthwise-channels: one pass over the array holds every group side by side across the columns. */
  packed: boolean;
  skip: { ifmap: TemporalSkip; filter: TemporalSkip };
}

/** How many of the tile's columns belong to group g (g in [t.group, t.group + t.groupSpan)). */
export function colsOfGroup(m: MappedGemm, t: FoldTile, g: number): number {
  if (!m.packed) return t.cols;
  return Math.min(t.colStart + t.cols, (g + 1) * m.groupCols) - Math.max(t.colStart, g * m.groupCols);
}

export interface FoldLoad {
  /** Time steps the fold streams (≤ T); 0 means the fold is skipped entirely. */
  extent: number;
  /** MAC slots stepped through (rows·cols·extent for uniform work). */
  issued: number;
  /** MACs with both operands non-zero. */
  effective: number;
  /**
   * Σ over the fold's row streams (a PE row; on depthwise-channels a row × group) of the steps at which the stream
   * reads an operand: a skipping os row reads only its own events. 0: every stream reads at every step
   * (rows·groupSpan·extent). On an os array with independent rows these are also its row-steps, each of which reads
   * its own vector of weights (mapping.ts).
   */
  rowSteps: number;
}

export interface FoldModel {
  /** Fills `out` with the fold's work (the caller's object, reused for every fold: no allocation per fold). */
  fold(m: MappedGemm, tile: FoldTile, out: FoldLoad): void;
}

export const denseFolds: FoldModel = {
  fold(m, t, out) {
    const n = t.rows * t.cols * m.T;
    out.extent = m.T;
    out.issued = n;
    out.effective = n;
    out.rowSteps = 0;
  },
};

export interface StatisticalFoldOptions {
  /** Fraction of non-zero activations (or, in delta mode, non-zero deltas). */
  actDensity: number;
  /** Fraction of non-zero weights. */
  weightDensity: number;
  skipZeroActivations: boolean;
  skipZeroWeights: boolean;
}

/**
 * The fraction of an operand's steps kept when its zeros (density d) are skipped: all without skipping
 * or for a stationary operand; d when each step is one element; a vector of `n` elements (the used rows,
 * times the groups of a depthwise-channels tile) is skipped only when all of it is zero.
 */
export function keptFraction(skip: TemporalSkip, enabled: boolean, d: number, n: number): number {
  return !enabled || skip === 'none' ? 1 : skip === 'element' ? d : 1 - (1 - d) ** n;
}

/**
 * Uniform random zeros (Sparseloop-style expected values). A streamed vector holds the used rows' elements
 * of every group in the tile (depthwise-channels feeds each group its own): rows · groupSpan elements.
 * On a lock-step os array a step is kept when any row has an event there (a vector of rows · groupSpan
 * activations) and, with weight skipping, any column a non-zero weight (a vector of cols weights).
 */
export function statisticalFolds(o: StatisticalFoldOptions): FoldModel {
  return {
    fold(m, t, out) {
      const v = t.rows * (t.groupSpan ?? 1);
      const pA = keptFraction(m.skip.ifmap, o.skipZeroActivations, o.actDensity, v);
      const pW = keptFraction(m.skip.filter, o.skipZeroWeights, o.weightDensity, m.dataflow === 'os' ? t.cols : v);
      const p = pA * pW;
      const slots = t.rows * t.cols * m.T;
      out.extent = Math.ceil(m.T * p - 1e-9);
      out.issued = slots * p;
      out.effective = slots * o.actDensity * o.weightDensity;
      // os rows read their own operands only: independent rows their element-skipped steps, lock-step rows their events at kept steps.
      const skips = m.dataflow === 'os' && (o.skipZeroActivations || o.skipZeroWeights);
      out.rowSteps = !skips ? 0 : m.lockstep ? (o.skipZeroActivations ? v * m.T * o.actDensity * pW : 0) : v * m.T * p;
    },
  };
}
