/**
 * Reading a run directory and turning its files into chart and table inputs. sim/run-dir.ts owns the
 * directory (file names, CSV columns, the versioned summary.json); this reads it by those names:
 * - a simulation: summary.json (kind "simulation": the SimResult's modes and baselineDense), frames.csv
 *   (FRAME_COLUMNS, always there), layers.csv (LAYER_COLUMNS, only with `simulate --layers`), sensitivity.json
 *   (only with `simulate --sensitivity`; sim/sensitivity.ts);
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
import {
  SENSITIVITY_FORMAT,
  SENSITIVITY_METRICS,
  SENSITIVITY_VERSION,
  type Sensitivity,
  type SensitivityMetric,
  type SensitivitySide,
} from '../../sim/sensitivity.js';
import type { ModeSummary } from '../../sim/summary.js';
import { dimensions } from '../../sim/sweep/grid.js';
import type { SweepBaseline } from '../../sim/sweep/job.js';
import { METRIC_TEXT } from '../cli/sensitivity-table.js';
import type {
  EnergyBreakdown,
  FrameSeries,
  Heatmap,
  LayerCost,
  LayerSparsity,
  ParetoPoint,
  SweepLine,
  SweepSeries,
  Tornado,
} from './charts.js';
import { layerMeasure, showMeasure } from './columns.js';
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
  /** Zipped parameters, group by group (absent before zips existed). */
  zip?: string[][];
  /** The modes with metric columns. */
  modes: Mode[];
  fps: number | null;
  /** `--baseline`'s dense run (absent or null without one). */
  baseline?: SweepBaseline | null;
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
  /** Only when the run was simulated with `--sensitivity` (sensitivity.json). */
  sensitivity?: Sensitivity;
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
  const zip = s.zip ?? [];
  check(Array.isArray(zip), file, '/zip', 'an array of parameter groups');
  zip.forEach((g, i) =>
    check(Array.isArray(g) && g.every((n) => typeof n === 'string' && n in p), file, `/zip/${i}`, 'a group of swept parameter names'),
  );
  const b = s.baseline ?? null;
  if (b !== null) {
    check(isObj(b) && typeof b.hwModel === 'string', file, '/baseline', "the baseline's dense run (an object with hwModel)");
    for (const k of ['latencyUs', 'energyPJ']) check(isNum(b[k]) && b[k] > 0, file, `/baseline/${k}`, 'a positive number');
  }
  return s as unknown as SweepSummary;
}

const isGains = (g: unknown) => isObj(g) && SENSITIVITY_METRICS.every((m) => g[m] === null || isNum(g[m]));

function checkSide(v: unknown, file: string, at: string): void {
  check(isObj(v) && isNum(v.value), file, at, 'a side (an object with a numeric value)');
  check(isGains(v.gains) || typeof v.error === 'string', file, at, 'a side with its gains (numbers or null) or an error');
}

/** sensitivity.json (`simulate --sensitivity`): its header and the keys the report reads. */
export function readSensitivity(file: string): Sensitivity {
  const d = readJson(file);
  check(isObj(d) && d.format === SENSITIVITY_FORMAT, file, '/format', `"${SENSITIVITY_FORMAT}"`);
  check(d.version === SENSITIVITY_VERSION, file, '/version', `${SENSITIVITY_VERSION} (the version this deltasim reads)`);
  check(typeof d.mode === 'string' && typeof d.reference === 'string', file, '/mode', 'the mode studied and its reference (strings)');
  check(isNum(d.factor), file, '/factor', 'a number');
  check(isGains(d.nominal), file, '/nominal', 'the nominal gains (numbers or null)');
  check(Array.isArray(d.parameters), file, '/parameters', 'an array of parameters');
  d.parameters.forEach((p, i) => {
    const at = `/parameters/${i}`;
    check(isObj(p) && typeof p.parameter === 'string' && isNum(p.nominal), file, at, 'a parameter with its name and nominal value');
    checkSide(p.low, file, `${at}/low`);
    checkSide(p.high, file, `${at}/high`);
    check(isGains(p.swing), file, `${at}/swing`, 'swings per metric (numbers or null)');
    check(Array.isArray(p.flips), file, `${at}/flips`, 'an array of metrics');
  });
  check(Array.isArray(d.skipped), file, '/skipped', 'an array of skipped keys');
  d.skipped.forEach((k, i) =>
    check(isObj(k) && typeof k.parameter === 'string' && typeof k.reason === 'string', file, `/skipped/${i}`, 'a key and its reason'),
  );
  const { format: _format, version: _version, ...s } = d;
  return s as unknown as Sensitivity;
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
  if (existsSync(at(RUN_FILES.sensitivityJson))) data.sensitivity = readSensitivity(at(RUN_FILES.sensitivityJson));
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

/** The runs of a summary in table order: the hw-model's modes, then the baseline's dense run (unless it is the hw-model). */
export function summaryRuns(s: SimulationSummary): { label: string; m: ModeSummary }[] {
  const runs = s.modes.map((m) => ({ label: runLabel(m.mode, m.arch, m.arch === s.hwModel), m }));
  if (s.baselineDense && s.baselineDense.arch !== s.hwModel)
    runs.push({ label: runLabel(s.baselineDense.mode, s.baselineDense.arch, false), m: s.baselineDense });
  return runs;
}

/**
 * Latency per frame (µs) of every run in frames.csv, by run label in file order: the hw-model's modes,
 * then the baseline's dense run. A baseline that is the hw-model itself (a second row of the same
 * arch and mode in a frame) is labelled `mode @ arch`.
 */
export function framesByRun(run: SimulationData): Map<string, number[]> {
  const t = run.frames;
  const series = new Map<string, number[]>();
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
    let values = series.get(label);
    if (!values) series.set(label, (values = []));
    values[frame] = latency;
  });
  return new Map([...series].map(([label, v]) => [label, Array.from(v, (x) => x ?? 0)]));
}

/** Latency per frame (µs) of every run, one series per run; undefined without at least two frames. */
export function frameLatency(run: SimulationData): FrameSeries[] | undefined {
  const out = [...framesByRun(run)].map(([mode, values]) => ({ mode, values }));
  return out.some((s) => s.values.length >= 2) ? out : undefined;
}

/** Each ENERGY_COLUMNS component's value in a summary's energy breakdown. */
const ENERGY_FIELDS = new Map<string, (e: SimEnergy) => number>([
  ['energy_compute_pj', (e) => e.computePJ],
  ...BUFFERS.map((b) => [`energy_${b}_sram_pj`, (e: SimEnergy) => e.sramPJ[b]] as const),
  ['energy_dram_pj', (e) => e.dramPJ],
  ['energy_static_pj', (e) => e.staticPJ],
]);

/** A run's active-frame energy (µJ) by ENERGY_COLUMNS component name. */
export function energyComponentsOf(m: ModeSummary): Record<string, number> {
  return Object.fromEntries(
    ENERGY_COLUMNS.map(({ column, name }) => {
      const field = ENERGY_FIELDS.get(column);
      if (!field) throw new Error(`report: no summary field for energy column ${column}`);
      return [name, field(m.energy) * 1e-6];
    }),
  );
}

/** Mean energy of the active frame (µJ) of each mode and of the baseline's dense run, by component (summary.json). */
export function energyBreakdown(s: SimulationSummary): EnergyBreakdown[] {
  return summaryRuns(s).map(({ label, m }) => ({ mode: label, components: energyComponentsOf(m) }));
}

/** Row indices of a layers.csv grouped by layer (file order). */
const rowsByLayer = (t: CsvTable<LayerColumn>) =>
  groupBy(
    t.rows.map((_, i) => i),
    (i) => t.rows[i]!.layer,
  );

/** The mean of a column over some rows (empty cells left out); undefined when all are empty. */
function meanOf(t: CsvTable<LayerColumn>, rows: number[], c: LayerColumn): number | undefined {
  const xs = rows.map((i) => cellNumber(t, i, c)).filter((x): x is number => x !== undefined);
  return xs.length ? mean(xs) : undefined;
}

/** Mean spatial and temporal sparsity of each layer over its rows; undefined when the run has none (a topology). */
export function layerSparsity(t: CsvTable<LayerColumn>): LayerSparsity[] | undefined {
  const out = [...rowsByLayer(t)].map(([layer, rows]) => ({
    layer,
    spatial: meanOf(t, rows, 'spatial_sparsity'),
    temporal: meanOf(t, rows, 'temporal_sparsity'),
  }));
  if (out.every((l) => l.spatial === undefined && l.temporal === undefined)) return undefined;
  return out.map((l) => ({ layer: l.layer, spatial: l.spatial ?? 0, temporal: l.temporal ?? 0 }));
}

/** How many layers the per-layer cost charts show by name; the rest are summed in their subtitle. */
export const TOP_LAYERS = 20;

/** The layers a per-layer cost chart draws, and what the others (not drawn) add up to per mode. */
export interface LayerCosts {
  layers: LayerCost[];
  total: number;
  others?: { layers: number; values: Record<string, number> };
}

/**
 * A per-layer cost (`latency_us` or `energy_pj`, times `scale`) of each mode, mean per frame: the `top`
 * layers that cost most in some mode, in network order; the rest summed per mode.
 */
export function layerCosts(t: CsvTable<LayerColumn>, column: LayerColumn, scale = 1, top = TOP_LAYERS): LayerCosts {
  const modes = [...new Set(t.rows.map((r) => r.mode))];
  const all = [...rowsByLayer(t)].map(([layer, rows]) => ({
    layer,
    values: Object.fromEntries(
      modes.map((m) => [
        m,
        (meanOf(
          t,
          rows.filter((i) => t.rows[i]!.mode === m),
          column,
        ) ?? 0) * scale,
      ]),
    ) as Record<string, number>,
  }));
  if (all.length <= top) return { layers: all, total: all.length };
  const peak = (l: LayerCost) => Math.max(...Object.values(l.values));
  const keep = new Set(
    all
      .map((l, i) => ({ i, v: peak(l) }))
      .sort((a, b) => b.v - a.v || a.i - b.i)
      .slice(0, top)
      .map((x) => x.i),
  );
  const rest = all.filter((_, i) => !keep.has(i));
  const values = Object.fromEntries(modes.map((m) => [m, rest.reduce((a, l) => a + l.values[m]!, 0)]));
  return { layers: all.filter((_, i) => keep.has(i)), total: all.length, others: { layers: rest.length, values } };
}

/** A display cell: the main value and an optional second line (e.g. p95); `head` makes it a row header. */
export interface Cell {
  text: string;
  sub?: string;
  numeric?: boolean;
  head?: boolean;
  /** A warning the reader must not miss (a run that is not real time, a flip): shown in red. */
  flag?: boolean;
}
/** A table for the report; one without columns is only its note. */
export interface DisplayTable {
  columns: string[];
  rows: Cell[][];
  note?: string;
}

/** What the report says in place of the per-layer table and chart when the run has no layers.csv. */
export const NO_LAYERS_NOTE = `No ${RUN_FILES.layers}: \`deltasim simulate --layers\` adds the per-layer tables and charts.`;

/** A number cell in a measure's unit (— when the run has no value). */
const measureCell = (c: string, v: number | undefined): Cell =>
  v === undefined ? { text: '—' } : { text: showMeasure(layerMeasure(c), v), numeric: true };

/**
 * The per-layer overview: one row per layer (network order) with its MACs and sparsity, then per mode
 * its latency, energy and bound, each the mean per frame.
 */
export function layerOverview(t: CsvTable<LayerColumn>): DisplayTable {
  const modes = [...new Set(t.rows.map((r) => r.mode))];
  const perMode = ['latency_us', 'energy_pj'] as const;
  const shared = ['macs', 'spatial_sparsity', 'temporal_sparsity'] as const;
  const rows = [...rowsByLayer(t)].map(([layer, rs]) => {
    const of = (m: string) => rs.filter((i) => t.rows[i]!.mode === m);
    return [
      { text: layer, head: true },
      ...shared.map((c) => measureCell(c, meanOf(t, rs, c))),
      ...modes.flatMap((m) => [
        ...perMode.map((c) => measureCell(c, meanOf(t, of(m), c))),
        { text: of(m).length ? mostFrequent(of(m).map((i) => t.rows[i]!.bound ?? '—')) : '—' },
      ]),
    ];
  });
  return {
    columns: [
      'layer',
      ...shared.map((c) => layerMeasure(c).header),
      ...modes.flatMap((m) => [...perMode.map((c) => `${m}: ${layerMeasure(c).header}`), `${m}: bound by`]),
    ],
    rows,
    note: `${rows.length} layers, means per frame. Every column of ${RUN_FILES.layers}, per layer and mode, is in the table below.`,
  };
}

/**
 * Every column of layers.csv, one row per layer × mode. Per-frame rows are aggregated over frames (mean,
 * with p95 below); a topology's rows (no frame) are shown as they are.
 */
export function layerTable(t: CsvTable<LayerColumn>): DisplayTable {
  const keys = ['layer', 'mode'] as const;
  // Text columns besides the keys: the resource a layer was bound by (per frame: the most frequent).
  const texts = ['bound'] as const;
  const values = LAYER_COLUMNS.filter(
    (c) => c !== 'frame' && !(keys as readonly string[]).includes(c) && !(texts as readonly string[]).includes(c),
  );
  const headers = (...cs: string[]) => cs.map((c) => layerMeasure(c).header);
  const hasFrames = t.rows.some((r) => r.frame !== '');
  if (!hasFrames) {
    return {
      columns: headers(...keys, ...texts, ...values),
      rows: t.rows.map((r, i) => [
        { text: r.layer, head: true },
        { text: r.mode },
        ...texts.map((k) => ({ text: r[k] ?? '—' })),
        ...values.map((c) => measureCell(c, cellNumber(t, i, c))),
      ]),
    };
  }
  const groups = groupBy(
    t.rows.map((_, i) => i),
    (i) => `${t.rows[i]!.layer}\u0000${t.rows[i]!.mode}`,
  );
  const rows = [...groups.values()].map((g) => [
    { text: t.rows[g[0]!]!.layer, head: true },
    { text: t.rows[g[0]!]!.mode },
    { text: String(new Set(g.map((i) => t.rows[i]!.frame)).size), numeric: true },
    ...texts.map((k) => ({ text: mostFrequent(g.map((i) => t.rows[i]![k] ?? '—')) })),
    ...values.map((c): Cell => {
      const xs = g.map((i) => cellNumber(t, i, c)).filter((x): x is number => x !== undefined);
      const m = layerMeasure(c);
      return xs.length
        ? { text: showMeasure(m, mean(xs)), sub: `p95 ${showMeasure(m, percentile(xs, 0.95))}`, numeric: true }
        : { text: '—' };
    }),
  ]);
  return {
    columns: [...headers(...keys), 'frames', ...headers(...texts, ...values)],
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

/**
 * The sweep's dimensions that vary, each the names of its parameters: a lone parameter, or a zip group
 * (its parameters move together). In parameter order; what a chart's x axis and a median are over.
 */
export function sweepDimensions(s: SweepSummary): string[][] {
  const names = Object.keys(s.parameters);
  const zipOf = new Map((s.zip ?? []).flatMap((g) => g.map((n) => [n, g[0]!] as const)));
  const axes = names.map((name) => ({ name, ...(zipOf.has(name) ? { zip: zipOf.get(name)! } : {}) }));
  return dimensions(axes)
    .map((d) => d.map((i) => names[i]!))
    .filter((d) => new Set(s.parameters[d[0]!]!.map(String)).size > 1);
}

/** A dimension as charts name it: its first parameter, and those zipped with it. */
export const dimensionLabel = (d: string[]) => (d.length > 1 ? `${d[0]} (zipped with ${d.slice(1).join(', ')})` : d[0]!);

const isNumericParameter = (s: SweepSummary, p: string) => s.parameters[p]!.every((v) => typeof v === 'number');

/** The swept parameters a chart can have on its x axis: each varied dimension's first parameter, when numeric. */
export function sweepParameters(s: SweepSummary): string[] {
  return sweepDimensions(s)
    .map((d) => d[0]!)
    .filter((p) => isNumericParameter(s, p));
}

/** The gain columns of sweep.csv: per mode, the metrics where higher is better (speedup and energy gain over its reference). */
export function gainColumns(s: SweepSummary): string[] {
  return s.modes.flatMap((m) =>
    sweepMetrics(m, metricOptions(s))
      .filter((x) => x.better === 'higher')
      .map((x) => x.column(m)),
  );
}

/** A gain (×, > 1 is better) per sweep point: a line of a gain chart, or a heat map. */
interface GainSource {
  /** The line's name, e.g. `energy gain delta`. */
  name: string;
  /** The heat map's title, e.g. `Energy gain of delta over dense on the same point`. */
  title: string;
  /** The heat map's file key. */
  key: string;
  mode: Mode;
  speedup: boolean;
  /** Its value at row i (undefined where the point lacks the mode). */
  value: (i: number) => number | undefined;
}

/** Per non-dense mode, its speedup and energy gain over dense on the same point (sweep.csv's gain columns). */
function gainsOverDense(run: SweepData): GainSource[] {
  const t = run.sweep;
  return run.summary.modes.flatMap((mode) =>
    sweepMetrics(mode, metricOptions(run.summary))
      .filter((x) => x.better === 'higher')
      .map((x) => {
        const column = x.column(mode);
        const speedup = x.key === 'speedup';
        return {
          name: column.replace(/_/g, ' '),
          title: `${speedup ? 'Speedup' : 'Energy gain'} of ${mode} over dense on the same point${speedup ? '' : ' (active frame)'}`,
          key: column,
          mode,
          speedup,
          value: (i: number) => cellNumber(t, i, column),
        };
      }),
  );
}

/** `over`'s latency or energy divided by `mode`'s, per point: a gain of `mode` over `over` (both on the point). */
function ratioSource(run: SweepData, mode: Mode, over: Mode, speedup: boolean): GainSource {
  const t = run.sweep;
  const col = (m: Mode) => sweepColumn(speedup ? 'latency' : 'energy', m);
  const what = speedup ? 'speedup' : 'energy gain';
  return {
    name: `${what} ${mode}`,
    title: `${speedup ? 'Speedup' : 'Energy gain'} of ${mode} over ${over} on the same point${speedup ? '' : ' (active frame)'}`,
    key: `${what.replace(' ', '_')}_${mode}_vs_${over}`,
    mode,
    speedup,
    value: (i) => {
      const a = cellNumber(t, i, col(over));
      const b = cellNumber(t, i, col(mode));
      return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
    },
  };
}

/** Every mode's speedup (by time: clocks may differ) and energy gain over the fixed baseline's dense run. */
function gainsOverBaseline(run: SweepData): GainSource[] {
  const b = run.summary.baseline;
  if (!b) return [];
  const t = run.sweep;
  return run.summary.modes.flatMap((mode) =>
    [true, false].map((speedup) => {
      const column = sweepColumn(speedup ? 'latency' : 'energy', mode);
      const ref = speedup ? b.latencyUs : b.energyPJ;
      return {
        name: `${speedup ? 'speedup' : 'energy gain'} ${mode}`,
        title: `${speedup ? 'Speedup' : 'Energy gain'} of ${mode} over dense @ ${b.hwModel}`,
        key: `${speedup ? 'speedup' : 'energy_gain'}_${mode}_vs_baseline`,
        mode,
        speedup,
        value: (i: number) => {
          const v = cellNumber(t, i, column);
          return v !== undefined && v > 0 ? ref / v : undefined;
        },
      };
    }),
  );
}

/** The median (the mean of the middle two of an even count) and the range of some numbers. */
export function spread(xs: number[]): { y: number; lo: number; hi: number } {
  const v = [...xs].sort((a, b) => a - b);
  const k = v.length >> 1;
  return { y: v.length % 2 ? v[k]! : (v[k - 1]! + v[k]!) / 2, lo: v[0]!, hi: v.at(-1)! };
}

/** One chart per numeric dimension: each source's median over the other dimensions at each value, with its min–max. */
function seriesOver(run: SweepData, sources: GainSource[], reference?: string): SweepSeries[] {
  if (sources.length === 0) return [];
  const t = run.sweep;
  const dims = sweepDimensions(run.summary);
  const index = t.rows.map((_, i) => i);
  return dims
    .filter((d) => isNumericParameter(run.summary, d[0]!))
    .map((d) => {
      const byX = groupBy(index, (i) => t.rows[i]![d[0]!]!);
      const others = dims.filter((o) => o !== d).map(dimensionLabel);
      const lines: SweepLine[] = sources.map((src) => ({
        name: src.name,
        mode: src.mode,
        dashed: src.speedup,
        points: [...byX].flatMap(([x, is]) => {
          // A point whose hw-model cannot run the mode has empty cells: left out.
          const ys = is.map(src.value).filter((y): y is number => y !== undefined);
          return ys.length ? [{ x: Number(x), ...spread(ys) }] : [];
        }),
      }));
      return {
        parameter: dimensionLabel(d),
        lines,
        ...(others.length
          ? { note: `median over ${others.join(' × ')}; band: min–max; dashed, hollow: speedup` }
          : { note: 'dashed, hollow: speedup' }),
        ...(reference ? { reference } : {}),
      };
    });
}

/** Speedup and energy gain over dense on the same point against each numeric dimension. */
export function sweepSeries(run: SweepData): SweepSeries[] {
  return seriesOver(run, gainsOverDense(run));
}

/** Every mode's speedup and energy gain over the fixed baseline (`--baseline`) against each numeric dimension. */
export function baselineSeries(run: SweepData): SweepSeries[] {
  const b = run.summary.baseline;
  return b ? seriesOver(run, gainsOverBaseline(run), `dense @ ${b.hwModel}`) : [];
}

const shortName = (p: string) => p.replace(/^(arch|sim)\./, '').replace(/^memories\./, '');

/** Latency (µs) and energy of the active frame (µJ) of every sweep point in every mode, labelled `mode: parameters`. */
export function paretoPoints(run: SweepData): ParetoPoint[] | undefined {
  const t = run.sweep;
  const params = sweepDimensions(run.summary).flat();
  const points = run.summary.modes.flatMap((mode) => {
    const lat = sweepColumn('latency', mode);
    const en = sweepColumn('energy', mode);
    return t.rows.flatMap((r, i) => {
      const l = cellNumber(t, i, lat);
      const e = cellNumber(t, i, en);
      if (l === undefined || e === undefined) return [];
      const label = params.map((p) => `${shortName(p)}=${r[p]}`).join(', ');
      return [{ latencyUs: l, energyUj: e * 1e-6, label: label ? `${mode}: ${label}` : mode, mode }];
    });
  });
  return points.length >= 2 ? points : undefined;
}

/** The fixed baseline's dense run as a point of the Pareto chart. */
export function paretoBaseline(s: SweepSummary): ParetoPoint | undefined {
  const b = s.baseline;
  return b ? { latencyUs: b.latencyUs, energyUj: b.energyPJ * 1e-6, label: `baseline: dense @ ${b.hwModel}` } : undefined;
}

/**
 * Heat maps of a two-dimensional grid (exactly two dimensions vary): per mode its gains over dense on
 * the point, and delta's over sparse where both ran (the zero-skipping array delta has to beat). The
 * last dimension (the odometer's fastest) runs across.
 */
export function sweepHeatmaps(run: SweepData): { key: string; heatmap: Heatmap }[] {
  const s = run.summary;
  const dims = sweepDimensions(s);
  if (dims.length !== 2) return [];
  const [dy, dx] = dims as [string[], string[]];
  const t = run.sweep;
  const labels = (d: string[]) => s.parameters[d[0]!]!.map((_, k) => d.map((n) => String(s.parameters[n]![k])).join(' / '));
  const at = (d: string[]) => (i: number) => s.parameters[d[0]!]!.findIndex((v) => String(v) === t.rows[i]![d[0]!]);
  const [yOf, xOf] = [at(dy), at(dx)];
  const both = s.modes.includes('sparse') && s.modes.includes('delta');
  const sources = [
    ...gainsOverDense(run),
    ...(both ? [ratioSource(run, 'delta', 'sparse', true), ratioSource(run, 'delta', 'sparse', false)] : []),
  ];
  const names = (d: string[]) => d.join(' / ');
  return sources.map((src) => {
    const cells = labels(dy).map((_, yi) =>
      labels(dx).map((_, xi) => {
        const ys = t.rows.flatMap((_, i) => (yOf(i) === yi && xOf(i) === xi ? [src.value(i)] : [])).filter((v) => v !== undefined);
        return ys.length ? spread(ys).y : undefined;
      }),
    );
    return {
      key: src.key,
      heatmap: {
        title: src.title,
        subtitle: `> 1× (green) is better${cells.flat().includes(undefined) ? `; —: the point cannot run ${src.mode}` : ''}`,
        xName: names(dx),
        yName: names(dy),
        xs: labels(dx),
        ys: labels(dy),
        cells,
      },
    };
  });
}

// --- sensitivity derivations (simulate --sensitivity) ---------------------------------------

/** How many parameters a tornado chart draws (the table has them all). */
export const TORNADO_ROWS = 15;

const gainAt = (side: SensitivitySide, m: SensitivityMetric) => ('gains' in side ? (side.gains[m] ?? undefined) : undefined);

/** A side's value, or that the schema refused it (the note says why). */
const sideValue = (side: SensitivitySide) => ('error' in side ? `${side.value} invalid` : String(side.value));

/** The tornado charts of a sensitivity: speedup and active-frame energy gain, the keys that move each, by swing. */
export function sensitivityTornados(s: Sensitivity): { metric: SensitivityMetric; tornado: Tornado }[] {
  return (['speedup', 'energyGain'] as const).flatMap((m) => {
    const nominal = s.nominal[m];
    if (nominal === null) return [];
    const moved = s.parameters
      .filter((p) => (p.swing[m] ?? 0) > 0)
      .sort((a, b) => b.swing[m]! - a.swing[m]! || (a.parameter < b.parameter ? -1 : 1));
    const bars = moved.slice(0, TORNADO_ROWS).map((p) => ({
      name: `${p.parameter} (${sideValue(p.low)} / ${p.nominal} / ${sideValue(p.high)})`,
      low: gainAt(p.low, m),
      high: gainAt(p.high, m),
      flips: p.flips.includes(m),
    }));
    const still = s.parameters.length - moved.length;
    const what = `${METRIC_TEXT[m]} of ${s.mode} over ${s.reference} on the same perturbed hw-model`;
    return [
      {
        metric: m,
        tornado: {
          title: `Sensitivity of the ${what}`,
          subtitle:
            `each key ÷${s.factor} and ×${s.factor} alone, from nominal ${nominal}×; red: the gain crosses 1×` +
            (moved.length > bars.length ? `; the ${bars.length} largest swings of ${moved.length}` : '') +
            (still ? `; ${still} key${still === 1 ? '' : 's'} with no effect not drawn` : ''),
          axis: `${what} (×)`,
          nominal,
          lowLabel: `key ÷${s.factor}`,
          highLabel: `key ×${s.factor}`,
          bars,
        },
      },
    ];
  });
}

/** The sensitivity as a table: every varied key by rank (values tried, each gain low / nominal / high, flips), then the skipped ones. */
export function sensitivityTable(s: Sensitivity): DisplayTable {
  const metrics = SENSITIVITY_METRICS.filter((m) => s.nominal[m] !== null);
  // As stored (6 significant digits): a gain just across 1× must not read as 1×.
  const gain = (v: number | undefined): Cell => (v === undefined ? { text: '—' } : { text: `${v}×`, numeric: true });
  const rows: Cell[][] = s.parameters.map((p, i) => [
    { text: `${i + 1}. ${p.parameter}`, head: true },
    { text: `${sideValue(p.low)} / ${p.nominal} / ${sideValue(p.high)}` },
    ...metrics.flatMap((m) => [gain(gainAt(p.low, m)), gain(gainAt(p.high, m)), gain(p.swing[m] ?? undefined)]),
    p.flips.length ? { text: p.flips.map((m) => METRIC_TEXT[m]).join(', '), flag: true } : { text: '—' },
    {
      text:
        (['low', 'high'] as const)
          .flatMap((k) => {
            const side = p[k];
            return 'error' in side ? [`${k} ${side.value} not run: ${side.error}`] : [];
          })
          .join('; ') || '—',
    },
  ]);
  for (const k of s.skipped)
    rows.push([
      { text: k.parameter, head: true },
      { text: String(k.nominal) },
      ...metrics.flatMap(() => [{ text: '—' }, { text: '—' }, { text: '—' }]),
      { text: '—' },
      { text: `skipped: ${k.reason}` },
    ]);
  return {
    columns: [
      'parameter (by swing)',
      'low / nominal / high value',
      ...metrics.flatMap((m) => [`${METRIC_TEXT[m]} at low (×)`, `${METRIC_TEXT[m]} at high (×)`, `${METRIC_TEXT[m]} swing (×)`]),
      'flips (crosses 1×)',
      'note',
    ],
    rows,
    note:
      `${s.mode} on ${s.hwModel}, each numeric key ÷${s.factor} and ×${s.factor} alone; every gain is against ${s.reference} on the same ` +
      `perturbed hw-model. Nominal: ${metrics.map((m) => `${METRIC_TEXT[m]} ${s.nominal[m]}×`).join(', ')}. ` +
      `Swing: the largest minus the smallest gain of low, nominal and high. ${RUN_FILES.sensitivity} has every value.`,
  };
}
