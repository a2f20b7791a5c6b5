/** The main job (`npm start`) end to end, twice: every file it writes, report.html included, is byte-identical. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { loadHwModel } from '../sim/index.js';
import { MAIN_DEFAULTS, runMainJob } from '../src/main-job.js';

function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('main job (npm start)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'deltasim-main-job-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the same bytes twice, and its report is titled by its directory, not a temp name', async () => {
    const run = (where: string) => runMainJob({ ...MAIN_DEFAULTS, frames: 6, out: join(tmp, where, 'main'), log: () => {} });
    const a = await run('a');
    const b = await run('b');
    expect(a).to.deep.equal(b);
    const fa = files(join(tmp, 'a', 'main'));
    expect(fa).to.include.members(['summary.json', 'frames.csv', 'layers.csv', 'run.json', 'report.html']);
    expect(fa).to.deep.equal(files(join(tmp, 'b', 'main')));
    for (const f of fa) expect(readFileSync(join(tmp, 'a', 'main', f)), f).to.deep.equal(readFileSync(join(tmp, 'b', 'main', f)));
    const html = readFileSync(join(tmp, 'a', 'main', 'report.html'), 'utf8');
    expect(html).to.include('deltasim report: main').and.not.include('.tmp-');
  });

  it("sizes delta-32x32's state SRAM to the bundled delta model, and compares every run at its own node", () => {
    const runs = join(tmp, 'a', 'main', 'runs');
    const summary = (clip: string, run: string) => JSON.parse(readFileSync(join(runs, clip, run, 'summary.json'), 'utf8'));
    const hw = loadHwModel('delta-32x32');
    for (const clip of MAIN_DEFAULTS.scenarios.map((s) => s.name)) {
      const delta = summary(clip, 'delta-on-delta-32x32').modes.find((m: { mode: string }) => m.mode === 'delta');
      // The whole state fits, with less than 2× headroom: the next power of two, not a megabyte.
      expect(delta.footprint.stateSpill).to.equal(0);
      expect(delta.footprint.stateBytes).to.be.at.most(hw.memories.state.kiB * 1024);
      expect(delta.footprint.stateBytes).to.be.greaterThan((hw.memories.state.kiB * 1024) / 2);
      // Every configuration's weights fit the shared 64 KiB filter SRAM.
      expect(delta.footprint.weightBytes).to.be.at.most(hw.memories.filter.kiB * 1024);
      expect(summary(clip, 'delta-on-seneca-like').baseline).to.equal('dense-32x32-22nm');
      expect(summary(clip, 'delta-on-delta-32x32').baseline).to.equal('dense-32x32');
    }
  });
});
