/**
 * simulate(): a model × a hw-model × modes → per-layer results and per-mode summaries.
 * The one entry point the CLI, sweeps and worker threads call.
 *
 * Per layer: the work model gives fold extents → compute cycles and edge accesses (mapping.ts);
 * those plus the memory plan give action counts (actions.ts); timing and energy come from the
 * action counts alone (memory.ts, energy.ts).
 */
import { InputError } from '../traces/errors.js';
import { zeroActions, type ActionCounts, type SramBuffer, type Traffic } from './actions.js';
import { energyOf, leakageUW, perBuffer, type EnergyBreakdown } from './energy.js';
import { coreLoad, expectedEventWork, type EventWork } from './event-engine.js';
import type { EventSpec, HwModel, SystolicSpec } from './hw-model.js';
import { computeLayer } from './mapping.js';
import { layerDram, layerTiming, planMemory, type MemoryPlan, type Timing } from './memory.js';
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
  /** Trace-driven runs: the layer's input sparsity in this frame (fractions of zero levels / zero deltas). */
  sparsity?: { spatial: number; temporal: number };
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

/** Modes a hw-model runs: an event many-core consumes any events; a systolic array needs skipping/gating or delta support. */
export function supportedModes(hw: HwModel): Mode[] {
  if (hw.kind === 'event') return [...MODES];
  return MODES.filter(
    (m) =>
      m === 'dense' ||
      (m === 'sparse' && (hw.skipZeroActivations || hw.skipZeroWeights || hw.gateZeroOperands)) ||
      (m === 'delta' && hw.delta),
  );
}

function checkDensity(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new InputError(`--${name} must be in [0, 1], got ${v}`);
}

const bytes = (n: number, bits: number): number => (n * bits) / 8;

/*
 * Delta state, as the functional executor (delta-executor.ts) keeps and touches it — DESIGN §6 asks
 * the engine to charge exactly the executor's operations:
 *  - per output an accumulator (accumulator bits) and the last level it emitted (activation bits);
 *  - the last emitted level lives once: a layer's "previous input level" IS its producer's last
 *    emitted level. We book it with the consumer (inputs × activation bits per layer; the last
 *    layer also keeps its own outputs' levels), which equals the executor's state on a chain.
 *  - per frame: every evaluated output reads its accumulator and its last level (the compare),
 *    every touched output writes its accumulator back; a level is written per changed level, i.e.
 *    per input delta of the consumer. Only the network input compares every input against its
 *    previous level (layer ≥ 1 receives its deltas as events and reads nothing per input).
 *  - evaluated = touched, except on the key frame (frame 0), where every output is evaluated: an
 *    untouched output may still hold a non-zero bias level that must be emitted once.
 * The last layer's changed outputs are not in a trace of layer inputs: its level writes are
 * charged per touched output (the upper bound; a change needs a touch after the key frame).
 */

/** Per-layer state bytes a delta array keeps: accumulators of outputs + previous levels of inputs (+ the last layer's output levels). */
export function deltaStateBytes(l: Layer, hw: HwModel, last: boolean): number {
  const p = hw.precisions;
  return bytes(outputCount(l), p.accumulatorBits) + bytes(inputCount(l) + (last ? outputCount(l) : 0), p.activationBits);
}

/** What a delta frame did to one layer's state. */
export interface StateCounts {
  /** Outputs with ≥ 1 non-zero delta in their receptive field (accumulator written back). */
  touchedOutputs: number;
  /** Outputs re-activated, re-quantised and compared with their last level: the touched ones, all on the key frame. */
  evaluatedOutputs: number;
  /** Inputs whose level changed (the layer's input deltas = its producer's emitted changes). */
  changedInputs: number;
}

/** Expected counts for uniform random deltas of density dd (steady state, no key frame): an output is touched unless all K of its inputs are unchanged. */
export function expectedStateCounts(l: Layer, dd: number): StateCounts {
  const touched = outputCount(l) * (1 - (1 - dd) ** gemmOf(l).K);
  return { touchedOutputs: touched, evaluatedOutputs: touched, changedInputs: inputCount(l) * dd };
}

/** State accesses of one layer in a delta frame (see the accounting above). */
export function deltaStateTraffic(l: Layer, hw: HwModel, s: StateCounts, first: boolean, last: boolean): Traffic {
  const p = hw.precisions;
  const levelReads = s.evaluatedOutputs + (first ? inputCount(l) : 0);
  const levelWrites = s.changedInputs + (last ? s.touchedOutputs : 0);
  return {
    readBytes: bytes(s.evaluatedOutputs, p.accumulatorBits) + bytes(levelReads, p.activationBits),
    writeBytes: bytes(s.touchedOutputs, p.accumulatorBits) + bytes(levelWrites, p.activationBits),
  };
}

/** What simulateLayer needs besides the layer: a trace-driven engine passes its own per-frame work model and counts. */
export interface LayerCtx {
  hw: HwModel & SystolicSpec;
  plan: MemoryPlan;
  mode: Mode;
  work: WorkModel;
  /** Delta mode: touched / evaluated outputs and changed inputs (expected or real). */
  state?: StateCounts;
  first: boolean;
  last: boolean;
}

/** Memory traffic, timing and energy of a layer whose engine filled in compute actions (shared by all engines). */
function finishLayer(
  l: Layer,
  hw: HwModel,
  plan: MemoryPlan,
  a: ActionCounts,
  computeCycles: number,
  state: StateCounts | undefined,
  first: boolean,
  last: boolean,
): { t: Timing; energy: EnergyBreakdown } {
  const p = hw.precisions;
  const stateTraffic = state ? deltaStateTraffic(l, hw, state, first, last) : { readBytes: 0, writeBytes: 0 };
  const d = layerDram(hw, plan, {
    weightBytes: bytes(weightCount(l), l.weightBits),
    inputBytes: bytes(inputCount(l), p.activationBits),
    outputBytes: bytes(outputCount(l), p.activationBits),
    stateTraffic,
    first,
    last,
  });
  // The spilled share of the state accesses goes to DRAM instead of the state SRAM.
  a.sram.state.readBytes += stateTraffic.readBytes - d.state.readBytes;
  a.sram.state.writeBytes += stateTraffic.writeBytes - d.state.writeBytes;
  a.dram.readBytes = d.weights + d.actsIn + d.state.readBytes;
  a.dram.writeBytes = d.actsOut + d.state.writeBytes;
  a.sram.filter.writeBytes += d.weights; // DRAM → weight SRAM fill
  a.sram.ifmap.writeBytes += d.actsIn;
  const t = layerTiming(hw, computeCycles, a.dram.readBytes + a.dram.writeBytes);
  return { t, energy: energyOf(hw, a, t.cycles / (hw.clockMHz * 1e6)) };
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

  const state = c.mode === 'delta' ? (c.state ?? missingState(l)) : undefined;
  if (state) {
    // Evaluated outputs re-apply activation + quantisation and compare against their last level.
    a.neuronUpdates = state.evaluatedOutputs;
    a.deltaCompares = state.evaluatedOutputs;
  }
  const { t, energy } = finishLayer(l, hw, c.plan, a, r.computeCycles, state, c.first, c.last);
  return {
    frame,
    layer: l.name,
    mode: c.mode,
    folds: r.folds,
    foldsRun: r.foldsRun,
    computeCycles: r.computeCycles,
    ...t,
    actions: a,
    energy,
  };
}

function missingState(l: Layer): never {
  throw new Error(`simulateLayer: delta mode on layer "${l.name}" needs state counts`);
}

/** What simulateEventLayer needs besides the layer. */
export interface EventLayerCtx {
  hw: HwModel & EventSpec;
  plan: MemoryPlan;
  mode: Mode;
  /** Events per channel group (every input in dense mode). */
  work: EventWork;
  weightDensity: number;
  /** Delta mode: touched / evaluated outputs and changed inputs. */
  state?: StateCounts;
  first: boolean;
  last: boolean;
}

/** One layer, one frame, one mode on an event-driven many-core (see event-engine.ts for the partition). */
export function simulateEventLayer(l: Layer, c: EventLayerCtx, frame: number | null = null): LayerResult {
  const { hw } = c;
  const p = hw.precisions;
  // Dense mode and the delta key frame update every neuron.
  const allOutputs = c.mode === 'dense' || (c.state !== undefined && c.state.evaluatedOutputs === outputCount(l));
  const load = coreLoad(l, hw, c.work, c.weightDensity, allOutputs);
  const a = zeroActions();
  a.macs = layerMacs(l);
  a.effectiveMacs = load.synOps;
  a.macsSkipped = a.macs - load.synOps;
  a.synOps = load.synOps;
  a.events = load.events;
  a.nocHops = load.events * hw.nocHopsPerEvent;
  a.neuronUpdates = load.neuronUpdates;
  // Source events are read once from the input buffer; updated neurons write their level. Weights
  // and accumulators are core-local: their accesses are part of the synaptic-op energy.
  let sourceEvents = 0;
  for (let g = 0; g < l.groups; g++) sourceEvents += c.work.events[g]!;
  a.sram.ifmap.readBytes = bytes(sourceEvents, p.activationBits);
  a.sram.ofmap.writeBytes = bytes(load.neuronUpdates, p.activationBits);
  const state = c.mode === 'delta' ? (c.state ?? missingState(l)) : undefined;
  if (state) a.deltaCompares = load.neuronUpdates;
  const foldsRun = load.busyCores;
  const { t, energy } = finishLayer(l, hw, c.plan, a, load.cycles, state, c.first, c.last);
  return { frame, layer: l.name, mode: c.mode, folds: hw.cores, foldsRun, computeCycles: load.cycles, ...t, actions: a, energy };
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

/** Checks a mode list against what the hw-model supports; returns the modes to run. */
export function resolveModes(hw: HwModel, mode: Mode | 'all'): Mode[] {
  const supported = supportedModes(hw);
  const modes = mode === 'all' ? supported : [mode];
  for (const m of modes)
    if (!supported.includes(m))
      throw new InputError(
        `mode "${m}" needs a hw-model that ${m === 'delta' ? 'has "delta": true' : 'skips or gates zeros'}; "${hw.name}" supports ${supported.join(', ')}`,
        {
          file: hw.source,
        },
      );
  return modes;
}

/** Memory plan of a mode: weights of every layer, delta state in delta mode. */
export function planFor(hw: HwModel, layers: readonly Layer[], mode: Mode): MemoryPlan {
  return planMemory(
    hw,
    layers.map((l) => bytes(weightCount(l), l.weightBits)),
    layers.map((l, i) => (mode === 'delta' ? deltaStateBytes(l, hw, i === layers.length - 1) : 0)),
  );
}

export function simulate(model: Model, hw: HwModel, opts: SimOptions): SimResult {
  checkDensity('act-density', opts.actDensity);
  checkDensity('weight-density', opts.weightDensity);
  checkDensity('delta-density', opts.deltaDensity);
  if (opts.fps !== undefined && !(opts.fps > 0)) throw new InputError(`--fps must be positive, got ${opts.fps}`);
  const modes = resolveModes(hw, opts.mode);
  const actDensity = opts.actDensity ?? DEFAULT_DENSITIES.actDensity;
  const deltaDensity = opts.deltaDensity ?? DEFAULT_DENSITIES.deltaDensity;

  const runMode = (mode: Mode): ModeRun => {
    const plan = planFor(hw, model.layers, mode);
    const layers = model.layers.map((l, i) => {
      const wd = mode === 'dense' ? 1 : (opts.weightDensity ?? l.weightDensity);
      const common = {
        plan,
        mode,
        first: i === 0,
        last: i === model.layers.length - 1,
        state: mode === 'delta' ? expectedStateCounts(l, deltaDensity) : undefined,
      };
      if (hw.kind === 'event') {
        const d = mode === 'dense' ? 1 : mode === 'delta' ? deltaDensity : actDensity;
        return simulateEventLayer(l, { ...common, hw, work: expectedEventWork(l, d), weightDensity: wd });
      }
      return simulateLayer(l, { ...common, hw, work: workFor(mode, hw, actDensity, wd, deltaDensity) });
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

/** One mode's layers for one frame, with the memory plan they ran under. */
export interface ModeRun {
  mode: Mode;
  layers: LayerResult[];
  plan: MemoryPlan;
}

/**
 * Σ f(r) over layer results. Module-level, not a closure per call: from the sources (tests, `--import tsx`),
 * esbuild's keepNames gives every named closure an Object.defineProperty at each creation (per frame here).
 */
export function sumOver(layers: readonly LayerResult[], f: (r: LayerResult) => number): number {
  let s = 0;
  for (const r of layers) s += f(r);
  return s;
}

/** A frame's (or a statistical run's) summary of one mode; speedup and gain left at 1 for the caller. */
export function summarise({ mode, layers, plan }: ModeRun, hw: HwModel, fps: number | undefined): ModeSummary {
  const cycles = sumOver(layers, (r) => r.cycles);
  const seconds = cycles / (hw.clockMHz * 1e6);
  const energy: EnergyBreakdown = {
    computePJ: sumOver(layers, (r) => r.energy.computePJ),
    sramPJ: perBuffer((b) => sumOver(layers, (r) => r.energy.sramPJ[b])),
    dramPJ: sumOver(layers, (r) => r.energy.dramPJ),
    staticPJ: sumOver(layers, (r) => r.energy.staticPJ),
    totalPJ: sumOver(layers, (r) => r.energy.totalPJ),
  };
  const idlePJ = fps ? Math.max(0, 1 / fps - seconds) * leakageUW(hw) * 1e6 : 0;
  const frameEnergyUJ = (energy.totalPJ + idlePJ) / 1e6;
  return {
    mode,
    macs: sumOver(layers, (r) => r.actions.macs),
    effectiveMacs: sumOver(layers, (r) => r.actions.effectiveMacs),
    computeCycles: sumOver(layers, (r) => r.computeCycles),
    stallCycles: sumOver(layers, (r) => r.stallCycles),
    cycles,
    latencyMs: seconds * 1e3,
    dramBytes: sumOver(layers, (r) => r.actions.dram.readBytes + r.actions.dram.writeBytes),
    sramBytes: perBuffer((b) => sumOver(layers, (r) => r.actions.sram[b].readBytes + r.actions.sram[b].writeBytes)),
    energy,
    frameEnergyUJ,
    averagePowerMW: fps ? (frameEnergyUJ * fps) / 1e3 : null,
    realTime: fps ? seconds <= 1 / fps : null,
    speedupVsDense: 1,
    energyGainVsDense: 1,
    edpPJs: energy.totalPJ * seconds,
    footprint: {
      weightBytes: plan.weightBytes,
      stateBytes: plan.stateBytes,
      weightRefetch: plan.weightRefetch,
      stateSpill: plan.stateSpill,
    },
  };
}
