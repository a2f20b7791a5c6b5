/**
 * Training throughput of the default 64×64 models (plain, plain with MotionInput, mobilenet; delta variant, 9-class
 * procedural data, batch 8) on the backend initBackend picks (wasm, one thread, in this repo's set-up).
 * For each phase shape of the authors' schedule (8-frame clips, then 2-frame clips) one epoch of
 * CLIPS clips is timed after a warm-up epoch, REPEATS times; figures are medians:
 *   step frames/s — frames per second of the optimizer steps alone (train()'s own figure);
 *   wall frames/s — the whole epoch, clip rendering and batching included.
 * Measure on one core: `taskset -c 0 node --import tsx bench/train.ts` (prints a markdown section).
 */
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { initBackend } from '../src/tf/backend.js';
import { buildModel, type NetName } from '../src/tf/models.js';
import { train } from '../src/tf/train.js';
import { openDataset, type ClipDataset } from '../src/video/index.js';

const CLIPS = 48;
const REPEATS = 3;

const subset = (d: ClipDataset, n: number): ClipDataset => ({ classes: d.classes, size: Math.min(n, d.size), get: (i) => d.get(i) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const backend = await initBackend({ quiet: true });
const { train: all } = await openDataset('procedural', { frames: 8, seed: 1 });
const data = subset(all, CLIPS);
const rows: string[] = [];
const CASES: Array<{ net: NetName; motionInput: boolean }> = [
  { net: 'plain', motionInput: false },
  { net: 'plain', motionInput: true },
  { net: 'mobilenet', motionInput: false },
];
for (const { net, motionInput } of CASES) {
  for (const clipLength of [8, 2]) {
    const step: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const model = buildModel({
        net,
        variant: 'delta',
        classes: all.classes.length,
        frameShape: [64, 64, 1],
        seed: r,
        spRate: 1e-4,
        motionInput,
      });
      const opts = { batchSize: 8, learningRate: 0.01, decay: 1e-4, momentum: 0.9, seed: r };
      await train(model, subset(all, 16), { ...opts, phases: [{ epochs: 1, clipLength, spRate: 1e-4 }] }); // warm-up
      const t0 = performance.now();
      const res = await train(model, data, { ...opts, phases: [{ epochs: 1, clipLength, spRate: 1e-4 }] });
      wall.push((CLIPS * clipLength) / ((performance.now() - t0) / 1000));
      step.push(res.epochs[0]!.framesPerSecond);
      model.dispose();
    }
    rows.push(
      `| ${net}${motionInput ? ' + motion input' : ''} | ${clipLength} | ${median(step).toFixed(0)} | ${median(wall).toFixed(0)} | ${step.map((s) => s.toFixed(0)).join(', ')} |`,
    );
  }
}
console.log(
  [
    '## Training throughput (`bench/train.ts`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB), ${platform()} ${release()}, Node ${process.version}, tfjs backend ${backend};` +
      ` load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end (other work shares the machine).`,
    `64×64×1 frames, 9 classes, delta variant (sp_rate 1e-4), batch 8, SGD momentum 0.9; one epoch of ${CLIPS} clips after a warm-up epoch; median of ${REPEATS}.`,
    '',
    '| net | frames per clip | step frames/s | wall frames/s | step frames/s, each run |',
    '|---|---:|---:|---:|---|',
    ...rows,
  ].join('\n'),
);
