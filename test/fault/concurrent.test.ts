/**
 * Two runs on one --out at the same time never corrupt it: the directory ends up holding one complete run
 * (every file of it from the same run) and each other run either completed before or was refused cleanly (exit
 * 1, one line). Never a mix of two runs' files, never a journal two sweeps appended to, never a crash.
 *
 * The pairs start together (a seeded delay apart), so where they meet varies: both past the output guard, both
 * building, one swapping its directory in while the other does. A sweep's journal lock is checked directly too:
 * a second sweep (--force, --resume, another grid) started while one runs is refused and the first completes.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writeDirAtomic } from '../../lib/atomic.js';
import { isInputError } from '../../lib/errors.js';
import { prng } from '../../lib/prng.js';
import { openJournal } from '../../sim/sweep/journal.js';
import { cli, leftovers, lines, refusal, removeTemps, type Run, start, tempDir, TRACE } from './helpers.js';

const SEED = Number(process.env.DELTASIM_FAULT_SEED ?? 17);
const sweep = (rows: string) => [
  'sweep',
  '--model',
  'tiny',
  '--arch',
  'delta-32x32',
  '--set',
  `rows=${rows}`,
  '--set',
  'cols=8,16',
  '--workers',
  '0',
];
const GRID_A = sweep('4,8');
const GRID_B = sweep('16,32');
const simulate = (arch: string) => ['simulate', '--trace', TRACE, '--arch', arch];
const read = (file: string): string => fs.readFileSync(file, 'utf8');

/** Start both, the second `delayMs` later; wait for both. */
async function pair(a: string[], b: string[], cwd: string, delayMs: number): Promise<[Run, Run]> {
  const first = start(a, cwd);
  await new Promise((r) => setTimeout(r, delayMs));
  const second = start(b, cwd);
  return Promise.all([first.done, second.done]);
}

/** Each run either succeeded or was refused cleanly; returns the indices that succeeded. */
function outcomes(runs: Run[], what: string): number[] {
  const won: number[] = [];
  runs.forEach((r, i) => {
    if (r.code === 0) won.push(i);
    else expect(refusal(r), `${what}, run ${i}: ${r.stderr}`).to.equal(null);
  });
  return won;
}

describe(`fault: two runs on one --out at the same time (seed ${SEED})`, function () {
  this.timeout(300_000);
  let dir: string;
  const ref: Record<string, Record<string, string>> = {};
  before(() => {
    dir = tempDir('concurrent');
    for (const [name, args, files] of [
      ['A', GRID_A, ['sweep.csv', 'summary.json']],
      ['B', GRID_B, ['sweep.csv', 'summary.json']],
      ['delta', simulate('delta-32x32'), ['summary.json', 'frames.csv']],
      ['zero', simulate('zero-skip-32x32'), ['summary.json', 'frames.csv']],
    ] as const) {
      const r = cli([...args, '--out', `ref-${name}`], dir);
      expect(r.code, r.stderr).to.equal(0);
      ref[name] = Object.fromEntries(files.map((f) => [f, read(join(dir, `ref-${name}`, f))]));
    }
  });
  after(removeTemps);

  const rng = prng(SEED, 1);
  const delays = [0, rng.intBetween(0, 400)];

  for (const [t, delay] of delays.entries()) {
    it(`two sweeps of the same grid (${delay} ms apart): one complete run, a journal that resumes`, async () => {
      const out = `same-${t}`;
      const runs = await pair([...GRID_A, '--out', out], [...GRID_A, '--out', out], dir, delay);
      expect(outcomes(runs, 'same grid')).to.have.length(1);
      const d = join(dir, out);
      for (const f of ['sweep.csv', 'summary.json']) expect(read(join(d, f)), f).to.equal(ref.A![f]);
      expect(lines(join(d, 'journal.jsonl'))).to.have.length(5); // header + 4 points, one run's
      expect(leftovers(d)).to.deep.equal([]);
      const again = cli([...GRID_A, '--resume', '--out', out], dir);
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stdout).to.include('4 points, 4 from the journal');
    });

    it(`two sweeps of different grids (${delay} ms apart): every file from the same one`, async () => {
      const out = `diff-${t}`;
      const runs = await pair([...GRID_A, '--out', out], [...GRID_B, '--out', out], dir, delay);
      const won = outcomes(runs, 'different grids');
      expect(won).to.have.length(1);
      const d = join(dir, out);
      const winner = ref[won[0] === 0 ? 'A' : 'B']!;
      for (const f of ['sweep.csv', 'summary.json']) expect(read(join(d, f)), f).to.equal(winner[f]);
      const grid = JSON.parse(read(join(d, 'summary.json'))).grid;
      expect(JSON.parse(lines(join(d, 'journal.jsonl'))[0]!).grid, 'the journal is the same run’s').to.equal(grid);
      expect(JSON.parse(read(join(d, 'run.json'))).argv).to.include(won[0] === 0 ? 'rows=4,8' : 'rows=16,32');
      expect(leftovers(d)).to.deep.equal([]);
    });

    it(`two simulations on different hw-models (${delay} ms apart): every file from the same one`, async () => {
      const out = `sim-${t}`;
      const runs = await pair([...simulate('delta-32x32'), '--out', out], [...simulate('zero-skip-32x32'), '--out', out], dir, delay);
      const won = outcomes(runs, 'simulate');
      expect(won.length).to.be.within(1, 2); // both may succeed: the second replaces the first whole
      const d = join(dir, out);
      const hw = JSON.parse(read(join(d, 'summary.json'))).hwModel as string;
      const winner = ref[hw === 'delta-32x32' ? 'delta' : 'zero']!;
      for (const f of ['summary.json', 'frames.csv']) expect(read(join(d, f)), f).to.equal(winner[f]);
      expect(JSON.parse(read(join(d, 'run.json'))).argv).to.include(hw);
      expect(
        leftovers(dir).filter((n) => n.includes(out)),
        'temp directories left',
      ).to.deep.equal([]);
    });
  }

  it('a sweep started while another runs on the same --out is refused, whatever its flags; the first completes', async () => {
    const out = 'locked';
    // alexnet, 240 points on one worker: several seconds of points after the journal starts, longer than the three
    // CLIs below take to start (144 points were too few on an idle machine: the first sweep could finish before them)
    const LONG = [
      'sweep',
      '--model',
      'alexnet',
      '--arch',
      'delta-32x32',
      '--set',
      'rows=4,8,16,32',
      '--set',
      'cols=4,8,16,32',
      '--set',
      'memories.state.kiB=1,16,64,256,1024',
      '--set',
      'deltaDensity=0.05,0.1,0.2',
      '--workers',
      '1',
    ];
    const first = start([...LONG, '--out', out], dir);
    const journal = join(dir, out, 'journal.jsonl');
    while (lines(journal).length < 2 && first.child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    const during = await Promise.all(
      [
        [...LONG, '--out', out],
        [...LONG, '--resume', '--out', out],
        [...GRID_B, '--force', '--out', out],
      ].map((a) => start(a, dir).done),
    );
    const r = await first.done;
    expect(r.code, r.stderr).to.equal(0);
    for (const x of during) expect(refusal(x), x.stderr).to.equal(null);
    for (const x of during) expect(x.stderr).to.match(/another sweep \(pid \d+\) is writing/);
    const d = join(dir, out);
    expect(lines(join(d, 'sweep.csv'))).to.have.length(241);
    expect(lines(journal)).to.have.length(241);
    expect(JSON.parse(read(join(d, 'summary.json'))).grid).to.equal(JSON.parse(lines(journal)[0]!).grid);
    expect(leftovers(d)).to.deep.equal([]);
  });

  describe('in process, each race forced', () => {
    it('the journal lock: a second opener is refused; a dead process’s lock is taken over; another host’s is not', () => {
      const d = tempDir('lock');
      const file = join(d, 'journal.jsonl');
      const j = openJournal(file, 'g', null, false);
      try {
        expect(() => openJournal(file, 'g', null, true)).to.throw(/another sweep \(pid \d+\) is writing/);
      } finally {
        j.close();
      }
      expect(fs.existsSync(`${file}.lock`), 'released on close').to.equal(false);
      // a lock left by a killed process (a pid that is not running) is taken over
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
      openJournal(file, 'g', null, true).close();
      // and so is one with this process's own pid that it does not hold (a killed process's pid, reused)
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), token: 'old' }));
      openJournal(file, 'g', null, true).close();
      // and an empty one (killed between creating and filling it), after a moment
      fs.writeFileSync(`${file}.lock`, '');
      openJournal(file, 'g', null, true).close();
      expect(fs.readdirSync(d).sort()).to.deep.equal(['journal.jsonl']);
      // one of another host cannot be checked from here: refused, saying how to clear it
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere.example' }));
      expect(() => openJournal(file, 'g', null, true)).to.throw(
        /pid 1 on elsewhere\.example.*if it is not running any more, remove .*journal\.jsonl\.lock/,
      );
    });

    it('writeDirAtomic: the output appearing under the swap (another run finished first) is a clean refusal, theirs kept', async () => {
      const d = tempDir('swap');
      const out = join(d, 'out');
      const original = fs.renameSync;
      fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
        if (String(to) === out && !fs.existsSync(out)) {
          // the other run's rename lands first
          fs.mkdirSync(out);
          fs.writeFileSync(join(out, 'theirs.txt'), 'theirs\n');
        }
        return original(from, to);
      };
      syncBuiltinESMExports();
      let err: unknown;
      try {
        await writeDirAtomic(out, (tmp) => fs.writeFileSync(join(tmp, 'mine.txt'), 'mine\n'));
      } catch (e) {
        err = e;
      } finally {
        fs.renameSync = original;
        syncBuiltinESMExports();
      }
      expect(isInputError(err), String(err)).to.equal(true);
      expect((err as Error).message).to.match(/out: changed while this run was replacing it \(ENOTEMPTY/);
      expect(fs.readdirSync(out)).to.deep.equal(['theirs.txt']);
      expect(fs.readdirSync(d).sort()).to.deep.equal(['out']); // no temp directory left
    });
  });
});
