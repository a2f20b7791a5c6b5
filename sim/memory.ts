/**
 * Memory accounting: what stays on chip, what goes to DRAM every frame, and the stall it causes.
 * Steady state per frame (the first frame's one-off weight load is not counted).
 *
 * - What a layer's pass moves when it is fetched is the engine's `dramReuse`: for a systolic array
 *   SCALE-Sim's double-buffered re-fetch for its fold order and buffer sizes (dram-reuse.ts).
 * - `steady` DRAM model (video: weights and activations stay on chip when they fit):
 *   - Weights: resident across frames while the network's weights fit the weight (filter) SRAM; the
 *     excess share of every layer's pass is fetched every frame (so more SRAM never means more traffic).
 *   - Activations: a layer whose input + output exceed ifmap + ofmap SRAM reads its input from and
 *     writes its output to DRAM. The network's input frame is always read from DRAM and its final
 *     output always written.
 * - `scalesim` DRAM model: every layer's pass, every frame (SCALE-Sim's report of one inference).
 * - Delta state (accumulators + previous levels): the share of the network's state that does not fit
 *   the state SRAM lives in DRAM (spread like weights), so that share of every frame's state
 *   accesses (accumulators, last levels; see delta-state.ts) goes to DRAM instead of the state SRAM.
 * - Event lists (a systolic array that skips activations): activations that spill between layers move as the
 *   consumer's event list, values + metadata, when that is smaller than dense (sparse-format.ts). The network's input
 *   frame arrives dense from the sensor and its final output leaves dense. The spill decision itself stays on the
 *   dense sizes: the buffers must hold a dense frame too.
 * Timing (layerTiming): compute, DRAM, every SRAM buffer's ports and the compactor each bound a layer's time.
 */
import { BUFFERS, perBuffer, type SramBuffer, type Traffic } from './actions.js';
import type { LayerReuse } from './dram-reuse.js';
import type { HwModel, SramSpec } from './hw-model.js';

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
    weightRefetch: excess(weightBytes, hw.memories.filter.kiB),
    stateBytes,
    stateSpill: excess(stateBytes, hw.memories.state.kiB),
  };
}

export interface LayerBytes {
  /** One pass's DRAM traffic when nothing is on chip, the dataflow's re-fetches included (engine.dramReuse). */
  reuse: LayerReuse;
  inputBytes: number;
  outputBytes: number;
  /** This frame's delta-state accesses (0 outside delta mode); the spilled share goes to DRAM. */
  stateTraffic: Traffic;
  first: boolean;
  last: boolean;
  /**
   * Share of the dense size the layer's input / output occupies when it moves to or from DRAM: an event list
   * (sparse-format.ts) where it is smaller than dense, else 1. Absent: 1.
   */
  inputStored?: number;
  outputStored?: number;
}

/** DRAM traffic of one layer per frame, split by what caused it. */
export function layerDram(
  hw: HwModel,
  plan: MemoryPlan,
  b: LayerBytes,
): { weights: number; actsIn: number; actsOut: number; state: Traffic } {
  const f = plan.stateSpill;
  const cold = hw.memories.dram.model === 'scalesim';
  const spills = cold || b.inputBytes + b.outputBytes > (hw.memories.ifmap.kiB + hw.memories.ofmap.kiB) * KiB;
  return {
    weights: cold ? b.reuse.weights : Math.round(b.reuse.weights * plan.weightRefetch),
    actsIn: spills || b.first ? b.reuse.actsIn * (b.inputStored ?? 1) : 0,
    actsOut: spills || b.last ? b.reuse.actsOut * (b.outputStored ?? 1) : 0,
    // The spilled share of the state's bytes and of its word accesses.
    state: {
      readBytes: Math.round(b.stateTraffic.readBytes * f),
      writeBytes: Math.round(b.stateTraffic.writeBytes * f),
      reads: Math.round(b.stateTraffic.reads * f),
      writes: Math.round(b.stateTraffic.writes * f),
    },
  };
}

/** What bounds a layer's time: the datapath, DRAM, one SRAM buffer's ports, or the compactor that builds its event list. */
export type Bound = 'compute' | 'dram' | SramBuffer | 'compactor';
export const BOUNDS: readonly Bound[] = ['compute', 'dram', ...BUFFERS, 'compactor'];
/** A record over the bounds, built as a literal (per frame). */
export const perBound = (f: (b: Bound) => number): Record<Bound, number> => ({
  compute: f('compute'),
  dram: f('dram'),
  ifmap: f('ifmap'),
  filter: f('filter'),
  ofmap: f('ofmap'),
  state: f('state'),
  compactor: f('compactor'),
});

export interface Timing {
  dramCycles: number;
  /** Cycles each buffer's ports need for its word accesses: ⌈accesses / (banks · ports)⌉. */
  sramCycles: Record<SramBuffer, number>;
  bound: Bound;
  stallCycles: number;
  cycles: number;
}

/** Words one buffer's ports move per cycle. */
export const sramWordsPerCycle = (s: SramSpec): number => s.banks * s.ports;
/** Bytes one buffer's ports move per cycle. */
export const sramBytesPerCycle = (s: SramSpec): number => (sramWordsPerCycle(s) * s.wordBits) / 8;
/** DRAM bytes per cycle of the hw-model's clock. */
export const dramBytesPerCycle = (hw: Pick<HwModel, 'memories' | 'clockMHz'>): number => (hw.memories.dram.GBps * 1000) / hw.clockMHz;

/**
 * The overlap rule: DRAM transfers are double-buffered and every SRAM serves the datapath while it
 * computes, so a layer lasts as long as its slowest resource: max(compute, DRAM, each buffer's
 * ports, the compactor) + the fixed per-layer overhead. The excess over compute is the stall.
 */
export function layerTiming(
  hw: HwModel,
  computeCycles: number,
  dramBytes: number,
  sram: Record<SramBuffer, Traffic>,
  compactorCycles = 0,
): Timing {
  const dramCycles = Math.ceil(dramBytes / dramBytesPerCycle(hw) - 1e-9);
  const m = hw.memories;
  const sramCycles = perBuffer((b) => Math.ceil((sram[b].reads + sram[b].writes) / sramWordsPerCycle(m[b]) - 1e-9));
  let bound: Bound = 'compute';
  let busy = computeCycles;
  if (m.dram.stalls !== false && dramCycles > busy) {
    bound = 'dram';
    busy = dramCycles;
  }
  for (const b of BUFFERS)
    if (m[b].stalls !== false && sramCycles[b] > busy) {
      bound = b;
      busy = sramCycles[b];
    }
  if (compactorCycles > busy) {
    bound = 'compactor';
    busy = compactorCycles;
  }
  return { dramCycles, sramCycles, bound, stallCycles: busy - computeCycles, cycles: busy + (hw.layerOverheadCycles ?? 0) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
