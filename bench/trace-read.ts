/**
 * Trace read benchmark: stream a synthetic 64×64-input CNN trace (preset cnn64, 5 MAC layers) of
 * 100 and 1,000 frames, frame by frame over all layers, and report read throughput (input
 * activations per second) and peak RSS. Each measurement runs in its own process so peak RSS is
 * that run's alone; streaming means it must not grow with the number of frames.
 *
 *   npm run build && node dist/bench/trace-read.js [--out reports/bench-trace-read.md]
 */
import { cpus, tmpdir, totalmem, platform, release } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../lib/atomic.js';
import { frameReader, openTrace } from '../traces/reader.js';
import { traceStats } from '../traces/stats.js';
import { packagePath } from '../lib/package-dir.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../traces/synthetic.js';
import { codeRun, medians, runChild } from './self.js';

interface Measurement {
  frames: number;
  activations: number;
  readSeconds: number;
  statsSeconds: number;
  verifySeconds: number;
  peakRssMiB: number;
}

const SELF = fileURLToPath(import.meta.url);
const REPEATS = 3;

/** Child: one timed pass of each kind over the trace in `dir`; prints a Measurement as JSON. */
function child(dir: string): void {
  const t0 = performance.now();
  const trace = openTrace(dir, { verify: true });
  const verifySeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  let checksum = 0; // touch every value so the read cannot be optimised away
  for (const frames of frameReader(trace)) for (const f of frames) for (let i = 0; i < f.length; i += 1) checksum += f[i]!;
  const readSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  traceStats(trace);
  const statsSeconds = (performance.now() - t2) / 1000;
  const perFrame = trace.layers.reduce((a, l) => a + l.frameElements, 0);
  const m: Measurement = {
    frames: trace.manifest.frames,
    activations: perFrame * trace.manifest.frames,
    readSeconds,
    statsSeconds,
    verifySeconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  console.log(JSON.stringify({ ...m, checksum }));
}

async function main(out: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'deltasim-bench-'));
  try {
    const rows: Measurement[] = [];
    for (const frames of [100, 1000]) {
      const dir = join(work, `t${frames}`);
      await writeSyntheticTrace(dir, SYNTH_PRESETS.cnn64!, { seed: 1, frames, density: 0.4, changeRate: 0.1, blobs: 3 });
      rows.push(medians(Array.from({ length: REPEATS }, () => runChild<Measurement>(SELF, ['--child', dir]))));
    }
    const perFrame = SYNTH_PRESETS.cnn64!.reduce((a, l) => a + l.input.reduce((x, y) => x * y, 1), 0);
    const M = (x: number) => (x / 1e6).toFixed(1);
    const lines = [
      '# Trace read benchmark',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores),`,
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${platform()} ${release()}, Node ${process.version}; one core, synchronous reads.`,
      '',
      `Trace: synthetic preset \`cnn64\` (5 MAC layers, 64×64×3 input; ${perFrame} uint8 input activations per frame),`,
      'seed 1, density 0.4, change rate 0.1, 3 blobs. Each figure is the median of',
      `${REPEATS} runs, each run in a fresh process (peak RSS = that process's maxRSS, Node included).`,
      `Code measured: ${codeRun(SELF)}.`,
      '',
      '| frames | activations | read (frame by frame, all layers) | stats pass (`traceStats`) | open + sha256 verify | peak RSS |',
      '|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.frames} | ${r.activations} | ${M(r.activations / r.readSeconds)} M act/s (${r.readSeconds.toFixed(3)} s) | ` +
          `${M(r.activations / r.statsSeconds)} M act/s (${r.statsSeconds.toFixed(3)} s) | ${r.verifySeconds.toFixed(3)} s | ${r.peakRssMiB.toFixed(1)} MiB |`,
      ),
      '',
      `Peak RSS at 1,000 frames vs 100 frames: ${(rows[1]!.peakRssMiB - rows[0]!.peakRssMiB).toFixed(1)} MiB difference` +
        ` (the data grows ${M(rows[1]!.activations - rows[0]!.activations)} M bytes).`,
      '',
      'Reproduce: `npm run build && node dist/bench/trace-read.js` (writes this file).',
      '',
    ];
    writeFileAtomic(out, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') child(args[1]!);
else await main(args[0] === '--out' ? args[1]! : packagePath('reports', 'bench-trace-read.md'));
