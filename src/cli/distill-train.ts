/**
 * `deltasim train --from MODEL --distill VIDEOS`: self-distillation (src/tf/distill.ts). The --from model
 * is the teacher: nsfwjs:NAME or a Keras layers model.json (a per-frame network, delta-ised for the
 * student by deltaise-graph.ts) or a model directory of ours (delta-ised by models.ts's deltaise, or
 * trained further as it is). Its outputs on every frame are computed first; the student then trains with
 * train.ts's loop and phases against them and is evaluated on the held-out end of each video before and
 * after training. Writes the model directory (meta.json's training record names the teacher, the videos,
 * their split and the temperature) and DIR/eval.json; prints the evaluation. Everything that can be wrong
 * with the input (model, videos, flags) is checked before anything is written.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { table } from '../../lib/table.js';
import type { tf } from '../tf/backend.js';
import {
  type DistillEvaluation,
  distillData,
  disableDropout,
  distillationObjective,
  evaluateDistillation,
  inputFrameShape,
  perFrameModel,
  perFrameProbabilities,
  teacherOutputs,
  distillFigures,
} from '../tf/distill.js';
import { deltaiseKeras } from '../tf/deltaise-graph.js';
import { assignFanOuts, DEFAULT_FAN_OUT, type FanOutConvention, inputDeltaOf, type Variant } from '../tf/models.js';
import { loadModel, type ModelMeta } from '../tf/persist.js';
import { type OptimizerName, type Phase, train } from '../tf/train.js';
import { clipBatch } from '../tf/evaluate.js';
import { setRelativeThresholds } from '../tf/relative-thresholds.js';
import { DEFAULT_HELD_OUT, loadSplitVideos, videoFiles } from '../video/frame-split.js';
import { startProgress } from './progress.js';
import type { refinable, TrainArgs } from './commands/train.js';

export const DISTILL_DEFAULTS = { temperature: 1, heldOut: DEFAULT_HELD_OUT, evalFrames: 8 } as const;
/** Flags that only --distill takes. */
export const DISTILL_ONLY = ['temperature', 'held-out', 'max-frames', 'eval-frames', 'relative-step'] as const;

/** The --distill flags, checked before anything is loaded. */
export function checkDistillArgs(argv: TrainArgs): void {
  if (argv.distill === undefined || argv.distill.split(',').every((p) => p.trim() === ''))
    throw new InputError('--distill: expected video files or folders (VIDEO[,VIDEO…|DIR])');
  const t = argv.temperature;
  if (t !== undefined && !(Number.isFinite(t) && t > 0)) throw new InputError(`--temperature: expected a number > 0, got ${t}`);
  const h = argv['held-out'];
  if (h !== undefined && !(h > 0 && h < 1)) throw new InputError(`--held-out: expected a fraction in (0, 1), got ${h}`);
  const m = argv['max-frames'];
  if (m !== undefined && !(Number.isInteger(m) && m >= 2)) throw new InputError(`--max-frames: expected an integer >= 2, got ${m}`);
  const e = argv['eval-frames'];
  if (e !== undefined && !(Number.isInteger(e) && e >= 1)) throw new InputError(`--eval-frames: expected an integer >= 1, got ${e}`);
  const r = argv['relative-step'];
  if (r !== undefined && !(Number.isFinite(r) && r > 0 && r <= 1))
    throw new InputError(`--relative-step: expected a number in (0, 1], got ${r}`);
  if (r !== undefined && argv.step !== undefined) throw new InputError('--relative-step: give it or --step, not both');
  if (argv.data !== undefined) throw new InputError('--data: not with --distill (the videos are the data)');
  if (argv.from === undefined)
    throw new InputError('--distill: --from MODEL is needed (the teacher: nsfwjs:NAME, a Keras model.json or a model directory)');
}

/** What the train command has worked out and owns (passed in: importing it here would be an import cycle). */
interface Common {
  phases: Phase[];
  learningRate: number;
  decay: number;
  optimizer: OptimizerName;
  thresholdLrScale: number;
  /** The train command's --from rules for a model directory. */
  refine: (dir: string) => ReturnType<typeof refinable>;
  /** The evaluation file in the model directory. */
  evalFile: string;
  pct: (x: number) => string;
}

const isModelDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The teacher as loaded (kept until its outputs are computed) and what the output names. */
async function loadTeacher(ref: string): Promise<{ model: tf.LayersModel; meta: ModelMeta | null; name: string }> {
  if (isModelDir(ref)) {
    const { model, meta } = await loadModel(ref);
    return { model, meta, name: meta?.net ?? model.name };
  }
  const { loadKerasModel } = await import('../record/keras/load.js');
  const loaded = await loadKerasModel(ref);
  return { model: loaded.model, meta: null, name: loaded.name };
}

function evaluationLines(label: string, e: DistillEvaluation, variant: Variant, pct: (x: number) => string): string {
  const kind = variant === 'delta' ? 'temporal' : 'spatial';
  return (
    `${label}: top-1 agreement with the teacher ${pct(e.agreement)}, KL ${e.kl.toFixed(4)} nats/frame, ` +
    `operation sparsity ${pct(e.paperSparsity)} (${kind}, fan-out weighted; temporal ${pct(e.operationSparsity)}, spatial ${pct(e.spatialOperationSparsity)})`
  );
}

export async function distillTrain(argv: TrainArgs, common: Common): Promise<void> {
  const { pct } = common;
  const from = argv.from!;
  const temperature = argv.temperature ?? DISTILL_DEFAULTS.temperature;
  const heldOut = argv['held-out'] ?? DISTILL_DEFAULTS.heldOut;
  const evalFrames = argv['eval-frames'] ?? DISTILL_DEFAULTS.evalFrames;
  const objective = distillationObjective(temperature);
  const files = videoFiles(argv.distill!);
  const teacher = await loadTeacher(from);
  const probs = perFrameProbabilities(teacher.model, `--from ${from}`);
  const classCount = probs.shape.at(-1)!;
  const named = teacher.meta?.classes;
  const classes = named?.length === classCount ? named : [...Array(classCount).keys()].map((k) => `class${k}`);
  const frameShape = inputFrameShape(teacher.model);
  const [h, w, c] = frameShape;
  if (c !== 1 && c !== 3) throw new InputError(`--from ${from}: the model takes ${c}-channel frames; videos give 1 or 3`);

  const videos = await loadSplitVideos(
    files,
    { width: w, height: h, channels: c },
    { heldOut, maxFrames: argv['max-frames'], minTrain: argv.frames, minHeldOut: evalFrames },
  );
  const frameCount = videos.reduce((n, v) => n + v.count, 0);
  const teach = startProgress({ label: 'teacher outputs', total: frameCount, quiet: argv.quiet });
  const targets: Float32Array[] = [];
  try {
    for (const v of videos) {
      targets.push(await teacherOutputs(teacher.model, v, argv.batch));
      teach.update(targets.reduce((n, t) => n + t.length / classCount, 0));
    }
  } finally {
    teach.stop();
  }
  const data = distillData(videos, targets, classes, { clipFrames: argv.frames, evalFrames, seed: argv.seed });

  // The student: a clip model (a model directory of ours) delta-ised or as it is (train.ts's rules); a per-frame network delta-ised.
  let student: tf.LayersModel;
  let variant: Variant;
  let fanOut: FanOutConvention;
  if (teacher.model.inputs[0]!.shape.length === 5) {
    teacher.model.dispose();
    const r = await common.refine(from);
    ({ model: student, variant } = r);
    fanOut = r.fanOut;
    assignFanOuts(student, r.fanOut);
  } else {
    ({ student, variant, fanOut } = deltaiseTeacher(teacher.model, argv));
    teacher.model.dispose();
  }
  const relative = argv['relative-step'];
  let relativeThresholds: Record<string, number> | undefined;
  if (relative !== undefined) {
    if (variant !== 'delta') throw new InputError(`--relative-step: sets Delta Activation Layers' thresholds; the student is ${variant}`);
    const clip = clipBatch([await data.train.get(0)], frameShape, argv.frames);
    relativeThresholds = Object.fromEntries(await setRelativeThresholds(student, clip.x, relative));
    clip.x.dispose();
  }
  const dropouts = disableDropout(student);
  const inputLayer = inputDeltaOf(student);
  const sp = (rate: number) => (variant === 'baseline' ? 0 : rate);
  const phases = common.phases.map((p) => ({ ...p, spRate: sp(p.spRate) }));
  const split = videos.map((v) => ({ file: v.file, frames: v.count, train: v.trainFrames, heldOut: v.count - v.trainFrames }));
  const meta: ModelMeta = {
    net: teacher.name,
    variant,
    classes,
    frameShape,
    seed: argv.seed,
    training: {
      distill: { teacher: from, videos: files, heldOut, maxFrames: argv['max-frames'] ?? null, temperature, evalFrames, split },
      frames: argv.frames,
      from,
      fanOut,
      dropoutDisabled: dropouts,
      inputDelta: inputLayer !== null,
      ...(inputLayer ? { inputThreshold: inputLayer.thresholdInit } : {}),
      ...(relativeThresholds ? { relativeStep: relative, relativeThresholds } : {}),
    },
  };

  const before = await evaluateDistillation(student, data.heldOut, variant);
  const batches = Math.ceil(data.train.size / argv.batch);
  const epochs = phases.reduce((n, p) => n + p.epochs, 0);
  const progress = startProgress({ label: 'distillation', total: epochs * batches, quiet: argv.quiet });
  try {
    await train(perFrameModel(student), data.train, {
      phases,
      batchSize: argv.batch,
      learningRate: common.learningRate,
      decay: common.decay,
      momentum: argv.momentum,
      optimizer: common.optimizer,
      thresholdLrScale: common.thresholdLrScale,
      seed: argv.seed,
      objective,
      checkpoint: { dir: argv.out, every: argv['checkpoint-every'], meta, model: student },
      onBatch: (p) =>
        progress.update(p.globalEpoch * p.batches + p.batch + 1, {
          epoch: `${p.globalEpoch + 1}/${p.totalEpochs}`,
          KL: p.crossEntropy.toFixed(4),
          agree: pct(p.accuracy),
          'temporal sp.': pct(p.temporalSparsity),
          'frames/s': p.framesPerSecond.toFixed(1),
        }),
      onEpoch: (e) =>
        progress.log(
          `epoch ${e.globalEpoch + 1}/${epochs} (phase ${e.phase + 1}): loss ${e.loss.toFixed(4)} (T²·KL ${e.crossEntropy.toFixed(4)}), ` +
            `agreement ${pct(e.accuracy)}, spatial ${pct(e.spatialSparsity)}, temporal ${pct(e.temporalSparsity)}, operation ${pct(e.operationSparsity)} sparsity; ` +
            `${e.framesPerSecond.toFixed(1)} frames/s`,
        ),
    });
  } catch (e) {
    // wasm's heap is 4 GiB: a large network on long clips runs out of it with this opaque message.
    if (e instanceof Error && /memory access out of bounds/.test(e.message))
      throw new Error(
        `the tfjs wasm backend ran out of memory (${e.message}): train on shorter clips (--frames, --clip2) or smaller --batch`,
      );
    throw e;
  } finally {
    progress.stop();
  }
  const after = await evaluateDistillation(student, data.heldOut, variant);
  const record = {
    teacher: from,
    videos: files,
    split,
    temperature,
    variant,
    heldOutClips: after.clips,
    heldOutFrames: after.frames,
    before: distillFigures(before),
    after: { ...distillFigures(after), layers: after.layers },
  };
  writeFileAtomic(join(argv.out, common.evalFile), `${JSON.stringify(record, null, 2)}\n`);
  const rows = split.map((s) => [s.file, String(s.frames), String(s.train), String(s.heldOut)]);
  console.log(
    [
      `self-distillation of ${from} (${variant}, temperature ${temperature}) on the held-out ${pct(heldOut)} of each video:`,
      table(['video', 'frames', 'train', 'held out'], rows),
      evaluationLines(`before training (${after.frames} held-out frames)`, before, variant, pct),
      evaluationLines('after training', after, variant, pct),
      `model: ${argv.out}`,
    ].join('\n'),
  );
  student.dispose();
}

/** A Keras teacher's student: a copy with measuring layers of --variant (deltaise-graph.ts), the teacher kept as it is. */
function deltaiseTeacher(
  teacher: tf.LayersModel,
  argv: TrainArgs,
): { student: tf.LayersModel; variant: Variant; fanOut: FanOutConvention } {
  const variant = argv.variant ?? 'delta';
  const fanOut = argv['fan-out'] ?? DEFAULT_FAN_OUT;
  const student = deltaiseKeras(teacher, {
    variant,
    spRate: argv['sp-rate1'],
    thresholdInit: argv.step,
    granularity: argv.granularity,
    inputDelta: argv['input-delta'],
    inputThreshold: argv['input-threshold'],
    fanOut,
  });
  return { student, variant, fanOut };
}
