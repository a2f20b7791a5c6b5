/**
 * Before / after a change: the simulator's hot loops in two builds of deltasim, their processes taking
 * turns on one core so that the host's drift falls on both alike.
 *
 *   npm run build && taskset -c 1 node dist/bench/compare-builds.js --before DIR [--processes N] [--label TEXT] [--write]
 *
 * DIR is another checkout of deltasim with its own build (`git worktree add DIR REV`, link node_modules,
 * `npx tsc -p tsconfig.build.json && touch dist/.built`). Measured, per build, over N processes each (default 5):
 *  - trace-driven delta simulation, steady state (bench/sim-trace.ts `--steady`: warmed up on the trace,
 *    median of the runs), on delta-32x32 (systolic: computeLayer and the per-frame counters) and on
 *    seneca-like (event: coreLoad), a 1,000-frame synthetic cnn64 trace;
 *  - dense AlexNet on 32×32, os+ws+is together (bench/sim-dense.ts: computeLayer over topologies).
 * --write puts the table into reports/bench-compare-builds.md.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { makeTempDir } from '../src/record/temp-dir.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { packagePath } from '../lib/package-dir.js';
import { openTrace } from '../traces/reader.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../traces/synthetic.js';
import { median, runChild } from './self.js';

const SYNTH = { seed: 1, density: 0.4, changeRate: 0.1, blobs: 3 }; // bench/sim-trace.ts's trace
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const PROCESSES = Number(arg('--processes') ?? 5);

/** AlexNet 32×32, os+ws+is together, ms per run: bench/sim-dense.ts's own figure. */
function denseMs(root: string): number {
  const out = execFileSync(process.execPath, [join(root, 'dist', 'bench', 'sim-dense.js')], { encoding: 'utf8' });
  const m = out.match(/\| AlexNet 32×32 \| os\+ws\+is together \| ([\d.]+) \|/);
  if (!m) throw new Error(`${root}: bench/sim-dense.js printed no "AlexNet 32×32 | os+ws+is together" row`);
  return Number(m[1]);
}

interface Row {
  what: string;
  unit: string;
  before: number[];
  after: number[];
}

async function main(): Promise<void> {
  const beforeDir = arg('--before');
  if (!beforeDir) throw new Error('usage: node dist/bench/compare-builds.js --before DIR [--label TEXT] [--write]');
  const builds = { before: resolve(beforeDir), after: packagePath() };
  // Removed on exit and on Ctrl-C / SIGTERM too (a killed benchmark leaves nothing behind).
  const temp = makeTempDir('deltasim-bench-compare-');
  const work = temp.path;
  try {
    const warm = join(work, 't100');
    const trace = join(work, 't1000');
    await writeSyntheticTrace(warm, SYNTH_PRESETS.cnn64!, { ...SYNTH, frames: 100 });
    await writeSyntheticTrace(trace, SYNTH_PRESETS.cnn64!, { ...SYNTH, frames: 1000 });
    const t = openTrace(trace, { verify: false });
    const activations = t.manifest.frames * t.layers.reduce((a, l) => a + l.frameElements, 0);
    const rows: Row[] = [
      { what: 'delta-32x32, delta mode, 1,000 frames (steady)', unit: 'M act/s', before: [], after: [] },
      { what: 'seneca-like, delta mode, 1,000 frames (steady)', unit: 'M act/s', before: [], after: [] },
      { what: 'AlexNet dense 32×32, os+ws+is together', unit: 'ms', before: [], after: [] },
    ];
    for (let p = 0; p < PROCESSES; p++) {
      // Alternate which build goes first, so neither always runs on a warmer (or cooler) host.
      const order = p % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
      for (const b of order) {
        const file = join(builds[b], 'dist', 'bench', 'sim-trace.js');
        ['delta-32x32', 'seneca-like'].forEach((hw, i) => {
          const s = runChild<{ wallS: number }>(file, ['--steady', trace, warm, hw], ['--expose-gc']);
          rows[i]![b].push(activations / s.wallS / 1e6);
        });
        rows[2]![b].push(denseMs(builds[b]));
      }
    }
    const digits = (r: Row) => (r.unit === 'ms' ? 3 : 1);
    const range = (r: Row, xs: number[]) => `${Math.min(...xs).toFixed(digits(r))}–${Math.max(...xs).toFixed(digits(r))}`;
    const table = [
      '| what | before: median (range) | after: median (range) | after ÷ before |',
      '|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.what} | ${median(r.before).toFixed(digits(r))} ${r.unit} (${range(r, r.before)}) | ` +
          `${median(r.after).toFixed(digits(r))} ${r.unit} (${range(r, r.after)}) | ${(median(r.after) / median(r.before)).toFixed(3)} |`,
      ),
    ].join('\n');
    const report = [
      '# Benchmark: hot loops before and after a change (bench/compare-builds.ts)',
      '',
      `${arg('--label') ?? ''}`,
      '',
      `Before: \`${builds.before}\`; after: this checkout. ${PROCESSES} processes per build and figure, the builds taking turns;`,
      'trace figures are bench/sim-trace.ts `--steady` children (warmed up on the trace, median of the measured runs), in input',
      `activations per second (${activations.toLocaleString('en')} per run, synthetic cnn64, seed ${SYNTH.seed}); the dense figure is`,
      "bench/sim-dense.ts's own (mean over its calls after its warm-up). Higher M act/s and lower ms are better.",
      '',
      table,
      '',
      `Machine: ${cpus()[0]?.model ?? 'unknown'}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}.`,
      'Command: `npm run build && taskset -c 1 node dist/bench/compare-builds.js --before DIR --write`.',
      '',
    ].join('\n');
    console.log(report);
    if (process.argv.includes('--write')) writeFileAtomic(packagePath('reports', 'bench-compare-builds.md'), report);
  } finally {
    temp.remove();
  }
}

await main();
