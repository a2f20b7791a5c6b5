/**
 * Memory of `deltasim simulate --trace T --out DIR` as the trace grows: peak RSS of the whole CLI process for
 * 1,000 and 10,000 frames, with and without --layers. The run directory's files are written as the frames
 * stream by (layers.csv) or in chunks (frames.csv), so what grows with T is only the per-frame summary rows
 * (152 bytes per frame and run, sim/frame-table.ts).
 *
 *   npm run build && node dist/bench/simulate-out.js [--write]
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../src/record/temp-dir.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { packagePath } from '../lib/package-dir.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../traces/synthetic.js';
import { median } from './self.js';

const SYNTH = { seed: 1, density: 0.4, changeRate: 0.1, blobs: 3 }; // bench/sim-trace.ts's trace
const REPEATS = 3;
const CLI = packagePath('dist', 'src', 'cli', 'index.js');

/** Child: run the CLI in this process (so its own maxRSS is the CLI's) and print the peak RSS in MiB on exit. */
if (process.argv[2] === '--child') {
  process.argv = [process.argv[0]!, CLI, ...process.argv.slice(3)];
  process.on('exit', () => process.stderr.write(`\nPEAK_RSS_MIB ${process.resourceUsage().maxRSS / 1024}\n`));
  await import(CLI);
} else {
  // Removed on exit and on Ctrl-C / SIGTERM too (a killed benchmark leaves nothing behind).
  const temp = makeTempDir('deltasim-bench-simulate-out-');
  const work = temp.path;
  try {
    const rows: string[] = [];
    for (const frames of [1000, 10000]) {
      const trace = join(work, `t${frames}`);
      await writeSyntheticTrace(trace, SYNTH_PRESETS.cnn64!, { ...SYNTH, frames });
      for (const layers of [false, true]) {
        const rss = Array.from({ length: REPEATS }, (_, i) => {
          const out = join(work, `out-${frames}-${layers}-${i}`);
          const args = ['simulate', '--trace', trace, '--arch', 'delta-32x32', '--out', out, ...(layers ? ['--layers'] : [])];
          const r = spawnSync(process.execPath, [process.argv[1]!, '--child', ...args], {
            encoding: 'utf8',
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          if (r.status !== 0) throw new Error(`simulate failed: ${r.stderr}`);
          rmSync(out, { recursive: true, force: true });
          return Number(r.stderr.match(/PEAK_RSS_MIB ([\d.]+)/)![1]);
        });
        rows.push(
          `| ${frames} | ${layers ? 'yes' : 'no'} | ${median(rss).toFixed(1)} MiB (${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)}) |`,
        );
      }
    }
    const report = [
      '# Benchmark: memory of `simulate --trace --out` (bench/simulate-out.ts)',
      '',
      `Peak RSS of the whole CLI process (\`process.resourceUsage().maxRSS\`), median of ${REPEATS} runs (range), for a synthetic`,
      `cnn64 trace (seed ${SYNTH.seed}), all modes of delta-32x32 plus the dense-32x32 baseline, writing the run directory.`,
      '',
      '| frames | --layers | peak RSS |',
      '|---:|---|---:|',
      ...rows,
      '',
      `Machine: ${cpus()[0]?.model ?? 'unknown'}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}.`,
      'Command: `npm run build && node dist/bench/simulate-out.js --write`.',
      '',
    ].join('\n');
    console.log(report);
    if (process.argv.includes('--write')) writeFileAtomic(packagePath('reports', 'bench-simulate-out.md'), report);
  } finally {
    temp.remove();
  }
}
