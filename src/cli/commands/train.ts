/**
 * `deltasim train`: train a video CNN (baseline / L1 / Delta Activation Layer) on a dataset spec with
 * the authors' two-phase schedule, or refine an existing model (`--from`, e.g. delta-ise a trained
 * baseline: the paper's refinement phase). The optimiser defaults to Adam with the learning rate and
 * decay of the recipe that trained the bundled models (OPTIMIZER_DEFAULTS); `--optimizer sgd` is the
 * authors' SGD with momentum, which stays at chance on the procedural clips for many epochs.
 * Delta models (built or delta-ised) get the authors' input Delta Activation Layer on the frames unless
 * --no-input-delta, and the penalty's fan-outs follow --fan-out (authors: kh·kw·filters summed over
 * consumers, the default; per-stride: ÷ stride², the convention before issue 18); both go into meta.json's
 * training record and the printed summary.
 * Progress on stderr; the model directory (model.json, weights.bin, meta.json) is replaced atomically
 * at every checkpoint and at the end; then the model is evaluated on the test split (train split when
 * there is none) and the evaluation is printed as a table and written to DIR/eval.json. An accuracy
 * below chance + 10 points is flagged (stderr, the printed summary and eval.json's nearChance): such a
 * network has not learnt, and its sparsity figures are not a result.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { InputError } from '../../../lib/errors.js';
import { writeFileAtomic } from '../../../lib/atomic.js';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import { table } from '../../../lib/table.js';
import { initBackend, type tf } from '../../tf/backend.js';
import {
  assignFanOuts,
  buildModel,
  DEFAULT_FAN_OUT,
  deltaise,
  FAN_OUTS,
  INPUT_THRESHOLD_INIT,
  inputDeltaOf,
  LEGACY_FAN_OUT,
  NETS,
  VARIANTS,
  type FanOutConvention,
  type NetName,
  type Variant,
} from '../../tf/models.js';
import { loadModel, MODEL_FILES, type ModelMeta } from '../../tf/persist.js';
import { evaluate, frameShapeOf, type Evaluation } from '../../tf/evaluate.js';
import { DEFAULT_PHASES, DEFAULT_TRAIN_OPTIONS, OPTIMIZER_DEFAULTS, train, type OptimizerName, type Phase } from '../../tf/train.js';
import { openDataset } from '../../video/index.js';
import { startProgress } from '../progress.js';
import { checkDistillArgs, DISTILL_DEFAULTS, DISTILL_ONLY, distillTrain } from '../distill-train.js';

export interface TrainArgs {
  data?: string;
  net: NetName;
  variant?: Variant;
  epochs?: number;
  'phase1-epochs'?: number;
  'phase2-epochs'?: number;
  seed: number;
  out: string;
  force: boolean;
  frames: number;
  size: number;
  channels: number;
  batch: number;
  optimizer: CliOptimizer;
  lr?: number;
  decay?: number;
  momentum: number;
  'threshold-lr-scale': number;
  'sp-rate1': number;
  'sp-rate2': number;
  clip1?: number;
  clip2: number;
  step?: number;
  granularity: 'channel' | 'neuron' | 'layer';
  'motion-input': boolean;
  'input-delta'?: boolean;
  'input-threshold'?: number;
  'fan-out'?: FanOutConvention;
  'checkpoint-every': number;
  from?: string;
  'eval-clips'?: number;
  quiet: boolean;
  distill?: string;
  temperature?: number;
  'held-out'?: number;
  'max-frames'?: number;
  'eval-frames'?: number;
  'relative-step'?: number;
}

const [P1, P2] = DEFAULT_PHASES as [Phase, Phase];
const [A, S] = [OPTIMIZER_DEFAULTS.adam, OPTIMIZER_DEFAULTS.momentum];

/** --optimizer values and the training loop's names for them. */
const OPTIMIZERS = ['adam', 'sgd'] as const;
type CliOptimizer = (typeof OPTIMIZERS)[number];
const OPTIMIZER_OF: Record<CliOptimizer, OptimizerName> = { adam: 'adam', sgd: 'momentum' };

/** A run is flagged as not having learnt when its accuracy is below chance (1 / classes) plus this margin. */
export const CHANCE_MARGIN = 0.1;

/**
 * The warning for an evaluation whose accuracy is within CHANCE_MARGIN of chance, or null: a network that
 * has not learnt still reports sparsity figures (a dead one is very sparse), which are not a result.
 * No rule applies without labelled clips (accuracy NaN) or with fewer than 2 classes.
 */
export function chanceWarning(accuracy: number, classes: number): string | null {
  if (Number.isNaN(accuracy) || classes < 2) return null;
  const chance = 1 / classes;
  if (accuracy >= chance + CHANCE_MARGIN) return null;
  return (
    `warning: accuracy ${pct(accuracy)} is within ${100 * CHANCE_MARGIN} points of chance (${pct(chance)} for ${classes} classes): ` +
    'the network has not learnt, so its sparsity figures are not a result (train longer, or check --optimizer, --lr and --motion-input)'
  );
}

/** The evaluation train writes into the model directory. */
const EVAL_FILE = 'eval.json';

/** Epochs of the two phases: explicit ones win; --epochs N splits N like the default schedule (2 : 1). */
export function phaseEpochs(epochs: number | undefined, p1: number | undefined, p2: number | undefined): [number, number] {
  const check = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new InputError(`--${name}: expected an integer >= 0, got ${v}`);
  };
  check('epochs', epochs);
  check('phase1-epochs', p1);
  check('phase2-epochs', p2);
  const first = p1 ?? (epochs === undefined ? P1.epochs : Math.ceil((epochs * P1.epochs) / (P1.epochs + P2.epochs)));
  const second = p2 ?? (epochs === undefined ? P2.epochs : Math.max(epochs - first, 0));
  if (first + second === 0) throw new InputError('nothing to train: 0 epochs');
  return [first, second];
}

function pct(x: number): string {
  return Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`;
}

function evaluationTable(e: Evaluation, warning: string | null): string {
  const head = ['layer', 'neurons', 'fan-out', 'spatial', 'temporal'];
  const rows = e.layers.map((l) => [l.name, String(l.neurons), l.nOutputs.toFixed(1), pct(l.spatialSparsity), pct(l.temporalSparsity)]);
  rows.push(['all', String(e.layers.reduce((a, l) => a + l.neurons, 0)), '', pct(e.spatialSparsity), pct(e.temporalSparsity)]);
  return [
    `accuracy ${pct(e.accuracy)} on ${e.clips} clips (${e.frames} frames)`,
    ...(warning ? [warning] : []),
    `operation sparsity (fan-out weighted zero deltas, what delta inference skips) ${pct(e.operationSparsity)}; ` +
      `with zero skipping only ${pct(e.spatialOperationSparsity)}`,
    "per activation layer (a layer's operation sparsity equals its temporal sparsity: one fan-out per layer):",
    table(head, rows),
  ].join('\n');
}

/**
 * The --from model, as it is (same variant) or delta-ised (the paper's refinement phase), and its fan-out
 * convention: --fan-out, else the default for a delta-ised (new) model, else the saved model's own (a
 * meta.json without one predates the option: per-stride).
 */
export async function refinable(
  dir: string,
  argv: TrainArgs,
): Promise<{ model: tf.LayersModel; meta: ModelMeta | null; variant: Variant; fanOut: FanOutConvention }> {
  if (!existsSync(dir))
    throw new InputError('no such model directory (a pretrained Keras model, nsfwjs:NAME or model.json, is distilled: --distill VIDEOS)', {
      file: dir,
    });
  const { model, meta } = await loadModel(dir);
  const own = (meta?.variant ?? 'baseline') as Variant;
  const variant = argv.variant ?? own;
  if (variant === own) {
    const has = inputDeltaOf(model) !== null;
    if (argv['input-delta'] !== undefined && argv['input-delta'] !== has)
      throw new InputError(
        `--input-delta: the --from model ${has ? 'has' : 'has no'} input delta layer; it is set when a model is built or delta-ised`,
      );
    const saved = meta?.training?.fanOut as FanOutConvention | undefined;
    return { model, meta, variant, fanOut: argv['fan-out'] ?? saved ?? LEGACY_FAN_OUT };
  }
  if (variant !== 'delta')
    throw new InputError(
      `--from: a ${own} model can be trained further as it is or delta-ised (--variant delta), not turned into ${variant}`,
    );
  const fanOut = argv['fan-out'] ?? DEFAULT_FAN_OUT;
  const delta = deltaise(model, {
    spRate: argv['sp-rate1'],
    thresholdInit: argv.step,
    granularity: argv.granularity,
    inputDelta: argv['input-delta'] ?? true,
    inputThreshold: argv['input-threshold'],
    fanOut,
  });
  model.dispose();
  return { model: delta, meta, variant, fanOut };
}

/** The training summary's line on the faithful options (issue 18). */
function optionsLine(fanOut: FanOutConvention, inputThreshold: number | null): string {
  const rule = fanOut === 'authors' ? 'kh·kw·filters' : 'kh·kw·filters / stride²';
  const input =
    inputThreshold === null ? 'off' : `on (threshold init ${inputThreshold.toPrecision(4)} = ${(inputThreshold * 255).toPrecision(3)}/255)`;
  return `penalty fan-out: ${fanOut} (${rule}, summed over consumers); input delta layer: ${input}`;
}

const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train a video CNN for temporal sparsity (baseline, L1 or Delta Activation Layer) and evaluate it',
  builder: (y) =>
    y
      .option('data', {
        type: 'string',
        describe: 'dataset spec: procedural[:k=v,…], file:PATH[,PATH…], ucf101:ROOT[:split=N] or a video path (or --distill)',
      })
      .option('distill', {
        type: 'string',
        describe:
          'self-distillation of the --from model (nsfwjs:NAME, a Keras model.json or a model directory) on these videos (VIDEO[,VIDEO…|DIR]) instead of --data',
      })
      .option('temperature', {
        type: 'number',
        describe: `--distill: softmax temperature of the target (default ${DISTILL_DEFAULTS.temperature})`,
      })
      .option('held-out', {
        type: 'number',
        describe: `--distill: fraction of each video held out at its end for evaluation only (default ${DISTILL_DEFAULTS.heldOut})`,
      })
      .option('max-frames', { type: 'number', describe: '--distill: decode at most the first N frames of each video' })
      .option('eval-frames', {
        type: 'number',
        describe: `--distill: frames per held-out evaluation clip (default ${DISTILL_DEFAULTS.evalFrames})`,
      })
      .option('relative-step', {
        type: 'number',
        describe:
          "--distill, delta: start each Delta Activation Layer's threshold at r × the 99.9th percentile of |its input| on the first training clip (DeltaCNN-style relative thresholds), not at --step",
      })
      .option('net', { choices: NETS, default: 'plain' as NetName, describe: 'network (ignored with --from)' })
      .option('variant', {
        choices: VARIANTS,
        describe: "activation layers (default delta; with --from: the model's own, or delta to delta-ise it)",
      })
      .option('epochs', { type: 'number', describe: `total epochs, split 2 : 1 over the two phases (default ${P1.epochs} + ${P2.epochs})` })
      .option('phase1-epochs', { type: 'number', describe: 'epochs of phase 1' })
      .option('phase2-epochs', { type: 'number', describe: 'epochs of phase 2' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of weights, shuffling and the procedural dataset' })
      .option('out', { type: 'string', demandOption: true, describe: 'model directory to write' })
      .option('force', FORCE_OPTION)
      .option('frames', { type: 'number', default: 8, describe: 'frames per dataset clip (evaluation uses all of them)' })
      .option('size', { type: 'number', default: 64, describe: "frame width and height (ignored with --from: the model's)" })
      .option('channels', { type: 'number', choices: [1, 3], default: 1, describe: '1 gray, 3 RGB (ignored with --from)' })
      .option('batch', { type: 'number', default: DEFAULT_TRAIN_OPTIONS.batchSize })
      .option('optimizer', {
        choices: OPTIMIZERS,
        default: 'adam' as CliOptimizer,
        describe: "adam (the bundled models' recipe) or sgd (with momentum, the paper's)",
      })
      .option('lr', {
        type: 'number',
        describe: `learning rate; default adam ${A.learningRate} (${A.refineLearningRate} with --from), sgd ${S.learningRate}`,
      })
      .option('decay', {
        type: 'number',
        describe: `lr / (1 + decay · iteration); default adam ${A.decay}, sgd ${S.decay}`,
      })
      .option('momentum', { type: 'number', default: DEFAULT_TRAIN_OPTIONS.momentum, describe: "sgd's momentum, adam's β1" })
      .option('threshold-lr-scale', {
        type: 'number',
        default: 1,
        describe:
          "delta: the thresholds' learning rate as a multiple of --lr (1: one rate, the authors'; larger lets a short run move them)",
      })
      .option('sp-rate1', { type: 'number', default: P1.spRate, describe: 'sparsity weight in phase 1 (l1, delta)' })
      .option('sp-rate2', { type: 'number', default: P2.spRate, describe: 'sparsity weight in phase 2 (l1, delta)' })
      .option('clip1', { type: 'number', describe: `frames per training clip in phase 1 (default min(${P1.clipLength}, --frames))` })
      .option('clip2', { type: 'number', default: P2.clipLength, describe: 'frames per training clip in phase 2' })
      .option('step', { type: 'number', describe: 'quantiser step (baseline, l1) or initial threshold (delta); default 0.05' })
      .option('granularity', {
        choices: ['channel', 'neuron', 'layer'] as const,
        default: 'channel' as const,
        describe: 'delta thresholds per …',
      })
      .option('motion-input', {
        type: 'boolean',
        default: false,
        describe: 'feed the first conv each frame and its temporal difference (motion-defined classes)',
      })
      .option('input-delta', {
        type: 'boolean',
        describe:
          'a Delta Activation Layer on the frames, as the authors do (default: on for delta models, built or delta-ised; --no-input-delta: off)',
      })
      .option('input-threshold', {
        type: 'number',
        describe: `its initial threshold in frame units [0, 1] (default 3/255 = ${INPUT_THRESHOLD_INIT.toPrecision(4)}: the authors' 3 on 0..255 frames)`,
      })
      .option('fan-out', {
        choices: FAN_OUTS,
        describe:
          "penalty fan-out n_outputs: authors (kh·kw·filters, the default) or per-stride (÷ stride², the old one); --from without delta-ising keeps the model's own",
      })
      .option('checkpoint-every', { type: 'number', default: 1, describe: 'save the model every N epochs (and at the end)' })
      .option('from', {
        type: 'string',
        describe: 'refine this model directory instead of training a new model; with --distill also nsfwjs:NAME or a Keras model.json',
      })
      .option('eval-clips', { type: 'number', describe: 'evaluate on at most this many clips' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .example(
        '$0 train --data procedural:classes=left+right+up+down,background=0.2 --variant baseline --motion-input --epochs 12 --out runs/base',
        'a 4-class motion baseline (Adam)',
      )
      .example(
        '$0 train --data procedural:classes=left+right+up+down,background=0.2 --from runs/base --variant delta --epochs 3 --out runs/delta',
        'delta-ise a trained baseline',
      ),
  handler: async (argv) => {
    // A model directory replaces a model's files (and its eval.json); every other file there is kept.
    const own = new Set<string>([...Object.values(MODEL_FILES), EVAL_FILE]);
    guardOutputDir(argv.out, argv.force, { writes: 'replace', owns: (name) => own.has(name) });
    const positiveInt = (name: string, v: number) => {
      if (!(Number.isInteger(v) && v >= 1)) throw new InputError(`--${name}: expected an integer >= 1, got ${v}`);
    };
    positiveInt('frames', argv.frames);
    positiveInt('size', argv.size);
    positiveInt('batch', argv.batch);
    positiveInt('checkpoint-every', argv['checkpoint-every']);
    const optimizer = OPTIMIZER_OF[argv.optimizer];
    const fits = OPTIMIZER_DEFAULTS[optimizer];
    const lr = argv.lr ?? (argv.from === undefined ? fits.learningRate : fits.refineLearningRate);
    const decay = argv.decay ?? fits.decay;
    if (!(Number.isFinite(lr) && lr > 0)) throw new InputError(`--lr: expected a number > 0, got ${lr}`);
    if (!(Number.isFinite(decay) && decay >= 0)) throw new InputError(`--decay: expected a number >= 0, got ${decay}`);
    if (!(argv.momentum >= 0 && argv.momentum < 1)) throw new InputError(`--momentum: expected a number in [0, 1), got ${argv.momentum}`);
    const thresholdLrScale = argv['threshold-lr-scale'];
    if (!(Number.isFinite(thresholdLrScale) && thresholdLrScale > 0))
      throw new InputError(`--threshold-lr-scale: expected a number > 0, got ${thresholdLrScale}`);
    if (!(Number.isInteger(argv.seed) && argv.seed >= 0)) throw new InputError(`--seed: expected an integer >= 0, got ${argv.seed}`);
    for (const k of ['sp-rate1', 'sp-rate2'] as const)
      if (!(Number.isFinite(argv[k]) && argv[k] >= 0)) throw new InputError(`--${k}: expected a number >= 0, got ${argv[k]}`);
    if (argv.step !== undefined && !(Number.isFinite(argv.step) && argv.step > 0))
      throw new InputError(`--step: expected a number > 0, got ${argv.step}`);
    if (argv['eval-clips'] !== undefined) positiveInt('eval-clips', argv['eval-clips']);
    const inputThreshold = argv['input-threshold'];
    if (inputThreshold !== undefined && !(Number.isFinite(inputThreshold) && inputThreshold > 0 && inputThreshold <= 1))
      throw new InputError(`--input-threshold: expected a number in (0, 1] (frame units), got ${inputThreshold}`);
    const [e1, e2] = phaseEpochs(argv.epochs, argv['phase1-epochs'], argv['phase2-epochs']);
    const clip1 = argv.clip1 ?? Math.min(P1.clipLength, argv.frames);
    for (const [name, c] of [
      ['clip1', clip1],
      ['clip2', argv.clip2],
    ] as const) {
      positiveInt(name, c);
      if (c > argv.frames) throw new InputError(`--${name} ${c} is longer than the dataset clips (--frames ${argv.frames})`);
    }
    if (argv.distill !== undefined) {
      checkDistillArgs(argv);
      await initBackend({ quiet: argv.quiet });
      const phases: Phase[] = [
        { epochs: e1, clipLength: clip1, spRate: argv['sp-rate1'] },
        { epochs: e2, clipLength: argv.clip2, spRate: argv['sp-rate2'] },
      ];
      return distillTrain(argv, {
        phases,
        learningRate: lr,
        decay,
        optimizer,
        thresholdLrScale,
        refine: (dir) => refinable(dir, argv),
        evalFile: EVAL_FILE,
        pct,
      });
    }
    if (argv.data === undefined) throw new InputError('--data: a dataset is needed (or --distill VIDEOS with --from MODEL)');
    for (const k of DISTILL_ONLY)
      if (argv[k] !== undefined) throw new InputError(`--${k} is an option of --distill (self-distillation), given without it`);
    await initBackend({ quiet: argv.quiet });

    // A --from model first: its frame shape decides how the data is decoded.
    const refine = argv.from === undefined ? null : await refinable(argv.from, argv);
    const variant: Variant = refine?.variant ?? argv.variant ?? 'delta';
    if (!refine && argv['input-delta'] === true && variant !== 'delta')
      throw new InputError(`--input-delta: the input delta layer is for delta models, not ${variant}`);
    const frameShape = refine ? frameShapeOf(refine.model) : ([argv.size, argv.size, argv.channels] as [number, number, number]);
    const [h, w, c] = frameShape;
    if (c !== 1 && c !== 3) throw new InputError(`the model takes ${c}-channel frames; datasets give 1 or 3`);
    const ds = await openDataset(argv.data, { frames: argv.frames, width: w, height: h, channels: c, seed: argv.seed });
    if (refine?.meta && refine.meta.classes.length !== ds.train.classes.length) {
      throw new InputError(`--from: the model predicts ${refine.meta.classes.length} classes, the dataset has ${ds.train.classes.length}`);
    }
    const net = refine ? (refine.meta?.net ?? refine.model.name) : argv.net;
    const model =
      refine?.model ??
      buildModel({
        net: argv.net,
        variant,
        classes: ds.train.classes.length,
        frameShape,
        seed: argv.seed,
        spRate: argv['sp-rate1'],
        step: argv.step,
        granularity: argv.granularity,
        motionInput: argv['motion-input'],
        inputDelta: argv['input-delta'],
        inputThreshold,
        fanOut: argv['fan-out'],
      });
    const fanOut = refine?.fanOut ?? argv['fan-out'] ?? DEFAULT_FAN_OUT;
    assignFanOuts(model, fanOut);
    const inputLayer = inputDeltaOf(model);

    // Baseline layers must keep spRate 0 (train() sets every layer's rate per phase).
    const sp = (rate: number) => (variant === 'baseline' ? 0 : rate);
    const phases: Phase[] = [
      { epochs: e1, clipLength: clip1, spRate: sp(argv['sp-rate1']) },
      { epochs: e2, clipLength: argv.clip2, spRate: sp(argv['sp-rate2']) },
    ];
    const meta: ModelMeta = {
      net,
      variant,
      classes: [...ds.train.classes],
      frameShape,
      seed: argv.seed,
      training: {
        data: argv.data,
        frames: argv.frames,
        ...(argv.from !== undefined ? { from: argv.from } : {}),
        fanOut,
        inputDelta: inputLayer !== null,
        ...(inputLayer ? { inputThreshold: inputLayer.thresholdInit } : {}),
      },
    };
    const batches = Math.ceil(ds.train.size / argv.batch);
    const progress = startProgress({ label: 'training', total: (e1 + e2) * batches, quiet: argv.quiet });
    try {
      await train(model, ds.train, {
        phases,
        batchSize: argv.batch,
        learningRate: lr,
        decay,
        momentum: argv.momentum,
        optimizer,
        thresholdLrScale,
        seed: argv.seed,
        checkpoint: { dir: argv.out, every: argv['checkpoint-every'], meta },
        onBatch: (p) =>
          progress.update(p.globalEpoch * p.batches + p.batch + 1, {
            epoch: `${p.globalEpoch + 1}/${p.totalEpochs}`,
            loss: p.loss.toFixed(3),
            acc: pct(p.accuracy),
            'temporal sp.': pct(p.temporalSparsity),
            'frames/s': p.framesPerSecond.toFixed(0),
          }),
        onEpoch: (e) =>
          progress.log(
            `epoch ${e.globalEpoch + 1}/${e1 + e2} (phase ${e.phase + 1}): loss ${e.loss.toFixed(4)} (cross-entropy ${e.crossEntropy.toFixed(4)}), ` +
              `accuracy ${pct(e.accuracy)}, spatial ${pct(e.spatialSparsity)}, temporal ${pct(e.temporalSparsity)}, operation ${pct(e.operationSparsity)} sparsity; ` +
              `${e.framesPerSecond.toFixed(0)} frames/s`,
          ),
      });
    } finally {
      progress.stop();
    }

    const split = ds.test ? 'test' : 'train';
    const evaluation = await evaluate(model, ds.test ?? ds.train, { batchSize: argv.batch, maxClips: argv['eval-clips'] });
    const classes = ds.train.classes.length;
    const warning = chanceWarning(evaluation.accuracy, classes);
    const record = { data: argv.data, split, net, variant, chance: 1 / classes, nearChance: warning !== null, ...evaluation };
    writeFileAtomic(join(argv.out, EVAL_FILE), `${JSON.stringify(record, null, 2)}\n`);
    if (warning) console.error(`deltasim: ${warning}`);
    const options = optionsLine(fanOut, inputLayer?.thresholdInit ?? null);
    console.log(
      `evaluation on the ${split} split of ${argv.data}:\n${evaluationTable(evaluation, warning)}\n${options}\nmodel: ${argv.out}`,
    );
    model.dispose();
  },
};

export default trainCommand;
