/**
 * The run directory: the one owner of what `simulate`, `sweep` and the main job write and what
 * `report` reads — file names, CSV columns, and a versioned summary.json.
 *
 * A simulation run directory holds
 *   summary.json  {format: "deltasim-run", version, kind: "simulation", ...SimResult without rows}
 *   frames.csv    one row per frame and run (the hw-model's modes, then the baseline's dense run)
 *   layers.csv    one row per layer, frame and mode — only when asked for (`--layers`): its size grows
 *                 with frames × layers, and it is written as the simulation streams, never kept in memory
 *   run.json      how to reproduce it (argv and versions; no time stamps: runs stay byte-identical)
 *   sensitivity.csv, sensitivity.json   only with `--sensitivity` (sensitivity.ts)
 * A sweep directory holds summary.json (kind "sweep"), sweep.csv, run.json (sim/sweep/output.ts).
 * report.html and charts/ are the report's (src/report).
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { writeDirAtomic } from '../lib/atomic.js';
import { InputError } from '../lib/errors.js';
import { PACKAGE_DIR } from '../lib/package-dir.js';
import { BUFFERS } from './actions.js';
import type { EnergyBreakdown } from './energy.js';
import type { HwModel } from './hw-model.js';
import { dramBytesPerCycle, sramBytesPerCycle } from './memory.js';
import type { FrameRow } from './frame-table.js';
import type { LayerSink } from './simulate.js';
import { MODE_TABLE, type Mode } from './modes.js';
import type { LayerResult, ModeSummary, SimResult } from './summary.js';

export const RUN_FILES = {
  summary: 'summary.json',
  run: 'run.json',
  frames: 'frames.csv',
  layers: 'layers.csv',
  sweep: 'sweep.csv',
  journal: 'journal.jsonl',
  report: 'report.html',
  charts: 'charts',
  // SCALE-Sim's own reports, beside a run on a SCALE-Sim .cfg (scalesim-reports.ts).
  scalesimCompute: 'COMPUTE_REPORT.csv',
  scalesimBandwidth: 'BANDWIDTH_REPORT.csv',
  scalesimAccess: 'DETAILED_ACCESS_REPORT.csv',
  // `simulate --sensitivity` (sensitivity.ts: SENSITIVITY_COLUMNS, sensitivityJson).
  sensitivity: 'sensitivity.csv',
  sensitivityJson: 'sensitivity.json',
} as const;

export const SUMMARY_FORMAT = 'deltasim-run';
/** summary.json's version: 1 = this layout (kind, and a simulation's SimResult keys). */
export const SUMMARY_VERSION = 1;

export type RunKind = 'simulation' | 'sweep';

/** What every summary.json starts with. */
export interface SummaryHeader {
  format: typeof SUMMARY_FORMAT;
  version: typeof SUMMARY_VERSION;
  kind: RunKind;
}

/** A simulation's summary.json (numbers rounded as in the CSVs; the main job adds its headline keys). */
export type SimulationSummary = SummaryHeader & { kind: 'simulation' } & Omit<SimResult, 'frameRows'>;

/** Numbers in files: integers as they are, fractions (expected values) to 3 decimals. */
const num = (x: number): number => (Number.isInteger(x) ? x : Math.round(x * 1000) / 1000);
const cells = (row: (string | number)[]) => row.map((v) => (typeof v === 'number' ? num(v) : v));

/** The energy columns of frames.csv and layers.csv: the components, then the total. */
const ENERGY_CSV = [
  'energy_compute_pj',
  ...BUFFERS.map((b) => `energy_${b}_sram_pj` as const),
  'energy_dram_pj',
  'energy_static_pj',
  'energy_pj',
] as const;

const energyCells = (e: EnergyBreakdown): number[] => [e.computePJ, ...BUFFERS.map((b) => e.sramPJ[b]), e.dramPJ, e.staticPJ, e.totalPJ];

export const LAYER_COLUMNS = [
  'frame',
  'layer',
  'mode',
  'macs',
  'effective_macs',
  'gated_macs',
  'skipped_macs',
  'folds',
  'folds_run',
  'compute_cycles',
  // SCALE-Sim's COMPUTE_REPORT: effective MACs / (PEs × compute cycles), mean used PEs / PEs over folds (systolic only).
  'utilisation_pct',
  'mapping_efficiency_pct',
  'dram_cycles',
  ...BUFFERS.map((b) => `${b}_sram_cycles` as const),
  'bound',
  'stall_cycles',
  'cycles',
  'latency_us',
  ...BUFFERS.map((b) => `${b}_sram_bytes` as const),
  ...BUFFERS.map((b) => `${b}_sram_accesses` as const),
  // Bytes per cycle: what keeps up with the layer's compute, and what the buffer's ports (DRAM's interface) give.
  ...BUFFERS.flatMap((b) => [`${b}_sram_bw_needed` as const, `${b}_sram_bw_available` as const]),
  'dram_bw_needed',
  'dram_bw_available',
  'dram_read_bytes',
  'dram_write_bytes',
  'dram_bytes',
  ...ENERGY_CSV,
  'neuron_updates',
  'events',
  'synaptic_ops',
  'spatial_sparsity',
  'temporal_sparsity',
  // Event lists (systolic arrays that skip activations): the compactor's cycles and its zero tests.
  'compactor_cycles',
  'zero_tests',
] as const;

export type LayerColumn = (typeof LAYER_COLUMNS)[number];

/** What a layer row needs of its hw-model: the clock, and the buffers' and DRAM's bandwidths. */
export type LayerRowHw = Pick<HwModel, 'clockMHz' | 'memories'>;

export function layerRow(r: LayerResult, hw: LayerRowHw): (string | number)[] {
  const a = r.actions;
  const clockMHz = hw.clockMHz;
  const m = hw.memories;
  const needed = (bytes: number) => (r.computeCycles > 0 ? bytes / r.computeCycles : 0);
  return cells([
    r.frame ?? '',
    r.layer,
    r.mode,
    a.macs,
    a.effectiveMacs,
    a.macsGated,
    a.macsSkipped,
    r.folds,
    r.foldsRun,
    r.computeCycles,
    r.utilisation == null ? '' : 100 * r.utilisation,
    r.mappingEfficiency == null ? '' : 100 * r.mappingEfficiency,
    r.dramCycles,
    ...BUFFERS.map((b) => r.sramCycles[b]),
    r.bound,
    r.stallCycles,
    r.cycles,
    r.cycles / clockMHz,
    ...BUFFERS.map((b) => a.sram[b].readBytes + a.sram[b].writeBytes),
    ...BUFFERS.map((b) => a.sram[b].reads + a.sram[b].writes),
    ...BUFFERS.flatMap((b) => [needed(a.sram[b].readBytes + a.sram[b].writeBytes), sramBytesPerCycle(m[b])]),
    needed(a.dram.readBytes + a.dram.writeBytes),
    dramBytesPerCycle(hw),
    a.dram.readBytes,
    a.dram.writeBytes,
    a.dram.readBytes + a.dram.writeBytes,
    ...energyCells(r.energy),
    a.neuronUpdates,
    a.events,
    a.synOps,
    r.sparsity?.spatial ?? '',
    r.sparsity?.temporal ?? '',
    r.compactorCycles ?? 0,
    a.zeroTests,
  ]);
}

export const FRAME_COLUMNS = [
  'frame',
  'arch',
  'mode',
  'cycles',
  'compute_cycles',
  'stall_cycles',
  'latency_us',
  'macs',
  'effective_macs',
  'events',
  'neuron_updates',
  'dram_bytes',
  ...ENERGY_CSV,
] as const;

export type FrameColumn = (typeof FRAME_COLUMNS)[number];

/** The energy components of frames.csv and layers.csv, with their display names. */
export const ENERGY_COLUMNS: readonly { column: FrameColumn & LayerColumn; name: string }[] = [
  { column: 'energy_compute_pj', name: 'compute' },
  ...BUFFERS.map((b) => ({ column: `energy_${b}_sram_pj` as const, name: `${b} sram` })),
  { column: 'energy_dram_pj', name: 'dram' },
  { column: 'energy_static_pj', name: 'static' },
];

function frameRow(f: FrameRow): (string | number)[] {
  return cells([
    f.frame,
    f.arch,
    f.mode,
    f.cycles,
    f.computeCycles,
    f.stallCycles,
    f.latencyUs,
    f.macs,
    f.effectiveMacs,
    f.events,
    f.neuronUpdates,
    f.dramBytes,
    ...energyCells(f.energy),
  ]);
}

/** frames.csv: one row per frame per run (the hw-model's modes and the baseline's dense run). */
export function framesCsv(res: SimResult): string {
  return stringify([[...FRAME_COLUMNS], ...Array.from(res.frameRows, frameRow)]);
}

/** frames.csv written in chunks of rows: a long trace's file is never one string in memory. */
function writeFramesCsv(file: string, res: SimResult): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, stringify([[...FRAME_COLUMNS]]));
    const rows = res.frameRows;
    for (let i = 0; i < rows.length; i += 1024) {
      const chunk: (string | number)[][] = [];
      for (let k = i; k < Math.min(rows.length, i + 1024); k++) chunk.push(frameRow(rows.at(k)));
      writeSync(fd, stringify(chunk));
    }
  } finally {
    closeSync(fd);
  }
}

/** summary.json: the header, then everything but the per-frame rows, numbers rounded like the CSVs. */
export function summaryJson(res: SimResult, extra: Record<string, unknown> = {}): string {
  const { frameRows: _rows, ...rest } = res;
  const doc = { format: SUMMARY_FORMAT, version: SUMMARY_VERSION, kind: 'simulation', ...extra, ...rest };
  return `${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' ? num(v) : v), 2)}\n`;
}

/**
 * The version of deltasim itself (no argument), or of the dependency `name` as Node resolves it from here: wherever
 * npm put it (deltasim's own node_modules/, or hoisted into an installing project's). Its package.json is resolved
 * directly; where the package's exports hide it, found by walking up from the resolved entry point.
 */
function packageVersion(name?: string): string {
  type Manifest = { name?: string; version: string };
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  if (name === undefined) return read(join(PACKAGE_DIR, 'package.json')).version;
  const require = createRequire(import.meta.url);
  try {
    return read(require.resolve(`${name}/package.json`)).version;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
  }
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    entry = fileURLToPath(import.meta.resolve(name)); // exports for `import` only
  }
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && read(file).name === name) return read(file).version;
  }
  throw new Error(`deltasim: no package.json of ${name} above ${entry}`);
}

/** run.json: how to reproduce the run (argv and versions; no time stamps, so runs stay byte-identical). */
export function runJson(argv: readonly string[]): string {
  const deps = ['ajv', 'csv-parse', 'csv-stringify', 'yargs'];
  const doc = {
    argv,
    deltasim: packageVersion(),
    node: process.versions.node,
    dependencies: Object.fromEntries(deps.map((d) => [d, packageVersion(d)])),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A simulation that may stream its per-layer rows to a sink (simulate's onLayers). */
export type SimulationRun = (onLayers?: LayerSink) => SimResult;

/**
 * Run `sim` and write its files into the existing directory `dir`. With `layers`, layers.csv is written
 * as the frames stream by (memory stays flat); frames.csv, summary.json and run.json follow at the end.
 */
export interface RunFileOptions {
  layers?: boolean;
  /** More files, by name (RUN_FILES), once the run is done: SCALE-Sim's reports for a .cfg. */
  extra?: () => Record<string, string>;
}

export function writeRunFiles(dir: string, sim: SimulationRun, argv: readonly string[], o: RunFileOptions = {}): SimResult {
  let res: SimResult;
  if (o.layers) {
    const fd = openSync(join(dir, RUN_FILES.layers), 'w');
    try {
      writeSync(fd, stringify([[...LAYER_COLUMNS]]));
      res = sim((results, hw) => {
        if (results.length) writeSync(fd, stringify(results.map((r) => layerRow(r, hw))));
      });
    } finally {
      closeSync(fd);
    }
  } else res = sim();
  writeFramesCsv(join(dir, RUN_FILES.frames), res);
  writeFileSync(join(dir, RUN_FILES.summary), summaryJson(res));
  writeFileSync(join(dir, RUN_FILES.run), runJson(argv));
  for (const [name, text] of Object.entries(o.extra?.() ?? {})) writeFileSync(join(dir, name), text);
  return res;
}

/** The same into a run directory written atomically (a failure leaves whatever was there). */
export async function writeRun(dir: string, sim: SimulationRun, argv: readonly string[], o: RunFileOptions = {}): Promise<SimResult> {
  let res: SimResult | undefined;
  await writeDirAtomic(dir, (tmp) => {
    res = writeRunFiles(tmp, sim, argv, o);
  });
  return res!;
}

/** Read and check summary.json's header: the report refuses what it cannot read. */
export function readSummary(dir: string): SummaryHeader & Record<string, unknown> {
  const file = join(dir, RUN_FILES.summary);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new InputError('no summary.json: not a deltasim run directory (run `deltasim simulate` first)', { file: dir });
    throw new InputError(`not valid JSON (${(e as Error).message})`, { file });
  }
  const d = doc as Partial<SummaryHeader> | null;
  if (!d || typeof d !== 'object' || d.format !== SUMMARY_FORMAT)
    throw new InputError(`not a deltasim summary (format must be "${SUMMARY_FORMAT}")`, { file, pointer: '/format' });
  if (d.version !== SUMMARY_VERSION)
    throw new InputError(`summary version ${JSON.stringify(d.version)} is not one this deltasim reads (${SUMMARY_VERSION})`, {
      file,
      pointer: '/version',
    });
  if (d.kind !== 'simulation' && d.kind !== 'sweep')
    throw new InputError('kind must be "simulation" or "sweep"', { file, pointer: '/kind' });
  return d as SummaryHeader & Record<string, unknown>;
}

/** One per-mode metric of sweep.csv: its column name, its value, and which way is better (summary.json's best point). */
interface SweepMetric {
  /** What it measures: `sweepColumn(key, mode)` names its column. */
  key: string;
  column: (mode: Mode) => string;
  value: (s: ModeSummary) => number | string;
  better: 'higher' | 'lower' | null;
  /** Whether a sweep has this column for `mode`. */
  applies: (mode: Mode, o: { fps: boolean; trace: boolean }) => boolean;
}

const always = () => true;

/** sweep.csv's metric columns per mode, in column order (summaries are per-frame means). */
export const SWEEP_METRICS = [
  { key: 'cycles', column: (m) => `cycles_${m}`, value: (s) => s.cycles, better: null, applies: always },
  { key: 'macs', column: (m) => `macs_${m}`, value: (s) => s.effectiveMacs, better: null, applies: always },
  { key: 'latency', column: (m) => `latency_${m}_us`, value: (s) => s.latencyMs * 1e3, better: 'lower', applies: always },
  { key: 'latencyP95', column: (m) => `latency_p95_${m}_us`, value: (s) => s.latencyUs.p95, better: 'lower', applies: (_m, o) => o.trace },
  { key: 'energy', column: (m) => `energy_${m}_pj`, value: (s) => s.energy.totalPJ, better: 'lower', applies: always },
  { key: 'dram', column: (m) => `dram_${m}_bytes`, value: (s) => s.dramBytes, better: null, applies: always },
  { key: 'power', column: (m) => `power_${m}_mw`, value: (s) => s.averagePowerMW ?? '', better: null, applies: (_m, o) => o.fps },
  {
    key: 'speedup',
    column: (m) => `speedup_${m}`,
    value: (s) => s.speedupVsDense,
    better: 'higher',
    applies: (m) => m !== MODE_TABLE[m].reference,
  },
  {
    key: 'energyGain',
    column: (m) => `energy_gain_${m}`,
    value: (s) => s.energyGainVsDense,
    better: 'higher',
    applies: (m) => m !== MODE_TABLE[m].reference,
  },
] as const satisfies readonly SweepMetric[];

/** The sweep.csv column of metric `key` for `mode` (e.g. latency → latency_delta_us). */
export function sweepColumn(key: (typeof SWEEP_METRICS)[number]['key'], mode: Mode): string {
  return SWEEP_METRICS.find((x) => x.key === key)!.column(mode);
}

/** The metrics a sweep of these options has for `mode`. */
export function sweepMetrics(mode: Mode, o: { fps: boolean; trace: boolean }): SweepMetric[] {
  return SWEEP_METRICS.filter((x) => x.applies(mode, o));
}

/** Which way is better for a sweep.csv column (null: not a figure of merit, or not a metric column). */
export function sweepColumnBetter(column: string, modes: readonly Mode[], o: { fps: boolean; trace: boolean }): 'higher' | 'lower' | null {
  for (const m of modes) for (const x of sweepMetrics(m, o)) if (x.column(m) === column) return x.better;
  return null;
}

/** sweep.csv's header: `point`, the swept parameters, then each mode's metric columns. */
export function sweepCsvColumns(parameters: readonly string[], modes: readonly Mode[], o: { fps: boolean; trace: boolean }): string[] {
  return ['point', ...parameters, ...modes.flatMap((m) => sweepMetrics(m, o).map((x) => x.column(m)))];
}
