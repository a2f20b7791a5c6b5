/**
 * The main job (`npm start`): the whole pipeline on embedded defaults.
 *
 *   bundled baseline + delta models (src/tf/pretrained) → a seeded procedural test clip
 *   → a trace of each model → simulated on the shipped hw-models → one run directory per
 *   (model, hw-model) with CSVs and an HTML report → a headline: delta vs dense inference.
 *
 * Everything is written into one directory, atomically (a failed run leaves the last good one).
 */
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { loadHwModel, simulateTrace, type TraceModeSummary, type TraceSimResult } from '../sim/index.js';
import { openTrace } from '../traces/reader.js';
import { writeDirAtomic } from '../traces/atomic.js';
import { recordModelTrace } from './record/index.js';
import { buildReport } from './report/build.js';
import { traceSummaryTable, writeTraceSimOutput, table, runJson } from './cli/sim-output.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface MainJobOptions {
  out: string;
  /** Holds the `baseline/` and `delta/` model directories. */
  modelsDir: string;
  /** Frames of the test clip (one procedural clip of this length). */
  frames: number;
  /** The procedural dataset spec and seed the clip comes from (held-out split). */
  data: string;
  seed: number;
  clip: number;
  fps: number;
  /** Console output (progress lines and the summary). */
  log: (line: string) => void;
}

export const MAIN_DEFAULTS: Omit<MainJobOptions, 'log'> = {
  out: 'reports/runs/main',
  modelsDir: join(HERE, 'tf', 'pretrained'),
  frames: 48,
  data: 'procedural:noise=0.01,flicker=0.02',
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

interface Headline {
  model: string;
  arch: string;
  mode: string;
  latency_mean_us: number;
  latency_p95_us: number;
  energy_per_frame_uj: number;
  power_mw: number | null;
  speedup_vs_dense_baseline: number | null;
  energy_gain_vs_dense_baseline: number | null;
}

function headlineOf(model: string, s: TraceModeSummary): Headline {
  return {
    model, arch: s.arch, mode: s.mode,
    latency_mean_us: s.latencyUs.mean, latency_p95_us: s.latencyUs.p95,
    energy_per_frame_uj: s.energy.totalPJ / 1e6, power_mw: s.averagePowerMW,
    speedup_vs_dense_baseline: s.speedupVsBaseline, energy_gain_vs_dense_baseline: s.energyGainVsBaseline,
  };
}

export async function runMainJob(o: MainJobOptions): Promise<Headline[]> {
  const started = Date.now();
  const headlines: Headline[] = [];
  const results: { name: string; res: TraceSimResult }[] = [];
  await writeDirAtomic(o.out, async (tmp) => {
    for (const variant of ['baseline', 'delta'] as const) {
      const rec = await recordModelTrace({
        modelDir: join(o.modelsDir, variant),
        data: o.data, seed: o.seed, split: 'test', clip: o.clip, frames: o.frames, fps: o.fps,
        out: join(tmp, 'traces', variant),
      });
      o.log(`traced ${variant} model: ${rec.manifest.layers.length} MAC layers × ${rec.manifest.frames} frames (${rec.seconds.toFixed(1)} s)`);
    }
    const baseline = loadHwModel(BASELINE_ARCH);
    for (const r of RUNS) {
      const res = simulateTrace(openTrace(join(tmp, 'traces', r.model)), loadHwModel(r.arch), {
        mode: 'all', fps: o.fps, baseline, keepLayers: true,
      });
      const name = `${r.model}-on-${r.arch}`;
      const dir = join(tmp, 'runs', name);
      await writeTraceSimOutput(dir, res, ['simulate', '--trace', `traces/${r.model}`, '--arch', r.arch, '--mode', 'all', '--fps', String(o.fps)]);
      await buildReport(dir);
      results.push({ name, res });
      for (const s of res.modes) headlines.push(headlineOf(r.model, s));
      o.log(`simulated ${name}: ${res.modes.map((s) => s.mode).join(', ')}`);
    }
    // The top-level report is the delta model on the delta array (dense, sparse and delta modes side by side,
    // against the dense baseline array) with every configuration's headline added to its summary.
    const main = results.find((x) => x.name === 'delta-on-delta-32x32')!;
    const staged = join(tmp, '.main-run');
    await writeTraceSimOutput(staged, main.res, ['(npm start) main job']);
    for (const f of readdirSync(staged)) renameSync(join(staged, f), join(tmp, f));
    rmdirSync(staged);
    const mainSummary = JSON.parse(readFileSync(join(tmp, 'summary.json'), 'utf8'));
    writeFileSync(join(tmp, 'summary.json'), JSON.stringify({ mainRun: main.name, headline: headlines, ...mainSummary }, null, 2) + '\n');
    writeFileSync(join(tmp, 'run.json'), runJson(['npm', 'start']));
    await buildReport(tmp);
    o.log('');
    o.log(traceSummaryTable(main.res));
  });

  const fmt = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d));
  o.log('');
  o.log('All configurations (per frame; gains against the baseline model on dense-32x32, dense):');
  o.log(table(
    ['model', 'hw-model', 'mode', 'latency µs (mean)', 'p95', 'energy µJ', `power mW @${o.fps}fps`, 'speedup', 'energy gain'],
    headlines.map((h) => [h.model, h.arch, h.mode, fmt(h.latency_mean_us, 1), fmt(h.latency_p95_us, 1), fmt(h.energy_per_frame_uj, 3),
      fmt(h.power_mw), fmt(h.speedup_vs_dense_baseline) + '×', fmt(h.energy_gain_vs_dense_baseline) + '×']),
  ));
  const dense = headlines.find((h) => h.model === 'baseline' && h.arch === BASELINE_ARCH && h.mode === 'dense')!;
  const delta = headlines.find((h) => h.model === 'delta' && h.arch === 'delta-32x32' && h.mode === 'delta')!;
  o.log('');
  o.log(`Delta inference (delta-trained model on delta-32x32) vs dense inference (baseline model on dense-32x32):`);
  o.log(`  latency per frame ${fmt(dense.latency_mean_us, 1)} → ${fmt(delta.latency_mean_us, 1)} µs (speedup ${fmt(delta.speedup_vs_dense_baseline)}×); ` +
    `energy per frame ${fmt(dense.energy_per_frame_uj, 3)} → ${fmt(delta.energy_per_frame_uj, 3)} µJ (energy gain ${fmt(delta.energy_gain_vs_dense_baseline)}×); ` +
    `average power at ${o.fps} fps ${fmt(dense.power_mw)} → ${fmt(delta.power_mw)} mW`);
  o.log(`Report: ${relative(process.cwd(), join(o.out, 'report.html'))} (per configuration: ${relative(process.cwd(), join(o.out, 'runs'))}/*/report.html); ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`);
  return headlines;
}
