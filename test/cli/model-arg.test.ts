/**
 * `simulate --model` (and `sweep --model`) take what users give them: a topology CSV, a built-in name, a trace
 * directory (run as --trace), or a trained model directory, which cannot be simulated before it is traced: then
 * one line gives the commands to run, and those commands work as given.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

const BIN = join(PACKAGE_DIR, 'bin', 'deltasim.js');
const TRACE = join(PACKAGE_DIR, 'traces', 'samples', 'tiny');
const DATA = 'procedural:train=8,test=4,classes=left+right';

describe('simulate --model: a topology, a built-in, a trace or a trained model (CLI)', function () {
  this.timeout(180_000);
  let dir: string;
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-model-arg-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a topology CSV, a built-in name and a trace directory run', () => {
    copyFileSync(join(PACKAGE_DIR, 'sim', 'topologies', 'tiny.csv'), join(dir, 'mine.csv'));
    for (const model of ['mine.csv', 'tiny', TRACE]) {
      const r = cli('simulate', '--model', model, '--arch', 'delta-32x32', '--json');
      expect(r.code, `--model ${model}: ${r.stderr}`).to.equal(0);
      expect(JSON.parse(r.stdout).format, model).to.equal('deltasim-run');
    }
  });

  it('a directory that is neither a trace nor a model: exit 1, one line saying so', () => {
    mkdirSync(join(dir, 'empty'));
    const r = cli('simulate', '--model', 'empty', '--arch', 'delta-32x32', '--out', 'out');
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(r.stderr)
      .to.include('empty: a directory, but neither a trace')
      .and.not.match(/^\s+at /m);
    expect(existsSync(join(dir, 'out'))).to.equal(false);
  });

  it('a trained model: exit 1, one line with the commands to run first; they run as given', () => {
    const train = cli('train', '--data', DATA, '--size', '32', '--frames', '4', '--epochs', '1', '--batch', '4', '--quiet', '--out', 'm');
    expect(train.code, train.stderr).to.equal(0);
    const before = readdirSync(dir).sort();
    for (const [command, extra] of [
      ['simulate', []],
      ['sweep', ['--set', 'rows=8,16']],
    ] as const) {
      const r = cli(command, '--model', 'm', '--arch', 'delta-32x32', ...extra);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
      expect(r.stderr).to.match(/^deltasim: m: a trained model, not a topology: record a trace with it first/);
      expect(r.stderr).to.include(`\`deltasim trace --model m --data ${DATA} --out m-trace\``); // the data it was trained on
      expect(r.stderr).to.include(`\`deltasim ${command} --trace m-trace --arch delta-32x32 …\``);
      expect(readdirSync(dir).sort(), 'nothing written').to.deep.equal(before);
    }
    // the commands, as the message gives them
    const message = cli('simulate', '--model', 'm', '--arch', 'delta-32x32').stderr;
    const [trace, simulate] = [...message.matchAll(/`deltasim ([^`]+)`/g)].map((x) => x[1]!.replace(/ …$/, '').split(' '));
    const t = cli(...trace!);
    expect(t.code, t.stderr).to.equal(0);
    const s = cli(...simulate!, '--json');
    expect(s.code, s.stderr).to.equal(0);
    const summary = JSON.parse(s.stdout);
    expect(summary).to.include({ kind: 'simulation', threshold: 0, hwModel: 'delta-32x32' }); // a trace run has a threshold
    expect(summary.frames).to.equal(32);
  });
});
