/**
 * The training loop over a ClipDataset, following the authors' recipe: SGD with momentum 0.9,
 * lr_i = lr / (1 + decay · i) over the global iteration i (Keras' time-based decay), and phases that
 * change the sparsity weight and the clip length (by default 8-frame clips with sp_rate 1e-4, then
 * 2-frame clips with sp_rate 1e-6). Loss = the objective's data term (by default the cross-entropy of the
 * clip prediction, the mean of the per-frame softmax; distillation's in distill.ts) + every activation
 * layer's penalty. Seeded: shuffling and window offsets use their own PRNG.
 * The CLI drives progress bars through the callbacks and only adds argument parsing.
 */
import { tf } from './backend.js';
import { InputError } from '../../lib/errors.js';
import { Rng } from '../../lib/prng.js';
import type { Clip, ClipDataset } from '../video/types.js';
import { activationLayers, setSpRate } from './models.js';
import { DeltaActivation } from './layers/index.js';
import { saveModel, type ModelMeta } from './persist.js';
import { ActivityTally, clipBatch, evaluate, frameShapeOf, type Evaluation } from './evaluate.js';

export interface Phase {
  epochs: number;
  /** Frames per training clip (a seeded window of each dataset clip). */
  clipLength: number;
  spRate: number;
}

export interface TrainOptions {
  phases: Phase[];
  batchSize: number;
  learningRate: number;
  /** lr / (1 + decay · iteration). */
  decay: number;
  momentum: number;
  /**
   * 'momentum' (the authors' SGD, default) or 'adam' (β1 = momentum). Adam gets the small motion
   * nets of the procedural dataset off their initial plateau in a few epochs where SGD does not.
   */
  optimizer?: 'momentum' | 'adam';
  /**
   * The Delta Activation Layers' thresholds learn at this multiple of the learning rate (default 1: one
   * rate for all, as the authors train). An optimiser's step bounds how far a threshold moves (Adam's by
   * about lr per step), so a run of a few hundred steps, far shorter than the paper's fine-tuning, leaves
   * the thresholds near their initial values unless they get a larger rate.
   */
  thresholdLrScale?: number;
  seed: number;
  /** What the model is trained to do (default: the clip cross-entropy against the dataset's labels). */
  objective?: Objective;
  /** Evaluated after every epoch when given (accuracy and sparsity in the epoch summary). */
  validation?: ClipDataset;
  /**
   * Save to `dir` every `every` epochs and at the end: `model` when given (the model a trained view
   * shares its weights with, e.g. the clip model behind distill.ts's per-frame one), else the trained one.
   */
  checkpoint?: { dir: string; every: number; meta: ModelMeta; model?: tf.LayersModel };
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (e: EpochSummary) => void;
}

/**
 * The data term of the loss (the activation layers' penalties are added to it) and the hits that the
 * progress reports as accuracy. Pluggable so that distillation (src/tf/distill.ts) reuses this loop.
 */
export interface Objective {
  /** Checks the model and dataset before training (throws an InputError). */
  check(model: tf.LayersModel, data: ClipDataset): void;
  /**
   * Called inside the gradient tape: `p` is the model's output for the batch, whose clip i is
   * `clips[i]` cut to `length` frames from `offsets[i]`. `hits`: correct clips (fractions allowed).
   */
  loss(p: tf.Tensor, batch: { clips: Clip[]; offsets: number[]; length: number }): { loss: tf.Scalar; hits: tf.Scalar };
}

/** Cross-entropy of the clip prediction (mean of the per-frame softmax) against the clips' labels. */
export const CLIP_CROSS_ENTROPY: Objective = {
  check(model, data) {
    const classes = (model.outputs[0]!.shape as number[])[1]!;
    if (data.classes.length !== classes) {
      throw new InputError(`the dataset has ${data.classes.length} classes, the model predicts ${classes}`);
    }
  },
  loss(p, { clips }) {
    const classes = p.shape[1]!;
    for (const c of clips) if (c.label < 0 || c.label >= classes) throw new InputError(`clip ${c.source} has no usable label (${c.label})`);
    const labels = clips.map((c) => c.label);
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), tf.tensor1d(labels, 'int32')), 'float32')) as tf.Scalar;
    return { loss: crossEntropy(p, labels), hits };
  },
};

export const DEFAULT_PHASES: Phase[] = [
  { epochs: 10, clipLength: 8, spRate: 1e-4 },
  { epochs: 5, clipLength: 2, spRate: 1e-6 },
];

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'seed'> = {
  phases: DEFAULT_PHASES,
  batchSize: 8,
  learningRate: 0.01,
  decay: 1e-4,
  momentum: 0.9,
};

export type OptimizerName = NonNullable<TrainOptions['optimizer']>;

/**
 * Learning rate and decay that fit each optimiser. 'momentum': the authors' SGD settings
 * (DEFAULT_TRAIN_OPTIONS). 'adam': the paper-reproduction recipe that trained the bundled models
 * (studies/paper-repro/recipe.ts): lr 3e-3 for a new model, 1e-3 to refine a trained one (its L1 and
 * delta stages), decay 1e-3. On the procedural motion clips SGD stays at chance for epochs where Adam
 * learns (reports/paper-repro/training-notes.md).
 */
export const OPTIMIZER_DEFAULTS: Record<OptimizerName, { learningRate: number; refineLearningRate: number; decay: number }> = {
  momentum: { learningRate: 0.01, refineLearningRate: 0.01, decay: 1e-4 },
  adam: { learningRate: 3e-3, refineLearningRate: 1e-3, decay: 1e-3 },
};

export interface BatchProgress {
  phase: number;
  epoch: number;
  /** Epochs of all phases so far (0-based) and in total, for an overall bar. */
  globalEpoch: number;
  totalEpochs: number;
  batch: number;
  batches: number;
  iteration: number;
  learningRate: number;
  /** Total, data term (the objective's: cross-entropy by default) and penalty of this batch. */
  loss: number;
  crossEntropy: number;
  penalty: number;
  /** Running over the epoch so far. */
  accuracy: number;
  /** Running temporal sparsity of the activation layers over the epoch (zero deltas / deltas). */
  temporalSparsity: number;
  spatialSparsity: number;
  framesPerSecond: number;
}

export interface EpochSummary {
  phase: number;
  epoch: number;
  globalEpoch: number;
  /** Means over the epoch's batches. */
  loss: number;
  crossEntropy: number;
  accuracy: number;
  temporalSparsity: number;
  spatialSparsity: number;
  operationSparsity: number;
  framesPerSecond: number;
  validation?: Evaluation;
}

export interface TrainResult {
  epochs: EpochSummary[];
  iterations: number;
}

function checkOptions(o: TrainOptions, data: ClipDataset): void {
  const bad = (what: string) => {
    throw new InputError(`training: ${what}`);
  };
  if (o.phases.length === 0) bad('at least one phase is needed');
  o.phases.forEach((p, i) => {
    if (!(Number.isInteger(p.epochs) && p.epochs >= 0)) bad(`phase ${i + 1}: epochs must be an integer >= 0`);
    if (!(Number.isInteger(p.clipLength) && p.clipLength >= 1)) bad(`phase ${i + 1}: clip length must be an integer >= 1`);
    if (!(p.spRate >= 0)) bad(`phase ${i + 1}: sp_rate must be >= 0`);
  });
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) bad('batch size must be an integer >= 1');
  if (!(o.learningRate > 0)) bad('learning rate must be > 0');
  if (!(o.decay >= 0)) bad('decay must be >= 0');
  if (!(o.momentum >= 0 && o.momentum < 1)) bad('momentum must be in [0, 1)');
  if (o.thresholdLrScale !== undefined && !(o.thresholdLrScale > 0 && Number.isFinite(o.thresholdLrScale)))
    bad('threshold learning-rate scale must be > 0');
  if (o.optimizer !== undefined && !['momentum', 'adam'].includes(o.optimizer))
    bad(`unknown optimizer "${o.optimizer}" (momentum or adam)`);
  if (data.size === 0) bad('the dataset is empty');
  if (o.checkpoint && !(Number.isInteger(o.checkpoint.every) && o.checkpoint.every >= 1))
    bad('checkpoint interval must be an integer >= 1');
}

/** The optimiser with a settable learning rate (Adam's is a plain field in tfjs). */
function makeOptimizer(o: TrainOptions): tf.Optimizer & { setLearningRate(lr: number): void } {
  if ((o.optimizer ?? 'momentum') === 'momentum') return tf.train.momentum(o.learningRate, o.momentum);
  const adam = tf.train.adam(o.learningRate, o.momentum);
  return Object.assign(adam, {
    setLearningRate: (lr: number) => {
      (adam as unknown as { learningRate: number }).learningRate = lr;
    },
  });
}

/** One step that applies the threshold variables' gradients with their own optimiser; returns the loss. */
function stepSplit(loss: () => tf.Scalar, vars: tf.Variable[], thresholds: Set<string>, main: tf.Optimizer, own: tf.Optimizer): tf.Scalar {
  const { value, grads } = main.computeGradients(loss, vars);
  const pick = (mine: boolean) => Object.fromEntries(Object.entries(grads).filter(([name]) => thresholds.has(name) === mine));
  main.applyGradients(pick(false));
  own.applyGradients(pick(true));
  tf.dispose(grads);
  return value;
}

/** Fisher–Yates with the run's PRNG. */
function shuffled(n: number, rng: Rng): number[] {
  const a = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Cross-entropy of clip probabilities p (batch, classes) against integer labels. */
function crossEntropy(p: tf.Tensor, labels: number[]): tf.Scalar {
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), p.shape[1]!);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.log(tf.add(p, 1e-7))), -1))) as tf.Scalar;
}

export async function train(model: tf.LayersModel, data: ClipDataset, options: TrainOptions): Promise<TrainResult> {
  checkOptions(options, data);
  const { phases, batchSize, learningRate, decay, seed } = options;
  const frameShape = frameShapeOf(model);
  const objective = options.objective ?? CLIP_CROSS_ENTROPY;
  objective.check(model, data);
  const layers = activationLayers(model);
  const optimizer = makeOptimizer(options);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const thresholdScale = options.thresholdLrScale ?? 1;
  // With a threshold rate of its own, thresholds get a second optimiser of the same kind (its state is theirs alone).
  const thresholdNames = new Set(
    layers.flatMap((l) =>
      l instanceof DeltaActivation && l.trainableThreshold && l.thresholdVariable ? [(l.thresholdVariable.read() as tf.Variable).name] : [],
    ),
  );
  const thresholdOptimizer = thresholdScale !== 1 && thresholdNames.size > 0 ? makeOptimizer(options) : null;
  const rng = new Rng(seed, 0x7472, 0x6169);
  const totalEpochs = phases.reduce((n, p) => n + p.epochs, 0);
  const batches = Math.ceil(data.size / batchSize);
  const epochs: EpochSummary[] = [];
  let iteration = 0;
  let globalEpoch = 0;

  for (const [phaseIndex, phase] of phases.entries()) {
    setSpRate(model, phase.spRate);
    for (let epoch = 0; epoch < phase.epochs; epoch++, globalEpoch++) {
      const order = shuffled(data.size, rng);
      const tally = new ActivityTally(layers);
      let lossSum = 0,
        ceSum = 0,
        correct = 0,
        seen = 0,
        frames = 0,
        seconds = 0;
      for (let b = 0; b < batches; b++) {
        const ids = order.slice(b * batchSize, (b + 1) * batchSize);
        const clips = await Promise.all(ids.map((i) => data.get(i)));
        const offsets = clips.map((c) => rng.int(Math.max(c.t - phase.clipLength, 0) + 1));
        const batch = clipBatch(clips, frameShape, phase.clipLength, offsets);
        const lr = learningRate / (1 + decay * iteration);
        optimizer.setLearningRate(lr);
        thresholdOptimizer?.setLearningRate(lr * thresholdScale);
        const started = performance.now();
        let ce: tf.Scalar | undefined, hits: tf.Scalar | undefined;
        const loss = () => {
          const p = model.apply(batch.x, { training: true }) as tf.Tensor;
          const o = objective.loss(p, { clips, offsets, length: phase.clipLength });
          ce = tf.keep(o.loss);
          hits = tf.keep(o.hits);
          return tf.addN([ce, ...model.calculateLosses()]) as tf.Scalar;
        };
        const total = thresholdOptimizer
          ? stepSplit(loss, vars, thresholdNames, optimizer, thresholdOptimizer)
          : optimizer.minimize(loss, true, vars)!;
        const counts = tf.stack(layers.map((l) => l.lastActivityCounts()!));
        const [lossV, ceV, hitsV] = [(await total.data())[0]!, (await ce!.data())[0]!, (await hits!.data())[0]!];
        tally.add((await counts.array()) as number[][]);
        seconds += (performance.now() - started) / 1000;
        tf.dispose([total, ce!, hits!, counts, batch.x]);
        if (!Number.isFinite(lossV))
          throw new Error(`training diverged at iteration ${iteration} (loss ${lossV}); lower the learning rate`);
        iteration++;
        lossSum += lossV;
        ceSum += ceV;
        correct += hitsV;
        seen += clips.length;
        frames += batch.frames;
        const s = tally.summary();
        options.onBatch?.({
          phase: phaseIndex,
          epoch,
          globalEpoch,
          totalEpochs,
          batch: b,
          batches,
          iteration,
          learningRate: lr,
          loss: lossV,
          crossEntropy: ceV,
          penalty: lossV - ceV,
          accuracy: correct / seen,
          temporalSparsity: s.temporalSparsity,
          spatialSparsity: s.spatialSparsity,
          framesPerSecond: frames / seconds,
        });
      }
      const s = tally.summary();
      const summary: EpochSummary = {
        phase: phaseIndex,
        epoch,
        globalEpoch,
        loss: lossSum / batches,
        crossEntropy: ceSum / batches,
        accuracy: correct / seen,
        temporalSparsity: s.temporalSparsity,
        spatialSparsity: s.spatialSparsity,
        operationSparsity: s.operationSparsity,
        framesPerSecond: frames / seconds,
        ...(options.validation ? { validation: await evaluate(model, options.validation, { batchSize }) } : {}),
      };
      epochs.push(summary);
      options.onEpoch?.(summary);
      const cp = options.checkpoint;
      if (cp && (globalEpoch + 1) % cp.every === 0 && globalEpoch + 1 < totalEpochs) await saveCheckpoint(model, cp, options, epochs);
    }
  }
  if (options.checkpoint) await saveCheckpoint(model, options.checkpoint, options, epochs);
  return { epochs, iterations: iteration };
}

/** meta.json's training record: the arguments and per-epoch results, without timings (same seed ⇒ same bytes). */
async function saveCheckpoint(
  model: tf.LayersModel,
  cp: NonNullable<TrainOptions['checkpoint']>,
  o: TrainOptions,
  epochs: EpochSummary[],
): Promise<void> {
  const training = {
    ...cp.meta.training,
    phases: o.phases,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    decay: o.decay,
    momentum: o.momentum,
    optimizer: o.optimizer ?? 'momentum',
    ...(o.thresholdLrScale !== undefined && o.thresholdLrScale !== 1 ? { thresholdLrScale: o.thresholdLrScale } : {}),
    seed: o.seed,
    epochsDone: epochs.length,
    history: epochs.map(({ framesPerSecond: _fps, validation, ...e }) => ({ ...e, ...(validation ? { validation } : {}) })),
  };
  await saveModel(cp.dir, cp.model ?? model, { ...cp.meta, training });
}
