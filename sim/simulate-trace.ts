/**
 * simulate on a trace: every frame's real events (trace-work.ts) × a hw-model × modes, plus a dense
 * run on a baseline hw-model, summarised over frames (mean, p50, p95, max latency; mean energy per
 * frame by component; speedup and energy gain vs dense on the same hw-model and vs the baseline).
 *
 * Entry points: `simulateTrace(trace, hw, opts)` streams the trace (memory independent of T unless
 * `keepLayers`); `simulateTraceWork(traceWork(trace), hw, opts)` reuses statistics gathered once,
 * which is what a sweep over many hw-models calls. Dense mode does not depend on the data: it is
 * computed once per hw-model and repeated for every frame.
 */
import { InputError } from '../traces/errors.js';
import type { Trace } from '../traces/reader.js';
import { BUFFERS } from './actions.js';
import type { EnergyBreakdown } from './energy.js';
import { expectedEventWork } from './event-engine.js';
import type { HwModel } from './hw-model.js';
import {
  planFor,
  resolveModes,
  simulateEventLayer,
  simulateLayer,
  summarise,
  sumOver,
  type EventLayerCtx,
  type LayerCtx,
  type LayerResult,
  type Mode,
  type ModeSummary,
  type StateCounts,
} from './simulate.js';
import { FrameTable, type FrameRow } from './frame-table.js';
import { traceWorkModels } from './trace-work-model.js';
import {
  layerOfSpec,
  traceWorkStream,
  type FrameWork,
  type LayerWork,
  type TraceWork,
  type TraceWorkOptions,
  type WorkKind,
} from './trace-work.js';
import { denseWork } from './work-model.js';
import { gemmOf, outputCount, type Layer } from './workload.js';

export interface TraceSimOptions {
  mode: Mode | 'all';
  /** Frame rate for average power and idle leakage (default: the trace's fps). */
  fps?: number;
  /** A hw-model whose dense run is the baseline for speedup and energy gain. */
  baseline?: HwModel;
  /** Fraction of non-zero weights for every layer (default: each layer's weightDensity). */
  weightDensity?: number;
  /** Keep every frame's per-layer results (layers.csv); memory then grows with T. */
  keepLayers?: boolean;
}

export interface LatencyStats {
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** Per-frame means of a mode's summary, plus latency percentiles and the baseline comparison. */
export interface TraceModeSummary extends ModeSummary {
  arch: string;
  frames: number;
  latencyUs: LatencyStats;
  /** Baseline dense latency / this latency (different clocks compare by time); null without a baseline. */
  speedupVsBaseline: number | null;
  energyGainVsBaseline: number | null;
}

export interface TraceSimResult {
  model: string;
  hwModel: string;
  baseline: string | null;
  clockMHz: number;
  fps: number;
  threshold: number;
  quantStep: number | null;
  frames: number;
  modes: TraceModeSummary[];
  /** The baseline hw-model's dense run (null without a baseline). */
  baselineDense: TraceModeSummary | null;
  /** One row per frame and run (compact: see frame-table.ts). */
  frameRows: FrameTable;
  /** Per frame per layer (only with keepLayers). */
  layers: LayerResult[];
}

/** The trace's own description of what it holds (from a Trace or a TraceWork). */
interface TraceMeta {
  model: string;
  fps: number;
  threshold: number;
  quantStep: number | null;
  layers: Layer[];
}

const sum = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
};

/** Real delta-state counts of one layer-frame, into `s`; frame 0 is the key frame (every output evaluated). */
function fillState(s: StateCounts, l: Layer, w: LayerWork, keyFrame: boolean): StateCounts {
  s.touchedOutputs = sum(w.touched) * gemmOf(l).N;
  s.evaluatedOutputs = keyFrame ? outputCount(l) : s.touchedOutputs;
  s.changedInputs = sum(w.events);
  return s;
}

/** A run of one hw-model in one mode: frame work in, that frame's layer results out. */
function frameRunner(
  meta: TraceMeta,
  hw: HwModel,
  mode: Mode,
  weightDensity: number | undefined,
): (fw: FrameWork, t: number) => LayerResult[] {
  const plan = planFor(hw, meta.layers, mode);
  const n = meta.layers.length;
  const ctx = (i: number) => ({ plan, mode, first: i === 0, last: i === n - 1 });
  const wd = (l: Layer) => (mode === 'dense' ? 1 : (weightDensity ?? l.weightDensity));
  if (mode === 'dense') {
    const once = meta.layers.map((l, i) =>
      hw.kind === 'event'
        ? simulateEventLayer(l, { ...ctx(i), hw, work: expectedEventWork(l, 1), weightDensity: 1 })
        : simulateLayer(l, { ...ctx(i), hw, work: denseWork }),
    );
    return (fw, t) => once.map((r, i) => ({ ...r, frame: t, sparsity: sparsityOf(fw, i) }));
  }
  const kind: WorkKind = mode === 'delta' ? 'delta' : 'sparse';
  // Per layer, one context refilled every frame (work, state): a frame allocates only its results.
  const state = (): StateCounts | undefined =>
    mode === 'delta' ? { touchedOutputs: 0, evaluatedOutputs: 0, changedInputs: 0 } : undefined;
  const steps = meta.layers.map((l, i): ((w: LayerWork, t: number) => LayerResult) => {
    if (hw.kind === 'event') {
      const c: EventLayerCtx = { ...ctx(i), hw, work: { events: [], fanout: [], touched: [] }, weightDensity: wd(l), state: state() };
      return (w, t) => {
        c.work = w;
        if (c.state) fillState(c.state, l, w, t === 0);
        return simulateEventLayer(l, c, t);
      };
    }
    const model = traceWorkModels(l, hw);
    const c: LayerCtx = { ...ctx(i), hw, work: denseWork, state: state() };
    return (w, t) => {
      c.work = model(w, wd(l));
      if (c.state) fillState(c.state, l, w, t === 0);
      return simulateLayer(l, c, t);
    };
  });
  return (fw, t) =>
    meta.layers.map((l, i) => {
      const w = fw[i]![kind];
      if (!w)
        throw new Error(`simulateTrace: frame ${t} has no ${kind} statistics for layer "${l.name}" (gather them with kinds: ['${kind}'])`);
      const r = steps[i]!(w, t);
      r.sparsity = sparsityOf(fw, i);
      return r;
    });
}

const sparsityOf = (fw: FrameWork, i: number) => ({ spatial: fw[i]!.spatialSparsity, temporal: fw[i]!.temporalSparsity });

/** Running sums of every number in a summary, and the per-frame latencies for percentiles. */
class FrameAccumulator {
  private total: ModeSummary | null = null;
  readonly latencies: number[] = [];
  constructor(
    readonly arch: string,
    readonly mode: Mode,
  ) {}
  add(s: ModeSummary): void {
    this.latencies.push(s.latencyMs * 1e3);
    if (this.total) addInto(this.total as unknown as Numbers, s as unknown as Numbers);
    else this.total = structuredClone(s);
  }
  mean(fps: number): TraceModeSummary {
    const k = this.latencies.length;
    const m = scaleNumbers(this.total!, 1 / k) as ModeSummary;
    const sorted = Float64Array.from(this.latencies).sort();
    const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * k) - 1)]!;
    return {
      ...m,
      mode: this.mode,
      arch: this.arch,
      frames: k,
      averagePowerMW: (m.frameEnergyUJ * fps) / 1e3,
      realTime: sorted[k - 1]! <= 1e6 / fps,
      latencyUs: { mean: m.latencyMs * 1e3, p50: rank(0.5), p95: rank(0.95), max: sorted[k - 1]! },
      speedupVsBaseline: null,
      energyGainVsBaseline: null,
    };
  }
}

interface Numbers {
  [k: string]: number | Numbers | unknown;
}

/** total += s for every number, recursively, in place (no allocation: this runs per frame). */
function addInto(total: Numbers, s: Numbers): void {
  for (const k in total) {
    const v = total[k];
    if (typeof v === 'number') total[k] = v + (s[k] as number);
    else if (v && typeof v === 'object') addInto(v as Numbers, s[k] as Numbers);
  }
}
function scaleNumbers(a: unknown, f: number): unknown {
  if (typeof a === 'number') return a * f;
  if (a && typeof a === 'object') return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, scaleNumbers(v, f)]));
  return a;
}

function frameRow(t: number, arch: string, mode: Mode, s: ModeSummary, layers: LayerResult[]): FrameRow {
  return {
    frame: t,
    arch,
    mode,
    cycles: s.cycles,
    computeCycles: s.computeCycles,
    stallCycles: s.stallCycles,
    latencyUs: s.latencyMs * 1e3,
    macs: s.macs,
    effectiveMacs: s.effectiveMacs,
    events: sumOver(layers, (r) => r.actions.events),
    neuronUpdates: sumOver(layers, (r) => r.actions.neuronUpdates),
    dramBytes: s.dramBytes,
    energy: s.energy,
  };
}

/** The modes a hw-model runs and the statistics they need. */
function kindsFor(modes: readonly Mode[]): WorkKind[] {
  return (['sparse', 'delta'] as const).filter((k) => modes.includes(k));
}

function checkOptions(hw: HwModel, o: TraceSimOptions): Mode[] {
  if (o.fps !== undefined && !(o.fps > 0)) throw new InputError(`--fps must be positive, got ${o.fps}`);
  if (o.weightDensity !== undefined && !(o.weightDensity > 0 && o.weightDensity <= 1))
    throw new InputError(`--weight-density must be in (0, 1], got ${o.weightDensity}`);
  return resolveModes(hw, o.mode);
}

/** Simulate frames of trace work (streamed or in memory) on one hw-model (+ a dense baseline). */
function simulateFrames(meta: TraceMeta, frames: Iterable<FrameWork>, hw: HwModel, modes: Mode[], o: TraceSimOptions): TraceSimResult {
  const fps = o.fps ?? meta.fps;
  const runs = (modes.includes('dense') ? modes : (['dense', ...modes] as Mode[])).map((mode) => ({
    hw,
    mode,
    plan: planFor(hw, meta.layers, mode),
    run: frameRunner(meta, hw, mode, o.weightDensity),
    acc: new FrameAccumulator(hw.name, mode),
    keep: modes.includes(mode),
  }));
  const base = o.baseline
    ? {
        hw: o.baseline,
        mode: 'dense' as Mode,
        plan: planFor(o.baseline, meta.layers, 'dense'),
        run: frameRunner(meta, o.baseline, 'dense', undefined),
        acc: new FrameAccumulator(o.baseline.name, 'dense'),
        keep: true,
      }
    : null;
  type Run = (typeof runs)[number];
  const frameRows = new FrameTable();
  const layers: LayerResult[] = [];
  let t = 0;
  // A dense run does not depend on the data: its first frame's summary serves every frame (its
  // per-frame layer results, which carry the frame's sparsity, are only built when kept).
  const denseFrames = new Map<Run, { res: LayerResult[]; s: ModeSummary }>();
  const all = base ? [...runs, base] : runs;
  for (const fw of frames) {
    for (const r of all) {
      const fixed = r.mode === 'dense' && !o.keepLayers ? denseFrames.get(r) : undefined;
      const res = fixed?.res ?? r.run(fw, t);
      const s = fixed?.s ?? summarise({ mode: r.mode, layers: res, plan: r.plan }, r.hw, fps);
      if (r.mode === 'dense' && !fixed) denseFrames.set(r, { res, s });
      r.acc.add(s);
      if (!r.keep) continue;
      frameRows.push(frameRow(t, r.hw.name, r.mode, s, res));
      if (o.keepLayers && r !== base) layers.push(...res);
    }
    t++;
  }
  if (t === 0) throw new InputError('the trace has no frames to simulate');
  const dense = runs[0]!.acc.mean(fps);
  const baselineDense = base ? base.acc.mean(fps) : null;
  const compare = (s: TraceModeSummary): TraceModeSummary => ({
    ...s,
    speedupVsDense: dense.cycles / s.cycles,
    energyGainVsDense: dense.energy.totalPJ / s.energy.totalPJ,
    speedupVsBaseline: baselineDense ? baselineDense.latencyMs / s.latencyMs : null,
    energyGainVsBaseline: baselineDense ? baselineDense.energy.totalPJ / s.energy.totalPJ : null,
  });
  return {
    model: meta.model,
    hwModel: hw.name,
    baseline: o.baseline?.name ?? null,
    clockMHz: hw.clockMHz,
    fps,
    threshold: meta.threshold,
    quantStep: meta.quantStep,
    frames: t,
    modes: runs.filter((r) => r.keep).map((r) => compare(r.acc.mean(fps))),
    baselineDense: baselineDense ? compare(baselineDense) : null,
    frameRows,
    layers,
  };
}

/** Simulate a trace on a hw-model, streaming it frame by frame. */
export function simulateTrace(trace: Trace, hw: HwModel, opts: TraceSimOptions & TraceWorkOptions): TraceSimResult {
  const modes = checkOptions(hw, opts);
  const stream = traceWorkStream(trace, { ...opts, kinds: kindsFor(modes) });
  const first = stream.next(); // resolves and checks the work options before anything runs
  const meta: TraceMeta = {
    model: trace.manifest.model.name,
    fps: trace.manifest.fps,
    threshold: opts.threshold ?? 0,
    quantStep: opts.quantStep ?? null,
    layers: trace.layers.map((tl) => layerOfSpec(tl.spec, trace.dir)),
  };
  function* all(): Generator<FrameWork> {
    if (!first.done) yield first.value;
    yield* stream;
  }
  return simulateFrames(meta, all(), hw, modes, opts);
}

/** Simulate statistics gathered once with traceWork() (a sweep calls this per hw-model). */
export function simulateTraceWork(work: TraceWork, hw: HwModel, opts: TraceSimOptions): TraceSimResult {
  const modes = checkOptions(hw, opts);
  const need = kindsFor(modes);
  const missing = need.find((k) => work.frames.length > 0 && work.frames[0]!.some((l) => !l[k]));
  if (missing)
    throw new InputError(
      `mode "${missing}" needs ${missing} statistics: gather them with traceWork(trace, { kinds: [..., '${missing}'] })`,
    );
  return simulateFrames(work, work.frames, hw, modes, opts);
}

/** Energy components of a breakdown as flat (name, pJ) pairs, for tables and CSVs. */
export function energyParts(e: EnergyBreakdown): [string, number][] {
  return [
    ['compute', e.computePJ],
    ...BUFFERS.map((b): [string, number] => [`${b}_sram`, e.sramPJ[b]]),
    ['dram', e.dramPJ],
    ['static', e.staticPJ],
  ];
}
