/**
 * Memory accounting: what stays on chip, what goes to DRAM every frame, and the stall it causes.
 * Steady state per frame (the first frame's one-off weight load is not counted).
 *
 * - Weights: resident across frames while the network's weights fit the weight (filter) SRAM; the
 *   excess is re-fetched every frame, spread over layers in proportion to their size (so more SRAM
 *   never means more traffic).
 * - Activations: a layer whose input + output exceed ifmap + ofmap SRAM reads its input from and
 *   writes its output to DRAM. The network's input frame is always read from DRAM and its final
 *   output always written.
 * - Delta state (accumulators + previous levels): the share of the network's state that does not fit
 *   the state SRAM lives in DRAM (spread like weights), so that share of every frame's state
 *   accesses (accumulators, last levels; see delta-state.ts) goes to DRAM instead of the state SRAM.
 */
import type { Traffic } from './actions.js';
import type { HwModel } from './hw-model.js';

export interface MemoryPlan {
  weightBytes: number;
  /** Fraction of every layer's weights re-fetched each frame. */
  weightRefetch: number;
  stateBytes: number;
  /** Fraction of every layer's delta state that lives in DRAM. */
  stateSpill: number;
}

const KiB = 1024;

export function planMemory(hw: HwModel, layerWeightBytes: number[], layerStateBytes: number[]): MemoryPlan {
  const weightBytes = sum(layerWeightBytes);
  const stateBytes = sum(layerStateBytes);
  const excess = (total: number, capKiB: number): number => (total > 0 ? Math.max(0, total - capKiB * KiB) / total : 0);
  return {
    weightBytes,
    weightRefetch: excess(weightBytes, hw.memories.filterKiB),
    stateBytes,
    stateSpill: excess(stateBytes, hw.memories.stateKiB),
  };
}

export interface LayerBytes {
  weightBytes: number;
  inputBytes: number;
  outputBytes: number;
  /** This frame's delta-state accesses (0 outside delta mode); the spilled share goes to DRAM. */
  stateTraffic: Traffic;
  first: boolean;
  last: boolean;
}

/** DRAM traffic of one layer per frame, split by what caused it. */
export function layerDram(
  hw: HwModel,
  plan: MemoryPlan,
  b: LayerBytes,
): { weights: number; actsIn: number; actsOut: number; state: Traffic } {
  const spills = b.inputBytes + b.outputBytes > (hw.memories.ifmapKiB + hw.memories.ofmapKiB) * KiB;
  return {
    weights: Math.round(b.weightBytes * plan.weightRefetch),
    actsIn: spills || b.first ? b.inputBytes : 0,
    actsOut: spills || b.last ? b.outputBytes : 0,
    state: {
      readBytes: Math.round(b.stateTraffic.readBytes * plan.stateSpill),
      writeBytes: Math.round(b.stateTraffic.writeBytes * plan.stateSpill),
    },
  };
}

export interface Timing {
  dramCycles: number;
  stallCycles: number;
  cycles: number;
}

/** Latency = max(compute, DRAM transfer) + fixed overhead; DRAM overlaps compute (double buffering). */
export function layerTiming(hw: HwModel, computeCycles: number, dramBytes: number): Timing {
  const bytesPerCycle = (hw.memories.dramGBps * 1000) / hw.clockMHz;
  const dramCycles = Math.ceil(dramBytes / bytesPerCycle - 1e-9);
  const stallCycles = Math.max(0, dramCycles - computeCycles);
  return { dramCycles, stallCycles, cycles: computeCycles + stallCycles + (hw.layerOverheadCycles ?? 0) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
