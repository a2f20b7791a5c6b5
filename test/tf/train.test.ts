import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tf/backend.js';
import { activationLayers, buildModel, type Variant } from '../../src/tf/models.js';
import { evaluate } from '../../src/tf/evaluate.js';
import { train, type BatchProgress, type TrainOptions } from '../../src/tf/train.js';
import { InputError } from '../../lib/errors.js';
import type { Clip, ClipDataset } from '../../src/video/types.js';

/** A tiny labelled ClipDataset: a bright square sliding left (class 0) or right (class 1) over a dark, static background. */
function slidingSquares(size: number, n: number, t = 8, side = 16): ClipDataset {
  const get = async (index: number): Promise<Clip> => {
    const label = index % 2;
    const frames = new Float32Array(t * side * side);
    const y0 = (index * 5) % (side - 4);
    const x0 = 2 + ((index * 3) % (side - 4 - t));
    for (let f = 0; f < t; f++) {
      const x = label === 1 ? x0 + f : x0 + t - 1 - f;
      for (let y = y0; y < y0 + 4; y++) for (let xx = x; xx < x + 4 && xx < side; xx++) frames[(f * side + y) * side + xx] = 1;
    }
    return { frames, t, h: side, w: side, c: 1, label, source: `test:squares#${index}`, firstFrame: 0 };
  };
  return { classes: ['left', 'right'], size: Math.min(size, n), get };
}

const data = slidingSquares(32, 32);
const model = (variant: Variant, spRate = 0) => buildModel({ net: 'plain', variant, classes: 2, frameShape: [16, 16, 1], seed: 3, spRate });
const opts = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  phases: [{ epochs: 6, clipLength: 4, spRate: 0 }],
  batchSize: 8,
  learningRate: 0.05,
  decay: 1e-3,
  momentum: 0.9,
  seed: 1,
  ...over,
});

describe('tf/train', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-train-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('learns the moving-square task (loss falls) and the delta variant is temporally sparser than the baseline', async () => {
    const base = model('baseline');
    const baseRun = await train(base, data, opts());
    const first = baseRun.epochs[0]!.crossEntropy;
    const last = baseRun.epochs.at(-1)!.crossEntropy;
    expect(last).to.be.lessThan(first * 0.85);
    const delta = model('delta');
    await train(delta, data, opts({ phases: [{ epochs: 6, clipLength: 4, spRate: 1e-2 }] }));
    const [eb, ed] = [await evaluate(base, data, { clipLength: 8 }), await evaluate(delta, data, { clipLength: 8 })];
    expect(eb.accuracy).to.be.greaterThan(0.6);
    expect(ed.temporalSparsity).to.be.greaterThan(eb.temporalSparsity + 0.03);
    expect(ed.operationSparsity).to.be.greaterThan(eb.operationSparsity);
    expect(ed.layers.map((l) => l.name)).to.deep.equal(['inp_delta', 'act1', 'act2', 'act3', 'act4']);
  });

  it('evaluate() counts the frames of a model without an input delta layer, by their own non-zeros and changes (hand count)', async () => {
    // Each 16×16 frame holds one 4×4 bright square moving one pixel a frame: 16 non-zero pixels, 8 changed ones.
    const e = await evaluate(model('baseline'), data, { clipLength: 8 });
    expect(e.layers.map((l) => l.name)).to.deep.equal(['input', 'act1', 'act2', 'act3', 'act4']);
    expect(e.layers[0]).to.deep.include({ nOutputs: 9 * 8, neurons: 256, spatialSparsity: 1 - 16 / 256, temporalSparsity: 1 - 8 / 256 });
    // The input's operations are in the totals: without them the spatial operation sparsity would differ.
    const rest = e.layers.slice(1);
    const ops = (ls: typeof rest) => ls.reduce((n, l) => n + l.nOutputs * l.neurons, 0);
    const nz = (ls: typeof rest) => ls.reduce((n, l) => n + l.nOutputs * l.neurons * (1 - l.spatialSparsity), 0);
    expect(e.spatialOperationSparsity).to.be.closeTo(1 - nz(e.layers) / ops(e.layers), 1e-9);
    expect(e.spatialOperationSparsity).to.not.be.closeTo(1 - nz(rest) / ops(rest), 1e-3);
  });

  it('is deterministic for a seed, runs the phases in order (sp_rate, clip length) and checkpoints', async () => {
    const seen: BatchProgress[] = [];
    const phases = [
      { epochs: 1, clipLength: 4, spRate: 1e-3 },
      { epochs: 1, clipLength: 2, spRate: 1e-6 },
    ];
    const cp = join(dir, 'ckpt');
    const meta = {
      net: 'plain',
      variant: 'delta',
      classes: ['left', 'right'],
      frameShape: [16, 16, 1] as [number, number, number],
      seed: 3,
    };
    const m1 = model('delta');
    const r1 = await train(m1, data, opts({ phases, onBatch: (p) => seen.push(p), checkpoint: { dir: cp, every: 1, meta } }));
    const r2 = await train(model('delta'), data, opts({ phases }));
    expect(r2.epochs.map((e) => e.loss)).to.deep.equal(r1.epochs.map((e) => e.loss));
    expect(r1.iterations).to.equal(8);
    expect(seen.map((p) => p.phase)).to.deep.equal([0, 0, 0, 0, 1, 1, 1, 1]);
    // lr / (1 + decay · iteration)
    expect(seen[5]!.learningRate).to.be.closeTo(0.05 / (1 + 1e-3 * 5), 1e-12);
    expect(seen.slice(0, 4).every((p) => p.penalty > 0)).to.equal(true);
    expect(activationLayers(m1).every((l) => l.spRate === 1e-6)).to.equal(true);
    expect(existsSync(join(cp, 'model.json'))).to.equal(true);
    const saved = JSON.parse(readFileSync(join(cp, 'meta.json'), 'utf8'));
    expect(saved.training.epochsDone).to.equal(2);
    expect(saved.training.phases).to.deep.equal(phases);
  });

  it('rejects clips that do not fit the model or the phase', async () => {
    const wrong = slidingSquares(4, 4, 8, 32);
    await expectInputError(train(model('baseline'), wrong, opts()), /32×32×1, the model takes 16×16×1/);
    await expectInputError(
      train(model('baseline'), data, opts({ phases: [{ epochs: 1, clipLength: 9, spRate: 0 }] })),
      /has 8 frames, 9 are needed/,
    );
    await expectInputError(train(model('baseline'), data, opts({ batchSize: 0 })), /batch size/);
  });

  it('thresholdLrScale moves the thresholds that much faster and leaves the other weights as one optimiser would', async () => {
    // One plain-SGD step (momentum's first step is lr · g): thresholds move by scale × what they move at scale 1.
    const step = { phases: [{ epochs: 1, clipLength: 4, spRate: 1e-2 }], batchSize: 32, learningRate: 1e-3, decay: 0 };
    const weights = async (scale: number) => {
      const m = model('delta', 1e-2);
      const before = m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
      await train(m, data, opts({ ...step, thresholdLrScale: scale }));
      const moved = m.trainableWeights.map((w, i) => ({
        threshold: w.originalName.endsWith('threshold'),
        d: Array.from(w.read().dataSync()).map((v, j) => v - before[i]![j]!),
      }));
      m.dispose();
      return moved;
    };
    const [one, ten] = [await weights(1), await weights(10)];
    const thr = (ws: typeof one) => ws.filter((w) => w.threshold).flatMap((w) => w.d);
    const rest = (ws: typeof one) => ws.filter((w) => !w.threshold).flatMap((w) => w.d);
    expect(thr(one).length).to.be.greaterThan(0);
    expect(thr(one).some((d) => Math.abs(d) > 1e-7)).to.equal(true);
    thr(one).forEach((d, i) => expect(thr(ten)[i]).to.be.closeTo(10 * d, 1e-6 + 1e-3 * Math.abs(d)));
    rest(one).forEach((d, i) => expect(rest(ten)[i]).to.be.closeTo(d, 1e-6));
    await train(model('delta'), data, opts({ thresholdLrScale: 0 })).then(
      () => expect.fail('accepted a zero scale'),
      (e: Error) => expect(e.message).to.match(/threshold learning-rate scale/),
    );
  });
});

async function expectInputError(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(InputError);
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail('expected an InputError');
}
