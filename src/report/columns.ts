/**
 * Plain column headers for the report's tables, each with its unit, and the cell values in that
 * unit: `energy_delta_pj` reads "delta: energy of the active frame (µJ)", `ifmap_sram_bw_needed` reads
 * "ifmap SRAM bandwidth needed (B/cycle)". The unit is in the header, so cells are plain numbers.
 */
import { type SWEEP_METRICS, sweepMetrics } from '../../sim/run-dir.js';
import type { Mode } from '../../sim/modes.js';

/** How one column is shown: its header (unit included) and a value converted to that unit. */
export interface Measure {
  header: string;
  /** From the file's unit to the header's (default: as it is). */
  scale?: number;
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const sig4 = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });

/** A number for a cell whose unit is in the header: whole numbers with separators, else 4 significant digits. */
export function plainNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) || Math.abs(v) >= 1000 ? int.format(v) : sig4.format(v);
}

/** A value of `m`'s column as its cell text. */
export const showMeasure = (m: Measure, v: number): string => plainNumber(v * (m.scale ?? 1));

const WORDS: Record<string, string> = { macs: 'MACs', sram: 'SRAM', dram: 'DRAM', bw: 'bandwidth', bound: 'bound by', us: 'µs' };
const words = (snake: string) =>
  snake
    .split('_')
    .map((w) => WORDS[w] ?? w)
    .join(' ');

/** A layers.csv column (LAYER_COLUMNS): energies in nJ (a layer's share of a frame), the rest in the file's unit. */
export function layerMeasure(column: string): Measure {
  if (column === 'energy_pj') return { header: 'energy (nJ)', scale: 1e-3 };
  const rules: [RegExp, (m: RegExpExecArray) => Measure][] = [
    [/^energy_(.+)_pj$/, (m) => ({ header: `${words(m[1]!)} energy (nJ)`, scale: 1e-3 })],
    [/^(.+)_us$/, (m) => ({ header: `${words(m[1]!)} (µs)` })],
    [/^(.+)_bw_(needed|available)$/, (m) => ({ header: `${words(m[1]!)} bandwidth ${m[2]} (B/cycle)` })],
    [/^(.+)_bytes$/, (m) => ({ header: `${words(m[1]!)} (bytes)` })],
    [/^(.+)_pct$/, (m) => ({ header: `${words(m[1]!)} (%)` })],
    [/sparsity$/, () => ({ header: `${words(column)} (%)`, scale: 100 })],
  ];
  for (const [re, f] of rules) {
    const m = re.exec(column);
    if (m) return f(m);
  }
  return { header: words(column) };
}

type MetricKey = (typeof SWEEP_METRICS)[number]['key'];

/** Every sweep.csv metric (SWEEP_METRICS): a new metric there is a compile error here until it has a header. */
const SWEEP_MEASURES: Record<MetricKey, (mode: Mode) => Measure> = {
  cycles: (m) => ({ header: `${m}: cycles` }),
  macs: (m) => ({ header: `${m}: effective MACs` }),
  latency: (m) => ({ header: `${m}: latency (µs)` }),
  latencyP95: (m) => ({ header: `${m}: latency p95 (µs)` }),
  energy: (m) => ({ header: `${m}: energy of the active frame (µJ)`, scale: 1e-6 }),
  dram: (m) => ({ header: `${m}: DRAM traffic (KiB)`, scale: 1 / 1024 }),
  power: (m) => ({ header: `${m}: average power (mW)` }),
  speedup: (m) => ({ header: `${m}: speedup vs dense (×)` }),
  energyGain: (m) => ({ header: `${m}: energy gain vs dense, active frame (×)` }),
};

/** A sweep.csv column: a parameter or `point` as named, a metric by its plain header. */
export function sweepMeasure(column: string, modes: readonly Mode[], o: { fps: boolean; trace: boolean }): Measure {
  for (const mode of modes)
    for (const x of sweepMetrics(mode, o)) if (x.column(mode) === column) return SWEEP_MEASURES[x.key as MetricKey](mode);
  return { header: column };
}
