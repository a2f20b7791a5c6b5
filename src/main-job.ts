/**
 * The main job (`npm start`): the whole pipeline on embedded defaults.
 *
 *   bundled baseline + delta models (src/tf/pretrained) → seeded procedural test clips (a static camera
 *   with a clean sensor, and the same scene with sensor noise and flicker) → a trace of each model on
 *   each clip → simulated on the shipped hw-models → one run directory per (clip, model, hw-model)
 *   with CSVs and an HTML report → a headline: delta vs dense inference.
 *
 * Everything is written into one directory, atomically (a failed run leaves the last good one).
 */
import { basename, join, relative, resolve } from 'node:path';
import { copyFileSync, writeFileSync } from 'node:fs';
import {
  denseBaselineFor,
  loadHwModel,
  RUN_FILES,
  runJson,
  simulate,
  summaryJson,
  traceWorkload,
  writeRun,
  type ModeSummary,
  type SimResult,
} from '../sim/index.js';
import { openTrace } from '../traces/reader.js';
import { writeDirAtomic } from '../lib/atomic.js';
import { packagePath } from '../lib/package-dir.js';
import { table } from '../lib/table.js';
import { recordModelTrace } from './record/index.js';
import { buildReport } from './report/build.js';
import { summaryTable } from './cli/sim-table.js';

/** A test clip: a procedural dataset spec (held-out split) and which clip of it. */
export interface Scenario {
  name: string;
  description: string;
  data: string;
}

export interface MainJobOptions {
  out: string;
  /** Holds the `baseline/` and `delta/` model directories. */
  modelsDir: string;
  scenarios: Scenario[];
  /** Frames of each test clip. */
  frames: number;
  seed: number;
  clip: number;
  fps: number;
  /** Console output (progress lines and the summary). */
  log: (line: string) => void;
}

/** The bundled models were trained on these four classes with background contrast 0.2 (src/tf/pretrained/README.md). */
const SCENE = 'procedural:classes=left+right+up+down,background=0.2';

export const MAIN_DEFAULTS: Omit<MainJobOptions, 'log'> = {
  out: 'reports/runs/main',
  modelsDir: packagePath('src', 'tf', 'pretrained'),
  scenarios: [
    { name: 'static-clean', description: 'static camera, noise-free sensor', data: `${SCENE},noise=0,flicker=0` },
    {
      name: 'static-noisy',
      description: 'static camera, sensor noise σ=0.02 and ±2 % flicker (as in training)',
      data: `${SCENE},noise=0.02,flicker=0.02`,
    },
  ],
  frames: 48,
  seed: 2026,
  clip: 0,
  fps: 15,
};

/** Which trace runs on which hw-model: the dense baseline, zero skipping, delta, event-driven. */
const RUNS = [
  { model: 'baseline', arch: 'dense-32x32' },
  { model: 'baseline', arch: 'zero-skip-32x32' },
  { model: 'delta', arch: 'delta-32x32' },
  { model: 'delta', arch: 'seneca-like' },
] as const;
const BASELINE_ARCH = 'dense-32x32';

export interface Headline {
  clip: string;
  model: string;
  arch: string;
  mode: string;
  latency_mean_us: number;
  latency_p95_us: number;
  /** Energy of the active frame (compute, SRAM, DRAM, leakage while busy). */
  energy_per_frame_uj: number;
  /** Energy per frame period: the active frame plus idle leakage up to 1/fps. */
  energy_per_period_uj: number;
  power_mw: number | null;
  speedup_vs_dense_baseline: number | null;
  energy_gain_vs_dense_baseline: number | null;
  /** Delta against the same model and array in sparse (zero-skipping) mode; null for other modes. */
  speedup_vs_sparse: number | null;
  energy_gain_vs_sparse: number | null;
}

function headlineOf(clip: string, model: string, s: ModeSummary): Headline {
  return {
    clip,
    model,
    arch: s.arch,
    mode: s.mode,
    latency_mean_us: s.latencyUs.mean,
    latency_p95_us: s.latencyUs.p95,
    energy_per_frame_uj: s.energy.totalPJ / 1e6,
    energy_per_period_uj: s.frameEnergyUJ,
    power_mw: s.averagePowerMW,
    speedup_vs_dense_baseline: s.speedupVsBaseline,
    energy_gain_vs_dense_baseline: s.energyGainVsBaseline,
    speedup_vs_sparse: s.speedupVsSparse,
    energy_gain_vs_sparse: s.energyGainVsSparse,
  };
}

/** Record one scenario's traces and simulate every configuration; returns the results by run name. */
async function runScenario(o: MainJobOptions, sc: Scenario, tmp: string, headlines: Headline[]): Promise<Map<string, SimResult>> {
  for (const variant of ['baseline', 'delta'] as const) {
    const rec = await recordModelTrace({
      modelDir: join(o.modelsDir, variant),
      data: sc.data,
      seed: o.seed,
      split: 'test',
      clip: o.clip,
      frames: o.frames,
      fps: o.fps,
      out: join(tmp, 'traces', sc.name, variant),
    });
    o.log(`[${sc.name}] traced the ${variant} model: ${rec.manifest.layers.length} MAC layers × ${rec.manifest.frames} frames`);
  }
  const results = new Map<string, SimResult>();
  for (const r of RUNS) {
    const trace = openTrace(join(tmp, 'traces', sc.name, r.model));
    const hw = loadHwModel(r.arch);
    // Each run against the dense array at its own node (seneca-like at 22 nm: dense-32x32-22nm), never across nodes.
    const baseline = loadHwModel(denseBaselineFor(hw.energyTable.technologyNm) ?? BASELINE_ARCH);
    const name = `${sc.name}/${r.model}-on-${r.arch}`;
    const dir = join(tmp, 'runs', name);
    const argv = [
      'simulate',
      '--trace',
      `traces/${sc.name}/${r.model}`,
      '--arch',
      r.arch,
      '--mode',
      'all',
      '--fps',
      String(o.fps),
      '--layers',
    ];
    const res = await writeRun(
      dir,
      (onLayers) => simulate(traceWorkload(trace), hw, { mode: 'all', fps: o.fps, baseline, onLayers }),
      argv,
      {
        layers: true,
      },
    );
    await buildReport(dir);
    results.set(name, res);
    for (const s of res.modes) headlines.push(headlineOf(sc.name, r.model, s));
  }
  o.log(`[${sc.name}] simulated ${RUNS.length} configurations`);
  return results;
}

export async function runMainJob(o: MainJobOptions): Promise<Headline[]> {
  const started = Date.now();
  const headlines: Headline[] = [];
  let mainTable = '';
  await writeDirAtomic(o.out, async (tmp) => {
    const results = new Map<string, SimResult>();
    for (const sc of o.scenarios) for (const [k, v] of await runScenario(o, sc, tmp, headlines)) results.set(k, v);
    // The top-level report is the first clip's delta model on the delta array (dense, sparse and delta
    // modes side by side, against the dense baseline array), with every configuration's headline in its summary.
    const mainRun = `${o.scenarios[0]!.name}/delta-on-delta-32x32`;
    const main = results.get(mainRun)!;
    for (const f of [RUN_FILES.frames, RUN_FILES.layers]) copyFileSync(join(tmp, 'runs', mainRun, f), join(tmp, f));
    writeFileSync(join(tmp, RUN_FILES.summary), summaryJson(main, { mainRun, clips: o.scenarios, headline: headlines }));
    writeFileSync(join(tmp, RUN_FILES.run), runJson(['npm', 'start']));
    await buildReport(tmp, basename(resolve(o.out)));
    mainTable = summaryTable(main);
  });

  const fmt = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d));
  o.log('');
  o.log(`${o.scenarios[0]!.name}, delta model on delta-32x32:`);
  o.log(mainTable);
  o.log('');
  o.log(
    'All configurations (per frame; gains against the baseline model in dense mode on the dense array at the same node: dense-32x32, or dense-32x32-22nm for seneca-like):',
  );
  o.log(
    table(
      [
        'clip',
        'model',
        'hw-model',
        'mode',
        'latency µs (mean)',
        'p95',
        'energy µJ/frame',
        'µJ/period',
        `power mW @${o.fps}fps`,
        'speedup',
        'energy gain',
        'vs sparse: speedup',
        'gain',
      ],
      headlines.map((h) => [
        h.clip,
        h.model,
        h.arch,
        h.mode,
        fmt(h.latency_mean_us, 1),
        fmt(h.latency_p95_us, 1),
        fmt(h.energy_per_frame_uj, 3),
        fmt(h.energy_per_period_uj, 3),
        fmt(h.power_mw),
        `${fmt(h.speedup_vs_dense_baseline)}×`,
        `${fmt(h.energy_gain_vs_dense_baseline)}×`,
        h.speedup_vs_sparse === null ? '-' : `${fmt(h.speedup_vs_sparse)}×`,
        h.energy_gain_vs_sparse === null ? '-' : `${fmt(h.energy_gain_vs_sparse)}×`,
      ]),
    ),
  );
  o.log('');
  o.log('Delta inference (delta-trained model on delta-32x32) vs dense inference (baseline model on dense-32x32):');
  for (const sc of o.scenarios) {
    const pick = (model: string, arch: string, mode: string) =>
      headlines.find((h) => h.clip === sc.name && h.model === model && h.arch === arch && h.mode === mode)!;
    const dense = pick('baseline', BASELINE_ARCH, 'dense');
    const delta = pick('delta', 'delta-32x32', 'delta');
    o.log(
      `  ${sc.name} (${sc.description}): latency per frame ${fmt(dense.latency_mean_us, 2)} → ${fmt(delta.latency_mean_us, 2)} µs ` +
        `(speedup ${fmt(delta.speedup_vs_dense_baseline)}×); energy per active frame ${fmt(dense.energy_per_frame_uj, 3)} → ${fmt(delta.energy_per_frame_uj, 3)} µJ ` +
        `(energy gain ${fmt(delta.energy_gain_vs_dense_baseline)}×), per frame period incl. idle leakage ${fmt(dense.energy_per_period_uj, 3)} → ` +
        `${fmt(delta.energy_per_period_uj, 3)} µJ; average power at ${o.fps} fps ${fmt(dense.power_mw)} → ${fmt(delta.power_mw)} mW; ` +
        `against sparse mode on the same array: speedup ${fmt(delta.speedup_vs_sparse)}×, energy gain ${fmt(delta.energy_gain_vs_sparse)}×`,
    );
  }
  o.log(
    `Report: ${relative(process.cwd(), join(o.out, 'report.html'))} (each configuration: ${relative(process.cwd(), join(o.out, 'runs'))}/<clip>/<run>/report.html); ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return headlines;
}
