/**
 * One-at-a-time sensitivity of a mode's gains to the hw-model's parameters: every numeric key of the
 * hw-model (its JSON, dotted paths, whatever its kind has) is set to a low and a high value around its
 * nominal, one key at a time, and the mode's speedup and energy gain over its reference are recorded at
 * low / nominal / high, then ranked by swing. A flip is a gain that crosses 1× (the mode wins on one
 * side and loses on another).
 *
 * The reference run of every point is the mode's reference (modes.ts: dense) on the same perturbed
 * hw-model, as the console's "speedup" and "energy gain" columns: one thing changes at a time, and the
 * comparison is the one the run reports. A perturbed hw-model is built as a sweep point is (patch.ts):
 * its JSON patched and re-validated against hw-models/schema.json, so a value the schema refuses is
 * reported as that side skipped, with the schema's reason, never a crash.
 */
import { stringify } from 'csv-stringify/sync';
import { InputError } from '../lib/errors.js';
import { parseHwModelJson, type HwModel } from './hw-model.js';
import { MODE_TABLE, supportedModes, type Mode } from './modes.js';
import { simulate, type Workload } from './simulate.js';
import type { ModeSummary } from './summary.js';
import { bareMessage, patchSpec, specOf } from './sweep/patch.js';

/** Low = nominal ÷ FACTOR, high = nominal × FACTOR (powers of two stay powers of two). */
export const SENSITIVITY_FACTOR = 2;

/** The gains recorded, as ModeSummary fields: vs the reference, per active frame and (with fps) per frame period. */
export const SENSITIVITY_METRICS = ['speedup', 'energyGain', 'periodEnergyGain'] as const;
export type SensitivityMetric = (typeof SENSITIVITY_METRICS)[number];

const FIELD: Record<SensitivityMetric, (s: ModeSummary) => number | null> = {
  speedup: (s) => s.speedupVsDense,
  energyGain: (s) => s.energyGainVsDense,
  periodEnergyGain: (s) => s.periodEnergyGainVsDense,
};

/** A run's gains (6 significant digits: the text is stable and swings and flips are read from what is written). */
export type Gains = Record<SensitivityMetric, number | null>;

/** One side of a parameter: the value tried and the gains there, or why it could not run. */
export type SensitivitySide = { value: number; gains: Gains } | { value: number; error: string };

export interface SensitivityParameter {
  /** Dotted path into the hw-model JSON (as a sweep's `arch.` parameters, without the prefix). */
  parameter: string;
  nominal: number;
  low: SensitivitySide;
  high: SensitivitySide;
  /** Max − min of the gain over low, nominal and high (the sides that ran); null for a metric the run has not. */
  swing: Record<SensitivityMetric, number | null>;
  /** The metrics whose gain is above 1× at one of low / nominal / high and below it at another. */
  flips: SensitivityMetric[];
}

export interface Sensitivity {
  mode: Mode;
  /** What every gain is measured against: the mode's reference on the same (perturbed) hw-model. */
  reference: Mode;
  hwModel: string;
  factor: number;
  fps: number | null;
  nominal: Gains;
  /** Ranked: largest swing (of any metric) first, then by name. */
  parameters: SensitivityParameter[];
  /** Numeric keys not varied, in the hw-model's key order, and why. */
  skipped: { parameter: string; nominal: number; reason: string }[];
}

export interface SensitivityOptions {
  /** The mode whose gains are studied: one with a reference other than itself (sparse, delta). */
  mode: Mode;
  fps?: number;
  weightDensity?: number;
}

/**
 * The mode `--sensitivity` studies: the one asked for, or for `all` delta where the hw-model runs it,
 * else the first other mode it runs with a reference (sparse). A reference mode (dense) has no gain.
 */
export function sensitivityMode(hw: HwModel, mode: Mode | 'all'): Mode {
  const gainful = (m: Mode) => MODE_TABLE[m].reference !== m;
  if (mode !== 'all') {
    if (!gainful(mode))
      throw new InputError(`--sensitivity measures a mode's gains over ${MODE_TABLE[mode].reference}: give --mode sparse, delta or all`);
    return mode;
  }
  const runs = supportedModes(hw).filter(gainful);
  const m = runs.includes('delta') ? 'delta' : runs[0];
  if (!m)
    throw new InputError(`--sensitivity needs a hw-model that runs a mode besides dense; "${hw.name}" runs only dense`, {
      file: hw.source,
    });
  return m;
}

/** Every numeric key of a JSON object, as dotted paths in key order (arrays are not walked). */
export function numericKeys(o: unknown, prefix = ''): { path: string; value: number }[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [];
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'number' && Number.isFinite(v) ? [{ path: prefix + k, value: v }] : numericKeys(v, `${prefix}${k}.`),
  );
}

const sig6 = (x: number): number => Number(x.toPrecision(6));

function gainsOf(s: ModeSummary): Gains {
  const g = {} as Gains;
  for (const m of SENSITIVITY_METRICS) {
    const v = FIELD[m](s);
    g[m] = v === null ? null : sig6(v);
  }
  return g;
}

/** The values tried below the nominal: ÷ factor, else (an integer the schema wants whole) its floor. */
const lowCandidates = (v: number, f: number): number[] => [...new Set([v / f, Math.floor(v / f)])].filter((x) => x !== v);

/**
 * Vary every numeric key of `hw` one at a time (÷ and × SENSITIVITY_FACTOR) and record `o.mode`'s gains
 * over its reference on each perturbed hw-model. `w` is simulated 2 × keys + 1 times: give one that
 * replays cheaply (a topology, or `activityWorkload(traceActivity(...))`).
 */
export function sensitivity(w: Workload, hw: HwModel, o: SensitivityOptions): Sensitivity {
  const mode = o.mode;
  const reference = MODE_TABLE[mode].reference;
  if (reference === mode) throw new InputError(`sensitivity: mode "${mode}" is its own reference and has no gain`);
  const run = (h: HwModel): Gains => {
    const r = simulate(w, h, { mode, fps: o.fps, weightDensity: o.weightDensity });
    return gainsOf(r.modes.find((s) => s.mode === mode)!);
  };
  const nominal = run(hw);
  const spec = specOf(hw);
  // A perturbed hw-model: the JSON patched at `path` and re-validated, as a sweep point (relative energy paths resolve from the file).
  const side = (path: string, values: number[]): SensitivitySide => {
    let first: { value: number; error: string } | undefined;
    for (const value of values) {
      try {
        return { value, gains: run(parseHwModelJson(JSON.stringify(patchSpec(spec, path, value, hw.source)), hw.source)) };
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        const at = e.where.pointer ? `${e.where.pointer}: ` : '';
        first ??= { value, error: `${at}${bareMessage(e)}` };
      }
    }
    return first!;
  };
  const parameters: SensitivityParameter[] = [];
  const skipped: Sensitivity['skipped'] = [];
  for (const { path, value } of numericKeys(spec)) {
    const lows = lowCandidates(value, SENSITIVITY_FACTOR);
    const high = value * SENSITIVITY_FACTOR;
    if (lows.length === 0 || high === value) {
      skipped.push({ parameter: path, nominal: value, reason: `nominal ${value}: scaling by ${SENSITIVITY_FACTOR} leaves it unchanged` });
      continue;
    }
    const p = { parameter: path, nominal: value, low: side(path, lows), high: side(path, [high]) };
    if ('error' in p.low && 'error' in p.high) {
      skipped.push({
        parameter: path,
        nominal: value,
        reason: `invalid when divided (${p.low.error}) and when multiplied (${p.high.error})`,
      });
      continue;
    }
    parameters.push({ ...p, ...spread(nominal, p.low, p.high) });
  }
  const top = (p: SensitivityParameter) => Math.max(...SENSITIVITY_METRICS.map((m) => p.swing[m] ?? 0));
  parameters.sort((a, b) => top(b) - top(a) || (a.parameter < b.parameter ? -1 : a.parameter > b.parameter ? 1 : 0));
  return { mode, reference, hwModel: hw.name, factor: SENSITIVITY_FACTOR, fps: o.fps ?? w.fps, nominal, parameters, skipped };
}

/** Swing and flips of each metric over the sides that ran. */
function spread(nominal: Gains, low: SensitivitySide, high: SensitivitySide): Pick<SensitivityParameter, 'swing' | 'flips'> {
  const ran = [nominal, ...[low, high].flatMap((s) => ('gains' in s ? [s.gains] : []))];
  const swing = {} as SensitivityParameter['swing'];
  const flips: SensitivityMetric[] = [];
  for (const m of SENSITIVITY_METRICS) {
    const vs = ran.map((g) => g[m]).filter((v): v is number => v !== null);
    swing[m] = vs.length < 2 ? null : sig6(Math.max(...vs) - Math.min(...vs));
    if (vs.some((v) => v > 1) && vs.some((v) => v < 1)) flips.push(m);
  }
  return { swing, flips };
}

/** A metric's name in sensitivity.csv's columns and its `flips` cell. */
export const METRIC_COLUMN: Record<SensitivityMetric, string> = {
  speedup: 'speedup',
  energyGain: 'energy_gain',
  periodEnergyGain: 'period_energy_gain',
};

/**
 * sensitivity.csv's columns: the rank (empty for a skipped key), the key, its nominal and the low and high values
 * tried, per metric its gain at low / nominal / high and its swing, the metrics that flip, and a note (why a side
 * or the whole key was skipped).
 */
export const SENSITIVITY_COLUMNS = [
  'rank',
  'parameter',
  'nominal',
  'low',
  'high',
  ...SENSITIVITY_METRICS.flatMap((m) => ['low', 'nominal', 'high', 'swing'].map((k) => `${METRIC_COLUMN[m]}_${k}`)),
  'flips',
  'note',
] as const;

/** sensitivity.csv: the ranked parameters, then the skipped ones (rank empty). Empty cells: a side that did not run, a metric without fps. */
export function sensitivityCsv(s: Sensitivity): string {
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? '' : v);
  const gainsAt = (side: SensitivitySide) => ('gains' in side ? side.gains : undefined);
  const rows: (string | number)[][] = s.parameters.map((p, i) => {
    const notes = (['low', 'high'] as const).flatMap((k) => {
      const side = p[k];
      return 'error' in side ? [`${k} ${side.value} not run: ${side.error}`] : [];
    });
    return [
      i + 1,
      p.parameter,
      p.nominal,
      p.low.value,
      p.high.value,
      ...SENSITIVITY_METRICS.flatMap((m) => [cell(gainsAt(p.low)?.[m]), cell(s.nominal[m]), cell(gainsAt(p.high)?.[m]), cell(p.swing[m])]),
      p.flips.map((m) => METRIC_COLUMN[m]).join(';'),
      notes.join('; '),
    ];
  });
  const blanks = SENSITIVITY_METRICS.flatMap(() => ['', '', '', '']);
  for (const k of s.skipped) rows.push(['', k.parameter, k.nominal, '', '', ...blanks, '', `skipped: ${k.reason}`]);
  return stringify([[...SENSITIVITY_COLUMNS], ...rows]);
}

export const SENSITIVITY_FORMAT = 'deltasim-sensitivity';
/** sensitivity.json's version: 1 = this layout (the Sensitivity object after the header). */
export const SENSITIVITY_VERSION = 1;

/** sensitivity.json: a header, then the Sensitivity (gains already to 6 significant digits). */
export function sensitivityJson(s: Sensitivity): string {
  return `${JSON.stringify({ format: SENSITIVITY_FORMAT, version: SENSITIVITY_VERSION, ...s }, null, 2)}\n`;
}
