/**
 * The one interface every hw kind's engine implements. An engine turns one layer's events in one frame
 * into compute: cycles, folds and the compute-side action counts (MACs, neuron updates, events, the
 * SRAM accesses of the datapath). Memory traffic, timing and energy are the driver's (simulate.ts),
 * the same for every engine.
 */
import type { Layer } from '../../traces/layer.js';
import type { ActionCounts } from '../actions.js';
import type { LayerEvents } from '../activity.js';
import type { StateCounts, StateInCompute } from '../delta-state.js';
import type { LayerReuse } from '../dram-reuse.js';
import type { HwModel } from '../hw-model.js';
import type { ModeRule } from '../modes.js';
import type { FoldStatsCache } from '../trace-fold-model.js';

/** Abilities a mode may need (modes.ts); every engine says which of them a hw-model has. */
export type Capability = 'skipsOrGatesZeros' | 'deltaState';

/** What an engine did on one layer in one frame. */
export interface LayerCompute {
  folds: number;
  foldsRun: number;
  computeCycles: number;
  /** Cycles the compactor needs to build the layer's event list (0 without one); it bounds the layer's time like a buffer's ports. */
  compactorCycles?: number;
  actions: ActionCounts;
}

/**
 * One layer of one mode on one hw-model, frame after frame. `events` is null in a mode that reads no
 * data (dense); `state` is set in a stateful mode (delta).
 */
export type LayerStep = (events: LayerEvents | null, weightDensity: number, state: StateCounts | undefined) => LayerCompute;

/** How `arch list` / `arch show` describe a hw-model of this kind. */
export interface HwDescription {
  /** e.g. "32×32 os", "64 cores". */
  shape: string;
  /** What it can skip or keep, e.g. "zero-skip, delta". */
  features: string;
  /** The lines of `arch show` that only this kind has. */
  details: string[];
  /** What one leaking compute unit is called (leakage per unit in the energy table). */
  unit: string;
}

export interface Engine<H extends HwModel = HwModel> {
  capabilities(hw: H): Readonly<Record<Capability, boolean>>;
  /** Compute units that leak (PEs, cores): the energy table's per-unit leakage applies to each. */
  computeUnits(hw: H): number;
  describe(hw: H): HwDescription;
  /** DRAM bytes of one pass of the layer when nothing is on chip yet, re-fetches of the engine's dataflow included (dram-reuse.ts). */
  dramReuse(l: Layer, hw: H): LayerReuse;
  /**
   * Prepares a layer (buffers, per-layer constants) once per run; the step is then called per frame. Simulations given
   * the same `foldStats` (a sweep's points) may share what their frames' statistics have in common (trace-fold-model.ts).
   */
  layer(l: Layer, hw: H, rule: ModeRule, foldStats?: FoldStatsCache): LayerStep;
  /**
   * Which of the delta-state accesses (delta-state.ts) the engine's compute energy already includes, so that the
   * driver does not charge them again as state-buffer traffic. Absent: none (the driver charges every access).
   */
  stateInCompute?(hw: H): StateInCompute;
}
