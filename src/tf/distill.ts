/**
 * Self-distillation (issue 18): a student (a delta-ised / L1 / baseline copy of a pretrained network)
 * learns to reproduce its dense teacher's per-frame outputs on real video frames, no labels needed,
 * while the activation layers' penalties make it sparse. Training runs train.ts's loop (its phases,
 * decay, optimisers) with the objective below.
 *
 * Target and loss. Both networks end in a softmax. For a frame with teacher probabilities p_t and
 * student probabilities p_s, at temperature T:
 *   q_t = softmax(log p_t / T),  q_s = softmax(log p_s / T),  loss = T² · KL(q_t ‖ q_s)
 * averaged over the batch's frames (Hinton et al.'s soft targets; T² keeps the gradient scale
 * independent of T). log p equals the logits up to a per-frame constant, which softmax cancels, so
 * softmax(log p / T) is exactly the tempered softmax of the logits (up to probabilities that underflow
 * float32, clamped at 1e-30). T = 1 matches the output distributions themselves; a larger T weights the
 * non-top classes more.
 *
 * Teacher outputs are computed once per frame (train and held-out parts) before training and kept in
 * memory (count · classes floats per file); frames are in frame-split.ts.
 * Evaluation on the held-out frames: top-1 agreement with the teacher, mean KL(p_t ‖ p_s) at T = 1
 * (nats per frame), and evaluate.ts's sparsities; the paper's operation sparsity is the fan-out-weighted
 * temporal one for delta models and the spatial one for baseline / L1.
 */
import { tf } from './backend.js';
import { InputError } from '../../lib/errors.js';
import { Rng } from '../../lib/prng.js';
import type { Clip, ClipDataset } from '../video/types.js';
import { framesOf, type SplitVideo } from '../video/frame-split.js';
import { evaluate, paperOperationSparsity, type Evaluation } from './evaluate.js';
import type { Objective } from './train.js';
import { FrameWise } from './layers/index.js';

/** A clip with its teacher's per-frame probabilities (t · classes). */
export interface DistillClip extends Clip {
  targets: Float32Array;
}

/** Probabilities below this are clamped before the log (softmax can underflow to 0 in float32). */
const TINY = 1e-30;

function endsInSoftmax(t: tf.SymbolicTensor): boolean {
  const layer = t.sourceLayer as tf.layers.Layer;
  const inner = layer instanceof FrameWise ? layer.layer : layer;
  return inner.getClassName() === 'Softmax' || inner.getConfig().activation === 'softmax';
}

/**
 * The per-frame class probabilities of a model: its output when that is (batch, [time,] classes) from a
 * softmax, or, for a clip classifier of models.ts (mean over time of a per-frame softmax), the softmax.
 * Anything else is an InputError: distillation needs a softmax classifier.
 */
export function perFrameProbabilities(model: tf.LayersModel, what = 'the model'): tf.SymbolicTensor {
  if (model.outputs.length !== 1)
    throw new InputError(`${what} has ${model.outputs.length} outputs; distillation needs one classifier output`);
  let out = model.outputs[0]!;
  const timeDistributed = model.inputs[0]!.shape.length === 5;
  const layer = out.sourceLayer as tf.layers.Layer;
  if (timeDistributed && out.shape.length === 2 && layer.getClassName() === 'GlobalAveragePooling1D')
    out = layer.input as tf.SymbolicTensor;
  const rank = timeDistributed ? 3 : 2;
  const classes = out.shape[rank - 1];
  if (out.shape.length !== rank || !endsInSoftmax(out) || classes === null || classes === undefined || classes < 2)
    throw new InputError(
      `${what} has no softmax classifier output (its output ${JSON.stringify(out.shape)} comes from ${out.sourceLayer.name}); distillation needs per-frame class probabilities`,
    );
  return out;
}

/** A time-distributed model with the per-frame probabilities as its output (the same layers and weights). */
export function perFrameModel(model: tf.LayersModel): tf.LayersModel {
  if (model.inputs[0]!.shape.length !== 5) throw new InputError('the student must take clips (batch, time, H, W, C)');
  const out = perFrameProbabilities(model, 'the student');
  return out === model.outputs[0] ? model : tf.model({ inputs: model.inputs, outputs: out, name: `${model.name}-frames` });
}

/**
 * Turns off the student's dropout layers (rate 0; returns how many): the student is to reproduce the
 * teacher's deterministic per-frame function, which dropout would blur, and tfjs's dropout is unseeded,
 * so a run with it is not reproducible (nsfwjs's MobileNetV2 has two in its head, rates 0.5 and 0.25).
 */
export function disableDropout(model: tf.LayersModel): number {
  let n = 0;
  for (const layer of model.layers) {
    const inner = layer instanceof FrameWise ? layer.layer : layer;
    if (/Dropout/.test(inner.getClassName())) {
      (inner as unknown as { rate: number }).rate = 0;
      n++;
    }
  }
  return n;
}

/** Frame shape [H, W, C] of a per-frame (rank-4 input) or time-distributed (rank-5) model. */
export function inputFrameShape(model: tf.LayersModel): [number, number, number] {
  const s = model.inputs[0]!.shape;
  const [h, w, c] = s.slice(-3);
  if (!(s.length === 4 || s.length === 5) || !h || !w || !c)
    throw new InputError(`the model's input ${JSON.stringify(s)} is not (batch, [time,] H, W, C) with a fixed frame size`);
  return [h, w, c];
}

/** The teacher's probabilities for every frame of `video` (count · classes), `batch` frames at a time. */
export async function teacherOutputs(teacher: tf.LayersModel, video: SplitVideo, batch = 8): Promise<Float32Array> {
  const probs = perFrameProbabilities(teacher, 'the teacher');
  const classes = probs.shape.at(-1)!;
  const net = probs === teacher.outputs[0] ? teacher : tf.model({ inputs: teacher.inputs, outputs: probs });
  const [h, w, c] = inputFrameShape(teacher);
  const perFrame = teacher.inputs[0]!.shape.length === 4;
  const out = new Float32Array(video.count * classes);
  for (let start = 0; start < video.count; start += batch) {
    const n = Math.min(batch, video.count - start);
    const x = perFrame ? tf.tensor4d(framesOf(video, start, n), [n, h, w, c]) : tf.tensor5d(framesOf(video, start, n), [1, n, h, w, c]);
    const p = net.predict(x) as tf.Tensor;
    out.set(await p.data(), start * classes);
    tf.dispose([x, p]);
  }
  return out;
}

/** A distillation dataset's clips: (video, first frame) pairs, `t` frames each. */
class VideoClips implements ClipDataset {
  readonly size: number;
  constructor(
    readonly classes: readonly string[],
    private readonly videos: readonly SplitVideo[],
    private readonly targets: readonly Float32Array[],
    private readonly starts: ReadonlyArray<[number, number]>,
    private readonly t: number,
  ) {
    this.size = starts.length;
  }

  async get(index: number): Promise<DistillClip> {
    const s = this.starts[index];
    if (!s) throw new RangeError(`clip index ${index} out of range [0, ${this.size})`);
    const [vi, start] = s;
    const v = this.videos[vi]!;
    const k = this.classes.length;
    return {
      frames: framesOf(v, start, this.t),
      t: this.t,
      h: v.fmt.height,
      w: v.fmt.width,
      c: v.fmt.channels,
      label: -1,
      source: `file:${v.file}@${start}`,
      firstFrame: start,
      targets: this.targets[vi]!.slice(start * k, (start + this.t) * k),
    };
  }
}

export interface DistillData {
  /** Training clips: `clipFrames`-frame windows tiling each file's training part from a seeded offset < clipFrames. */
  train: ClipDataset;
  /** Held-out clips: `evalFrames`-frame windows tiling each held-out part from its start (a shorter rest is left out). */
  heldOut: ClipDataset;
  classes: string[];
}

/** The distillation datasets of `videos` with the teacher's outputs (`targets[i]` for `videos[i]`). */
export function distillData(
  videos: readonly SplitVideo[],
  targets: readonly Float32Array[],
  classes: readonly string[],
  opts: { clipFrames: number; evalFrames: number; seed: number },
): DistillData {
  const rng = new Rng(opts.seed, 0x6469, 0x7374);
  const train: Array<[number, number]> = [];
  const heldOut: Array<[number, number]> = [];
  videos.forEach((v, i) => {
    for (
      let s = rng.int(Math.max(Math.min(opts.clipFrames, v.trainFrames - opts.clipFrames + 1), 1));
      s + opts.clipFrames <= v.trainFrames;
      s += opts.clipFrames
    )
      train.push([i, s]);
    for (let s = v.trainFrames; s + opts.evalFrames <= v.count; s += opts.evalFrames) heldOut.push([i, s]);
  });
  if (train.length === 0 || heldOut.length === 0) throw new InputError('the videos give no training or no held-out clip');
  return {
    train: new VideoClips(classes, videos, targets, train, opts.clipFrames),
    heldOut: new VideoClips(classes, videos, targets, heldOut, opts.evalFrames),
    classes: [...classes],
  };
}

function targetBatch(clips: Clip[], offsets: number[], length: number, classes: number): tf.Tensor3D {
  const t = new Float32Array(clips.length * length * classes);
  clips.forEach((c, i) => {
    const targets = (c as DistillClip).targets;
    if (!targets) throw new InputError(`clip ${c.source} has no teacher outputs`);
    const o = offsets[i] ?? 0;
    t.set(targets.subarray(o * classes, (o + length) * classes), i * length * classes);
  });
  return tf.tensor3d(t, [clips.length, length, classes]);
}

/** Per frame: T²·KL(q_t ‖ q_s) at temperature T, and whether the top-1 classes agree; p and t are (batch, time, classes). */
function frameGap(p: tf.Tensor, t: tf.Tensor, temperature: number): { kl: tf.Tensor; agree: tf.Tensor } {
  const logT = tf.logSoftmax(tf.div(tf.log(tf.maximum(t, TINY)), temperature));
  const logS = tf.logSoftmax(tf.div(tf.log(tf.maximum(p, TINY)), temperature));
  const kl = tf.mul(tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), -1), temperature * temperature);
  const agree = tf.cast(tf.equal(tf.argMax(p, -1), tf.argMax(t, -1)), 'float32');
  return { kl, agree };
}

/** train.ts's objective for distillation at `temperature`; its hits are the per-clip fractions of frames whose top-1 agrees. */
export function distillationObjective(temperature: number): Objective {
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new InputError(`temperature must be a number > 0, got ${temperature}`);
  return {
    check(model, data) {
      const out = model.outputs[0]!;
      if (out.shape.length !== 3)
        throw new InputError('distillation trains a model with per-frame outputs (batch, time, classes): use perFrameModel');
      if (out.shape[2] !== data.classes.length)
        throw new InputError(`the teacher has ${data.classes.length} classes, the student predicts ${out.shape[2]}`);
    },
    loss(p, { clips, offsets, length }) {
      const t = targetBatch(clips, offsets, length, p.shape[2]!);
      const { kl, agree } = frameGap(p, t, temperature);
      return { loss: tf.mean(kl) as tf.Scalar, hits: tf.sum(tf.mean(agree, -1)) as tf.Scalar };
    },
  };
}

export interface DistillEvaluation extends Evaluation {
  /** Held-out frames whose top-1 class is the teacher's. */
  agreement: number;
  /** Mean KL(p_t ‖ p_s) over the held-out frames at T = 1, in nats. */
  kl: number;
  /** The paper's operation sparsity: temporal (operationSparsity) for delta, spatial for baseline / L1. */
  paperSparsity: number;
}

/** The headline figures of an evaluation, without its per-layer table (eval.json, study results). */
export type DistillFigures = Pick<
  DistillEvaluation,
  'agreement' | 'kl' | 'paperSparsity' | 'operationSparsity' | 'spatialOperationSparsity' | 'temporalSparsity' | 'spatialSparsity'
>;

export function distillFigures(e: DistillEvaluation): DistillFigures {
  return {
    agreement: e.agreement,
    kl: e.kl,
    paperSparsity: e.paperSparsity,
    operationSparsity: e.operationSparsity,
    spatialOperationSparsity: e.spatialOperationSparsity,
    temporalSparsity: e.temporalSparsity,
    spatialSparsity: e.spatialSparsity,
  };
}

/** The student (any model perFrameModel takes) on held-out clips. */
export async function evaluateDistillation(
  student: tf.LayersModel,
  heldOut: ClipDataset,
  variant: string,
  opts: { batchSize?: number } = {},
): Promise<DistillEvaluation> {
  let agree = 0,
    kl = 0,
    frames = 0;
  const e = await evaluate(perFrameModel(student), heldOut, {
    batchSize: opts.batchSize ?? 1,
    onOutput: async (p, clips) => {
      const sums = tf.tidy(() => {
        const g = frameGap(p, targetBatch(clips, [], p.shape[1]!, p.shape[2]!), 1);
        return tf.stack([tf.sum(g.agree), tf.sum(g.kl)]);
      });
      const [a, k] = await sums.data();
      sums.dispose();
      agree += a!;
      kl += k!;
      frames += p.shape[0]! * p.shape[1]!;
    },
  });
  return {
    ...e,
    agreement: agree / frames,
    kl: kl / frames,
    paperSparsity: paperOperationSparsity(variant, e),
  };
}
