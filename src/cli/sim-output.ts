/** Console tables and output files of `deltasim simulate` (layers.csv, summary.json, run.json). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import {
  BUFFERS,
  type FrameRow,
  type LayerResult,
  type ModeSummary,
  type SimResult,
  type TraceModeSummary,
  type TraceSimResult,
} from '../../sim/index.js';
import { writeDirAtomic } from '../../traces/atomic.js';
import { PACKAGE_DIR, packagePath } from '../../traces/package-dir.js';

/** Numbers in files: integers as they are, fractions (expected values) to 3 decimals. */
const num = (x: number): number => (Number.isInteger(x) ? x : Math.round(x * 1000) / 1000);

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
  'stall_cycles',
  'cycles',
  'latency_us',
  ...BUFFERS.map((b) => `${b}_sram_bytes`),
  'dram_read_bytes',
  'dram_write_bytes',
  'dram_bytes',
  'energy_compute_pj',
  ...BUFFERS.map((b) => `energy_${b}_sram_pj`),
  'energy_dram_pj',
  'energy_static_pj',
  'energy_pj',
  'neuron_updates',
  'events',
  'synaptic_ops',
  'spatial_sparsity',
  'temporal_sparsity',
] as const;

export function layerRow(r: LayerResult, clockMHz: number): (string | number)[] {
  const a = r.actions;
  return [
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
    r.stallCycles,
    r.cycles,
    r.cycles / clockMHz,
    ...BUFFERS.map((b) => a.sram[b].readBytes + a.sram[b].writeBytes),
    a.dram.readBytes,
    a.dram.writeBytes,
    a.dram.readBytes + a.dram.writeBytes,
    r.energy.computePJ,
    ...BUFFERS.map((b) => r.energy.sramPJ[b]),
    r.energy.dramPJ,
    r.energy.staticPJ,
    r.energy.totalPJ,
    a.neuronUpdates,
    a.events,
    a.synOps,
    r.sparsity?.spatial ?? '',
    r.sparsity?.temporal ?? '',
  ].map((v) => (typeof v === 'number' ? num(v) : v));
}

export function layersCsv(res: SimResult): string {
  return stringify([[...LAYER_COLUMNS], ...res.layers.map((r) => layerRow(r, res.clockMHz))]);
}

/** summary.json: everything but the per-layer rows, numbers rounded like the CSV. */
export function summaryJson(res: SimResult): string {
  const { layers: _layers, ...rest } = res;
  return `${JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'number' ? num(v) : v), 2)}\n`;
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** run.json: how to reproduce the run (argv and versions; no time stamps, so runs stay byte-identical). */
export function runJson(argv: string[]): string {
  const deps = ['ajv', 'csv-parse', 'csv-stringify', 'yargs'];
  return `${JSON.stringify(
    {
      argv,
      deltasim: packageVersion(PACKAGE_DIR),
      node: process.versions.node,
      dependencies: Object.fromEntries(deps.map((d) => [d, packageVersion(packagePath('node_modules', d))])),
    },
    null,
    2,
  )}\n`;
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
  'energy_compute_pj',
  ...BUFFERS.map((b) => `energy_${b}_sram_pj`),
  'energy_dram_pj',
  'energy_static_pj',
  'energy_pj',
] as const;

/** frames.csv: one row per frame per run (the hw-model's modes and the baseline's dense run). */
export function framesCsv(res: TraceSimResult): string {
  const row = (f: FrameRow) =>
    [
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
      f.energy.computePJ,
      ...BUFFERS.map((b) => f.energy.sramPJ[b]),
      f.energy.dramPJ,
      f.energy.staticPJ,
      f.energy.totalPJ,
    ].map((v) => (typeof v === 'number' ? num(v) : v));
  return stringify([[...FRAME_COLUMNS], ...Array.from(res.frameRows, row)]);
}

/** summary.json of a trace run: everything but the per-frame and per-layer rows. */
export function traceSummaryJson(res: TraceSimResult): string {
  const { layers: _l, frameRows: _f, ...rest } = res;
  return `${JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'number' ? num(v) : v), 2)}\n`;
}

/** Write a trace run's files (layers.csv, frames.csv, summary.json, run.json) into an existing directory. */
export function writeTraceSimFiles(dir: string, res: TraceSimResult, argv: string[]): void {
  writeFileSync(join(dir, 'layers.csv'), stringify([[...LAYER_COLUMNS], ...res.layers.map((r) => layerRow(r, res.clockMHz))]));
  writeFileSync(join(dir, 'frames.csv'), framesCsv(res));
  writeFileSync(join(dir, 'summary.json'), traceSummaryJson(res));
  writeFileSync(join(dir, 'run.json'), runJson(argv));
}

/** A trace run's output directory, written atomically. */
export async function writeTraceSimOutput(dir: string, res: TraceSimResult, argv: string[]): Promise<void> {
  await writeDirAtomic(dir, (tmp) => writeTraceSimFiles(tmp, res, argv));
}

/** The console report of a trace run: per mode latency percentiles, energy, gains; then energy by component. */
export function traceSummaryTable(res: TraceSimResult): string {
  const all: TraceModeSummary[] = [...res.modes, ...(res.baselineDense ? [res.baselineDense] : [])];
  const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);
  const rows = all.map((s) => [
    `${s.mode} @ ${s.arch}`,
    s.latencyUs.mean.toFixed(1),
    s.latencyUs.p50.toFixed(1),
    s.latencyUs.p95.toFixed(1),
    s.latencyUs.max.toFixed(1),
    (s.energy.totalPJ / 1e6).toFixed(3),
    s.averagePowerMW === null ? '-' : s.averagePowerMW.toFixed(2),
    x(s.speedupVsDense),
    x(s.energyGainVsDense),
    x(s.speedupVsBaseline),
    x(s.energyGainVsBaseline),
    fmt(s.edpPJs),
    fmt(s.dramBytes),
    fmt(s.footprint.weightBytes + s.footprint.stateBytes),
  ]);
  const head = [
    'mode @ hw-model',
    'lat mean µs',
    'p50',
    'p95',
    'max',
    'energy µJ/frame',
    `power mW @${res.fps}fps`,
    'speedup',
    'energy gain',
    `speedup vs ${res.baseline ?? 'baseline'}`,
    'gain vs baseline',
    'EDP pJ·s',
    'DRAM B/frame',
    'footprint B',
  ];
  type Part = [string, (s: TraceModeSummary) => number];
  const comps: Part[] = [
    ['compute', (s) => s.energy.computePJ],
    ...BUFFERS.map((b): Part => [`${b} SRAM`, (s) => s.energy.sramPJ[b]]),
    ['DRAM', (s) => s.energy.dramPJ],
    ['static', (s) => s.energy.staticPJ],
  ];
  const energyRows = all.map((s) => [`${s.mode} @ ${s.arch}`, ...comps.map(([, f]) => (f(s) / 1e6).toFixed(3))]);
  const notes = [
    `trace ${res.model} (${res.frames} frames) on ${res.hwModel}; delta threshold ${res.threshold}` +
      (res.quantStep !== null ? `, quant step ${res.quantStep}` : '') +
      `; frame 0 is a key frame; means are per frame`,
  ];
  for (const s of res.modes)
    if (s.footprint.stateSpill > 0 || s.footprint.weightRefetch > 0)
      notes.push(
        `${s.mode}: ${(s.footprint.weightRefetch * 100).toFixed(0)} % of weights re-fetched per frame` +
          (s.mode === 'delta'
            ? `, ${(s.footprint.stateSpill * 100).toFixed(0)} % of delta state (${fmt(s.footprint.stateBytes)} B) in DRAM`
            : ''),
      );
  return [
    ...notes,
    '',
    table(head, rows),
    '',
    'energy per frame by component (µJ)',
    table(['mode @ hw-model', ...comps.map(([n]) => n)], energyRows),
  ].join('\n');
}

export async function writeSimOutput(dir: string, res: SimResult, argv: string[]): Promise<void> {
  await writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, 'layers.csv'), layersCsv(res));
    writeFileSync(join(tmp, 'summary.json'), summaryJson(res));
    writeFileSync(join(tmp, 'run.json'), runJson(argv));
  });
}

/** A plain text table (right-aligned numbers). */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(cells[0]!), w.map((n) => '─'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const fmt = (x: number, digits = 3): string =>
  Math.abs(x) >= 1e6 ? x.toExponential(digits - 1) : x.toFixed(Number.isInteger(x) || Math.abs(x) >= 1000 ? 0 : digits);

export function summaryTable(res: SimResult): string {
  const rows = res.modes.map((s: ModeSummary) => [
    s.mode,
    fmt(s.macs),
    fmt(s.effectiveMacs),
    fmt(s.cycles),
    fmt(s.stallCycles),
    s.latencyMs.toFixed(3),
    fmt(s.dramBytes),
    (s.energy.totalPJ / 1e6).toFixed(2),
    s.averagePowerMW === null ? '-' : s.averagePowerMW.toFixed(1),
    `${s.speedupVsDense.toFixed(2)}×`,
    `${s.energyGainVsDense.toFixed(2)}×`,
  ]);
  const head = [
    'mode',
    'MACs',
    'effective MACs',
    'cycles',
    'stall cycles',
    'latency ms',
    'DRAM bytes',
    'energy µJ',
    'power mW',
    'speedup',
    'energy gain',
  ];
  const d = res.densities;
  const notes = [
    `model ${res.model} on ${res.hwModel}${res.fps ? ` at ${res.fps} fps` : ''}`,
    `densities: activations ${d.actDensity}, weights ${d.weightDensity ?? 'per layer'}, deltas ${d.deltaDensity} (uniform, statistical)`,
  ];
  for (const s of res.modes)
    if (s.footprint.stateSpill > 0 || s.footprint.weightRefetch > 0)
      notes.push(
        `${s.mode}: ${(s.footprint.weightRefetch * 100).toFixed(0)} % of weights re-fetched per frame` +
          (s.mode === 'delta'
            ? `, ${(s.footprint.stateSpill * 100).toFixed(0)} % of delta state (${fmt(s.footprint.stateBytes)} B) spilled to DRAM`
            : ''),
      );
  return [...notes, '', table(head, rows)].join('\n');
}
