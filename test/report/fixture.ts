/**
 * FIXTURE DATA for the report tests: a fake run directory shaped like `deltasim simulate` /
 * `sweep` output. The numbers are made up by a seeded formula; they are not results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';

/** mulberry32: a tiny seeded PRNG so fixtures are the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FIXTURE_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'fc'];
export const FIXTURE_MODES = ['dense', 'sparse', 'delta'];

export interface FixtureOptions {
  frames?: number;
  sweep?: boolean;
  seed?: number;
}

/** Write summary.json, run.json, layers.csv (and sweep.csv) into `dir`. */
export function writeFixtureRun(dir: string, { frames = 12, sweep = true, seed = 1 }: FixtureOptions = {}): void {
  const rnd = prng(seed);
  mkdirSync(dir, { recursive: true });
  const rows: (string | number)[][] = [];
  const cols = [
    'frame',
    'layer',
    'mode',
    'macs',
    'effective_macs',
    'compute_cycles',
    'stall_cycles',
    'cycles',
    'dram_bytes',
    'sram_bytes',
    'energy_compute_pj',
    'energy_sram_pj',
    'energy_dram_pj',
    'energy_state_pj',
    'energy_static_pj',
    'energy_pj',
    'spatial_sparsity',
    'temporal_sparsity',
  ];
  const share: Record<string, number> = { dense: 1, sparse: 0.55, delta: 0.15 };
  for (let f = 0; f < frames; f++) {
    FIXTURE_LAYERS.forEach((layer, li) => {
      const macs = 2_000_000 * (li + 1);
      const spatial = 0.3 + 0.08 * li + 0.05 * rnd();
      const temporal = f === 0 ? 0 : 0.7 + 0.04 * li + 0.1 * rnd();
      for (const mode of FIXTURE_MODES) {
        const s = mode === 'delta' && f === 0 ? share.sparse! : share[mode]! * (0.8 + 0.4 * rnd());
        const eff = Math.round(macs * s);
        const compute = Math.round(eff / 256) + 40;
        const stall = Math.round(50 * rnd());
        const dram = 40_000 * (li + 1) + (mode === 'delta' ? 30_000 : 0);
        const sram = Math.round(eff * 1.5);
        const e = {
          compute: eff * 0.2,
          sram: sram * 0.9,
          dram: dram * 20,
          state: mode === 'delta' ? eff * 0.5 : 0,
          static: (compute + stall) * 2,
        };
        const total = e.compute + e.sram + e.dram + e.state + e.static;
        rows.push([
          f,
          layer,
          mode,
          macs,
          eff,
          compute,
          stall,
          compute + stall,
          dram,
          sram,
          e.compute,
          e.sram,
          e.dram,
          e.state,
          e.static,
          total,
          spatial.toFixed(4),
          temporal.toFixed(4),
        ]);
      }
    });
  }
  writeFileSync(join(dir, 'layers.csv'), stringify([cols, ...rows]));
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify(
      {
        model: 'fixture-net',
        hw_model: 'fixture-systolic-16x16',
        clock_mhz: 500,
        frames,
        modes: {
          dense: { latency_mean_us: 210.5, latency_p95_us: 214.0, energy_per_frame_pj: 3.1e6, effective_macs: 30_000_000 },
          sparse: { latency_mean_us: 120.2, latency_p95_us: 131.9, energy_per_frame_pj: 1.9e6, effective_macs: 16_500_000 },
          delta: { latency_mean_us: 48.7, latency_p95_us: 60.3, energy_per_frame_pj: 1.2e6, effective_macs: 4_500_000 },
        },
        gains: { speedup: 4.32, energy_gain: 2.58 },
        footprint: { weights_bytes: 262_144, state_bytes: 1_572_864 },
        warning: 'fixture <data> & "not" a result',
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'run.json'),
    JSON.stringify(
      {
        argv: ['deltasim', 'simulate', '--trace', 'traces/fixture', '--arch', 'hw-models/fixture.json', '--out', "it's here"],
        versions: { deltasim: '0.1.0', node: 'v20.0.0', 'chart.js': '4.x' },
      },
      null,
      2,
    ),
  );
  if (!sweep) return;
  const sweepCols = ['point', 'peArray.rows', 'memory.sramKiB', 'speedup', 'energy_gain', 'latency_mean_us', 'energy_per_frame_pj'];
  const sweepRows: (string | number)[][] = [];
  let point = 0;
  for (const pe of [4, 8, 16, 32, 64]) {
    for (const sram of [128, 512, 2048]) {
      const lat = 4000 / pe + 20000 / sram + 10 * rnd();
      const en = (5 + pe * 0.3 + 4000 / sram) * 1e6 * (0.9 + 0.2 * rnd());
      sweepRows.push([
        point++,
        pe,
        sram,
        (2 + Math.log2(pe) * 0.3 + rnd() * 0.1).toFixed(3),
        (3 - Math.log2(pe) * 0.2 + Math.log2(sram) * 0.05).toFixed(3),
        lat.toFixed(2),
        Math.round(en),
      ]);
    }
  }
  writeFileSync(join(dir, 'sweep.csv'), stringify([sweepCols, ...sweepRows]));
}
