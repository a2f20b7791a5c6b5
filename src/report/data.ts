/**
 * Reading a run directory and turning its files into chart and table inputs.
 * Tolerant by design: every file and column is optional except summary.json; a derivation
 * whose columns are absent returns undefined and the report simply leaves that part out.
 *
 * Columns used (by name, case as written by `deltasim simulate` / `sweep`):
 * - layers.csv: frame (empty without a trace), layer, mode, cycles, latency_us (optional),
 *   energy components: every `*_pj` column but the total `energy_pj`,
 *   spatial_sparsity | activation_sparsity, temporal_sparsity (fractions).
 * - sweep.csv: parameters = dotted hw-model paths (peArray.rows) or *threshold*; metrics
 *   speedup*, energy_gain*, latency*_<unit>, energy*_<unit>; optional mode column.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../../traces/errors.js';
import { asNumber } from './format.js';
import type { EnergyBreakdown, FrameSeries, LayerSparsity, ParetoPoint, SweepSeries } from './charts.js';

export type CsvRow = Record<string, string>;
export interface CsvTable {
  file: string;
  columns: string[];
  rows: CsvRow[];
}

export interface RunData {
  dir: string;
  summary: unknown;
  /** run.json: the exact argv and package versions, when present. */
  run?: unknown;
  layers?: CsvTable;
  sweep?: CsvTable;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`not valid JSON (${(e as Error).message})`, { file });
  }
}

export function readCsv(file: string): CsvTable {
  let records: string[][];
  try {
    records = parse(readFileSync(file, 'utf8'), { skip_empty_lines: true });
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw new InputError(`not valid CSV (${(e as Error).message})`, { file, ...(line !== undefined ? { line } : {}) });
  }
  const [columns = [], ...body] = records;
  const rows = body.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ''])));
  return { file, columns, rows };
}

/** Load what a run directory holds. It must exist and hold summary.json. */
export function loadRun(dir: string): RunData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError('run directory not found', { file: dir });
  const at = (name: string) => join(dir, name);
  if (!existsSync(at('summary.json'))) {
    throw new InputError('no summary.json: not a deltasim run directory (run `deltasim simulate` first)', { file: dir });
  }
  const data: RunData = { dir, summary: readJson(at('summary.json')) };
  if (existsSync(at('run.json'))) data.run = readJson(at('run.json'));
  if (existsSync(at('layers.csv'))) data.layers = readCsv(at('layers.csv'));
  if (existsSync(at('sweep.csv'))) data.sweep = readCsv(at('sweep.csv'));
  return data;
}

// --- small helpers ---------------------------------------------------------------------------

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Group rows by a key, keeping first-seen order. */
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

const hasFrames = (t: CsvTable) => t.columns.includes('frame') && t.rows.some((r) => r.frame !== '');
const num = (r: CsvRow, c: string) => asNumber(r[c]) ?? 0;

/** Multipliers to µs / µJ from a column's unit suffix. */
const TIME_TO_US: Record<string, number> = { ns: 1e-3, us: 1, ms: 1e3, s: 1e6 };
const ENERGY_TO_UJ: Record<string, number> = { pj: 1e-6, nj: 1e-3, uj: 1, mj: 1e3, j: 1e6 };
const suffix = (c: string) => c.toLowerCase().match(/_([a-z]+)$/)?.[1] ?? '';

const CLOCK_TO_MHZ: Record<string, number> = { hz: 1e-6, mhz: 1, ghz: 1e3 };

/** The clock in MHz, wherever summary.json or run.json states it (clock_mhz, clockMHz, clock.mhz, clock_hz …). */
export function findClockMHz(...docs: unknown[]): number | undefined {
  const walk = (v: unknown, parent: string): number | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    for (const [k, x] of Object.entries(v)) {
      const key = (parent === 'clock' ? 'clock' : '') + k.toLowerCase().replace(/[^a-z]/g, '');
      const m = typeof x === 'number' && x > 0 ? key.match(/^(?:clock|frequency|freq)(?:frequency)?(hz|mhz|ghz)$/) : null;
      if (m) return (x as number) * CLOCK_TO_MHZ[m[1]!]!;
      const found = walk(x, k.toLowerCase());
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const d of docs) {
    const f = walk(d, '');
    if (f !== undefined) return f;
  }
  return undefined;
}

// --- layers.csv derivations ------------------------------------------------------------------

/**
 * Frame latency per mode (sum over layers), in µs when latency_us is there or the clock is
 * known, else in cycles. Undefined without at least two frames.
 */
export function frameLatency(t: CsvTable, clockMHz?: number): { series: FrameSeries[]; unit: string } | undefined {
  if (!hasFrames(t) || !t.columns.includes('mode')) return undefined;
  const direct = t.columns.includes('latency_us');
  if (!direct && !t.columns.includes('cycles')) return undefined;
  const unit = direct || clockMHz ? 'µs' : 'cycles';
  const value = (r: CsvRow) => (direct ? num(r, 'latency_us') : clockMHz ? num(r, 'cycles') / clockMHz : num(r, 'cycles'));
  const series: FrameSeries[] = [];
  for (const [mode, rows] of groupBy(t.rows, (r) => r.mode!)) {
    const perFrame: number[] = [];
    for (const r of rows) {
      const f = asNumber(r.frame);
      if (f === undefined || f < 0 || !Number.isInteger(f)) continue;
      perFrame[f] = (perFrame[f] ?? 0) + value(r);
    }
    series.push({ mode, values: Array.from(perFrame, (v) => v ?? 0) });
  }
  return series.some((s) => s.values.length >= 2) ? { series, unit } : undefined;
}

const TOTAL_ENERGY = new Set(['energy', 'total', 'energy_total', 'total_energy']);

/**
 * The energy-component columns: every `*_pj` column but the total, named without `energy_` /
 * `_energy` (energy_compute_pj, compute_pj and sram_ifmap_pj are all components).
 */
export function energyComponents(columns: string[]): { column: string; name: string }[] {
  return columns.flatMap((column) => {
    const stem = column.match(/^(.+)_pj$/i)?.[1];
    if (stem === undefined || TOTAL_ENERGY.has(stem.toLowerCase())) return [];
    return [{ column, name: stem.replace(/^energy_|_energy$/i, '').replace(/_/g, ' ') }];
  });
}

/** Mean energy per frame of each mode, by component, in µJ. */
export function energyBreakdown(t: CsvTable): EnergyBreakdown[] | undefined {
  const comps = energyComponents(t.columns);
  if (comps.length === 0 || !t.columns.includes('mode')) return undefined;
  const out: EnergyBreakdown[] = [];
  for (const [mode, rows] of groupBy(t.rows, (r) => r.mode!)) {
    const frames = Math.max(1, new Set(rows.map((r) => r.frame ?? '')).size);
    const components: Record<string, number> = {};
    for (const { column, name } of comps) components[name] = (rows.reduce((a, r) => a + num(r, column), 0) * 1e-6) / frames;
    out.push({ mode, components });
  }
  return out;
}

/** Mean spatial and temporal sparsity of each layer over its rows. */
export function layerSparsity(t: CsvTable): LayerSparsity[] | undefined {
  const spatial = ['spatial_sparsity', 'activation_sparsity'].find((c) => t.columns.includes(c));
  if (!spatial || !t.columns.includes('temporal_sparsity')) return undefined;
  const meanOf = (rows: CsvRow[], c: string) => {
    const xs = rows.map((r) => asNumber(r[c])).filter((x): x is number => x !== undefined);
    return xs.length ? mean(xs) : 0;
  };
  return [...groupBy(t.rows, (r) => r.layer ?? '')].map(([layer, rows]) => ({
    layer,
    spatial: meanOf(rows, spatial),
    temporal: meanOf(rows, 'temporal_sparsity'),
  }));
}

/** A display cell: the main value and an optional second line (e.g. p95). */
export interface Cell {
  text: string;
  sub?: string;
  numeric?: boolean;
}
export interface DisplayTable {
  columns: string[];
  rows: Cell[][];
  note?: string;
}

/**
 * The per-layer table. Per-frame rows are aggregated per layer × mode (mean, with p95 below);
 * rows without frames are shown as they are. `format(column, value)` renders numbers.
 */
export function layerTable(t: CsvTable, format: (column: string, v: number) => string): DisplayTable {
  const keys = ['layer', 'mode'].filter((c) => t.columns.includes(c));
  const rest = t.columns.filter((c) => c !== 'frame' && !keys.includes(c));
  const numeric = rest.filter((c) => t.rows.every((r) => r[c] === '' || asNumber(r[c]) !== undefined));
  const cell = (c: string, v: string): Cell => {
    const n = asNumber(v);
    return n === undefined ? { text: v } : { text: format(c, n), numeric: true };
  };
  if (!hasFrames(t)) {
    return { columns: [...keys, ...rest], rows: t.rows.map((r) => [...keys, ...rest].map((c) => cell(c, r[c] ?? ''))) };
  }
  const groups = groupBy(t.rows, (r) => keys.map((k) => r[k]).join('\u0000'));
  const rows = [...groups.values()].map((g) => [
    ...keys.map((k) => ({ text: g[0]![k] ?? '' })),
    { text: String(new Set(g.map((r) => r.frame)).size), numeric: true },
    ...numeric.map((c): Cell => {
      const xs = g.map((r) => asNumber(r[c])).filter((x): x is number => x !== undefined);
      return xs.length ? { text: format(c, mean(xs)), sub: `p95 ${format(c, percentile(xs, 95))}`, numeric: true } : { text: '—' };
    }),
  ]);
  const skipped = rest.filter((c) => !numeric.includes(c));
  return {
    columns: [...keys, 'frames', ...numeric],
    rows,
    note:
      `${t.rows.length} per-frame rows aggregated per ${keys.join(' × ')} over frames: mean, with the 95th percentile below.` +
      (skipped.length ? ` Non-numeric columns left out: ${skipped.join(', ')}.` : ''),
  };
}

// --- sweep.csv derivations -------------------------------------------------------------------

const isGainColumn = (c: string) => /^(speedup|energy_?gain)/i.test(c);

/** The swept parameters: dotted hw-model paths or thresholds, with more than one value. */
export function sweepParameters(t: CsvTable): string[] {
  return t.columns.filter(
    (c) =>
      (c.includes('.') || /threshold/i.test(c)) &&
      t.rows.every((r) => asNumber(r[c]) !== undefined) &&
      new Set(t.rows.map((r) => r[c])).size > 1,
  );
}

/** Only the delta rows when the sweep lists several modes: the gains are delta's. */
function sweepRows(t: CsvTable): CsvRow[] {
  return t.columns.includes('mode') && t.rows.some((r) => r.mode === 'delta') ? t.rows.filter((r) => r.mode === 'delta') : t.rows;
}

/** Speedup and energy gain against each swept parameter (mean over the other parameters' values). */
export function sweepSeries(t: CsvTable): SweepSeries[] {
  const params = sweepParameters(t);
  const gains = t.columns.filter(isGainColumn);
  if (gains.length === 0) return [];
  const rows = sweepRows(t);
  return params.map((p) => {
    const byX = groupBy(rows, (r) => r[p]!);
    const others = params.filter((q) => q !== p);
    return {
      parameter: p,
      lines: gains.map((g) => ({
        name: g.replace(/_/g, ' '),
        points: [...byX].map(([x, rs]) => ({ x: Number(x), y: mean(rs.map((r) => num(r, g))) })),
      })),
      ...(others.length ? { note: `mean over ${others.join(', ')}` } : {}),
    };
  });
}

function pickColumn(t: CsvTable, ok: (c: string) => boolean): string | undefined {
  const cs = t.columns.filter(ok);
  return cs.find((c) => /delta/i.test(c)) ?? cs.find((c) => /mean/i.test(c)) ?? cs[0];
}

/** Latency (µs) and energy (µJ) per frame of every sweep point, labelled by its parameters. */
export function paretoPoints(t: CsvTable): ParetoPoint[] | undefined {
  const lat = pickColumn(t, (c) => /^latency/i.test(c) && suffix(c) in TIME_TO_US);
  const en = pickColumn(t, (c) => /^energy/i.test(c) && !isGainColumn(c) && suffix(c) in ENERGY_TO_UJ);
  if (!lat || !en) return undefined;
  const params = sweepParameters(t);
  const short = (p: string) => p.split('.').pop()!;
  const points = sweepRows(t).map((r) => ({
    latencyUs: num(r, lat) * TIME_TO_US[suffix(lat)]!,
    energyUj: num(r, en) * ENERGY_TO_UJ[suffix(en)]!,
    label: params.map((p) => `${short(p)}=${r[p]}`).join(', '),
  }));
  return points.length >= 2 ? points : undefined;
}
