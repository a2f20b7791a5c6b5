import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { cli, lines, type Run, refusal, removeTemps, SWEEP_96, TRACE, tempDir } from './helpers.js';
import { leaveFree, mountTmpfs, unmount } from '../support/tmpfs.js';

// 96 points: a journal of about 16 KiB
const SWEEP = [...SWEEP_96, '--workers', '0'];
const PAGE = 4 * 1024; // tmpfs counts whole pages
const KiB = 1024;

describe('fault: a full disk (a small tmpfs)', function () {
  this.timeout(300_000);
  let dir: string;
  let mnt: string;
  let mounted = false;
  let ref: { csv: string; journalBytes: number; outputBytes: number };

  before(function () {
    dir = tempDir('disk');
    mnt = join(dir, 'mnt');
    const why = mountTmpfs(mnt, '1m');
    if (why !== null) {
      console.log(`      (skipped: cannot mount a tmpfs here: ${why})`);
      this.skip();
    }
    mounted = true;
    const r = cli([...SWEEP, '--out', 'ref'], dir);
    expect(r.code, r.stderr).to.equal(0);
    const size = (f: string) => readFileSync(join(dir, 'ref', f)).length;
    ref = {
      csv: readFileSync(join(dir, 'ref', 'sweep.csv'), 'utf8'),
      journalBytes: size('journal.jsonl'),
      outputBytes: size('sweep.csv') + size('summary.json') + size('run.json'),
    };
  });
  after(() => {
    if (mounted) unmount(mnt);
    removeTemps();
  });
  beforeEach(() => {
    for (const n of readdirSync(mnt)) rmSync(join(mnt, n), { recursive: true, force: true });
  });

  const leave = (bytes: number) => leaveFree(mnt, bytes);
  const noSpace = (r: Run, names: string) => {
    expect(refusal(r), r.stderr).to.equal(null);
    expect(r.stderr).to.include(names).and.include('ENOSPC: no space left on device');
  };

  it('simulate --out (layers.csv and all): exit 1, ENOSPC named, no run directory, no temp directory', () => {
    leave(16 * KiB); // the run directory needs about 40 KiB
    const r = cli(['simulate', '--trace', TRACE, '--arch', 'delta-32x32', '--layers', '--out', join(mnt, 'run')], dir);
    noSpace(r, join(mnt, 'run'));
    expect(readdirSync(mnt)).to.deep.equal(['filler']);
  });

  it('trace synth --out: exit 1, ENOSPC named, no trace directory, no temp directory', () => {
    leave(8 * KiB); // the trace needs about 16 KiB
    const r = cli(['trace', 'synth', '--frames', '16', '--out', join(mnt, 'trace')], dir);
    noSpace(r, join(mnt, 'trace'));
    expect(readdirSync(mnt)).to.deep.equal(['filler']);
  });

  for (const [when, free] of [
    ['while journaling points', () => 2 * PAGE], // the lock, and a page of journal
    ['while writing sweep.csv, summary.json and run.json', () => Math.ceil(ref.journalBytes / PAGE) * PAGE + 2 * PAGE],
  ] as const)
    it(`sweep, the disk full ${when}: exit 1, ENOSPC named, no output written, a journal of whole lines that --resume finishes`, () => {
      const out = join(mnt, 'sweep');
      leave(free());
      const r = cli([...SWEEP, '--out', out], dir);
      noSpace(r, out);
      const left = readdirSync(out).sort();
      expect(left.filter((n) => n !== 'journal.jsonl')).to.deep.equal([]); // no sweep.csv, summary.json, run.json, temp file or lock
      const journal = readFileSync(join(out, 'journal.jsonl'), 'utf8');
      expect(journal === '' || journal.endsWith('\n'), 'no torn line').to.equal(true);
      for (const l of lines(join(out, 'journal.jsonl'))) JSON.parse(l);
      rmSync(join(mnt, 'filler'));
      const again = cli([...SWEEP, '--resume', '--out', out], dir);
      expect(again.code, again.stderr).to.equal(0);
      expect(readFileSync(join(out, 'sweep.csv'), 'utf8')).to.equal(ref.csv);
      expect(readdirSync(out).sort()).to.deep.equal(['journal.jsonl', 'run.json', 'summary.json', 'sweep.csv']);
    });

  it('(the sizes the cases rely on: the journal outgrows a page, the outputs the page left after it)', () => {
    expect(ref.journalBytes).to.be.greaterThan(2 * PAGE);
    expect(ref.outputBytes).to.be.greaterThan(PAGE);
  });
});
