/**
 * A sweep killed with SIGKILL (no handler runs, nothing is flushed or cleaned up) at a seeded random point,
 * then continued with `sweep --resume`, gives the sweep.csv and summary.json of an uninterrupted run byte for
 * byte, and leaves no temp file or lock behind. The kill points: while the workers start, while points finish
 * (after a seeded number of journal lines), and once every point is journaled (while the outputs are written).
 *
 * DELTASIM_FAULT_SEED=n picks other kill points (the seed is in the test title).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { prng } from '../../lib/prng.js';
import { cli, leftovers, lines, removeTemps, start, SWEEP_96, tempDir } from './helpers.js';

const SEED = Number(process.env.DELTASIM_FAULT_SEED ?? 17);
// The points take about a second on two workers, after about as long starting up.
const SWEEP = SWEEP_96;
const POINTS = 96;

describe(`fault: a sweep killed with SIGKILL and resumed (seed ${SEED})`, function () {
  this.timeout(300_000);
  let dir: string;
  let ref: { csv: string; summary: string };
  before(() => {
    dir = tempDir('kill');
    const r = cli([...SWEEP, '--workers', '2', '--out', 'ref'], dir);
    expect(r.code, r.stderr).to.equal(0);
    ref = { csv: readFileSync(join(dir, 'ref', 'sweep.csv'), 'utf8'), summary: readFileSync(join(dir, 'ref', 'summary.json'), 'utf8') };
    expect(ref.csv.split('\n')).to.have.length(POINTS + 2); // header, rows, final newline
  });
  after(removeTemps);

  const rng = prng(SEED);
  const trials: { name: string; at: { ms: number } | { journaled: number } }[] = [
    { name: 'while starting up', at: { ms: rng.intBetween(0, 1500) } },
    { name: 'while points finish', at: { journaled: rng.intBetween(1, POINTS - 1) } },
    { name: 'with every point journaled (writing the outputs)', at: { journaled: POINTS } },
  ];
  let killedMidRun = 0;

  for (const [i, t] of trials.entries())
    it(`killed ${t.name} (${'ms' in t.at ? `after ${t.at.ms} ms` : `after ${t.at.journaled} journaled points`}): --resume gives the same bytes`, async () => {
      const out = `run-${i}`;
      const journal = join(dir, out, 'journal.jsonl');
      const run = start([...SWEEP, '--workers', '2', '--out', out], dir);
      let seen = 0;
      const kill = () => {
        seen = Math.max(0, lines(journal).length - 1);
        run.child.kill('SIGKILL');
      };
      let timer: NodeJS.Timeout;
      if ('ms' in t.at) timer = setTimeout(kill, t.at.ms);
      else {
        const want = t.at.journaled;
        timer = setInterval(() => {
          if (lines(journal).length - 1 >= want) kill();
        }, 1);
      }
      const killed = await run.done;
      clearInterval(timer);
      if (killed.signal === 'SIGKILL' && seen < POINTS) killedMidRun++;
      // (a run that finished before the kill landed is resumed all the same)
      const resumed = cli([...SWEEP, '--workers', '0', '--resume', '--out', out], dir);
      expect(resumed.code, `${killed.signal ?? killed.code}, then --resume: ${resumed.stderr}`).to.equal(0);
      expect(readFileSync(join(dir, out, 'sweep.csv'), 'utf8')).to.equal(ref.csv);
      expect(readFileSync(join(dir, out, 'summary.json'), 'utf8')).to.equal(ref.summary);
      expect(leftovers(join(dir, out)), 'temp files or locks left').to.deep.equal([]);
      expect(lines(journal)).to.have.length(POINTS + 1);
    });

  it('at least one kill landed while points were running (the trials are not vacuous)', () => {
    expect(killedMidRun).to.be.greaterThan(0);
  });
});
