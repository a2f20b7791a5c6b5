/**
 * simulate(): a workload × a hw-model × modes → per-mode summaries over frames (+ a dense baseline).
 * The one driver the CLI, sweeps, the main job and the studies call.
 *
 * A workload is a stream of frames, each frame the per-layer activity (activity.ts): a topology is
 * one frame of expected (uniform random) events, a trace streams its real ones. Per layer and frame,
 * the hw kind's engine (engines/) turns events into compute; this module adds what every engine
 * shares: delta-state traffic, the memory plan's DRAM traffic, timing and energy (memory.ts,
 * energy.ts), all from action counts. A mode that reads no data (dense) is computed once and repeated.
 */
import { InputError } from '../lib/errors.js';
import type { Layer } from '../traces/layer.js';
import { inputCount, outputCount, weightCount } from '../traces/layer.js';
import type { LayerReuse } from './dram-reuse.js';
import { bitsToBytes, packedWords, type ActionCounts } from './actions.js';
import { levelsWiderThan, type EventKind, type FrameActivity, type LayerActivity } from './activity.js';
import { deltaStateBytes, deltaStateTraffic, noState, stateCounts, type StateCounts } from './delta-state.js';
import { GraphStateFrame, statePlanOf, type LayerStatePlan, type StatePlan } from './state-graph.js';
import type { TraceGraph } from '../traces/graph.js';
import { energyOf, type EnergyBreakdown } from './energy.js';
import { areaOf } from './area.js';
import { engineFor } from './engines/index.js';
import { FrameTable } from './frame-table.js';
import type { HwModel } from './hw-model.js';
import { layerDram, layerTiming, planMemory, type MemoryPlan } from './memory.js';
import { eventKindsOf, MODE_TABLE, resolveModes, type Mode } from './modes.js';
import { foldGeometry } from './mapping.js';
import {
  FrameAccumulator,
  LOW_UTILISATION,
  summariseFrame,
  type EventSource,
  type FrameSummary,
  type LayerResult,
  type LevelOverRange,
  type LowUtilisation,
  type ModeSummary,
  type SimResult,
} from './summary.js';
import { gemmOf } from './workload.js';
import { isKeyFrame } from '../traces/manifest.js';
import { storedShare } from './sparse-format.js';
import type { FoldStatsCache } from './trace-fold-model.js';

/** What simulate() runs: layers and a source of frames (see workloads.ts for topologies and traces). */
export interface Workload {
  name: string;
  layers: readonly Layer[];
  /** The source's frame rate (a trace's own; null for a topology). */
  fps: number | null;
  /** How its events were found (reported with the result). */
  source: EventSource;
  /** True for a trace's real frames (indexed, frame 0 a key frame); false for a topology's one expected frame. */
  measured: boolean;
  /** The network's graph (a version-2 trace): where delta state lives (state-graph.ts). None: a chain. */
  graph?: TraceGraph;
  /** The frames, holding at least the given event kinds. Called once per simulation. */
  frames(kinds: readonly EventKind[]): Iterable<FrameActivity>;
}

export interface SimOptions {
  mode: Mode | 'all';
  /** Frame rate for average power and idle leakage (default: the workload's). */
  fps?: number;
  /** A hw-model whose dense run is the baseline for speedup and energy gain. */
  baseline?: HwModel;
  /** Fraction of non-zero weights for every layer (default: each layer's weightDensity). */
  weightDensity?: number;
  /** Receives every frame's per-layer results of the hw-model's modes (layers.csv); they are not kept. */
  onLayers?: LayerSink;
  /** false: keep no per-frame rows (the result's frameRows stays empty; a sweep needs only the means and p95). */
  frameRows?: boolean;
  /** Shared with simulations fed the same frames (a sweep's points): per-frame statistics they have in common, computed once. */
  foldStats?: FoldStatsCache;
}

/** A consumer of one frame's per-layer results of one mode on `hw`. */
export type LayerSink = (results: readonly LayerResult[], hw: HwModel) => void;

/** Memory plan of a mode: weights of every layer, delta state in a stateful mode (booked per layer as `state` says). */
export function planFor(hw: HwModel, layers: readonly Layer[], mode: Mode, state: StatePlan = statePlanOf(layers)): MemoryPlan {
  const stateful = MODE_TABLE[mode].stateful;
  return planMemory(
    hw,
    layers.map((l) => bitsToBytes(weightCount(l), hw.precisions.weightBits)),
    layers.map((_, i) => (stateful ? deltaStateBytes(hw, state.layers[i]!) : 0)),
  );
}

/** A layer's sizes in bytes and its pass's DRAM traffic (constant over frames). */
interface LayerSizes {
  reuse: LayerReuse;
  inputBytes: number;
  outputBytes: number;
}

/** engine.dramReuse once per layer and hw-model within one simulate() call (its modes share it). */
type ReuseOf = (l: Layer, hw: HwModel) => LayerReuse;
function reuseMemo(): ReuseOf {
  const byHw = new Map<HwModel, Map<Layer, LayerReuse>>();
  return (l, hw) => {
    let byLayer = byHw.get(hw);
    if (!byLayer) byHw.set(hw, (byLayer = new Map()));
    let r = byLayer.get(l);
    if (!r) byLayer.set(l, (r = engineFor(hw).dramReuse(l, hw)));
    return r;
  };
}

/** Memory traffic, timing and energy of a layer-frame whose engine filled in compute (shared by all engines), into `r`. */
function finishLayer(
  r: LayerResult,
  hw: HwModel,
  plan: MemoryPlan,
  b: LayerSizes,
  state: { counts: StateCounts; plan: LayerStatePlan; graph: GraphStateFrame | undefined } | undefined,
  first: boolean,
  last: boolean,
  inputStored: number,
  outputStored: number,
): void {
  const a: ActionCounts = r.actions;
  // The state accesses the engine's compute does not already pay for (engines/engine.ts stateInCompute).
  const stateTraffic = state
    ? deltaStateTraffic(hw, state.counts, state.plan, engineFor(hw).stateInCompute?.(hw), state.graph)
    : NO_TRAFFIC;
  const d = layerDram(hw, plan, {
    reuse: b.reuse,
    inputBytes: b.inputBytes,
    outputBytes: b.outputBytes,
    stateTraffic,
    first,
    last,
    inputStored,
    outputStored,
  });
  const m = hw.memories;
  // The spilled share of the state accesses goes to DRAM instead of the state SRAM.
  const st = a.sram.state;
  st.readBytes += stateTraffic.readBytes - d.state.readBytes;
  st.writeBytes += stateTraffic.writeBytes - d.state.writeBytes;
  st.reads += stateTraffic.reads - d.state.reads;
  st.writes += stateTraffic.writes - d.state.writes;
  a.dram.readBytes = d.weights + d.actsIn + d.state.readBytes;
  a.dram.writeBytes = d.actsOut + d.state.writeBytes;
  // DRAM transfers fill and drain the SRAMs in bursts: packed words.
  a.sram.filter.writeBytes += d.weights;
  a.sram.filter.writes += packedWords(d.weights, 8, m.filter.wordBits);
  a.sram.ifmap.writeBytes += d.actsIn;
  a.sram.ifmap.writes += packedWords(d.actsIn, 8, m.ifmap.wordBits);
  a.sram.ofmap.readBytes += d.actsOut;
  a.sram.ofmap.reads += packedWords(d.actsOut, 8, m.ofmap.wordBits);
  const t = layerTiming(hw, r.computeCycles, a.dram.readBytes + a.dram.writeBytes, a.sram, r.compactorCycles);
  r.dramCycles = t.dramCycles;
  r.sramCycles = t.sramCycles;
  r.bound = t.bound;
  r.stallCycles = t.stallCycles;
  r.cycles = t.cycles;
  r.energy = energyOf(hw, a, t.cycles / (hw.clockMHz * 1e6));
}

const NO_TRAFFIC = { readBytes: 0, writeBytes: 0, reads: 0, writes: 0 } as const;
const NO_SRAM_CYCLES = { ifmap: 0, filter: 0, ofmap: 0, state: 0 } as const;
/** A placeholder finishLayer replaces (the field is set at creation so every result has one shape). */
const NO_ENERGY: EnergyBreakdown = {
  computePJ: 0,
  sramPJ: { ifmap: 0, filter: 0, ofmap: 0, state: 0 },
  dramPJ: 0,
  staticPJ: 0,
  totalPJ: 0,
};

const sparsityOf = (a: LayerActivity) =>
  a.spatialSparsity === undefined ? undefined : { spatial: a.spatialSparsity, temporal: a.temporalSparsity! };

/** One hw-model in one mode: a frame's activity in, that frame's layer results out. */
function modeRunner(
  w: Omit<Workload, 'frames'>,
  hw: HwModel,
  mode: Mode,
  weightDensity: number | undefined,
  reuseOf: ReuseOf,
  foldStats: FoldStatsCache | undefined,
): (fa: FrameActivity, t: number) => LayerResult[] {
  const rule = MODE_TABLE[mode];
  const statePlan = statePlanOf(w.layers, w.graph);
  const plan = planFor(hw, w.layers, mode, statePlan);
  // One state object per layer, refilled every frame (a frame allocates only its results); a graph's
  // level changes need every layer's counts first.
  const states = rule.stateful ? w.layers.map(() => noState()) : undefined;
  const graphFrame = rule.stateful && w.graph ? new GraphStateFrame(statePlan) : undefined;
  const engine = engineFor(hw);
  const n = w.layers.length;
  // Utilisation and mapping efficiency need a PE array (SCALE-Sim's COMPUTE_REPORT): systolic only.
  const pes = hw.kind === 'systolic' ? hw.rows * hw.cols : 0;
  const layerRun = w.layers.map((l, i) => {
    const step = engine.layer(l, hw, rule, foldStats);
    const mappingEfficiency = hw.kind === 'systolic' ? foldGeometry(gemmOf(l), hw).mappingEfficiency : null;
    const wd = rule.weightZeros ? (weightDensity ?? l.weightDensity) : 1;
    const state = states?.[i];
    const stateOf = state ? { counts: state, plan: statePlan.layers[i]!, graph: graphFrame } : undefined;
    const first = i === 0;
    const last = i === n - 1;
    const p = hw.precisions;
    const sizes: LayerSizes = {
      reuse: reuseOf(l, hw),
      inputBytes: bitsToBytes(inputCount(l), p.activationBits),
      outputBytes: bitsToBytes(outputCount(l), p.activationBits),
    };
    return (fa: FrameActivity, t: number): LayerResult => {
      const events = rule.events === null ? null : fa[i]![rule.events];
      if (events === undefined)
        throw new Error(
          `simulate: frame ${t} has no ${rule.events} events for layer "${l.name}" (gather them with kinds: ['${rule.events}'])`,
        );
      const c = step(events, wd, state);
      const r: LayerResult = {
        frame: w.measured ? t : null,
        layer: l.name,
        mode,
        folds: c.folds,
        foldsRun: c.foldsRun,
        computeCycles: c.computeCycles,
        compactorCycles: c.compactorCycles ?? 0,
        utilisation: pes > 0 && c.computeCycles > 0 ? c.actions.effectiveMacs / (pes * c.computeCycles) : null,
        mappingEfficiency,
        dramCycles: 0,
        sramCycles: NO_SRAM_CYCLES,
        bound: 'compute',
        stallCycles: 0,
        cycles: 0,
        actions: c.actions,
        energy: NO_ENERGY,
      };
      // Spilled activations move as event lists: this layer's input as its own, its output as the next layer's input.
      const next = last || rule.events === null ? undefined : fa[i + 1]![rule.events];
      const inputStored = first || !events ? 1 : storedShare(hw, l, events);
      const outputStored = next ? storedShare(hw, w.layers[i + 1]!, next) : 1;
      finishLayer(r, hw, plan, sizes, stateOf, first, last, inputStored, outputStored);
      const s = sparsityOf(fa[i]!);
      if (s) r.sparsity = s;
      return r;
    };
  });
  // A trace's key frames: frame 0 and every keyFrameEvery-th (its manifest's), as its activity counted them.
  const every = 'recording' in w.source ? w.source.recording?.keyFrameEvery : undefined;
  return (fa, t) => {
    if (states && rule.events !== null) {
      const key = w.measured && isKeyFrame(t, every);
      for (let i = 0; i < states.length; i++) {
        const events = fa[i]![rule.events];
        if (events) stateCounts(states[i]!, w.layers[i]!, events, key);
      }
      graphFrame?.update(states, key);
    }
    return layerRun.map((run) => run(fa, t));
  };
}

function checkOptions(o: SimOptions): void {
  if (o.fps !== undefined && !(o.fps > 0)) throw new InputError(`--fps must be positive, got ${o.fps}`);
  if (o.weightDensity !== undefined && !(o.weightDensity > 0 && o.weightDensity <= 1))
    throw new InputError(`--weight-density must be in (0, 1], got ${o.weightDensity}`);
}

interface Run {
  hw: HwModel;
  mode: Mode;
  run: (fa: FrameActivity, t: number) => LayerResult[];
  acc: FrameAccumulator;
  /** Reported (a mode asked for, or the baseline), not only the reference for speedups. */
  keep: boolean;
  baseline: boolean;
  /** A mode that reads no data: its first frame serves every frame. */
  fixed: { res: LayerResult[]; s: FrameSummary } | null;
}

/** Simulate a workload on a hw-model in the given modes (+ a dense baseline hw-model). */
export function simulate(w: Workload, hw: HwModel, o: SimOptions): SimResult {
  const sim = startSimulation(w, hw, o);
  for (const fa of w.frames(sim.kinds)) sim.add(fa);
  return sim.result();
}

/**
 * simulate() fed frame by frame from outside: a sweep streams a trace once and hands each frame to
 * every point's simulation before reading the next (memory flat in frames). Each frame's arrays are
 * read during add() only, so they may be views the next frame overwrites.
 */
export interface Simulation {
  /** The event kinds add() needs in every frame. */
  readonly kinds: readonly EventKind[];
  add(fa: FrameActivity): void;
  /** The result over the frames added so far (call once, at the end). */
  result(): SimResult;
}

/** A simulation of `w`'s layers (its frames() is not called: the caller adds the frames). */
export function startSimulation(w: Omit<Workload, 'frames'>, hw: HwModel, o: SimOptions): Simulation {
  checkOptions(o);
  const modes = resolveModes(hw, o.mode);
  const fps = o.fps ?? w.fps;
  const reuseOf = reuseMemo();
  const run = (h: HwModel, mode: Mode, keep: boolean, baseline: boolean): Run => ({
    hw: h,
    mode,
    run: modeRunner(w, h, mode, baseline ? undefined : o.weightDensity, reuseOf, o.foldStats),
    acc: new FrameAccumulator(h.name, mode, planFor(h, w.layers, mode, statePlanOf(w.layers, w.graph))),
    keep,
    baseline,
    fixed: null,
  });
  // The reference of every mode (dense) always runs; it is reported only when asked for.
  // A mode's second comparison (delta vs sparse) is made when that mode runs too (--mode all): not run only for it.
  const refs = [...new Set(modes.map((m) => MODE_TABLE[m].reference))].filter((m) => !modes.includes(m));
  const runs = [...refs.map((m) => run(hw, m, false, false)), ...modes.map((m) => run(hw, m, true, false))];
  // A baseline that is the simulated hw-model itself is its dense run: not run (nor written) twice.
  const selfBaseline = o.baseline !== undefined && o.baseline.name === hw.name && o.baseline.source === hw.source;
  const base = o.baseline && !selfBaseline ? run(o.baseline, 'dense', true, true) : null;
  const all = base ? [...runs, base] : runs;
  const frameRows = new FrameTable();
  const levels = new LevelCheck(w.layers, hw.precisions.activationBits);
  let t = 0;
  const add = (fa: FrameActivity): void => {
    levels.add(fa);
    for (const r of all) {
      let res: LayerResult[];
      let s: FrameSummary;
      if (r.fixed) {
        res = r.fixed.res;
        s = r.fixed.s;
        if (o.onLayers && r.keep && !r.baseline)
          res = res.map((x, i) => {
            const c = { ...x, frame: w.measured ? t : null };
            const sp = sparsityOf(fa[i]!);
            if (sp) c.sparsity = sp;
            return c;
          });
      } else {
        res = r.run(fa, t);
        s = summariseFrame(res, r.hw, fps);
        if (MODE_TABLE[r.mode].events === null) r.fixed = { res, s };
      }
      r.acc.add(s);
      if (!r.keep) continue;
      if (o.frameRows !== false) frameRows.push({ frame: t, arch: r.hw.name, mode: r.mode, ...frameRowOf(s) });
      if (o.onLayers && !r.baseline) o.onLayers(res, r.hw);
    }
    t++;
  };
  return { kinds: eventKindsOf(all.map((r) => r.mode)), add, result };
  function result(): SimResult {
    if (t === 0) throw new InputError('the workload has no frames to simulate');
    const denseRun = runs.find((r) => r.mode === 'dense' && r.fixed);
    const means = new Map(runs.map((r) => [r.mode, r.acc.mean(fps)]));
    const baselineDense = base ? base.acc.mean(fps) : selfBaseline ? structuredClone(means.get('dense')!) : null;
    // Speedup and gain are against the reference mode on the summary's own hw-model (for the baseline: itself).
    const compare = (s: ModeSummary, own: Map<Mode, ModeSummary>): ModeSummary => {
      const rule = MODE_TABLE[s.mode];
      const ref = own.get(rule.reference)!;
      s.speedupVsDense = ref.cycles / s.cycles;
      s.energyGainVsDense = ref.energy.totalPJ / s.energy.totalPJ;
      s.periodEnergyGainVsDense = fps ? ref.frameEnergyUJ / s.frameEnergyUJ : null;
      const also = rule.alsoVs ? own.get(rule.alsoVs) : undefined;
      s.speedupVsSparse = also ? also.cycles / s.cycles : null;
      s.energyGainVsSparse = also ? also.energy.totalPJ / s.energy.totalPJ : null;
      s.speedupVsBaseline = baselineDense ? baselineDense.latencyMs / s.latencyMs : null;
      s.energyGainVsBaseline = baselineDense ? baselineDense.energy.totalPJ / s.energy.totalPJ : null;
      return s;
    };
    return {
      model: w.name,
      hwModel: hw.name,
      baseline: o.baseline?.name ?? null,
      clockMHz: hw.clockMHz,
      fps,
      // A topology reports the weight density it was given with its event densities.
      ...('densities' in w.source ? { densities: { ...w.source.densities, weightDensity: o.weightDensity ?? null } } : w.source),
      frames: t,
      precision: { ...hw.precisions, overRange: levels.overRange() },
      modes: modes.map((m) => compare(means.get(m)!, means)),
      lowUtilisation: denseRun ? lowUtilisationOf(denseRun.fixed!.res) : [],
      baselineDense: baselineDense ? compare(baselineDense, new Map([['dense', baselineDense]])) : null,
      area: areaOf(hw),
      baselineArea: o.baseline ? areaOf(o.baseline) : null,
      frameRows,
    };
  }
}

/** The dense run's layers below LOW_UTILISATION, with their share of its compute cycles. */
function lowUtilisationOf(res: readonly LayerResult[]): LowUtilisation[] {
  let total = 0;
  for (const r of res) total += r.computeCycles;
  return res.flatMap((r) =>
    r.utilisation != null && r.utilisation < LOW_UTILISATION
      ? [{ layer: r.layer, utilisation: r.utilisation, mappingEfficiency: r.mappingEfficiency ?? 0, cycleShare: r.computeCycles / total }]
      : [],
  );
}

/** Levels of a trace that do not fit the hardware's activation width, per layer over all frames. */
class LevelCheck {
  private readonly over: Float64Array;
  private readonly maxBits: Int32Array;
  constructor(
    private readonly layers: readonly Layer[],
    private readonly bits: number,
  ) {
    this.over = new Float64Array(layers.length);
    this.maxBits = new Int32Array(layers.length);
  }
  add(fa: FrameActivity): void {
    for (let i = 0; i < fa.length; i++) {
      const h = fa[i]!.levelBits;
      if (!h) continue;
      this.over[i]! += levelsWiderThan(h, this.bits);
      for (let b = h.length - 1; b > this.maxBits[i]!; b--)
        if (h[b]! > 0) {
          this.maxBits[i] = b;
          break;
        }
    }
  }
  overRange(): LevelOverRange[] {
    return this.layers.flatMap((l, i) => (this.over[i]! > 0 ? [{ layer: l.name, levels: this.over[i]!, maxBits: this.maxBits[i]! }] : []));
  }
}

const frameRowOf = (s: FrameSummary) => ({
  cycles: s.cycles,
  computeCycles: s.computeCycles,
  stallCycles: s.stallCycles,
  latencyUs: s.latencyMs * 1e3,
  macs: s.macs,
  effectiveMacs: s.effectiveMacs,
  events: s.events,
  neuronUpdates: s.neuronUpdates,
  dramBytes: s.dramBytes,
  energy: s.energy,
});
