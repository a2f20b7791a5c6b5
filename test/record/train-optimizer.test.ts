/**
 * deltasim train --optimizer (issue 17, item 8): the flag is validated, the defaults (Adam with the bundled
 * models' recipe) learn where the authors' SGD stays at chance, and a run near chance is flagged.
 *
 * The data: 2 motion classes (left, right) at 24×24, 4 frames, 128 training clips; 8 epochs, batch 4. Measured
 * over seeds 1–5 (2026-12, wasm): the defaults reach 71.9–96.9 % on the 32 test clips, --optimizer sgd
 * 43.8–53.1 % (chance 50 %, flagged below 60 %). Each run takes 4–10 s on one core.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANCE_MARGIN, chanceWarning } from '../../src/cli/commands/train.js';
import { OPTIMIZER_DEFAULTS } from '../../src/tf/train.js';
import { RECIPE } from '../../studies/paper-repro/recipe.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const DATA = 'procedural:classes=left+right,background=0.2,train=128,test=32';
const RUN = ['--data', DATA, '--size', '24', '--frames', '4', '--motion-input', '--variant', 'baseline'];
const RUN_ARGS = [...RUN, '--epochs', '8', '--batch', '4', '--seed', '1', '--quiet'];
/** Quick argument checks: they fail before any training. */
const TINY = ['--data', 'procedural:train=8,test=4,classes=left+right', '--size', '16', '--frames', '4', '--epochs', '1', '--quiet'];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const WARNING = /warning: accuracy \d+\.\d% is within 10 points of chance \(50\.0% for 2 classes\)/;

describe('record: deltasim train --optimizer and the chance warning', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-train-opt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('chanceWarning: below chance + 10 points, not at or above it; no rule without labels or with one class', () => {
    expect(CHANCE_MARGIN).to.equal(0.1);
    expect(chanceWarning(0.25, 4)).to.match(/accuracy 25\.0% is within 10 points of chance \(25\.0% for 4 classes\)/);
    expect(chanceWarning(0.34, 4)).to.be.a('string');
    expect(chanceWarning(0.35, 4)).to.equal(null);
    expect(chanceWarning(0.9, 2)).to.equal(null);
    expect(chanceWarning(0.59, 2)).to.be.a('string');
    expect(chanceWarning(0, 9)).to.be.a('string');
    expect(chanceWarning(Number.NaN, 4)).to.equal(null);
    expect(chanceWarning(1, 1)).to.equal(null);
  });

  it('rejects a bad --optimizer (exit 2, the choices), --lr, --decay and --momentum (exit 1, the flag), writing nothing', () => {
    const bad = join(dir, 'bad');
    const r1 = cli('train', ...TINY, '--optimizer', 'adma', '--out', bad);
    expect(r1.code).to.equal(2);
    // yargs' "Invalid values: Argument: optimizer, Given: "adma", Choices: "adam", "sgd"" or the CLI's own wording.
    expect(r1.stderr)
      .to.match(/^deltasim: /)
      .and.include('optimizer')
      .and.include('adma')
      .and.match(/"?adam"?, "?sgd"?/);
    for (const [flag, value, re] of [
      ['--lr', '0', /--lr: expected a number > 0, got 0/],
      ['--lr', '-0.1', /--lr: expected a number > 0, got -0.1/],
      ['--decay', '-1', /--decay: expected a number >= 0, got -1/],
      ['--momentum', '1', /--momentum: expected a number in \[0, 1\), got 1/],
    ] as const) {
      const r = cli('train', ...TINY, '--optimizer', 'sgd', flag, value, '--out', bad);
      expect(r.code, `${flag} ${value}: ${r.stderr}`).to.equal(1);
      expect(r.stderr.trim().split('\n'), `${flag} ${value}`).to.have.length(1);
      expect(r.stderr).to.match(re);
    }
    expect(existsSync(bad)).to.equal(false);
  });

  it('the defaults (Adam, lr 3e-3, decay 1e-3) learn and are not flagged', () => {
    const out = join(dir, 'adam');
    const r = cli('train', ...RUN_ARGS, '--out', out);
    expect(r.code, r.stderr).to.equal(0);
    const e = readJson(join(out, 'eval.json'));
    expect(e).to.include({ split: 'test', clips: 32, chance: 0.5, nearChance: false });
    expect(e.accuracy).to.be.at.least(0.5 + CHANCE_MARGIN);
    expect(r.stderr).to.not.match(/warning/);
    expect(r.stdout).to.not.match(/warning/);
    // The recipe that trained the bundled models: its baseline stage's lr, its refinement stages' lr, its decay and β1.
    expect(OPTIMIZER_DEFAULTS.adam).to.deep.equal({
      learningRate: RECIPE.baseline.learningRate,
      refineLearningRate: RECIPE.delta.learningRate,
      decay: RECIPE.train.decay,
    });
    expect([RECIPE.train.optimizer, RECIPE.l1.learningRate, RECIPE.train.momentum]).to.deep.equal(['adam', RECIPE.delta.learningRate, 0.9]);
    const training = readJson(join(out, 'meta.json')).training;
    expect(training).to.include({ optimizer: 'adam', learningRate: 3e-3, decay: 1e-3, momentum: 0.9 });
  });

  it('with Adam, the same inputs and seed give the same bytes; --from refines at lr 1e-3', () => {
    const short = ['--data', 'procedural:classes=left+right,train=16,test=4', '--size', '16', '--frames', '4', '--epochs', '2', '--quiet'];
    const [a, b] = [join(dir, 'same-a'), join(dir, 'same-b')];
    for (const out of [a, b]) {
      const r = cli('train', ...short, '--variant', 'baseline', '--motion-input', '--seed', '3', '--out', out);
      expect(r.code, r.stderr).to.equal(0);
    }
    for (const f of ['model.json', 'weights.bin', 'meta.json', 'eval.json']) {
      expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).to.equal(true);
    }
    const refined = join(dir, 'refined');
    const r = cli('train', ...short, '--from', a, '--variant', 'delta', '--out', refined);
    expect(r.code, r.stderr).to.equal(0);
    expect(readJson(join(refined, 'meta.json')).training).to.include({ optimizer: 'adam', learningRate: 1e-3, from: a });
  });

  it('the same run with --optimizer sgd (the old defaults) stays at chance and is flagged on stderr, in the summary and in eval.json', () => {
    const out = join(dir, 'sgd');
    const r = cli('train', ...RUN_ARGS, '--optimizer', 'sgd', '--out', out);
    expect(r.code, r.stderr).to.equal(0);
    const e = readJson(join(out, 'eval.json'));
    expect(e.accuracy).to.be.below(0.5 + CHANCE_MARGIN);
    expect(e).to.include({ chance: 0.5, nearChance: true });
    expect(r.stderr).to.match(new RegExp(`^deltasim: ${WARNING.source}`, 'm'));
    const summary = r.stdout.split('\n');
    expect(summary[1]).to.match(/^accuracy \d+\.\d% on 32 clips/);
    expect(summary[2]).to.match(new RegExp(`^${WARNING.source}.*sparsity figures are not a result`));
    expect(readJson(join(out, 'meta.json')).training).to.include({ optimizer: 'momentum', learningRate: 0.01, decay: 1e-4 });
  });
});
