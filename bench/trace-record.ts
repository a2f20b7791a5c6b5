/**
 * Trace-recording throughput of the default 64×64 models (plain, plain with MotionInput, mobilenet; delta variant):
 * recordTrace over a FRAMES-frame procedural clip (already rendered), chunks of 64 frames, writing a
 * complete trace (spool, dtype choice, .npy + sha256, manifest) to a temp dir. One warm-up run, then
 * REPEATS timed runs; the median is reported.
 * Measure on one core: `taskset -c 0 node --import tsx bench/trace-record.ts` (prints a markdown section).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/tf/backend.js';
import { buildModel, type NetName } from '../src/tf/models.js';
import { datasetSource, recordTrace } from '../src/record/index.js';
import { median } from './self.js';

const FRAMES = 512;
const REPEATS = 5;

const backend = await initBackend({ quiet: true });
const work = mkdtempSync(join(tmpdir(), 'deltasim-bench-record-'));
const rows: string[] = [];
try {
  const source = await datasetSource('procedural', { frameShape: [64, 64, 1], frames: FRAMES, seed: 1 });
  const cases: Array<{ net: NetName; motionInput: boolean }> = [
    { net: 'plain', motionInput: false },
    { net: 'plain', motionInput: true },
    { net: 'mobilenet', motionInput: false },
  ];
  for (const { net, motionInput } of cases) {
    const model = buildModel({ net, variant: 'delta', classes: 9, frameShape: [64, 64, 1], seed: 1, motionInput });
    const fps: number[] = [];
    let bytes = 0;
    for (let r = 0; r <= REPEATS; r++) {
      const out = join(work, `${model.name}-${r}`);
      const t0 = performance.now();
      const { manifest } = await recordTrace(model, source, out, { modelInfo: { name: model.name } });
      if (r > 0) fps.push(FRAMES / ((performance.now() - t0) / 1000));
      bytes = manifest.layers.reduce((a, l) => a + l.input.reduce((x, y) => x * y, 1), 0);
      rmSync(out, { recursive: true });
    }
    rows.push(
      `| ${net}${motionInput ? ' + motion input' : ''} | ${FRAMES} | ${bytes} | ${median(fps).toFixed(0)} | ${fps.map((f) => f.toFixed(0)).join(', ')} |`,
    );
    model.dispose();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(
  [
    '## Trace-recording throughput (`bench/trace-record.ts`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB), ${platform()} ${release()}, Node ${process.version}, tfjs backend ${backend};` +
      ` load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end (other work shares the machine).`,
    `64×64×1 frames, delta variant (per-channel thresholds), chunks of 64 frames; one warm-up run, median of ${REPEATS}.`,
    '',
    '| net | frames | levels recorded per frame | frames/s | each run |',
    '|---|---:|---:|---:|---|',
    ...rows,
  ].join('\n'),
);
