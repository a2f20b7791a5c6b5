import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { buildReport } from '../../src/report/build.js';
import { writeFixtureRun, writeFixtureSweep } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';

/** Load a file in headless Chromium; return the serialised DOM and the console messages it logged. */
function loadInChromium(file: string, profile: string): { dom: string; console: string[] } {
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--enable-logging=stderr',
      '--v=0',
      '--dump-dom',
      pathToFileURL(file).href,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
  // Page console output (errors, uncaught exceptions, CSP refusals) is logged as ":CONSOLE" lines.
  return { dom: r.stdout, console: r.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
}

describe('report in headless Chromium', function () {
  this.timeout(60_000);
  let tmp: string;
  before(function () {
    if (!existsSync(CHROMIUM)) this.skip();
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-chromium-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('notices console errors (control: a page that logs one)', () => {
    const bad = join(tmp, 'bad.html');
    writeFileSync(bad, '<!DOCTYPE html><title>x</title><script>console.error("boom")</script>');
    expect(loadInChromium(bad, join(tmp, 'profile-control')).console.join('\n')).to.include('boom');
  });

  for (const [kind, write, sections, tables] of [
    ['simulation', writeFixtureRun, ['summary', 'charts', 'layers'], 4],
    ['sweep', writeFixtureSweep, ['summary', 'charts', 'sweep'], 3],
  ] as const) {
    it(`loads a ${kind} report with no console errors and shows every table and chart`, async () => {
      const run = join(tmp, kind);
      write(run);
      const { reportPath, charts } = await buildReport(run);
      const { dom, console } = loadInChromium(reportPath, join(tmp, `profile-${kind}`));
      expect(console).to.deep.equal([]);
      for (const id of sections) expect(dom).to.include(`<section id="${id}">`);
      expect(dom.match(/<table/g)?.length).to.be.greaterThanOrEqual(tables);
      expect(charts).to.have.length.greaterThanOrEqual(3);
      expect(dom.match(/<img src="data:image\/png;base64,/g)).to.have.length(charts.length);
    });
  }
});
