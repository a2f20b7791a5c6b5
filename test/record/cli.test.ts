import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tf/backend.js';
import { loadModel } from '../../src/tf/persist.js';
import { DeltaActivation, L1Activation } from '../../src/tf/layers/index.js';
import { openTrace } from '../../traces/reader.js';
import { phaseEpochs } from '../../src/cli/commands/train.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const DATA = 'procedural:train=8,test=4,classes=left+right';
const TINY = ['--data', DATA, '--size', '32', '--frames', '4', '--epochs', '1', '--batch', '4', '--seed', '1', '--quiet'];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('record: deltasim train and deltasim trace (CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--epochs N splits 2 : 1 over the phases; explicit phase epochs win', () => {
    expect(phaseEpochs(undefined, undefined, undefined)).to.deep.equal([10, 5]);
    expect(phaseEpochs(1, undefined, undefined)).to.deep.equal([1, 0]);
    expect(phaseEpochs(6, undefined, undefined)).to.deep.equal([4, 2]);
    expect(phaseEpochs(6, 1, undefined)).to.deep.equal([1, 5]);
    expect(() => phaseEpochs(0, undefined, undefined)).to.throw(/0 epochs/);
  });

  it('trains a baseline, delta-ises it with --from, records a trace (default subcommand) and inspects it', async () => {
    const base = join(dir, 'base');
    const r1 = cli('train', ...TINY, '--variant', 'baseline', '--out', base);
    expect(r1.code, r1.stderr).to.equal(0);
    expect(r1.stdout).to.match(/accuracy \d+\.\d% on 4 clips/);
    const evalBase = JSON.parse(readFileSync(join(base, 'eval.json'), 'utf8'));
    expect(evalBase).to.include({ split: 'test', variant: 'baseline', clips: 4, frames: 16 });
    expect(evalBase.accuracy).to.be.within(0, 1);
    // the frames (an unmeasured input, counted from the pixels) and the four activation layers
    expect(evalBase.layers.map((l: { name: string }) => l.name)).to.deep.equal(['input', 'act1', 'act2', 'act3', 'act4']);
    const b = await loadModel(base);
    expect(b.meta).to.include({ net: 'plain', variant: 'baseline' });
    expect(b.meta!.frameShape).to.deep.equal([32, 32, 1]);
    expect(b.model.layers.some((l) => l instanceof L1Activation)).to.equal(true);
    b.model.dispose();

    const refined = join(dir, 'refined');
    const r2 = cli('train', ...TINY, '--from', base, '--variant', 'delta', '--out', refined);
    expect(r2.code, r2.stderr).to.equal(0);
    const d = await loadModel(refined);
    expect(d.meta).to.include({ variant: 'delta' });
    expect(d.meta!.training).to.include({ from: base });
    // act1..act4 and the input layer on the frames (on by default for delta-ised models)
    expect(d.model.layers.filter((l) => l instanceof DeltaActivation).map((l) => l.name)).to.deep.equal([
      'inp_delta',
      'act1',
      'act2',
      'act3',
      'act4',
    ]);
    d.model.dispose();

    const trace = join(dir, 'trace');
    const r3 = cli(
      'trace',
      '--model',
      refined,
      '--data',
      'procedural:classes=left+right',
      '--frames',
      '6',
      '--chunk',
      '4',
      '--out',
      trace,
      '--quiet',
    );
    expect(r3.code, r3.stderr).to.equal(0);
    const t = openTrace(trace, { verify: true });
    expect(t.manifest.frames).to.equal(6);
    expect(t.manifest.model).to.include({ name: 'plain-delta', source: refined });
    expect(t.manifest.layers.map((l) => l.name)).to.deep.equal(['conv1', 'conv2', 'conv3', 'conv4', 'fc']);
    const r4 = cli('trace', 'inspect', trace);
    expect(r4.code, r4.stderr).to.equal(0);
    expect(r4.stdout).to.match(/^overall\s/m);

    // Bad input: exit 1 with the reason, nothing written.
    const bad = join(dir, 'bad');
    const r5 = cli('trace', 'record', '--model', refined, '--video', join(dir, 'missing.mp4'), '--out', bad);
    expect(r5.code).to.equal(1);
    expect(r5.stderr).to.match(/missing\.mp4: no such video file/);
    const r6 = cli('train', ...TINY, '--clip2', '9', '--out', bad);
    expect(r6.code).to.equal(1);
    expect(r6.stderr).to.match(/--clip2 9 is longer than the dataset clips/);
    const r7 = cli('train', ...TINY, '--from', join(dir, 'nothing'), '--out', bad);
    expect(r7.code).to.equal(1);
    expect(r7.stderr).to.match(/no such model directory/);
    expect(existsSync(bad)).to.equal(false);
  });

  it('records a pretrained graph model with --graph human:NAME --threshold (no retraining)', () => {
    const out = join(dir, 'graph');
    const r = cli(
      'trace',
      '--graph',
      'human:emotion',
      '--threshold',
      '0.05',
      '--data',
      'procedural',
      '--frames',
      '3',
      '--out',
      out,
      '--quiet',
    );
    expect(r.code, r.stderr).to.equal(0);
    const t = openTrace(out, { verify: true });
    expect(t.manifest.frames).to.equal(3);
    expect(t.manifest.clip).to.include({ source: 'procedural:seed=0,split=test#0' });
    const noThreshold = cli('trace', '--graph', 'human:emotion', '--data', 'procedural', '--out', join(dir, 'g2'));
    expect(noThreshold.code).to.equal(1);
    expect(noThreshold.stderr).to.match(/--graph needs --threshold/);
  });

  it('warns when levels were clamped to int16 (a step too small for the range of a tensor), on recording and on inspect', () => {
    const record = (q: string, out: string) =>
      cli('trace', '--graph', 'human:emotion', '--data', 'procedural', '--frames', '2', '--threshold', q, '--out', out, '--quiet');
    const fine = record('0.05', join(dir, 'unclamped'));
    expect(fine.code, fine.stderr).to.equal(0);
    expect(fine.stderr).to.not.match(/clamped/);
    const out = join(dir, 'clamped');
    const r = record('1e-7', out);
    expect(r.code, r.stderr).to.equal(0);
    const n = openTrace(out).manifest.model.clampedLevels as number;
    expect(n).to.be.above(0);
    const warning = new RegExp(`warning: ${n} recorded levels exceeded the int16 range`);
    expect(r.stderr).to.match(warning);
    expect(cli('trace', 'inspect', out).stderr).to.match(warning);
  });
});
