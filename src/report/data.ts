/**
 * Reading a run directory and turning its files into chart and table inputs. sim/run-dir.ts owns the
 * directory (file names, CSV columns, the versioned summary.json); this reads it by those names:
 * - a simulation: summary.json (kind "simulation": the SimResult's modes and baselineDense), frames.csv
 *   (FRAME_COLUMNS, always there), layers.csv (LAYER_COLUMNS, only with `simulate --layers`);
 * - a sweep: summary.json (kind "sweep": parameters, modes, fps, workload), sweep.csv (`point`, the
 *   parameters, then per mode the columns of sweepMetrics).
 * What is not there is refused (summary.json, a kind's own CSV, a CSV whose header is not the one
 * deltasim writes) with an InputError naming the file; optional parts (layers.csv) are left out.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvText } from '../../lib/csv.js';
import { InputError } from '../../lib/errors.js';
import { parseJsonText } from '../../lib/json.js';
import { percentile } from '../../lib/percentile.js';
import { BUFFERS } from '../../sim/actions.js';
import type { EnergyBreakdown as SimEnergy } from '../../sim/energy.js';
import type { Mode } from '../../sim/modes.js';
import {
  ENERGY_COLUMNS,
  FRAME_COLUMNS,
  LAYER_COLUMNS,
  RUN_FILES,
  readSummary,
  sweepColumn,
  sweepCsvColumns,
  sweepMetrics,
  type FrameColumn,
  type LayerColumn,
  type SimulationSummary,
  type SummaryHeader,
} from '../../sim/run-dir.js';
import type { ModeSummary } from '../../sim/summary.js';
import type { EnergyBreakdown, FrameSeries, LayerSparsity, ParetoPoint, SweepSeries } from './charts.js';
import { asNumber } from './format.js';

/** A CSV file: its header and its rows by column name, with each row's line number for messages. */
export interface CsvTable<C extends string = string> {
  file: string;
  columns: readonly C[];
  rows: Record<C, string>[];
  lines: number[];
}

/** A sweep's summary.json (sim/sweep/output.ts): the keys the report reads; the rest is shown as it is. */
export type SweepSummary = SummaryHeader & {
  kind: 'sweep';
  workload: 'model' | 'trace';
  model: string;
  hwModel: string;
  /** The swept parameters (sweep.csv's columns after `point`) and their values. */
  parameters: Record<string, (number | boolean | string)[]>;
  /** The modes with metric columns. */
  modes: Mode[];
  fps: number | null;
};

interface RunFiles {
  dir: string;
  /** run.json: the exact argv and package versions, when present. */
  run?: unknown;
}
export interface SimulationData extends RunFiles {
  kind: 'simulation';
  summary: SimulationSummary;
  frames: CsvTable<FrameColumn>;
  /** Only when the run was simulated with `--layers`. */
  layers?: CsvTable<LayerColumn>;
}
export interface SweepData extends RunFiles {
  kind: 'sweep';
  summary: SweepSummary;
  sweep: CsvTable;
}
export type RunData = SimulationData | SweepData;

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  return parseJsonText(text, file);
}

/** Read a CSV whose header must be `expected` (the columns deltasim writes). */
export function readCsv<C extends string>(file: string, expected: readonly C[]): CsvTable<C> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  const [head, ...body] = parseCsvText(text, file, { skip_empty_lines: true });
  const columns = head?.cells ?? [];
  const at = expected.findIndex((c, i) => columns[i] !== c);
  if (at >= 0 || columns.length !== expected.length) {
    const i = at >= 0 ? at : expected.length;
    const found = columns[i] === undefined ? 'nothing' : JSON.stringify(columns[i]);
    const want = expected[i] === undefined ? 'no more columns' : JSON.stringify(expected[i]);
    throw new InputError(`header is not the one deltasim writes: column ${i + 1} is ${found}, expected ${want}`, { file, line: 1 });
  }
  return {
    file,
    columns: expected,
    rows: body.map(({ cells }) => Object.fromEntries(expected.map((c, i) => [c, cells[i] ?? ''])) as Record<C, string>),
    lines: body.map(({ line }) => line),
  };
}

/** A numeric cell of row `i`: undefined when empty (a value the run has not), an InputError when not a number. */
function cellNumber<C extends string>(t: CsvTable<C>, i: number, column: C): number | undefined {
  const v = t.rows[i]![column];
  if (v === '') return undefined;
  const n = asNumber(v);
  if (n === undefined) throw new InputError(`${column} is ${JSON.stringify(v)}, not a number`, { file: t.file, line: t.lines[i]! });
  return n;
}

// --- summary.json checks: the keys the report reads, with a pointer to the one that is wrong ---

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function check(ok: boolean, file: string, pointer: string, what: string): asserts ok {
  if (!ok) throw new InputError(`must be ${what}`, { file, pointer });
}

function checkModeSummary(m: unknown, file: string, at: string): void {
  check(isObj(m), file, at, 'a mode summary (an object)');
  check(typeof m.mode === 'string', file, `${at}/mode`, 'a string');
  check(typeof m.arch === 'string', file, `${at}/arch`, 'a string');
  const e = m.energy;
  check(isObj(e), file, `${at}/energy`, 'an energy breakdown (an object)');
  for (const k of ['computePJ', 'dramPJ', 'staticPJ', 'totalPJ']) check(isNum(e[k]), file, `${at}/energy/${k}`, 'a number');
  const sram = e.sramPJ;
  check(isObj(sram), file, `${at}/energy/sramPJ`, 'an object of numbers per buffer');
  for (const b of BUFFERS) check(isNum(sram[b]), file, `${at}/energy/sramPJ/${b}`, 'a number');
}

function checkSimulation(s: Record<string, unknown>, file: string): SimulationSummary {
  check(typeof s.hwModel === 'string', file, '/hwModel', 'a string');
  check(Array.isArray(s.modes) && s.modes.length > 0, file, '/modes', 'a non-empty array of mode summaries');
  s.modes.forEach((m, i) => checkModeSummary(m, file, `/modes/${i}`));
  if (s.baselineDense !== null) checkModeSummary(s.baselineDense, file, '/baselineDense');
  return s as unknown as SimulationSummary;
}

function checkSweep(s: Record<string, unknown>, file: string): SweepSummary {
  check(s.workload === 'model' || s.workload === 'trace', file, '/workload', '"model" or "trace"');
  check(Array.isArray(s.modes) && s.modes.every((m) => typeof m === 'string'), file, '/modes', 'an array of modes');
  check(s.fps === null || isNum(s.fps), file, '/fps', 'a number or null');
  const p = s.parameters;
  check(isObj(p), file, '/parameters', 'an object of parameter values');
  for (const [k, v] of Object.entries(p)) check(Array.isArray(v), file, `/parameters/${k}`, 'an array of values');
  return s as unknown as SweepSummary;
}

/** sweep.csv's columns, as sim/sweep/job.ts writes them: point, the parameters, the metrics per mode. */
export function sweepColumns(s: SweepSummary): string[] {
  return sweepCsvColumns(Object.keys(s.parameters), s.modes, metricOptions(s));
}
const metricOptions = (s: SweepSummary) => ({ fps: s.fps !== null, trace: s.workload === 'trace' });

/** Load a run directory: it must exist and hold a versioned summary.json and its kind's CSV. */
export function loadRun(dir: string): RunData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError('run directory not found', { file: dir });
  const at = (name: string) => join(dir, name);
  const doc = readSummary(dir);
  const summaryFile = at(RUN_FILES.summary);
  const run = existsSync(at(RUN_FILES.run)) ? { run: readJson(at(RUN_FILES.run)) } : {};
  /** The kind's own CSV: every run of the kind has it. */
  const needed = (name: string) => {
    if (!existsSync(at(name)))
      throw new InputError(`not found: every ${doc.kind} directory has one (${summaryFile} says "${doc.kind}")`, { file: at(name) });
    return at(name);
  };
  if (doc.kind === 'sweep') {
    const summary = checkSweep(doc, summaryFile);
    return { kind: 'sweep', dir, ...run, summary, sweep: readCsv(needed(RUN_FILES.sweep), sweepColumns(summary)) };
  }
  const data: SimulationData = {
    kind: 'simulation',
    dir,
    ...run,
    summary: checkSimulation(doc, summaryFile),
    frames: readCsv(needed(RUN_FILES.frames), FRAME_COLUMNS),
  };
  if (existsSync(at(RUN_FILES.layers))) data.layers = readCsv(at(RUN_FILES.layers), LAYER_COLUMNS);
  return data;
}

// --- small helpers ---------------------------------------------------------------------------

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Group items by a key, keeping first-seen order. */
function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = m.get(k);
    if (g) g.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** A run's name in charts: the hw-model's own modes by mode, another hw-model's (the baseline's) as `mode @ arch`. */
export const runLabel = (mode: string, arch: string, own: boolean) => (own ? mode : `${mode} @ ${arch}`);

// --- simulation derivations ------------------------------------------------------------------

/** Nested objects as one level of dotted keys (`{latencyUs: {p95}}` → `latencyUs.p95`). */
function flatten(o: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).flatMap(([k, v]) => (isObj(v) ? Object.entries(flatten(v, `${prefix}${k}.`)) : [[`${prefix}${k}`, v]])),
  );
}

/**
 * summary.json as the report shows it: the same keys, but the per-mode summaries (and the baseline's
 * dense run) as one object per run, keyed by its chart label and flattened, so they read as one table.
 */
export function summaryForDisplay(s: SimulationSummary): Record<string, unknown> {
  const { modes, baselineDense, ...rest } = s;
  const runs = modes.map((m) => [runLabel(m.mode, m.arch, m.arch === s.hwModel), m] as const);
  if (baselineDense && baselineDense.arch !== s.hwModel)
    runs.push([runLabel(baselineDense.mode, baselineDense.arch, false), baselineDense]);
  return { ...rest, modes: Object.fromEntries(runs.map(([label, m]) => [label, flatten({ ...m })])) };
}

/**
 * Latency per frame (µs) of every run in frames.csv, one series per run in file order: the hw-model's
 * modes, then the baseline's dense run. Undefined without at least two frames.
 */
export function frameLatency(run: SimulationData): FrameSeries[] | undefined {
  const t = run.frames;
  const series = new Map<string, FrameSeries>();
  // A baseline that is the hw-model itself repeats an (arch, mode) within a frame: its second row.
  const seen = new Map<string, number>();
  t.rows.forEach((r, i) => {
    const frame = cellNumber(t, i, 'frame');
    const latency = cellNumber(t, i, 'latency_us');
    if (frame === undefined || latency === undefined || frame < 0 || !Number.isInteger(frame))
      throw new InputError('frame must be a frame number and latency_us a number', { file: t.file, line: t.lines[i]! });
    const key = `${frame}\u0000${r.arch}\u0000${r.mode}`;
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    const label = runLabel(r.mode, r.arch, k === 0 && r.arch === run.summary.hwModel);
    let s = series.get(label);
    if (!s) series.set(label, (s = { mode: label, values: [] }));
    s.values[frame] = latency;
  });
  const out = [...series.values()].map((s) => ({ mode: s.mode, values: Array.from(s.values, (v) => v ?? 0) }));
  return out.some((s) => s.values.length >= 2) ? out : undefined;
}

/** Each ENERGY_COLUMNS component's value in a summary's energy breakdown. */
const ENERGY_FIELDS = new Map<string, (e: SimEnergy) => number>([
  ['energy_compute_pj', (e) => e.computePJ],
  ...BUFFERS.map((b) => [`energy_${b}_sram_pj`, (e: SimEnergy) => e.sramPJ[b]] as const),
  ['energy_dram_pj', (e) => e.dramPJ],
  ['energy_static_pj', (e) => e.staticPJ],
]);

function energyComponentsOf(m: ModeSummary): Record<string, number> {
  return Object.fromEntries(
    ENERGY_COLUMNS.map(({ column, name }) => {
      const field = ENERGY_FIELDS.get(column);
      if (!field) throw new Error(`report: no summary field for energy column ${column}`);
      return [name, field(m.energy) * 1e-6];
    }),
  );
}

/** Mean energy per frame (µJ) of each mode and of the baseline's dense run, by component (summary.json). */
export function energyBreakdown(s: SimulationSummary): EnergyBreakdown[] {
  const runs = s.modes.map((m) => ({ label: runLabel(m.mode, m.arch, m.arch === s.hwModel), m }));
  if (s.baselineDense && s.baselineDense.arch !== s.hwModel)
    runs.push({ label: runLabel(s.baselineDense.mode, s.baselineDense.arch, false), m: s.baselineDense });
  return runs.map(({ label, m }) => ({ mode: label, components: energyComponentsOf(m) }));
}

/** Mean spatial and temporal sparsity of each layer over its rows; undefined when the run has none (a topology). */
export function layerSparsity(t: CsvTable<LayerColumn>): LayerSparsity[] | undefined {
  const byLayer = groupBy(
    t.rows.map((_, i) => i),
    (i) => t.rows[i]!.layer,
  );
  const meanOf = (rows: number[], c: LayerColumn) => {
    const xs = rows.map((i) => cellNumber(t, i, c)).filter((x): x is number => x !== undefined);
    return xs.length ? mean(xs) : undefined;
  };
  const out = [...byLayer].map(([layer, rows]) => ({
    layer,
    spatial: meanOf(rows, 'spatial_sparsity'),
    temporal: meanOf(rows, 'temporal_sparsity'),
  }));
  if (out.every((l) => l.spatial === undefined && l.temporal === undefined)) return undefined;
  return out.map((l) => ({ layer: l.layer, spatial: l.spatial ?? 0, temporal: l.temporal ?? 0 }));
}

/** A display cell: the main value and an optional second line (e.g. p95). */
export interface Cell {
  text: string;
  sub?: string;
  numeric?: boolean;
}
/** A table for the report; one without columns is only its note. */
export interface DisplayTable {
  columns: string[];
  rows: Cell[][];
  note?: string;
}

/** What the report says in place of the per-layer table and chart when the run has no layers.csv. */
export const NO_LAYERS_NOTE = `No ${RUN_FILES.layers}: \`deltasim simulate --layers\` adds the per-layer table and the layer-sparsity chart.`;

/**
 * The per-layer table of layers.csv. Per-frame rows are aggregated per layer × mode (mean, with p95
 * below); a topology's rows (no frame) are shown as they are. `format(column, value)` renders numbers.
 */
export function layerTable(t: CsvTable<LayerColumn>, format: (column: string, v: number) => string): DisplayTable {
  const keys = ['layer', 'mode'] as const;
  // Text columns besides the keys: the resource a layer was bound by (per frame: the most frequent).
  const texts = ['bound'] as const;
  const values = LAYER_COLUMNS.filter(
    (c) => c !== 'frame' && !(keys as readonly string[]).includes(c) && !(texts as readonly string[]).includes(c),
  );
  const cell = (c: LayerColumn, v: number | undefined): Cell => (v === undefined ? { text: '—' } : { text: format(c, v), numeric: true });
  const hasFrames = t.rows.some((r) => r.frame !== '');
  if (!hasFrames) {
    return {
      columns: [...keys, ...texts, ...values],
      rows: t.rows.map((r, i) => [
        ...keys.map((k) => ({ text: r[k] })),
        ...texts.map((k) => ({ text: r[k] ?? '—' })),
        ...values.map((c) => cell(c, cellNumber(t, i, c))),
      ]),
    };
  }
  const groups = groupBy(
    t.rows.map((_, i) => i),
    (i) => `${t.rows[i]!.layer}\u0000${t.rows[i]!.mode}`,
  );
  const rows = [...groups.values()].map((g) => [
    ...keys.map((k) => ({ text: t.rows[g[0]!]![k] })),
    { text: String(new Set(g.map((i) => t.rows[i]!.frame)).size), numeric: true },
    ...texts.map((k) => ({ text: mostFrequent(g.map((i) => t.rows[i]![k] ?? '—')) })),
    ...values.map((c): Cell => {
      const xs = g.map((i) => cellNumber(t, i, c)).filter((x): x is number => x !== undefined);
      return xs.length ? { text: format(c, mean(xs)), sub: `p95 ${format(c, percentile(xs, 0.95))}`, numeric: true } : { text: '—' };
    }),
  ]);
  return {
    columns: [...keys, 'frames', ...texts, ...values],
    rows,
    note: `${t.rows.length} per-frame rows aggregated per layer × mode over frames: mean, with the 95th percentile below.`,
  };
}

/** The most frequent of some texts (the first of equals). */
function mostFrequent(xs: string[]): string {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  let best = xs[0] ?? '—';
  for (const [x, k] of n) if (k > n.get(best)!) best = x;
  return best;
}

// --- sweep derivations -----------------------------------------------------------------------

/** The swept parameters a chart can have on its x axis: numeric, with more than one value. */
export function sweepParameters(s: SweepSummary): string[] {
  return Object.entries(s.parameters)
    .filter(([, vs]) => vs.every((v) => typeof v === 'number') && new Set(vs).size > 1)
    .map(([name]) => name);
}

/** Every parameter that varies over the sweep (numeric or not): what a point's label and a mean are over. */
const variedParameters = (s: SweepSummary) =>
  Object.entries(s.parameters)
    .filter(([, vs]) => new Set(vs).size > 1)
    .map(([name]) => name);

/** The gain columns of sweep.csv: per mode, the metrics where higher is better (speedup and energy gain over its reference). */
export function gainColumns(s: SweepSummary): string[] {
  return s.modes.flatMap((m) =>
    sweepMetrics(m, metricOptions(s))
      .filter((x) => x.better === 'higher')
      .map((x) => x.column(m)),
  );
}

/** Speedup and energy gain against each numeric swept parameter (mean over the other parameters' values). */
export function sweepSeries(run: SweepData): SweepSeries[] {
  const t = run.sweep;
  const gains = gainColumns(run.summary);
  if (gains.length === 0) return [];
  const varied = variedParameters(run.summary);
  const index = t.rows.map((_, i) => i);
  return sweepParameters(run.summary).map((p) => {
    const byX = groupBy(index, (i) => t.rows[i]![p]!);
    const others = varied.filter((q) => q !== p);
    return {
      parameter: p,
      lines: gains.map((g) => ({
        name: g.replace(/_/g, ' '),
        points: [...byX].flatMap(([x, is]) => {
          // A point whose hw-model cannot run the mode has empty cells: left out of the mean.
          const ys = is.map((i) => cellNumber(t, i, g)).filter((y): y is number => y !== undefined);
          return ys.length ? [{ x: Number(x), y: mean(ys) }] : [];
        }),
      })),
      ...(others.length ? { note: `mean over ${others.join(', ')}` } : {}),
    };
  });
}

/** The mode of the Pareto chart: delta when the sweep has it, else the last of its modes. */
export function paretoMode(s: SweepSummary): Mode | undefined {
  return s.modes.includes('delta') ? 'delta' : s.modes.at(-1);
}

/** Latency (µs) and energy (µJ) per frame of every sweep point in `paretoMode`, labelled by its parameters. */
export function paretoPoints(run: SweepData): ParetoPoint[] | undefined {
  const mode = paretoMode(run.summary);
  if (!mode) return undefined;
  const t = run.sweep;
  const lat = sweepColumn('latency', mode);
  const en = sweepColumn('energy', mode);
  const params = variedParameters(run.summary);
  const short = (p: string) => p.replace(/^(arch|sim)\./, '').replace(/^memories\./, '');
  const points = t.rows.flatMap((r, i) => {
    const l = cellNumber(t, i, lat);
    const e = cellNumber(t, i, en);
    if (l === undefined || e === undefined) return [];
    return [{ latencyUs: l, energyUj: e * 1e-6, label: params.map((p) => `${short(p)}=${r[p]}`).join(', ') }];
  });
  return points.length >= 2 ? points : undefined;
}
