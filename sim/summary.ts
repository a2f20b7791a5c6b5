/**
 * What a simulation reports: per layer and frame (LayerResult), per frame (FrameSummary, kept as
 * frames.csv rows), and per mode over all frames (ModeSummary: per-frame means, latency percentiles,
 * gains). One set of types for every workload: a topology is a one-frame run.
 */
import { nearestRank } from '../lib/percentile.js';
import type { ActionCounts, SramBuffer } from './actions.js';
import { BUFFERS } from './actions.js';
import { idleLeakageUW, type EnergyBreakdown } from './energy.js';
import type { AreaBreakdown } from './area.js';
import { perBuffer } from './actions.js';
import type { FrameTable } from './frame-table.js';
import type { HwModel, Precisions } from './hw-model.js';
import type { Recording } from '../traces/manifest.js';
import { BOUNDS, perBound, type Bound, type MemoryPlan } from './memory.js';
import type { Mode } from './modes.js';

export interface LayerResult {
  /** Frame index of a trace; null for a topology's expected frame. */
  frame: number | null;
  layer: string;
  mode: Mode;
  folds: number;
  foldsRun: number;
  computeCycles: number;
  /** Cycles the compactor needed to build the layer's event list (0 without one; memory.ts layerTiming). */
  compactorCycles?: number;
  /**
   * Effective MACs / (PEs × compute cycles), SCALE-Sim's utilisation of the array's compute; null on an engine
   * without a PE array (event) or when the layer computed nothing (0 compute cycles). simulate() always sets it.
   */
  utilisation?: number | null;
  /** Mean over the layer's folds of used PEs / PEs (SCALE-Sim's mapping efficiency; geometric, the same in every mode); null without a PE array. */
  mappingEfficiency?: number | null;
  dramCycles: number;
  /** Cycles each SRAM buffer's ports needed (memory.ts layerTiming). */
  sramCycles: Readonly<Record<SramBuffer, number>>;
  /** The resource the layer's time is bound by. */
  bound: Bound;
  stallCycles: number;
  cycles: number;
  actions: ActionCounts;
  energy: EnergyBreakdown;
  /** A trace's layer input in this frame: fractions of zero levels / zero deltas. */
  sparsity?: { spatial: number; temporal: number };
}

/** What a frame of one run totals over its layers (and a mode's per-frame mean of it). */
export interface Totals {
  macs: number;
  effectiveMacs: number;
  computeCycles: number;
  stallCycles: number;
  cycles: number;
  latencyMs: number;
  dramBytes: number;
  sramBytes: Record<SramBuffer, number>;
  /** Word accesses per buffer (what its ports serve and its energy is charged per). */
  sramAccesses: Record<SramBuffer, number>;
  /** Cycles of the layers bound by each resource (they add up to the cycles less the per-layer overhead). */
  boundCycles: Record<Bound, number>;
  energy: EnergyBreakdown;
  /** Frame energy incl. idle leakage up to 1/fps (when fps is given). */
  frameEnergyUJ: number;
  /** Energy-delay product, pJ·s. */
  edpPJs: number;
}

/** One frame of one run (hw-model × mode), summed over layers. */
export interface FrameSummary extends Totals {
  /** Events consumed (event engines). */
  events: number;
  /** Neurons updated (evaluated outputs in delta mode). */
  neuronUpdates: number;
}

export interface LatencyStats {
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** One mode on one hw-model: per-frame means, latency percentiles, and the comparisons. */
export interface ModeSummary extends Totals {
  mode: Mode;
  averagePowerMW: number | null;
  /** Every frame fits in 1/fps (null without fps). */
  realTime: boolean | null;
  /** Against the mode's reference (modes.ts: dense) on the same hw-model, by cycles and energy. */
  speedupVsDense: number;
  energyGainVsDense: number;
  /** Energy per frame period (idle leakage up to 1/fps included) against dense; null without fps. */
  periodEnergyGainVsDense: number | null;
  /** Against the sparse (zero-skipping) run of the same hw-model: delta only, when sparse ran too (--mode all); else null. */
  speedupVsSparse: number | null;
  energyGainVsSparse: number | null;
  footprint: { weightBytes: number; stateBytes: number; weightRefetch: number; stateSpill: number };
  arch: string;
  frames: number;
  latencyUs: LatencyStats;
  /** The baseline hw-model's dense latency / this latency (different clocks compare by time); null without a baseline. */
  speedupVsBaseline: number | null;
  energyGainVsBaseline: number | null;
}

/** A layer whose recorded levels need more bits than the hardware's activations have. */
export interface LevelOverRange {
  layer: string;
  /** Levels over all frames that do not fit. */
  levels: number;
  /** The widest level, in bits. */
  maxBits: number;
}

/** Below this utilisation (dense run) a layer is listed in SimResult.lowUtilisation. */
export const LOW_UTILISATION = 0.1;

/** A layer whose dense run uses less than LOW_UTILISATION of the array's compute (one console warning each). */
export interface LowUtilisation {
  layer: string;
  /** Dense MACs / (PEs × dense compute cycles). */
  utilisation: number;
  /** Mean used PEs / PEs over its folds. */
  mappingEfficiency: number;
  /** Its share of the dense run's compute cycles (all layers). */
  cycleShare: number;
}

/** The console warning of a low-utilisation layer (one line; sim-table prints it among the notes). */
export function lowUtilisationLine(u: LowUtilisation): string {
  const pct = (x: number) => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)} %`;
  return (
    `layer "${u.layer}": ${pct(u.utilisation)} utilisation of the PEs in dense mode (mapping efficiency ${pct(u.mappingEfficiency)}), ` +
    `${pct(u.cycleShare)} of the dense compute cycles`
  );
}

/** How a workload's events were found: a topology's uniform densities, or a trace's delta rule. */
export type EventSource =
  | { densities: { actDensity: number; weightDensity: number | null; deltaDensity: number } }
  | { threshold: number; quantStep: number | null; recording?: Recording };

export type SimResult = {
  model: string;
  hwModel: string;
  baseline: string | null;
  clockMHz: number;
  /** Frame rate of power and idle leakage (null: a topology run without --fps). */
  fps: number | null;
} & EventSource & {
    frames: number;
    /** The widths the hardware computes in (every byte and MAC energy uses them), and the trace's levels that do not fit. */
    precision: Precisions & { overRange: LevelOverRange[] };
    modes: ModeSummary[];
    /**
     * Layers of the hw-model's dense run below LOW_UTILISATION, in layer order (empty on an engine without a PE
     * array). simulate() always sets it.
     */
    lowUtilisation?: LowUtilisation[];
    /** The baseline hw-model's dense run (null without a baseline). */
    baselineDense: ModeSummary | null;
    /**
     * Silicon area of the hw-model and of the baseline (area.ts; null without a baseline or when the energy table gives
     * no area figures). simulate() always sets them.
     */
    area?: AreaBreakdown | null;
    baselineArea?: AreaBreakdown | null;
    /** One row per frame and run (compact: see frame-table.ts). */
    frameRows: FrameTable;
  };

/** Σ f(r) over layer results. Module-level, not a closure per call (tsx's keepNames defines a property on each). */
function sumOver(layers: readonly LayerResult[], f: (r: LayerResult) => number): number {
  let s = 0;
  for (const r of layers) s += f(r);
  return s;
}

/** A frame's summary of one run's layer results. */
export function summariseFrame(layers: readonly LayerResult[], hw: HwModel, fps: number | null): FrameSummary {
  const cycles = sumOver(layers, (r) => r.cycles);
  const seconds = cycles / (hw.clockMHz * 1e6);
  const energy: EnergyBreakdown = {
    computePJ: sumOver(layers, (r) => r.energy.computePJ),
    sramPJ: perBuffer((b) => sumOver(layers, (r) => r.energy.sramPJ[b])),
    dramPJ: sumOver(layers, (r) => r.energy.dramPJ),
    staticPJ: sumOver(layers, (r) => r.energy.staticPJ),
    totalPJ: sumOver(layers, (r) => r.energy.totalPJ),
  };
  const idlePJ = fps ? Math.max(0, 1 / fps - seconds) * idleLeakageUW(hw) * 1e6 : 0;
  return {
    macs: sumOver(layers, (r) => r.actions.macs),
    effectiveMacs: sumOver(layers, (r) => r.actions.effectiveMacs),
    computeCycles: sumOver(layers, (r) => r.computeCycles),
    stallCycles: sumOver(layers, (r) => r.stallCycles),
    cycles,
    latencyMs: seconds * 1e3,
    events: sumOver(layers, (r) => r.actions.events),
    neuronUpdates: sumOver(layers, (r) => r.actions.neuronUpdates),
    dramBytes: sumOver(layers, (r) => r.actions.dram.readBytes + r.actions.dram.writeBytes),
    sramBytes: perBuffer((b) => sumOver(layers, (r) => r.actions.sram[b].readBytes + r.actions.sram[b].writeBytes)),
    sramAccesses: perBuffer((b) => sumOver(layers, (r) => r.actions.sram[b].reads + r.actions.sram[b].writes)),
    boundCycles: perBound((k) => sumOver(layers, (r) => (r.bound === k ? r.cycles - (hw.layerOverheadCycles ?? 0) : 0))),
    energy,
    frameEnergyUJ: (energy.totalPJ + idlePJ) / 1e6,
    edpPJs: energy.totalPJ * seconds,
  };
}

// The averaged numbers of a FrameSummary, in a fixed order (one Float64Array of running sums per run).
const SCALARS = [
  'macs',
  'effectiveMacs',
  'computeCycles',
  'stallCycles',
  'cycles',
  'latencyMs',
  'dramBytes',
  'frameEnergyUJ',
  'edpPJs',
] as const;
const ENERGY = ['computePJ', 'dramPJ', 'staticPJ', 'totalPJ'] as const;
const WIDTH = SCALARS.length + 3 * BUFFERS.length + ENERGY.length + BOUNDS.length;

/** Running sums of one run's frame summaries, and its per-frame latencies for percentiles. */
export class FrameAccumulator {
  private readonly sums = new Float64Array(WIDTH);
  private readonly latenciesUs: number[] = [];

  constructor(
    readonly arch: string,
    readonly mode: Mode,
    private readonly plan: MemoryPlan,
  ) {}

  add(s: FrameSummary): void {
    this.latenciesUs.push(s.latencyMs * 1e3);
    const d = this.sums;
    let o = 0;
    for (const k of SCALARS) d[o++] += s[k];
    for (const b of BUFFERS) d[o++] += s.sramBytes[b];
    for (const k of ENERGY) d[o++] += s.energy[k];
    for (const b of BUFFERS) d[o++] += s.energy.sramPJ[b];
    for (const b of BUFFERS) d[o++] += s.sramAccesses[b];
    for (const k of BOUNDS) d[o++] += s.boundCycles[k];
  }

  /** Per-frame means; speedups and gains left at 1 / null for the caller. */
  mean(fps: number | null): ModeSummary {
    const k = this.latenciesUs.length;
    const f = 1 / k;
    const d = this.sums;
    let o = 0;
    const m = {} as Record<(typeof SCALARS)[number], number>;
    for (const key of SCALARS) m[key] = d[o++]! * f;
    const sramBytes = perBuffer(() => 0);
    for (const b of BUFFERS) sramBytes[b] = d[o++]! * f;
    const e = {} as EnergyBreakdown;
    for (const key of ENERGY) e[key] = d[o++]! * f;
    e.sramPJ = perBuffer(() => 0);
    for (const b of BUFFERS) e.sramPJ[b] = d[o++]! * f;
    const sramAccesses = perBuffer(() => 0);
    for (const b of BUFFERS) sramAccesses[b] = d[o++]! * f;
    const boundCycles = perBound(() => 0);
    for (const k of BOUNDS) boundCycles[k] = d[o++]! * f;
    const energy: EnergyBreakdown = {
      computePJ: e.computePJ,
      sramPJ: e.sramPJ,
      dramPJ: e.dramPJ,
      staticPJ: e.staticPJ,
      totalPJ: e.totalPJ,
    };
    const sorted = Float64Array.from(this.latenciesUs).sort();
    const p = this.plan;
    return {
      mode: this.mode,
      macs: m.macs,
      effectiveMacs: m.effectiveMacs,
      computeCycles: m.computeCycles,
      stallCycles: m.stallCycles,
      cycles: m.cycles,
      latencyMs: m.latencyMs,
      dramBytes: m.dramBytes,
      sramBytes,
      sramAccesses,
      boundCycles,
      energy,
      frameEnergyUJ: m.frameEnergyUJ,
      averagePowerMW: fps ? (m.frameEnergyUJ * fps) / 1e3 : null,
      realTime: fps ? sorted[k - 1]! <= 1e6 / fps : null,
      speedupVsDense: 1,
      energyGainVsDense: 1,
      periodEnergyGainVsDense: null,
      speedupVsSparse: null,
      energyGainVsSparse: null,
      edpPJs: m.edpPJs,
      footprint: { weightBytes: p.weightBytes, stateBytes: p.stateBytes, weightRefetch: p.weightRefetch, stateSpill: p.stateSpill },
      arch: this.arch,
      frames: k,
      latencyUs: { mean: m.latencyMs * 1e3, p50: nearestRank(sorted, 0.5), p95: nearestRank(sorted, 0.95), max: sorted[k - 1]! },
      speedupVsBaseline: null,
      energyGainVsBaseline: null,
    };
  }
}
