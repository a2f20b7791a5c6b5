/**
 * Self-distillation (issue 18 items 3, 6, 7): the student–teacher gap falls on a tiny run, held-out
 * frames are never trained on, and the CI smoke of `deltasim train --from MODEL.json --distill CLIP`
 * (a tiny Keras model built here, a clip made with ffmpeg's lavfi testsrc2) runs end to end, is
 * byte-identical for a seed and refuses bad input cleanly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PACKAGE_DIR } from '../../lib/package-dir.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import {
  type DistillClip,
  distillData,
  distillationObjective,
  evaluateDistillation,
  perFrameModel,
  teacherOutputs,
} from '../../src/tf/distill.js';
import { buildModel } from '../../src/tf/models.js';
import { saveModel } from '../../src/tf/persist.js';
import { train } from '../../src/tf/train.js';
import { FFMPEG_PATH } from '../../src/video/ffmpeg.js';
import { loadSplitVideos } from '../../src/video/frame-split.js';

const BIN = join(PACKAGE_DIR, 'bin', 'deltasim.js');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A 4 s, 10 fps clip of ffmpeg's moving test pattern (40 frames), available wherever ffmpeg is. */
function testClip(file: string): void {
  const r = spawnSync(FFMPEG_PATH, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=96x72:rate=10:duration=4',
    '-c:v',
    'mpeg4',
    '-q:v',
    '4',
    file,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the test clip: ${r.stderr}`);
}

/** A per-frame Keras classifier (conv-relu ×2, global pool, dropout, dense softmax or `head`), as nsfwjs's are shaped. */
function kerasNet(head: 'softmax' | 'linear' = 'softmax'): tf.LayersModel {
  const L = tf.layers;
  const init = (seed: number) => tf.initializers.heUniform({ seed });
  const inp = tf.input({ shape: [24, 24, 3], name: 'image' });
  let x = L.conv2d({
    filters: 6,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    activation: 'relu',
    name: 'c1',
    kernelInitializer: init(1),
  }).apply(inp) as tf.SymbolicTensor;
  x = L.conv2d({
    filters: 8,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    activation: 'relu',
    name: 'c2',
    kernelInitializer: init(2),
  }).apply(x) as tf.SymbolicTensor;
  x = L.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = L.dropout({ rate: 0.5, name: 'drop' }).apply(x) as tf.SymbolicTensor; // as nsfwjs's heads have: unseeded in tfjs
  x = L.dense({ units: 4, activation: head, name: 'head', kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: x, name: 'tiny' });
}

const META = { net: 'tiny', variant: 'float', classes: [], frameShape: [24, 24, 3] as [number, number, number], seed: 0 };

describe('tf/distill: self-distillation on video frames', function () {
  this.timeout(300_000);
  let dir: string;
  let clip: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-distill-'));
    clip = join(dir, 'clip.avi');
    testClip(clip);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lowers the student–teacher gap on held-out frames (a tiny run) and never trains on them', async () => {
    const frameShape: [number, number, number] = [32, 32, 3];
    const teacher = buildModel({ net: 'plain', variant: 'baseline', classes: 4, frameShape, seed: 3, step: 1e-4 });
    // A delta student with other weights: a real gap that only training can close.
    const student = buildModel({ net: 'plain', variant: 'delta', classes: 4, frameShape, seed: 11 });
    const videos = await loadSplitVideos([clip], { width: 32, height: 32, channels: 3 }, { minTrain: 8, minHeldOut: 4 });
    expect(videos.map((v) => [v.count, v.trainFrames])).to.deep.equal([[40, 28]]); // native rate, last 30 % held out
    const targets = [await teacherOutputs(teacher, videos[0]!)];
    const data = distillData(videos, targets, ['a', 'b', 'c', 'd'], { clipFrames: 8, evalFrames: 4, seed: 1 });
    for (let i = 0; i < data.train.size; i++) {
      const c = (await data.train.get(i)) as DistillClip;
      expect(c.firstFrame + c.t).to.be.at.most(28);
      expect(c.targets.length).to.equal(8 * 4);
    }
    for (let i = 0; i < data.heldOut.size; i++) expect((await data.heldOut.get(i)).firstFrame).to.be.at.least(28);

    const before = await evaluateDistillation(student, data.heldOut, 'delta');
    const run = await train(perFrameModel(student), data.train, {
      phases: [
        { epochs: 12, clipLength: 8, spRate: 1e-6 },
        { epochs: 3, clipLength: 2, spRate: 1e-8 },
      ],
      batchSize: 2,
      learningRate: 3e-3,
      decay: 1e-3,
      momentum: 0.9,
      optimizer: 'adam',
      seed: 1,
      objective: distillationObjective(2),
    });
    const after = await evaluateDistillation(student, data.heldOut, 'delta');
    expect(before.kl).to.be.greaterThan(0.05);
    expect(after.kl).to.be.lessThan(before.kl / 4);
    expect(after.agreement).to.be.at.least(before.agreement);
    expect(run.epochs.at(-1)!.crossEntropy).to.be.lessThan(run.epochs[0]!.crossEntropy / 4);
    expect(after.frames).to.equal(12);
    expect(after.paperSparsity).to.equal(after.operationSparsity);
    teacher.dispose();
    student.dispose();
  });

  /** `train --from tiny/model.json --variant delta --distill CLIP`, 4-frame clips, 2 epochs, plus `extra`, into `out`. */
  const distillTiny = (out: string, ...extra: string[]) =>
    cli(
      'train',
      '--from',
      join(dir, 'tiny', 'model.json'),
      '--variant',
      'delta',
      '--distill',
      clip,
      '--frames',
      '4',
      '--eval-frames',
      '4',
      '--epochs',
      '2',
      ...extra,
      '--quiet',
      '--out',
      out,
    );

  it('CI smoke: train --from MODEL.json --distill CLIP --variant delta, end to end, byte-identical for a seed (dropout off)', async () => {
    await saveModel(join(dir, 'tiny'), kerasNet(), META);
    const run = (out: string) => distillTiny(out, '--batch', '2', '--seed', '5');
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const r = run(a);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('top-1 agreement with the teacher').and.contain('operation sparsity');
    const ev = JSON.parse(readFileSync(join(a, 'eval.json'), 'utf8'));
    expect(ev).to.include({ variant: 'delta', temperature: 1, heldOutFrames: 12 });
    for (const e of [ev.before, ev.after]) {
      expect(e.agreement).to.be.within(0, 1);
      expect(e.kl).to.be.at.least(0);
      expect(e.paperSparsity).to.equal(e.operationSparsity);
    }
    const meta = JSON.parse(readFileSync(join(a, 'meta.json'), 'utf8'));
    expect(meta.training.distill).to.deep.include({ videos: [clip], heldOut: 0.3, temperature: 1 });
    expect(meta.training.distill.split).to.deep.equal([{ file: clip, frames: 40, train: 28, heldOut: 12 }]);
    expect(meta.training.inputDelta).to.equal(true);
    expect(meta.training.dropoutDisabled).to.equal(1); // else tfjs's unseeded dropout would make the bytes differ
    expect(run(b).code).to.equal(0);
    for (const f of ['model.json', 'weights.bin', 'meta.json', 'eval.json'])
      expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).to.equal(true);
  });

  it('--relative-step starts each Delta Activation Layer at r × its range (recorded in meta.json), not at --step', async () => {
    await saveModel(join(dir, 'tiny'), kerasNet(), META);
    const out = join(dir, 'rel');
    const r = distillTiny(out, '--batch', '4', '--relative-step', '0.05');
    expect(r.code, r.stderr).to.equal(0);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(meta.training.relativeStep).to.equal(0.05);
    const set = Object.entries(meta.training.relativeThresholds as Record<string, number>);
    expect(set.length).to.be.greaterThan(0);
    expect(set.map(([name]) => name)).to.not.include('inp_delta');
    for (const [name, q] of set) expect(q, name).to.be.greaterThan(0).and.not.equal(0.05);
  });

  it('refuses bad input with a clear error, exit ≠ 0 and nothing written', async () => {
    await saveModel(join(dir, 'logits'), kerasNet('linear'), META);
    const model = join(dir, 'tiny', 'model.json');
    const text = join(dir, 'notes.avi');
    writeFileSync(text, 'not a video\n');
    const out = join(dir, 'bad');
    const cases: Array<[string[], string]> = [
      [['--from', model, '--distill', join(dir, 'missing.avi')], 'missing.avi: no such video file or folder'],
      [['--from', model, '--distill', text], 'ffmpeg cannot decode it'],
      [['--from', model, '--distill', join(dir, 'tiny')], 'no video files'],
      [['--from', join(dir, 'logits', 'model.json'), '--distill', clip], 'has no softmax classifier output'],
      [['--distill', clip], '--from MODEL is needed'],
      [['--from', model, '--distill', clip, '--held-out', '1'], '--held-out'],
      [['--data', 'procedural', '--temperature', '2'], '--temperature is an option of --distill'],
      [['--from', model, '--distill', clip, '--max-frames', '20', '--frames', '16'], 'at least 16 and 8 are needed'],
      [['--from', model, '--distill', clip, '--relative-step', '0'], '--relative-step: expected a number in (0, 1]'],
      [['--from', model, '--distill', clip, '--relative-step', '0.1', '--step', '0.2'], 'give it or --step, not both'],
      [['--from', model, '--distill', clip, '--variant', 'l1', '--relative-step', '0.1'], 'the student is l1'],
      [['--data', 'procedural', '--relative-step', '0.1'], '--relative-step is an option of --distill'],
    ];
    for (const [args, message] of cases) {
      const r = cli('train', ...args, '--quiet', '--out', out);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' '))
        .to.contain(message)
        .and.not.match(/^\s+at /m);
      expect(existsSync(out), args.join(' ')).to.equal(false);
    }
  });
});
