/**
 * The paper's claim on a real pretrained network (issue 18 item 4): self-distillation (src/tf/distill.ts)
 * of nsfwjs's MobileNetV2 on real video, three ways, against the dense teacher on the held-out end of
 * each video (top-1 agreement, KL, operation sparsity as the paper counts it):
 *   (a) threshold-only deltas, DeltaCNN-style: the pretrained network delta-ised with fixed thresholds
 *       (several), no training; deterministic, so once, not per seed;
 *   (b) spatial L1 fine-tuned by distillation; (c) Delta Activation Layers fine-tuned by distillation;
 *   plus the baseline (the pretrained network with fixed-step quantisers, no training) whose spatial
 *   non-zero operations the targets compare with.
 * The teacher's outputs and the decoded frames are computed once and shared by every run. Each trained
 * run's wall time and seconds per training frame are recorded; the study prints an estimate of the full
 * study's time from the first trained run. Writes OUT/results.json and OUT/results.md (nothing else).
 *
 *   npx tsx studies/paper-at-scale/run.ts [--model nsfwjs:mobilenet_v2] [--videos vtest.avi,Megamind.avi]
 *     [--seeds 1,2,3] [--thresholds 0.02,0.05,0.1,0.2] [--max-frames N] [--frames 2] [--eval-frames 8]
 *     [--epochs1 10] [--epochs2 5] [--batch 1] [--temperature 1] [--sp-rate1 1e-4] [--sp-rate2 1e-6]
 *     [--variants l1,delta] [--lr 1e-3] [--out reports/paper-at-scale]
 *   --smoke: a tiny run that proves it works (1 seed, 2 thresholds, 12 frames of vtest.avi, 1 + 1 epochs).
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeDirAtomic } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import { writeFileSync } from 'node:fs';
import { loadKerasModel } from '../../src/record/keras/load.js';
import { initBackend } from '../../src/tf/backend.js';
import { deltaiseKeras } from '../../src/tf/deltaise-graph.js';
import {
  distillData,
  disableDropout,
  distillationObjective,
  evaluateDistillation,
  perFrameProbabilities,
  inputFrameShape,
  perFrameModel,
  teacherOutputs,
  distillFigures,
  type DistillFigures,
} from '../../src/tf/distill.js';
import { OPTIMIZER_DEFAULTS, train } from '../../src/tf/train.js';
import { loadSplitVideos } from '../../src/video/frame-split.js';
import { stat, type Stat } from '../paper-repro/table.js';

const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'nsfwjs:mobilenet_v2' },
    videos: { type: 'string', default: `${OPENCV}/vtest.avi,${OPENCV}/Megamind.avi` },
    seeds: { type: 'string', default: '1,2,3' },
    thresholds: { type: 'string', default: '0.02,0.05,0.1,0.2' },
    'max-frames': { type: 'string' },
    frames: { type: 'string', default: '2' },
    'eval-frames': { type: 'string', default: '8' },
    epochs1: { type: 'string', default: '10' },
    epochs2: { type: 'string', default: '5' },
    batch: { type: 'string', default: '1' },
    temperature: { type: 'string', default: '1' },
    'sp-rate1': { type: 'string', default: '1e-4' },
    'sp-rate2': { type: 'string', default: '1e-6' },
    variants: { type: 'string', default: 'l1,delta' },
    /** Adam's learning rate (default the refinement one of OPTIMIZER_DEFAULTS, 1e-3). */
    lr: { type: 'string' },
    out: { type: 'string', default: 'reports/paper-at-scale' },
    smoke: { type: 'boolean', default: false },
  },
});
if (values.smoke)
  Object.assign(values, {
    videos: `${OPENCV}/vtest.avi`,
    seeds: '1',
    thresholds: '0.05,0.2',
    'max-frames': '12',
    'eval-frames': '2',
    epochs1: '1',
    epochs2: '1',
  });
const num = (name: string, v: string | undefined, ok: (n: number) => boolean) => {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !ok(n)) throw new InputError(`--${name}: bad value "${v}"`);
  return n;
};
const int = (n: number) => Number.isInteger(n) && n >= 1;
const list = (name: string, v: string, ok: (n: number) => boolean) => v.split(',').map((x) => num(name, x, ok));
const seeds = list('seeds', values.seeds, (n) => Number.isInteger(n) && n >= 0);
const thresholds = list('thresholds', values.thresholds, (n) => n > 0);
const trained = values.variants.split(',').filter((v) => v !== '') as Array<'l1' | 'delta'>;
if (trained.some((v) => v !== 'l1' && v !== 'delta')) throw new InputError(`--variants: l1 and/or delta, got "${values.variants}"`);
const frames = num('frames', values.frames, int);
const evalFrames = num('eval-frames', values['eval-frames'], int);
const maxFrames = values['max-frames'] === undefined ? undefined : num('max-frames', values['max-frames'], int);
const [epochs1, epochs2, batch] = [
  num('epochs1', values.epochs1, (n) => n >= 0),
  num('epochs2', values.epochs2, (n) => n >= 0),
  num('batch', values.batch, int),
];
const temperature = num('temperature', values.temperature, (n) => n > 0);
const [spRate1, spRate2] = [num('sp-rate1', values['sp-rate1'], (n) => n >= 0), num('sp-rate2', values['sp-rate2'], (n) => n >= 0)];
const { refineLearningRate, decay } = OPTIMIZER_DEFAULTS.adam;
const learningRate = values.lr === undefined ? refineLearningRate : num('lr', values.lr, (n) => n > 0);

const backend = await initBackend({ quiet: true });
const t0 = performance.now();
const teacher = (await loadKerasModel(values.model)).model;
const classes = perFrameProbabilities(teacher, values.model).shape.at(-1)!;
const [h, w, c] = inputFrameShape(teacher);
const files = values.videos.split(',');
const videos = await loadSplitVideos(
  files,
  { width: w, height: h, channels: c as 1 | 3 },
  { maxFrames, minTrain: frames, minHeldOut: evalFrames },
);
const targets: Float32Array[] = [];
for (const v of videos) targets.push(await teacherOutputs(teacher, v, 8));
const teacherSeconds = (performance.now() - t0) / 1000;
// How often each class is the teacher's top-1 on the held-out frames: a network that says one class for
// every frame makes top-1 agreement easy (KL is then the telling figure).
const teacherTop1 = new Array<number>(classes).fill(0);
videos.forEach((v, i) => {
  for (let f = v.trainFrames; f < v.count; f++) {
    const p = [...targets[i]!.subarray(f * classes, (f + 1) * classes)];
    teacherTop1[p.indexOf(Math.max(...p))]! += 1;
  }
});
const names = [...Array(classes).keys()].map((k) => `class${k}`);
console.error(`teacher outputs for ${videos.reduce((n, v) => n + v.count, 0)} frames: ${teacherSeconds.toFixed(0)} s`);

type Row = DistillFigures;
const row = distillFigures;
const heldOut = distillData(videos, targets, names, { clipFrames: frames, evalFrames, seed: 0 }).heldOut;
const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const s = performance.now();
  const r = await f();
  return [r, (performance.now() - s) / 1000];
};

// The baseline and (a): no training, deterministic.
const [baseline, baselineSeconds] = await timed(async () => {
  const m = deltaiseKeras(teacher, { variant: 'baseline' });
  const e = await evaluateDistillation(m, heldOut, 'baseline');
  m.dispose();
  return row(e);
});
console.error(`baseline: ${baselineSeconds.toFixed(0)} s`);
const thresholdOnly: Array<{ threshold: number; seconds: number } & Row> = [];
for (const threshold of thresholds) {
  const [r, seconds] = await timed(async () => {
    const m = deltaiseKeras(teacher, { variant: 'delta', thresholdInit: threshold, trainableThreshold: false });
    const e = await evaluateDistillation(m, heldOut, 'delta');
    m.dispose();
    return row(e);
  });
  thresholdOnly.push({ threshold, seconds, ...r });
  console.error(
    `threshold-only ${threshold}: agreement ${r.agreement.toFixed(3)}, operation sparsity ${r.paperSparsity.toFixed(3)} (${seconds.toFixed(0)} s)`,
  );
}

// (b), (c): distillation per seed.
const runs: Array<{
  variant: string;
  seed: number;
  seconds: number;
  steps: number;
  trainFrames: number;
  secondsPerFrame: number;
  before: Row;
  after: Row;
}> = [];
for (const seed of seeds) {
  const data = distillData(videos, targets, names, { clipFrames: frames, evalFrames, seed });
  for (const variant of trained) {
    const s0 = performance.now();
    const student = deltaiseKeras(teacher, { variant, spRate: spRate1 });
    disableDropout(student); // reproducible, and the teacher's function has none
    const before = row(await evaluateDistillation(student, heldOut, variant));
    const phases = [
      { epochs: epochs1, clipLength: frames, spRate: spRate1 },
      { epochs: epochs2, clipLength: Math.min(2, frames), spRate: spRate2 },
    ];
    const [result, trainSeconds] = await timed(() =>
      train(perFrameModel(student), data.train, {
        phases,
        batchSize: batch,
        learningRate,
        decay,
        momentum: 0.9,
        optimizer: 'adam',
        seed,
        objective: distillationObjective(temperature),
        onEpoch: (e) =>
          console.error(
            `  ${variant} seed ${seed} epoch ${e.globalEpoch + 1}: T²·KL ${e.crossEntropy.toFixed(4)}, ${e.framesPerSecond.toFixed(2)} frames/s`,
          ),
      }),
    );
    const trainFrames = phases.reduce((n, p) => n + p.epochs * data.train.size * p.clipLength, 0);
    const after = row(await evaluateDistillation(student, heldOut, variant));
    student.dispose();
    const seconds = (performance.now() - s0) / 1000;
    runs.push({
      variant,
      seed,
      seconds,
      steps: result.iterations,
      trainFrames,
      secondsPerFrame: trainSeconds / trainFrames,
      before,
      after,
    });
    console.error(
      `${variant} seed ${seed}: agreement ${before.agreement.toFixed(3)} → ${after.agreement.toFixed(3)}, KL ${before.kl.toFixed(4)} → ${after.kl.toFixed(4)}, operation sparsity ${after.paperSparsity.toFixed(3)}; ${seconds.toFixed(0)} s (${(trainSeconds / trainFrames).toFixed(2)} s per training frame)`,
    );
  }
}
teacher.dispose();

const over = (variant: string, f: (r: Row) => number): Stat => stat(runs.filter((r) => r.variant === variant).map((r) => f(r.after)));
const nonZero = (s: number) => 1 - s;
const summary = Object.fromEntries(
  trained.map((v) => [
    v,
    {
      agreement: over(v, (r) => r.agreement),
      kl: over(v, (r) => r.kl),
      paperSparsity: over(v, (r) => r.paperSparsity),
      fewerOpsThanBaseline: stat(
        runs.filter((r) => r.variant === v).map((r) => nonZero(baseline.paperSparsity) / nonZero(r.after.paperSparsity)),
      ),
    },
  ]),
);
// The full study's time from this run's measured seconds per training frame (mean over the trained runs) and per evaluated frame.
const perFrame = runs.length ? runs.reduce((n, r) => n + r.secondsPerFrame, 0) / runs.length : NaN;
const results = {
  model: values.model,
  videos: videos.map((v) => ({ file: v.file, frames: v.count, train: v.trainFrames, heldOut: v.count - v.trainFrames })),
  options: {
    seeds,
    thresholds,
    frames,
    evalFrames,
    maxFrames: maxFrames ?? null,
    epochs1,
    epochs2,
    batch,
    temperature,
    spRate1,
    spRate2,
    learningRate,
    decay,
  },
  machine: { backend, cpus: cpus().length, cpu: cpus()[0]?.model ?? '' },
  heldOutFrames: heldOut.size * evalFrames,
  teacherTop1,
  teacherSeconds,
  baseline: { seconds: baselineSeconds, ...baseline },
  thresholdOnly,
  runs,
  summary,
  secondsPerTrainingFrame: perFrame,
  totalSeconds: (performance.now() - t0) / 1000,
};

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const ms = (s: Stat, f = pct) => `${f(s.mean)} ± ${f(s.sd)}`;
const md = [
  '# The paper at scale: self-distillation of a pretrained network on real video',
  '',
  `Teacher ${values.model}; videos ${results.videos.map((v) => `${v.file} (${v.train} train / ${v.heldOut} held-out frames)`).join(', ')}; ` +
    `${results.heldOutFrames} held-out frames in ${evalFrames}-frame clips. Written by \`npx tsx studies/paper-at-scale/run.ts${process.argv
      .slice(2)
      .map((a) => ` ${a}`)
      .join('')}\`` +
    ` (${backend}, ${cpus().length} cores; ${(results.totalSeconds / 60).toFixed(1)} min in all).`,
  '',
  `The teacher's top-1 class on the held-out frames (class: frames): ${results.teacherTop1.map((n, k) => `${k}: ${n}`).join(', ')}; ` +
    'where one class dominates, top-1 agreement is easy to keep and KL is the telling figure.',
  '',
  'Operation sparsity as the paper counts it (fan-out weighted): spatial for the baseline and L1, temporal for delta.',
  '',
  '| variant | top-1 agreement | KL (nats/frame) | operation sparsity | × fewer non-zero ops than the baseline |',
  '|---|---|---|---|---|',
  `| baseline (pretrained, quantised, no training) | ${pct(baseline.agreement)} | ${baseline.kl.toFixed(4)} | ${pct(baseline.paperSparsity)} | 1 |`,
  ...thresholdOnly.map(
    (t) =>
      `| (a) threshold-only deltas, θ = ${t.threshold} | ${pct(t.agreement)} | ${t.kl.toFixed(4)} | ${pct(t.paperSparsity)} | ${(nonZero(baseline.paperSparsity) / nonZero(t.paperSparsity)).toFixed(2)} |`,
  ),
  ...trained.map((v) => {
    const s = summary[v]!;
    return `| (${v === 'l1' ? 'b) spatial L1' : 'c) Delta Activation Layers'}, distilled (${seeds.length} seed${seeds.length > 1 ? 's' : ''}) | ${ms(s.agreement)} | ${ms(s.kl, (x) => x.toFixed(4))} | ${ms(s.paperSparsity)} | ${ms(s.fewerOpsThanBaseline, (x) => x.toFixed(2))} |`;
  }),
  '',
  `Time: teacher outputs ${teacherSeconds.toFixed(0)} s; trained runs ${runs.map((r) => `${r.variant}/${r.seed} ${r.seconds.toFixed(0)} s`).join(', ')}; ` +
    `${Number.isFinite(perFrame) ? perFrame.toFixed(2) : '—'} s per training frame (forward + backward).`,
  '',
  'Targets (issue 18): delta ≥ 5× fewer non-zero operations than the baseline at ≥ 90 % top-1 agreement, and better than threshold-only deltas at equal agreement.',
  '',
];
await writeDirAtomic(values.out, (tmp) => {
  writeFileSync(join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(tmp, 'results.md'), md.join('\n'));
});
console.log(md.join('\n'));
