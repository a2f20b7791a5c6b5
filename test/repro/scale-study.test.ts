/**
 * The published scale study (studies/scale-study/run.ts → reports/scale-study/) hangs together: results.md and
 * README-table.md are what `--report-only` renders from the measured results.json (nothing edited by hand), and the
 * README's "Scale study" section carries README-table.md verbatim. Bad options are refused by name.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const STUDY = ['--import', 'tsx', 'studies/scale-study/run.ts'];
const REPORT = 'reports/scale-study';

describe('scale study (studies/scale-study/run.ts, reports/scale-study/)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-scale-study-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('results.md and README-table.md are rendered from results.json', async () => {
    copyFileSync(join(REPORT, 'results.json'), join(dir, 'results.json'));
    await run(process.execPath, [...STUDY, '--report-only', '--out', dir]);
    for (const f of ['results.md', 'README-table.md'])
      expect(readFileSync(join(dir, f), 'utf8'), f).to.equal(readFileSync(join(REPORT, f), 'utf8'));
  });

  it("the README's scale-study section holds README-table.md", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Scale study'));
    expect(section.length).to.be.lessThan(readme.length);
    expect(section).to.include(readFileSync(join(REPORT, 'README-table.md'), 'utf8'));
  });

  it('refuses an unknown network by name', async () => {
    const err = await run(process.execPath, [...STUDY, '--networks', 'centernet,nope', '--out', dir]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.not.equal(0);
    expect(err?.stderr).to.match(/unknown network "nope"/);
  });
});
