import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { RUN_FILES } from '../../sim/run-dir.js';
import { buildReport } from '../../src/report/build.js';
import { NO_LAYERS_NOTE } from '../../src/report/data.js';
import { escapeHtml, formatNumber } from '../../src/report/format.js';
import { InputError } from '../../lib/errors.js';
import { FIXTURE_BASELINE, FIXTURE_LAYERS, FIXTURE_MODES, writeFixtureRun, writeFixtureSweep } from './fixture.js';
import { pngSize } from './png.js';

const names = (charts: string[]) => charts.map((c) => c.split('/').pop());

/** Every chart is a 900 px PNG in charts/ and embedded in the page; nothing else is. */
function expectEmbedded(dir: string, html: string, charts: string[]): void {
  expect(readdirSync(join(dir, 'charts')).sort()).to.deep.equal(names(charts).sort());
  for (const c of charts) {
    const png = readFileSync(c);
    expect(pngSize(png).width).to.equal(900);
    expect(html).to.include(`data:image/png;base64,${png.toString('base64')}`);
  }
  expect(html.match(/<img /g) ?? []).to.have.length(charts.length);
}

describe('report build', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-report-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('a simulation: report.html with the summary, every chart embedded and the per-layer table', async () => {
    const res = writeFixtureRun(tmp);
    const { reportPath, charts } = await buildReport(tmp);
    expect(reportPath).to.equal(join(tmp, 'report.html'));
    const html = readFileSync(reportPath, 'utf8');

    expect(names(charts)).to.deep.equal(['frame-latency.png', 'energy-breakdown.png', 'layer-sparsity.png']);
    expectEmbedded(tmp, html, charts);

    // Header: exact command (shell-quoted) and versions.
    expect(html).to.include(
      escapeHtml(`deltasim simulate --trace traces/fixture --arch hw-models/fixture.json --layers --out 'it'\\''s here'`),
    );
    expect(html).to.match(/<th scope="row">chart\.js<\/th><td>4\.x<\/td>/);
    // Summary: one matrix of the runs (the hw-model's modes, the baseline's dense run) with units.
    const cols = [...FIXTURE_MODES, `dense @ ${FIXTURE_BASELINE}`].map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
    expect(html).to.include(cols);
    const summary = JSON.parse(readFileSync(join(tmp, RUN_FILES.summary), 'utf8'));
    const [dense, , delta] = summary.modes;
    expect(formatNumber('latencyUs.mean', dense.latencyUs.mean)).to.match(/ µs$/);
    expect(html).to.include(
      `<th scope="row">latencyUs.mean</th><td class="num">${formatNumber('latencyUs.mean', dense.latencyUs.mean)}</td>`,
    );
    expect(html).to.match(/<th scope="row">speedupVsDense<\/th><td class="num">1×<\/td><td class="num">[\d.]+×<\/td>/);
    expect(html).to.include(`<td class="num">${formatNumber('speedup', delta.speedupVsDense)}</td>`);
    expect(html).to.match(/<th scope="row">footprint\.stateBytes<\/th>(<td class="num">0 B<\/td>){2}<td class="num">1\.5 MiB<\/td>/);
    expect(html).to.match(/<th scope="row">energy\.sramPJ\.ifmap<\/th><td class="num">[\d.]+ µJ<\/td>/);
    expect(res.modes).to.have.length(3);
    // Per-layer table: one aggregated row per layer × mode (the baseline has no layers), with p95.
    const layers = html.slice(html.indexOf('id="layers"'));
    expect(layers.match(/<tr><td>/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
    expect(layers).to.include('180 per-frame rows aggregated');
    expect(layers).to.include('p95 ');
    expect(html).not.to.include('id="sweep"');
    // Everything escaped, nothing external, no scripts.
    expect(html).to.include('fixture &lt;data&gt; &amp; &quot;not&quot; a result');
    expect(html).not.to.include('<data>');
    expect(html).not.to.match(/<script|https?:\/\/|src="(?!data:)/i);
  });

  it('a sweep: a gain chart per numeric parameter, the Pareto chart and every point', async () => {
    writeFixtureSweep(tmp);
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.deep.equal(['sweep-arch.rows.png', 'sweep-arch.memories.ifmap.kiB.png', 'pareto.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expectEmbedded(tmp, html, charts);
    expect(html).to.include('Latency–energy Pareto front over the sweep (delta mode)');
    expect(html).to.include(escapeHtml('deltasim sweep --trace traces/fixture'));
    const sweep = html.slice(html.indexOf('id="sweep"'));
    expect(sweep.match(/<tr><td/g)).to.have.length(15);
    expect(sweep).to.include('<th scope="col">speedup_delta</th>');
    expect(html).not.to.include('id="layers"');
    expect(html).not.to.match(/<script|https?:\/\/|src="(?!data:)/i);
  });

  it('is deterministic: the same run gives the same bytes', async () => {
    for (const [dir, write] of [
      [join(tmp, 'sim'), writeFixtureRun],
      [join(tmp, 'sweep'), writeFixtureSweep],
    ] as const) {
      write(dir);
      await buildReport(dir);
      const first = readFileSync(join(dir, 'report.html'));
      await buildReport(dir);
      expect(readFileSync(join(dir, 'report.html')).equals(first)).to.equal(true);
    }
  });

  it('a topology run (one expected frame, no sparsity): the energy chart and the layer rows as they are', async () => {
    writeFixtureRun(tmp, { topology: true });
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.deep.equal(['energy-breakdown.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(html).not.to.include('id="sweep"');
    expect(html).not.to.include('aggregated');
    expect(html).to.include('<h3>densities</h3>');
    expect(html.slice(html.indexOf('id="layers"')).match(/<tr><td>/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
  });

  it('a run without layers.csv still gets the frame-latency and energy charts, and says that --layers adds the rest', async () => {
    writeFixtureRun(tmp, { layers: false });
    rmSync(join(tmp, RUN_FILES.run));
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.deep.equal(['frame-latency.png', 'energy-breakdown.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    const layers = html.slice(html.indexOf('id="layers"'));
    expect(layers).to.include(`<p class="note">${escapeHtml(NO_LAYERS_NOTE)}</p>`);
    expect(NO_LAYERS_NOTE).to.include('--layers');
    expect(layers).not.to.include('<table');
    expect(html).to.include('No run.json');
  });

  it('charts that a rebuild no longer draws do not linger in charts/', async () => {
    writeFixtureRun(tmp);
    await buildReport(tmp);
    rmSync(join(tmp, RUN_FILES.layers));
    const { charts } = await buildReport(tmp);
    expect(readdirSync(join(tmp, 'charts')).sort()).to.deep.equal(names(charts).sort());
    expect(existsSync(join(tmp, 'charts', 'layer-sparsity.png'))).to.equal(false);
  });

  it('refuses, naming the file, what it cannot read — and writes nothing', async () => {
    const refused = async (dir: string, ...parts: string[]) => {
      const e = await buildReport(dir).then(
        () => expect.fail('resolved'),
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(InputError);
      for (const p of parts) expect((e as Error).message).to.include(p);
    };
    await refused(join(tmp, 'nope'), 'run directory not found');
    await refused(tmp, 'summary.json');
    const summary = join(tmp, RUN_FILES.summary);
    writeFileSync(summary, '{"a": ');
    await refused(tmp, summary, 'not valid JSON');
    // What report read before the run directory was versioned: refused, not guessed at.
    writeFileSync(summary, JSON.stringify({ speedup: 2, clock_mhz: 500 }));
    await refused(tmp, summary, '/format');
    writeFixtureRun(tmp);
    writeFileSync(summary, readFileSync(summary, 'utf8').replace('"version": 1', '"version": 99'));
    await refused(tmp, summary, '/version', '99');
    expect(existsSync(join(tmp, 'report.html'))).to.equal(false);
    expect(existsSync(join(tmp, 'charts'))).to.equal(false);
  });

  it('CLI: `deltasim report RUN_DIR` prints the report path; a bad dir exits 1', function () {
    this.timeout(30_000);
    writeFixtureRun(tmp, { layers: false });
    const ok = spawnSync(process.execPath, ['bin/deltasim.js', 'report', tmp], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal(join(tmp, 'report.html'));
    const bad = spawnSync(process.execPath, ['bin/deltasim.js', 'report', join(tmp, 'nope')], { encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include('run directory not found');
  });
});
