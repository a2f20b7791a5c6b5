/**
 * FIXTURE DATA for the report tests: fake run directories written the way deltasim writes them —
 * a simulation through run-dir.ts's own writers (summaryJson, framesCsv, layerRow under LAYER_COLUMNS),
 * a sweep through sim/sweep/output.ts's (sweepSummary, sweepCsv) with sweepMetrics' columns. The
 * numbers are made up by a seeded formula; they are not results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { nearestRank } from '../../lib/percentile.js';
import { prng } from '../../lib/prng.js';
import { BUFFERS, zeroActions, type SramBuffer } from '../../sim/actions.js';
import type { EnergyBreakdown } from '../../sim/energy.js';
import { FrameTable, type FrameRow } from '../../sim/frame-table.js';
import type { Mode } from '../../sim/modes.js';
import { LAYER_COLUMNS, RUN_FILES, framesCsv, layerRow, summaryJson, sweepMetrics } from '../../sim/run-dir.js';
import { loadHwModel } from '../../sim/hw-model.js';
import type { LayerResult, ModeSummary, SimResult } from '../../sim/summary.js';
import { pointCount, pointValues, type AxisValue } from '../../sim/sweep/grid.js';
import type { Row, SweepMeta } from '../../sim/sweep/job.js';
import { sweepCsv, sweepSummary } from '../../sim/sweep/output.js';

export const FIXTURE_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'fc'];
export const FIXTURE_MODES: Mode[] = ['dense', 'sparse', 'delta'];
export const FIXTURE_HW = 'fixture-delta-16x16';
export const FIXTURE_BASELINE = 'fixture-dense-32x32';
const CLOCK_MHZ = 500;
const BASELINE_CLOCK_MHZ = 800;
const FPS = 30;

export interface FixtureOptions {
  frames?: number;
  /** Write layers.csv (`simulate --layers`). */
  layers?: boolean;
  /** A topology run: one expected frame, no frame numbers or sparsity in layers.csv, densities in summary.json. */
  topology?: boolean;
  /** Simulate against a baseline hw-model too (its dense run: frames.csv rows and baselineDense). */
  baseline?: boolean;
  /** The modes run (default all three). */
  modes?: Mode[];
  /** Frame rate (default 30; a high one makes frames slower than the frame period). */
  fps?: number;
  /** summary.json carries how the trace was recorded (a graph recording's q). */
  recording?: boolean;
  seed?: number;
}

/** The recording a fixture run with `recording: true` carries (src/cli/sim-table.ts Recording). */
export const FIXTURE_RECORDING = { recorder: 'graph-model', threshold: 0.05, scale: { min: 0.05, max: 0.05 } };

const perBuffer = (f: (b: SramBuffer) => number) => Object.fromEntries(BUFFERS.map((b) => [b, f(b)])) as Record<SramBuffer, number>;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function energyOf(p: { compute: number; sram: Record<SramBuffer, number>; dram: number; static: number }): EnergyBreakdown {
  const totalPJ = p.compute + sum(BUFFERS.map((b) => p.sram[b])) + p.dram + p.static;
  return { computePJ: p.compute, sramPJ: p.sram, dramPJ: p.dram, staticPJ: p.static, totalPJ };
}

/** One layer of one frame in one mode on a hw-model. */
function layerResult(rnd: () => number, frame: number, li: number, mode: Mode): LayerResult {
  const macs = 2_000_000 * (li + 1);
  const share = { dense: 1, sparse: 0.55, delta: frame === 0 ? 0.55 : 0.15 }[mode];
  const eff = Math.round(macs * share * (mode === 'dense' ? 1 : 0.8 + 0.4 * rnd()));
  const computeCycles = Math.round(eff / 256) + 40;
  const stallCycles = Math.round(50 * rnd());
  const a = zeroActions();
  a.macs = macs;
  a.effectiveMacs = eff;
  a.macsFull = eff;
  a.macsSkipped = macs - eff;
  a.neuronUpdates = Math.round(eff / 64);
  a.events = mode === 'dense' ? 0 : Math.round(eff / 32);
  for (const b of BUFFERS) {
    const used = b !== 'state' || mode === 'delta';
    const readBytes = used ? Math.round(eff * 0.4) : 0;
    const writeBytes = used ? Math.round(eff * 0.1) : 0;
    a.sram[b] = { readBytes, writeBytes, reads: Math.ceil(readBytes / 8), writes: Math.ceil(writeBytes / 8) };
  }
  a.dram = { readBytes: 40_000 * (li + 1) + (mode === 'delta' ? 30_000 : 0), writeBytes: 10_000, reads: 0, writes: 0 };
  const energy = energyOf({
    compute: eff * 0.2,
    sram: perBuffer((b) => (a.sram[b].readBytes + a.sram[b].writeBytes) * 0.9),
    dram: (a.dram.readBytes + a.dram.writeBytes) * 20,
    static: (computeCycles + stallCycles) * 2,
  });
  return {
    frame,
    layer: FIXTURE_LAYERS[li]!,
    mode,
    folds: 4 * (li + 1),
    foldsRun: Math.max(1, Math.round(4 * (li + 1) * share)),
    computeCycles,
    dramCycles: computeCycles + stallCycles,
    sramCycles: perBuffer((b) => Math.ceil((a.sram[b].reads + a.sram[b].writes) / 4)),
    bound: stallCycles > 0 ? 'dram' : 'compute',
    stallCycles,
    cycles: computeCycles + stallCycles,
    actions: a,
    energy,
    sparsity: { spatial: 0.3 + 0.08 * li + 0.05 * rnd(), temporal: frame === 0 ? 0 : 0.7 + 0.04 * li + 0.1 * rnd() },
  };
}

/** A frame of one run: its layers summed, as frames.csv has it. */
function frameRow(
  frame: number,
  arch: string,
  clockMHz: number,
  layers: LayerResult[],
): FrameRow & { sramBytes: Record<SramBuffer, number> } {
  const s = (f: (r: LayerResult) => number) => sum(layers.map(f));
  const cycles = s((r) => r.cycles);
  return {
    frame,
    arch,
    mode: layers[0]!.mode,
    cycles,
    computeCycles: s((r) => r.computeCycles),
    stallCycles: s((r) => r.stallCycles),
    latencyUs: cycles / clockMHz,
    macs: s((r) => r.actions.macs),
    effectiveMacs: s((r) => r.actions.effectiveMacs),
    events: s((r) => r.actions.events),
    neuronUpdates: s((r) => r.actions.neuronUpdates),
    dramBytes: s((r) => r.actions.dram.readBytes + r.actions.dram.writeBytes),
    sramBytes: perBuffer((b) => s((r) => r.actions.sram[b].readBytes + r.actions.sram[b].writeBytes)),
    energy: energyOf({
      compute: s((r) => r.energy.computePJ),
      sram: perBuffer((b) => s((r) => r.energy.sramPJ[b])),
      dram: s((r) => r.energy.dramPJ),
      static: s((r) => r.energy.staticPJ),
    }),
  };
}

/** A run's per-frame means, as summary.json's modes have them (comparisons filled in by the caller). */
function modeSummary(rows: ReturnType<typeof frameRow>[], stateBytes: number, fps = FPS): ModeSummary {
  const m = (f: (r: (typeof rows)[number]) => number) => sum(rows.map(f)) / rows.length;
  const energy = energyOf({
    compute: m((r) => r.energy.computePJ),
    sram: perBuffer((b) => m((r) => r.energy.sramPJ[b])),
    dram: m((r) => r.energy.dramPJ),
    static: m((r) => r.energy.staticPJ),
  });
  const latencies = Float64Array.from(rows.map((r) => r.latencyUs)).sort();
  const latencyMs = m((r) => r.latencyUs) / 1e3;
  return {
    mode: rows[0]!.mode,
    macs: m((r) => r.macs),
    effectiveMacs: m((r) => r.effectiveMacs),
    computeCycles: m((r) => r.computeCycles),
    stallCycles: m((r) => r.stallCycles),
    cycles: m((r) => r.cycles),
    latencyMs,
    dramBytes: m((r) => r.dramBytes),
    sramBytes: perBuffer((b) => m((r) => r.sramBytes[b])),
    sramAccesses: perBuffer((b) => m((r) => r.sramBytes[b]) / 8),
    boundCycles: {
      compute: m((r) => r.computeCycles),
      dram: m((r) => r.stallCycles),
      ifmap: 0,
      filter: 0,
      ofmap: 0,
      state: 0,
      compactor: 0,
    },
    energy,
    // Idle leakage up to 1/fps: a made-up 40 µW, so the two energies per frame differ.
    frameEnergyUJ: energy.totalPJ / 1e6 + Math.max(0, 1 / fps - latencyMs * 1e-3) * 40,
    averagePowerMW: (energy.totalPJ / 1e6) * fps * 1e-3,
    realTime: latencies[latencies.length - 1]! <= 1e6 / fps,
    speedupVsDense: 1,
    energyGainVsDense: 1,
    periodEnergyGainVsDense: 1,
    speedupVsSparse: null,
    energyGainVsSparse: null,
    edpPJs: energy.totalPJ * latencyMs * 1e-3,
    footprint: { weightBytes: 262_144, stateBytes, weightRefetch: 1, stateSpill: 0 },
    arch: rows[0]!.arch,
    frames: rows.length,
    latencyUs: {
      mean: latencyMs * 1e3,
      p50: nearestRank(latencies, 0.5),
      p95: nearestRank(latencies, 0.95),
      max: latencies[latencies.length - 1]!,
    },
    speedupVsBaseline: null,
    energyGainVsBaseline: null,
  };
}

const FIXTURE_RUN_JSON = {
  argv: ['deltasim', 'simulate', '--trace', 'traces/fixture', '--arch', 'hw-models/fixture.json', '--layers', '--out', "it's here"],
  versions: { deltasim: '0.1.0', node: 'v20.0.0', 'chart.js': '4.x' },
};

/** Write a simulation run directory: summary.json, frames.csv, run.json and (unless layers: false) layers.csv. */
export function writeFixtureRun(dir: string, o: FixtureOptions = {}): SimResult {
  const { layers = true, topology = false, baseline = true, modes = FIXTURE_MODES, fps = FPS, seed = 1 } = o;
  const frames = topology ? 1 : (o.frames ?? 12);
  const rng = prng(seed);
  const rnd = () => rng.next();
  mkdirSync(dir, { recursive: true });
  const layerRows: LayerResult[] = [];
  const runRows = new Map<string, ReturnType<typeof frameRow>[]>();
  const frameRows = new FrameTable();
  const add = (r: ReturnType<typeof frameRow>) => {
    const { sramBytes: _s, ...row } = r;
    frameRows.push(row);
    const k = `${r.arch} ${r.mode}`;
    runRows.set(k, [...(runRows.get(k) ?? []), r]);
  };
  for (let f = 0; f < frames; f++) {
    for (const mode of modes) {
      const res = FIXTURE_LAYERS.map((_, li) => layerResult(rnd, f, li, mode));
      add(frameRow(f, FIXTURE_HW, CLOCK_MHZ, res));
      for (const r of res) {
        if (topology) {
          r.frame = null;
          delete r.sparsity;
        }
        layerRows.push(r);
      }
    }
    if (baseline)
      add(
        frameRow(
          f,
          FIXTURE_BASELINE,
          BASELINE_CLOCK_MHZ,
          FIXTURE_LAYERS.map((_, li) => layerResult(rnd, f, li, 'dense')),
        ),
      );
  }
  const summaries = modes.map((m) => modeSummary(runRows.get(`${FIXTURE_HW} ${m}`)!, m === 'delta' ? 1_572_864 : 0, fps));
  const base = baseline ? modeSummary(runRows.get(`${FIXTURE_BASELINE} dense`)!, 0, fps) : null;
  const dense = summaries.find((s) => s.mode === 'dense') ?? summaries[0]!;
  const sparse = summaries.find((s) => s.mode === 'sparse');
  for (const s of summaries) {
    s.speedupVsDense = dense.cycles / s.cycles;
    s.energyGainVsDense = dense.energy.totalPJ / s.energy.totalPJ;
    s.periodEnergyGainVsDense = dense.frameEnergyUJ / s.frameEnergyUJ;
    if (s.mode === 'delta' && sparse) {
      s.speedupVsSparse = sparse.cycles / s.cycles;
      s.energyGainVsSparse = sparse.energy.totalPJ / s.energy.totalPJ;
    }
    s.speedupVsBaseline = base ? base.latencyMs / s.latencyMs : null;
    s.energyGainVsBaseline = base ? base.energy.totalPJ / s.energy.totalPJ : null;
  }
  const res: SimResult = {
    model: 'fixture-net',
    hwModel: FIXTURE_HW,
    baseline: baseline ? FIXTURE_BASELINE : null,
    clockMHz: CLOCK_MHZ,
    fps,
    ...(topology ? { densities: { actDensity: 0.5, weightDensity: null, deltaDensity: 0.2 } } : { threshold: 0.05, quantStep: null }),
    frames,
    precision: { activationBits: 8, weightBits: 8, accumulatorBits: 32, overRange: [] },
    modes: summaries,
    baselineDense: base,
    frameRows,
  };
  const extra = { warning: 'fixture <data> & "not" a result', ...(o.recording ? { recording: FIXTURE_RECORDING } : {}) };
  writeFileSync(join(dir, RUN_FILES.summary), summaryJson(res, extra));
  writeFileSync(join(dir, RUN_FILES.frames), framesCsv(res));
  if (layers)
    writeFileSync(
      join(dir, RUN_FILES.layers),
      stringify([
        [...LAYER_COLUMNS],
        ...layerRows.map((r) => layerRow(r, { clockMHz: CLOCK_MHZ, memories: loadHwModel('delta-32x32').memories })),
      ]),
    );
  writeFileSync(join(dir, RUN_FILES.run), `${JSON.stringify(FIXTURE_RUN_JSON, null, 2)}\n`);
  return res;
}

export interface SweepFixtureOptions {
  /** The swept parameters (default arch.rows × arch.memories.ifmap.kiB: 15 points). `arch.delta: false` points lack delta. */
  parameters?: Record<string, AxisValue[]>;
  modes?: Mode[];
  /** A trace sweep with fps (p95 latency and power columns) or a topology sweep without. */
  trace?: boolean;
  /** Zipped parameter groups (names as in `parameters`). */
  zip?: string[][];
  /** A fixed baseline's dense run in summary.json (`sweep --baseline`). */
  baseline?: boolean;
  seed?: number;
}

/** The fixture sweep's baseline: a made-up dense run of another hw-model. */
export const FIXTURE_SWEEP_BASELINE = {
  hwModel: FIXTURE_BASELINE,
  latencyUs: 4000,
  energyPJ: 30_000_000,
  frameEnergyUJ: 120,
  powerMW: 3.6,
};

export const SWEEP_PARAMETERS: Record<string, AxisValue[]> = { 'arch.rows': [4, 8, 16, 32, 64], 'arch.memories.ifmap.kiB': [16, 64, 256] };

/** Write a sweep directory: summary.json, sweep.csv, run.json. Returns sweep.csv's rows. */
export function writeFixtureSweep(dir: string, o: SweepFixtureOptions = {}): Row[] {
  const { parameters = SWEEP_PARAMETERS, modes = FIXTURE_MODES, trace = true, zip = [], seed = 2 } = o;
  const rng = prng(seed);
  const rnd = () => rng.next();
  mkdirSync(dir, { recursive: true });
  const names = Object.keys(parameters);
  const opts = { fps: trace, trace };
  const columns = ['point', ...names, ...modes.flatMap((m) => sweepMetrics(m, opts).map((x) => x.column(m)))];
  const zipOf = (n: string) => zip.find((g) => g.includes(n))?.[0];
  const axes = names.map((name) => ({ name, values: parameters[name]!, ...(zipOf(name) ? { zip: zipOf(name)! } : {}) }));
  const points = pointCount(axes);
  const rows: Row[] = [];
  for (let point = 0; point < points; point++) {
    // Point order as the sweep's: sim/sweep/grid.ts pointValues (odometer over the dimensions).
    const at = pointValues(axes, point);
    const values: Record<string, AxisValue> = Object.fromEntries(names.map((n, i) => [n, at[i]!]));
    const pe = Number(values['arch.rows'] ?? 16);
    const kib = Number(values['arch.memories.ifmap.kiB'] ?? 64);
    const summaries = new Map<Mode, ModeSummary>();
    for (const mode of modes) {
      if (mode === 'delta' && values['arch.delta'] === false) continue;
      const share = { dense: 1, sparse: 0.55, delta: 0.2 }[mode];
      const cycles = Math.round((4_000_000 / pe) * share + 2_000_000 / kib + 1000 * rnd());
      const rows1 = [0, 1].map((f) => {
        const r = frameRow(
          f,
          FIXTURE_HW,
          CLOCK_MHZ,
          FIXTURE_LAYERS.map((_, li) => layerResult(rnd, f + 1, li, mode)),
        );
        r.cycles = cycles + f * 100;
        r.latencyUs = r.cycles / CLOCK_MHZ;
        const e = r.energy;
        r.energy = energyOf({ compute: e.computePJ, sram: e.sramPJ, dram: e.dramPJ * (1 + 64 / kib), static: pe * 4e5 });
        return r;
      });
      summaries.set(mode, modeSummary(rows1, 0));
    }
    const dense = summaries.get('dense');
    for (const s of summaries.values()) {
      s.speedupVsDense = dense ? dense.cycles / s.cycles : 1;
      s.energyGainVsDense = dense ? dense.energy.totalPJ / s.energy.totalPJ : 1;
    }
    const round = (c: string | number) => (typeof c === 'number' && !Number.isInteger(c) ? Number(c.toPrecision(6)) : c);
    rows.push([
      point,
      ...names.map((n) => (typeof values[n] === 'boolean' ? String(values[n]) : (values[n] as number | string))),
      ...modes.flatMap((m) => {
        const s = summaries.get(m);
        return sweepMetrics(m, opts).map((x) => (s ? round(x.value(s)) : ''));
      }),
    ]);
  }
  const meta: SweepMeta = {
    format: 'deltasim-sweep',
    version: 1,
    grid: 'fixture',
    workload: trace ? 'trace' : 'model',
    model: 'fixture-net',
    hwModel: FIXTURE_HW,
    points,
    parameters: axes,
    zip,
    mode: 'all',
    modes,
    fps: trace ? FPS : null,
    sim: trace ? { threshold: 0.05 } : {},
    frames: trace ? 2 : null,
    quantStep: null,
    baseline: o.baseline ? FIXTURE_SWEEP_BASELINE : null,
    columns,
  };
  writeFileSync(join(dir, RUN_FILES.summary), sweepSummary(meta, rows));
  writeFileSync(join(dir, RUN_FILES.sweep), sweepCsv(meta, rows));
  writeFileSync(
    join(dir, RUN_FILES.run),
    `${JSON.stringify({ argv: ['deltasim', 'sweep', '--trace', 'traces/fixture', '--arch', 'hw-models/fixture.json', '--out', 'sweep'] }, null, 2)}\n`,
  );
  return rows;
}
