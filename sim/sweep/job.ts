/**
 * A sweep job: everything a point needs (plain data, so it can be posted to worker threads), its
 * CSV columns, the grid hash that identifies it across shards and resumes, and one row per point.
 *
 * The workload is a topology (statistical densities) or a trace (its manifest layers are the
 * workload, its real per-frame events decide the cost). A trace's per-frame activity depends only on
 * the delta threshold, not on the hw-model: a batch of points streams the trace once per threshold
 * and simulates all its points frame by frame (`runBatch`), so memory is flat in frames.
 *
 * A sweep may name a baseline hw-model: its dense run is one simulation, the same for every point
 * (dense costs depend on neither densities nor threshold), run when the job is prepared and kept in
 * the job's metadata, so the report can set every point against one fixed design as well as against
 * dense on the point itself.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../../lib/errors.js';
import { openTrace, type Trace } from '../../traces/reader.js';
import { resolveActivityOptions, traceActivity, traceActivityStream, type EventKind, type TraceActivity } from '../activity.js';
import type { HwModel, HwSpec } from '../hw-model.js';
import { eventKindsOf, MODES, supportedModes, type Mode } from '../modes.js';
import { sweepCsvColumns, sweepMetrics } from '../run-dir.js';
import { simulate, startSimulation, type Simulation } from '../simulate.js';
import { FoldStatsCache } from '../trace-fold-model.js';
import type { ModeSummary } from '../summary.js';
import type { Topology } from '../workload.js';
import { activityWorkload, topologyWorkload, traceWorkload } from '../workloads.js';
import { checkZip, pointCount, pointValues, type Axis, type AxisValue, type SimParameter, type SweepSimOptions } from './grid.js';
import { checkAxes, patchSpec, pointConfig, simValueError, specOf } from './patch.js';

export type Cell = string | number;
export type Row = Cell[];

export type WorkloadKind = 'model' | 'trace';

/** The simulation parameters each workload takes (fixed or swept); the others are errors. */
export const WORKLOAD_PARAMETERS: Record<WorkloadKind, readonly SimParameter[]> = {
  model: ['actDensity', 'weightDensity', 'deltaDensity'],
  trace: ['threshold', 'weightDensity'],
};

/** The baseline hw-model's dense run, per frame (a trace: means over its frames), rounded as sweep.csv is. */
export interface SweepBaseline {
  hwModel: string;
  latencyUs: number;
  energyPJ: number;
  /** With an fps: the frame period's energy (idle leakage up to 1/fps included) and the average power. */
  frameEnergyUJ: number | null;
  powerMW: number | null;
}

/** A swept parameter in the metadata; zipped ones share `zip` (grid.ts Axis). */
export interface SweepParameter {
  name: string;
  values: AxisValue[];
  zip?: string;
}

/** What identifies a sweep and describes its columns (written with every shard; summary.json source). */
export interface SweepMeta {
  format: 'deltasim-sweep';
  version: 1;
  /** sha256 of the workload (model, or trace layers with their sha256), base hw-model, axes, modes and options: equal iff the sweep is the same. */
  grid: string;
  workload: WorkloadKind;
  /** The model's name (a trace: its manifest's model name). */
  model: string;
  hwModel: string;
  points: number;
  parameters: SweepParameter[];
  /** The zipped parameters, group by group (names as in `parameters`). */
  zip: string[][];
  mode: Mode | 'all';
  /** The modes with metric columns. */
  modes: Mode[];
  /** Frame rate of the power columns (a trace sweep: --fps or the trace's own). */
  fps: number | null;
  /** Simulation options fixed for every point (swept ones are parameters). */
  sim: SweepSimOptions;
  /** Trace sweeps: frames simulated per point, and the float quantisation step (null = none). */
  frames: number | null;
  quantStep: number | null;
  /** `--baseline`'s dense run (null without one). */
  baseline: SweepBaseline | null;
  columns: string[];
}

/** A trace workload as plain data: each thread opens the directory itself. */
export interface TraceSource {
  dir: string;
  frames: number;
  quantStep?: number;
  /** The events the job's modes consume. */
  kinds: EventKind[];
}

export interface SweepJob {
  topology?: Topology;
  trace?: TraceSource;
  baseSpec: HwSpec;
  baseSource: string;
  axes: Axis[];
  meta: SweepMeta;
}

export interface SweepInput {
  /** Exactly one of model and trace. */
  topology?: Topology;
  /** An opened trace (openTrace checks its sha256s once, here). */
  trace?: Trace;
  hwModel: HwModel;
  axes: Axis[];
  mode: Mode | 'all';
  fps?: number;
  sim?: SweepSimOptions;
  /** Trace sweeps: quantise float values to round(value / quantStep) first. */
  quantStep?: number;
  /** Trace sweeps: only the first N frames. */
  frames?: number;
  /** A hw-model whose dense run every point is also compared with. */
  baseline?: HwModel;
}

/** A mode the point's hw-model lacks (swept skip / delta flags) leaves its cells empty. */
function metricCells(mode: Mode, s: ModeSummary | undefined, fps: boolean, trace: boolean): Cell[] {
  const metrics = sweepMetrics(mode, { fps, trace });
  return s ? metrics.map((x) => x.value(s)) : metrics.map(() => '');
}

/** Integers as they are; fractions to 6 significant digits (stable text, no float noise). */
const roundCell = (c: Cell): Cell => (typeof c === 'number' && !Number.isInteger(c) ? Number(c.toPrecision(6)) : c);

/** A parameter value as CSV text (booleans spelled out: csv-stringify would write 1 / ''). */
export const valueCell = (v: AxisValue): Cell => (typeof v === 'boolean' ? String(v) : v);

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const flagOf = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Fixed and swept simulation parameters must suit the workload; fixed values their range. */
function checkSimParameters(kind: WorkloadKind, fixed: SweepSimOptions, axes: Axis[]): void {
  const ok = WORKLOAD_PARAMETERS[kind];
  const other = kind === 'trace' ? '--model' : '--trace';
  for (const [k, v] of Object.entries(fixed) as [SimParameter, number][]) {
    if (!ok.includes(k)) throw new InputError(`${flagOf(k)} applies to ${other} sweeps only`);
    const bad = simValueError(k, v);
    if (bad) throw new InputError(`${flagOf(k)} ${bad}, got ${v}`);
  }
  for (const a of axes) {
    const k = a.name.slice(4) as SimParameter;
    if (a.name.startsWith('sim.') && !ok.includes(k)) throw new InputError(`${a.name} applies to ${other} sweeps only`, { file: a.origin });
  }
  // simulate() takes weight densities in (0, 1].
  const wd = axes.find((a) => a.name === 'sim.weightDensity');
  if (fixed.weightDensity === 0 || wd?.values.includes(0))
    throw new InputError("a sweep's weight density must be > 0", wd ? { file: wd.origin } : {});
}

/** A trace sweep's checks (float traces need a threshold somewhere; frames, quantStep) and its workload hash input. */
function prepareTrace(trace: Trace, input: SweepInput, modes: Mode[]): { source: TraceSource; hashed: unknown } {
  const float = trace.layers.find((l) => l.dtype === 'float32');
  const thresholdAxis = input.axes.some((a) => a.name === 'sim.threshold');
  if (float && input.sim?.threshold === undefined && !thresholdAxis && input.quantStep === undefined)
    throw new InputError(
      `layer "${float.spec.name}" holds float32 values: give a delta threshold (--threshold T, or sweep it: --set threshold=T1,T2,…) or --quant-step`,
      { file: float.path },
    );
  // frames and quantStep (the threshold values were checked with the axes).
  const o = resolveActivityOptions(trace, {
    threshold: 0,
    ...(input.quantStep !== undefined ? { quantStep: input.quantStep } : {}),
    ...(input.frames !== undefined ? { frames: input.frames } : {}),
  });
  const kinds = eventKindsOf(modes);
  const m = trace.manifest;
  return {
    source: { dir: trace.dir, frames: o.frames, ...(o.quantStep !== undefined ? { quantStep: o.quantStep } : {}), kinds },
    // The data's identity is each layer's sha256 (in its spec), not where the directory lies.
    hashed: { layers: m.layers, frames: o.frames, fps: m.fps, quantStep: o.quantStep ?? null },
  };
}

/** The baseline's dense run on the sweep's workload (a trace streamed, with no events gathered: dense needs none). */
function runBaseline(input: SweepInput, fps: number | null, trace: TraceSource | undefined): SweepBaseline {
  const hw = input.baseline!;
  const workload = input.trace
    ? traceWorkload(input.trace, {
        threshold: 0,
        frames: trace!.frames,
        ...(trace!.quantStep !== undefined ? { quantStep: trace!.quantStep } : {}),
      })
    : topologyWorkload(input.topology!, {});
  const s = simulate(workload, hw, { mode: 'dense', ...(fps !== null ? { fps } : {}) }).modes[0]!;
  const r = (x: number) => roundCell(x) as number;
  return {
    hwModel: hw.name,
    latencyUs: r(s.latencyMs * 1e3),
    energyPJ: r(s.energy.totalPJ),
    frameEnergyUJ: fps !== null ? r(s.frameEnergyUJ) : null,
    powerMW: s.averagePowerMW !== null ? r(s.averagePowerMW) : null,
  };
}

/**
 * Validate a sweep (every axis value, every point's modes, fps, the workload) and describe it. Nothing
 * runs but the baseline's one dense simulation, when there is a baseline.
 */
export function prepareSweep(input: SweepInput): SweepJob {
  if ((input.topology === undefined) === (input.trace === undefined))
    throw new InputError('give exactly one of --model (a topology) or --trace (a trace directory)');
  const kind: WorkloadKind = input.trace ? 'trace' : 'model';
  if (!input.trace && (input.quantStep !== undefined || input.frames !== undefined))
    throw new InputError(`${input.quantStep !== undefined ? '--quant-step' : '--frames'} applies to --trace sweeps only`);
  const baseSpec = specOf(input.hwModel);
  const { axes } = input;
  if (input.fps !== undefined && !(input.fps > 0)) throw new InputError(`--fps must be positive, got ${input.fps}`);
  const sim = Object.fromEntries(Object.entries(input.sim ?? {}).filter(([, v]) => v !== undefined)) as SweepSimOptions;
  checkSimParameters(kind, sim, axes);
  checkZip(axes);
  checkAxes(baseSpec, input.hwModel.source, axes);
  const points = pointCount(axes);
  // Modes depend only on the kind and skip flags: read them from the patched JSON, no validation needed.
  const seen = new Set<Mode>();
  for (let i = 0; i < points; i++) {
    const values = pointValues(axes, i);
    let spec = baseSpec;
    axes.forEach((a, j) => {
      if (a.name.startsWith('arch.')) spec = patchSpec(spec, a.name.slice(5), values[j]!, a.origin);
    });
    const supported = supportedModes(spec as HwModel);
    if (input.mode !== 'all' && !supported.includes(input.mode))
      throw new InputError(
        `mode "${input.mode}" is not supported at sweep point ${i} (${axes.map((a, j) => `${a.name}=${values[j]}`).join(', ')}): it supports ${supported.join(', ')}`,
      );
    for (const m of supported) seen.add(m);
  }
  const modes = input.mode === 'all' ? MODES.filter((m) => seen.has(m)) : [input.mode];
  const trace = input.trace ? prepareTrace(input.trace, input, modes) : undefined;
  const fps = input.fps ?? input.trace?.manifest.fps ?? null;
  const columns = sweepCsvColumns(
    axes.map((a) => a.name),
    modes,
    { fps: fps !== null, trace: kind === 'trace' },
  );
  const parameters: SweepParameter[] = axes.map((a) => ({
    name: a.name,
    values: a.values,
    ...(a.zip !== undefined ? { zip: a.zip } : {}),
  }));
  const zip = [...new Set(axes.flatMap((a) => (a.zip !== undefined ? [a.zip] : [])))].map((k) =>
    axes.filter((a) => a.zip === k).map((a) => a.name),
  );
  // The hash keys are the sweep format's (`model` = a topology), so older journals and shards still match
  // (a baseline, and zips in `parameters`, are only hashed where there are some).
  const workload = trace ? { trace: trace.hashed } : { model: input.topology };
  const baseline = input.baseline ? { baseline: specOf(input.baseline) } : {};
  const grid = createHash('sha256')
    .update(canonicalJson({ version: 1, ...workload, baseSpec, parameters, mode: input.mode, modes, fps, sim, columns, ...baseline }))
    .digest('hex');
  return {
    ...(input.topology ? { topology: input.topology } : {}),
    ...(trace ? { trace: trace.source } : {}),
    baseSpec,
    baseSource: input.hwModel.source,
    axes,
    meta: {
      format: 'deltasim-sweep',
      version: 1,
      grid,
      workload: kind,
      model: input.topology?.name ?? input.trace!.manifest.model.name,
      hwModel: baseSpec.name,
      points,
      parameters,
      zip,
      mode: input.mode,
      modes,
      fps,
      sim,
      frames: trace?.source.frames ?? null,
      quantStep: trace?.source.quantStep ?? null,
      baseline: input.baseline ? runBaseline(input, fps, trace?.source) : null,
      columns,
    },
  };
}

/** A point's CSV row from its modes' summaries. */
function rowOf(meta: SweepMeta, index: number, values: AxisValue[], summaries: ModeSummary[]): Row {
  const byMode = new Map(summaries.map((s) => [s.mode, s]));
  const fps = meta.fps !== null;
  const trace = meta.workload === 'trace';
  return [index, ...values.map(valueCell), ...meta.modes.flatMap((m) => metricCells(m, byMode.get(m), fps, trace))].map(roundCell);
}

/** What a point runner calls to gather a trace's activity (injectable: tests count the calls). */
export type TraceActivityFn = typeof traceActivity;

/**
 * A function from point index to CSV row. For a trace job it opens the trace once (the sha256s
 * were checked when the job was prepared) and keeps one TraceActivity per threshold value, so points at
 * the same threshold (every hw-model variant) reuse it. Memory: one TraceActivity per distinct threshold,
 * which grows with the frames: the sweep itself streams (`runBatch`); this replay is for running a few
 * points one at a time, and gives the same rows.
 */
export function pointRunner(job: SweepJob, gather: TraceActivityFn = traceActivity): (index: number) => Row {
  const { meta } = job;
  const hasFps = meta.fps !== null;
  const row = (index: number, values: AxisValue[], summaries: ModeSummary[]): Row => rowOf(meta, index, values, summaries);
  if (!job.trace) {
    const topology = job.topology!;
    return (index) => {
      const values = pointValues(job.axes, index);
      const { hw, sim } = pointConfig(job.baseSpec, job.baseSource, job.axes, values);
      const o = { ...meta.sim, ...sim };
      const workload = topologyWorkload(topology, { actDensity: o.actDensity, deltaDensity: o.deltaDensity });
      const res = simulate(workload, hw, { mode: meta.mode, weightDensity: o.weightDensity, ...(hasFps ? { fps: meta.fps! } : {}) });
      return row(index, values, res.modes);
    };
  }
  const src = job.trace;
  let trace: Trace | undefined;
  const activities = new Map<string, TraceActivity>();
  const activityAt = (threshold: number | undefined): TraceActivity => {
    const key = String(threshold);
    let w = activities.get(key);
    if (!w) {
      trace ??= openTrace(src.dir, { verify: false });
      w = gather(trace, {
        frames: src.frames,
        kinds: src.kinds,
        ...(threshold !== undefined ? { threshold } : {}),
        ...(src.quantStep !== undefined ? { quantStep: src.quantStep } : {}),
      });
      activities.set(key, w);
    }
    return w;
  };
  return (index) => {
    const values = pointValues(job.axes, index);
    const { hw, sim } = pointConfig(job.baseSpec, job.baseSource, job.axes, values);
    const o = { ...meta.sim, ...sim };
    const res = simulate(activityWorkload(activityAt(o.threshold)), hw, {
      mode: meta.mode,
      fps: meta.fps!,
      ...(o.weightDensity !== undefined ? { weightDensity: o.weightDensity } : {}),
    });
    return row(index, values, res.modes);
  };
}

/** One topology runner per job object (per thread: a worker receives its own copy). */
const runners = new WeakMap<SweepJob, (index: number) => Row>();

/** Simulate point `index` and return its CSV row (a trace job: streamed, as a batch of one). */
export function runPoint(job: SweepJob, index: number): Row {
  return runBatch(job, [index])[0]!;
}

/** What a batch streams a trace's activity with (injectable: tests check that no frame is read after the next one). */
export type TraceStreamFn = typeof traceActivityStream;

/** An error at one point of a batch: the pool reports it as that point's. */
export function pointOfError(e: unknown): number | undefined {
  return (e as { sweepPoint?: number } | null)?.sweepPoint;
}

function atPoint<T>(point: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e && typeof e === 'object') (e as { sweepPoint?: number }).sweepPoint ??= point;
    throw e;
  }
}

/** A trace point's delta threshold (swept, or fixed for the sweep; undefined: the trace's default): what its activity depends on. */
export function thresholdOf(job: SweepJob, index: number): number | undefined {
  const i = job.axes.findIndex((a) => a.name === 'sim.threshold');
  return i >= 0 ? (pointValues(job.axes, index)[i] as number) : job.meta.sim.threshold;
}

/** Per job and thread: the trace, opened once (its sha256s were checked when the job was prepared). */
const traces = new WeakMap<SweepJob, Trace>();

/**
 * Simulate a batch of points; their rows, in the batch's order. A trace job streams the trace once per
 * distinct threshold in the batch and hands each frame to every point at that threshold before reading
 * the next (`startSimulation`), keeping per point only its running sums and per-frame latencies: memory
 * is flat in frames, and grows in points only with the batch (the pool bounds it, `MAX_BATCH`) and only where
 * the points differ in what their fold models keep (rows, skipping: `FoldStatsCache`). The
 * rows are the same as replaying gathered activity (`pointRunner`): the same counters, in the same order.
 */
export function runBatch(job: SweepJob, points: readonly number[], stream: TraceStreamFn = traceActivityStream): Row[] {
  if (!job.trace) {
    let run = runners.get(job);
    if (!run) runners.set(job, (run = pointRunner(job)));
    return points.map((p) => atPoint(p, () => run(p)));
  }
  const { meta } = job;
  const src = job.trace;
  let trace = traces.get(job);
  if (!trace) traces.set(job, (trace = openTrace(src.dir, { verify: false })));
  const byThreshold = new Map<string, number[]>();
  for (const p of points) {
    const key = String(thresholdOf(job, p));
    const group = byThreshold.get(key);
    if (group) group.push(p);
    else byThreshold.set(key, [p]);
  }
  const rows = new Map<number, Row>();
  for (const group of byThreshold.values()) {
    const threshold = thresholdOf(job, group[0]!);
    const o = {
      frames: src.frames,
      kinds: src.kinds,
      ...(threshold !== undefined ? { threshold } : {}),
      ...(src.quantStep !== undefined ? { quantStep: src.quantStep } : {}),
    };
    const shape = traceWorkload(trace, o);
    // The points see the same frames: what their fold models compute from the events alone, they compute once.
    const foldStats = new FoldStatsCache();
    const sims = group.map((p) =>
      atPoint(p, () => {
        const values = pointValues(job.axes, p);
        const { hw, sim } = pointConfig(job.baseSpec, job.baseSource, job.axes, values);
        const wd = sim.weightDensity ?? meta.sim.weightDensity;
        const run: Simulation = startSimulation(shape, hw, {
          mode: meta.mode,
          fps: meta.fps!,
          frameRows: false,
          foldStats,
          ...(wd !== undefined ? { weightDensity: wd } : {}),
        });
        return { p, values, run };
      }),
    );
    for (const fa of stream(trace, o)) for (const s of sims) atPoint(s.p, () => s.run.add(fa));
    for (const s of sims)
      rows.set(
        s.p,
        atPoint(s.p, () => rowOf(meta, s.p, s.values, s.run.result().modes)),
      );
  }
  return points.map((p) => rows.get(p)!);
}
