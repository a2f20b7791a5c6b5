import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { storageOf } from '../../traces/storage.js';
import { openTrace } from '../../traces/reader.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../../traces/synthetic.js';
import { cli, refusal, removeTemps, TRACE, tempDir } from '../fault/helpers.js';
import { leaveFree, mountTmpfs, unmount } from '../support/tmpfs.js';

const KiB = 1024;

describe('traces: a full disk while writing .deltas (a small tmpfs)', function () {
  this.timeout(300_000);
  let dir: string;
  let mnt: string;
  let big: string;
  let mounted = false;

  before(async function () {
    dir = tempDir('deltas-disk');
    mnt = join(dir, 'mnt');
    const why = mountTmpfs(mnt, '1m');
    if (why !== null) {
      console.log(`      (skipped: cannot mount a tmpfs here: ${why})`);
      this.skip();
    }
    mounted = true;
    big = join(dir, 'big');
    await writeSyntheticTrace(big, SYNTH_PRESETS.cnn64!, { seed: 2, frames: 60, density: 0.4, changeRate: 0.1, blobs: 2 });
  });
  after(() => {
    if (mounted) unmount(mnt);
    removeTemps();
  });
  beforeEach(() => {
    for (const n of readdirSync(mnt)) rmSync(join(mnt, n), { recursive: true, force: true });
  });

  const leave = (bytes: number) => leaveFree(mnt, bytes);

  for (const [when, src, free] of [
    ['between files (the tiny sample: 5 files of a page each)', () => TRACE, 8 * KiB],
    ['inside a .deltas file (a 60-frame cnn64 trace)', () => big, 64 * KiB],
  ] as const)
    it(`trace pack, the disk full ${when}: exit 1, ENOSPC named, no trace directory, no temp file`, () => {
      leave(free);
      const out = join(mnt, 'packed');
      const r = cli(['trace', 'pack', src(), '--out', out], dir);
      expect(refusal(r), r.stderr).to.equal(null);
      expect(r.stderr).to.include(out).and.include('ENOSPC: no space left on device');
      expect(readdirSync(mnt)).to.deep.equal(['filler']);
    });

  it('(the sizes the cases rely on: the cnn64 .deltas file alone outgrows the space left)', () => {
    const packed = join(dir, 'big-packed');
    expect(cli(['trace', 'pack', big, '--out', packed], dir).code).to.equal(0);
    const largest = Math.max(...openTrace(packed).layers.map((l) => l.fileBytes));
    expect(largest).to.be.greaterThan(64 * KiB);
    expect(storageOf(openTrace(packed)).fileBytes).to.be.below(storageOf(openTrace(big)).fileBytes);
  });
});
