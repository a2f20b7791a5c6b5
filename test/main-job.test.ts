/** The main job (`npm start`) end to end, twice: every file it writes, report.html included, is byte-identical. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
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
});
