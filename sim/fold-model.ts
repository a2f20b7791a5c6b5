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
  | 'element' // each time step is one element per PE row: a zero is a step saved (os)
  | 'vector' // each time step is a vector across the used rows: skipped only if all of it is zero (ws/is)
  | 'none'; // the operand is stationary: its zeros can be gated, never skipped

/** One fold: a tile of the Sr×Sc spatial extent of one group's GEMM. */
export interface FoldTile {
  group: number;
  rowStart: number;
  rows: number;
  colStart: number;
  cols: number;
}

/** The mapped layer a work model sees. */
export interface MappedGemm {
  gemm: Gemm;
  dataflow: 'os' | 'ws' | 'is';
  Sr: number;
  Sc: number;
  T: number;
  skip: { ifmap: TemporalSkip; filter: TemporalSkip };
}

export interface FoldLoad {
  /** Time steps the fold streams (≤ T); 0 means the fold is skipped entirely. */
  extent: number;
  /** MAC slots stepped through (rows·cols·extent for uniform work). */
  issued: number;
  /** MACs with both operands non-zero. */
  effective: number;
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
 * or for a stationary operand; d when each step is one element; a vector across `rows` rows is skipped
 * only when all of it is zero.
 */
export function keptFraction(skip: TemporalSkip, enabled: boolean, d: number, rows: number): number {
  return !enabled || skip === 'none' ? 1 : skip === 'element' ? d : 1 - (1 - d) ** rows;
}

/** Uniform random zeros (Sparseloop-style expected values). */
export function statisticalFolds(o: StatisticalFoldOptions): FoldModel {
  return {
    fold(m, t, out) {
      const p =
        keptFraction(m.skip.ifmap, o.skipZeroActivations, o.actDensity, t.rows) *
        keptFraction(m.skip.filter, o.skipZeroWeights, o.weightDensity, t.rows);
      const slots = t.rows * t.cols * m.T;
      out.extent = Math.ceil(m.T * p - 1e-9);
      out.issued = slots * p;
      out.effective = slots * o.actDensity * o.weightDensity;
    },
  };
}
