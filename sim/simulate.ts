/**
 * simulate(): a model × a hw-model × modes → per-layer results and per-mode summaries.
 * The one entry point the CLI, sweeps and worker threads call.
 *
 * Per layer: the work model gives fold extents → compute cycles and edge accesses (mapping.ts);
 * those plus the memory plan give action counts (actions.ts); timing and energy come from the
 * action counts alone (memory.ts, energy.ts).
 */
import { InputError } from '../traces/errors.js';
import { zeroActions, BUFFERS, type ActionCounts, type SramBuffer } from './actions.js';
import { energyOf, leakageUW, type EnergyBreakdown } from './energy.js';
import type { HwModel, SystolicSpec } from './hw-model.js';
import { computeLayer } from './mapping.js';
import { layerDram, layerTiming, planMemory, type MemoryPlan } from './memory.js';
import { denseWork, statisticalWork, type WorkModel } from './work-model.js';
import { gemmOf, inputCount, layerMacs, outputCount, weightCount, type Layer, type Model } from './workload.js';

export type Mode = 'dense' | 'sparse' | 'delta';
export const MODES: readonly Mode[] = ['dense', 'sparse', 'delta'];

export interface SimOptions {
  mode: Mode | 'all';
  /** Sparse mode: fraction of non-zero activations (uniform). Default 0.5. */
  actDensity?: number;
  /** Fraction of non-zero weights; default: each layer's weightDensity. */
  weightDensity?: number;
  /** Delta mode: fraction of non-zero input deltas (uniform). Default 0.1. */
  deltaDensity?: number;
  /** Frames per second for average power (and idle leakage between frames). */
  fps?: number;
}

export const DEFAULT_DENSITIES = { actDensity: 0.5, deltaDensity: 0.1 } as const;

export interface LayerResult {
  /** Frame index for trace-driven runs; null for statistical / dense runs. */
  frame: number | null;
  layer: string;
  mode: Mode;
  folds: number;
  foldsRun: number;
  computeCycles: number;
  dramCycles: number;
  stallCycles: number;
  cycles: number;
  actions: ActionCounts;
  energy: EnergyBreakdown;
}

export interface ModeSummary {
  mode: Mode;
  macs: number;
  effectiveMacs: number;
  computeCycles: number;
  stallCycles: number;
  cycles: number;
  latencyMs: number;
  dramBytes: number;
  sramBytes: Record<SramBuffer, number>;
  energy: EnergyBreakdown;
  /** Frame energy incl. idle leakage up to 1/fps (when fps is given). */
  frameEnergyUJ: number;
  averagePowerMW: number | null;
  /** The frame fits in 1/fps (null without fps). */
  realTime: boolean | null;
  speedupVsDense: number;
  energyGainVsDense: number;
  /** Energy-delay product, pJ·s. */
  edpPJs: number;
  footprint: { weightBytes: number; stateBytes: number; weightRefetch: number; stateSpill: number };
}

export interface SimResult {
  model: string;
  hwModel: string;
  clockMHz: number;
  densities: { actDensity: number; weightDensity: number | null; deltaDensity: number };
  fps: number | null;
  modes: ModeSummary[];
  layers: LayerResult[];
}

export function supportedModes(hw: HwModel): Mode[] {
  if (hw.kind !== 'systolic') return ['dense'];
  return MODES.filter((m) => m === 'dense' || (m === 'sparse' && (hw.skipZeroActivations || hw.skipZeroWeights || hw.gateZeroOperands)) || (m === 'delta' && hw.delta));
}

function checkDensity(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new InputError(`--${name} must be in [0, 1], got ${v}`);
}

const bytes = (n: number, bits: number): number => (n * bits) / 8;

/** Per-layer state bytes a delta array keeps: accumulators of outputs + previous levels of inputs. */
export function deltaStateBytes(l: Layer, hw: HwModel): number {
  return bytes(outputCount(l), hw.precisions.accumulatorBits) + bytes(inputCount(l), hw.precisions.activationBits);
}

/** What simulateLayer needs besides the layer: a trace-driven engine passes its own per-frame work model. */
export interface LayerCtx {
  hw: HwModel & SystolicSpec;
  plan: MemoryPlan;
  mode: Mode;
  work: WorkModel;
  deltaDensity: number;
  first: boolean;
  last: boolean;
}

/** One layer, one frame, one mode on a systolic array. */
export function simulateLayer(l: Layer, c: LayerCtx, frame: number | null = null): LayerResult {
  const { hw } = c;
  const p = hw.precisions;
  const g = gemmOf(l);
  const r = computeLayer(g, hw, c.work);
  const a = zeroActions();
  a.macs = layerMacs(l);
  a.effectiveMacs = r.effective;
  const zeroOperandIssued = r.issued - r.effective;
  a.macsFull = r.effective + (hw.gateZeroOperands ? 0 : zeroOperandIssued);
  a.macsGated = hw.gateZeroOperands ? zeroOperandIssued : 0;
  a.macsSkipped = a.macs - r.issued;
  a.neuronUpdates = outputCount(l);

  const outBits = r.partialSums ? p.accumulatorBits : p.activationBits;
  a.sram.ifmap.readBytes = bytes(r.edges.ifmapReads, p.activationBits);
  a.sram.filter.readBytes = bytes(r.edges.filterReads, l.weightBits);
  a.sram.ofmap.writeBytes = bytes(r.edges.ofmapWrites, outBits);
  a.sram.ofmap.readBytes = bytes(r.edges.psumReads, p.accumulatorBits);

  const stateBytes = c.mode === 'delta' ? deltaStateBytes(l, hw) : 0;
  if (c.mode === 'delta') {
    // Outputs reached by at least one non-zero delta: accumulator read + write, re-activate, compare.
    const touched = outputCount(l) * (1 - (1 - c.deltaDensity) ** g.K);
    a.neuronUpdates = touched;
    a.deltaCompares = touched;
    const acc = bytes(touched, p.accumulatorBits);
    // Every input's previous level is read to form its delta; changed ones are written back.
    a.sram.state.readBytes = acc + bytes(inputCount(l), p.activationBits);
    a.sram.state.writeBytes = acc + bytes(inputCount(l) * c.deltaDensity, p.activationBits);
  }
  const d = layerDram(hw, c.plan, {
    weightBytes: bytes(weightCount(l), l.weightBits),
    inputBytes: bytes(inputCount(l), p.activationBits),
    outputBytes: bytes(outputCount(l), p.activationBits),
    stateBytes,
    first: c.first,
    last: c.last,
  });
  a.dram.readBytes = d.weights + d.actsIn + d.state.readBytes;
  a.dram.writeBytes = d.actsOut + d.state.writeBytes;
  a.sram.filter.writeBytes += d.weights; // DRAM → weight SRAM fill
  a.sram.ifmap.writeBytes += d.actsIn;

  const t = layerTiming(hw, r.computeCycles, a.dram.readBytes + a.dram.writeBytes);
  const energy = energyOf(hw, a, t.cycles / (hw.clockMHz * 1e6));
  return { frame, layer: l.name, mode: c.mode, folds: r.folds, foldsRun: r.foldsRun, computeCycles: r.computeCycles, ...t, actions: a, energy };
}

function workFor(mode: Mode, hw: SystolicSpec, actDensity: number, weightDensity: number, deltaDensity: number): WorkModel {
  if (mode === 'dense') return denseWork;
  return statisticalWork({
    actDensity: mode === 'delta' ? deltaDensity : actDensity,
    weightDensity,
    skipZeroActivations: hw.skipZeroActivations,
    skipZeroWeights: hw.skipZeroWeights,
  });
}

export function simulate(model: Model, hw: HwModel, opts: SimOptions): SimResult {
  if (hw.kind !== 'systolic')
    throw new InputError(`hw-model "${hw.name}" is of kind "${hw.kind}": its engine is not implemented yet (it comes with trace-driven simulation)`, {
      file: hw.source,
    });
  checkDensity('act-density', opts.actDensity);
  checkDensity('weight-density', opts.weightDensity);
  checkDensity('delta-density', opts.deltaDensity);
  if (opts.fps !== undefined && !(opts.fps > 0)) throw new InputError(`--fps must be positive, got ${opts.fps}`);
  const supported = supportedModes(hw);
  const modes = opts.mode === 'all' ? supported : [opts.mode];
  for (const m of modes)
    if (!supported.includes(m))
      throw new InputError(`mode "${m}" needs a hw-model that ${m === 'delta' ? 'has "delta": true' : 'skips or gates zeros'}; "${hw.name}" supports ${supported.join(', ')}`, {
        file: hw.source,
      });
  const actDensity = opts.actDensity ?? DEFAULT_DENSITIES.actDensity;
  const deltaDensity = opts.deltaDensity ?? DEFAULT_DENSITIES.deltaDensity;
  const weightBytes = model.layers.map((l) => bytes(weightCount(l), l.weightBits));

  const runMode = (mode: Mode): { mode: Mode; layers: LayerResult[]; plan: MemoryPlan } => {
    const plan = planMemory(hw, weightBytes, model.layers.map((l) => (mode === 'delta' ? deltaStateBytes(l, hw) : 0)));
    const layers = model.layers.map((l, i) => {
      const wd = mode === 'dense' ? 1 : (opts.weightDensity ?? l.weightDensity);
      return simulateLayer(l, {
        hw,
        plan,
        mode,
        work: workFor(mode, hw, actDensity, wd, deltaDensity),
        deltaDensity,
        first: i === 0,
        last: i === model.layers.length - 1,
      });
    });
    return { mode, layers, plan };
  };
  const dense = runMode('dense');
  const denseSummary = summarise(dense, hw, opts.fps);
  const perMode = modes.map((m) => (m === 'dense' ? dense : runMode(m)));
  const modesOut = perMode.map((run) => {
    const s = summarise(run, hw, opts.fps);
    s.speedupVsDense = denseSummary.cycles / s.cycles;
    s.energyGainVsDense = denseSummary.energy.totalPJ / s.energy.totalPJ;
    return s;
  });
  return {
    model: model.name,
    hwModel: hw.name,
    clockMHz: hw.clockMHz,
    densities: { actDensity, weightDensity: opts.weightDensity ?? null, deltaDensity },
    fps: opts.fps ?? null,
    modes: modesOut,
    layers: perMode.flatMap((m) => m.layers),
  };
}

function summarise({ mode, layers, plan }: { mode: Mode; layers: LayerResult[]; plan: MemoryPlan }, hw: HwModel, fps: number | undefined): ModeSummary {
  const sum = (f: (r: LayerResult) => number): number => layers.reduce((s, r) => s + f(r), 0);
  const cycles = sum((r) => r.cycles);
  const seconds = cycles / (hw.clockMHz * 1e6);
  const energy: EnergyBreakdown = {
    computePJ: sum((r) => r.energy.computePJ),
    sramPJ: Object.fromEntries(BUFFERS.map((b) => [b, sum((r) => r.energy.sramPJ[b])])) as Record<SramBuffer, number>,
    dramPJ: sum((r) => r.energy.dramPJ),
    staticPJ: sum((r) => r.energy.staticPJ),
    totalPJ: sum((r) => r.energy.totalPJ),
  };
  const idlePJ = fps ? Math.max(0, 1 / fps - seconds) * leakageUW(hw) * 1e6 : 0;
  const frameEnergyUJ = (energy.totalPJ + idlePJ) / 1e6;
  return {
    mode,
    macs: sum((r) => r.actions.macs),
    effectiveMacs: sum((r) => r.actions.effectiveMacs),
    computeCycles: sum((r) => r.computeCycles),
    stallCycles: sum((r) => r.stallCycles),
    cycles,
    latencyMs: seconds * 1e3,
    dramBytes: sum((r) => r.actions.dram.readBytes + r.actions.dram.writeBytes),
    sramBytes: Object.fromEntries(BUFFERS.map((b) => [b, sum((r) => r.actions.sram[b].readBytes + r.actions.sram[b].writeBytes)])) as Record<SramBuffer, number>,
    energy,
    frameEnergyUJ,
    averagePowerMW: fps ? (frameEnergyUJ * fps) / 1e3 : null,
    realTime: fps ? seconds <= 1 / fps : null,
    speedupVsDense: 1,
    energyGainVsDense: 1,
    edpPJs: energy.totalPJ * seconds,
    footprint: { weightBytes: plan.weightBytes, stateBytes: plan.stateBytes, weightRefetch: plan.weightRefetch, stateSpill: plan.stateSpill },
  };
}
