import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildReport } from '../../src/report/build.js';
import { findClockMHz, frameLatency, readCsv } from '../../src/report/data.js';
import { escapeHtml } from '../../src/report/format.js';
import { InputError } from '../../traces/errors.js';
import { FIXTURE_LAYERS, FIXTURE_MODES, writeFixtureRun } from './fixture.js';
import { pngSize } from './png.js';

describe('report build', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-report-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes report.html with every table and every chart embedded', async () => {
    writeFixtureRun(tmp);
    const { reportPath, charts } = await buildReport(tmp);
    expect(reportPath).to.equal(join(tmp, 'report.html'));
    const html = readFileSync(reportPath, 'utf8');

    expect(charts.map((c) => c.split('/').pop())).to.deep.equal([
      'frame-latency.png',
      'energy-breakdown.png',
      'layer-sparsity.png',
      'sweep-peArray.rows.png',
      'sweep-memory.sramKiB.png',
      'pareto.png',
    ]);
    expect(readdirSync(join(tmp, 'charts')).sort()).to.deep.equal(charts.map((c) => c.split('/').pop()).sort());
    for (const c of charts) {
      const png = readFileSync(c);
      expect(pngSize(png).width).to.equal(900);
      expect(html).to.include(`data:image/png;base64,${png.toString('base64')}`);
    }
    expect(html.match(/<img /g)).to.have.length(charts.length);

    // Header: exact command (shell-quoted) and versions.
    expect(html).to.include(escapeHtml(`deltasim simulate --trace traces/fixture --arch hw-models/fixture.json --out 'it'\\''s here'`));
    expect(html).to.match(/<th scope="row">chart\.js<\/th><td>4\.x<\/td>/);
    // Summary tables: the per-mode matrix, the gains, the footprint.
    expect(html).to.match(/<th scope="col">dense<\/th><th scope="col">sparse<\/th><th scope="col">delta<\/th>/);
    expect(html).to.match(/<th scope="row">latency_mean_us<\/th><td class="num">210.5 µs<\/td>/);
    expect(html).to.match(/<th scope="row">speedup<\/th><td class="num">4.32×<\/td>/);
    expect(html).to.match(/<th scope="row">state_bytes<\/th><td class="num">1.5 MiB<\/td>/);
    // Per-layer table: one aggregated row per layer × mode, with p95.
    const layers = html.slice(html.indexOf('id="layers"'), html.indexOf('id="sweep"'));
    expect(layers.match(/<tr><td>/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
    expect(layers).to.include('180 per-frame rows aggregated');
    expect(layers).to.include('p95 ');
    // Sweep table: every point.
    const sweep = html.slice(html.indexOf('id="sweep"'));
    expect(sweep.match(/<tr><td/g)).to.have.length(15);
    // Everything escaped, nothing external, no scripts.
    expect(html).to.include('fixture &lt;data&gt; &amp; &quot;not&quot; a result');
    expect(html).not.to.include('<data>');
    expect(html).not.to.match(/<script|https?:\/\/|src="(?!data:)/i);
  });

  it('is deterministic: the same run gives the same bytes', async () => {
    writeFixtureRun(tmp);
    await buildReport(tmp);
    const first = readFileSync(join(tmp, 'report.html'));
    await buildReport(tmp);
    expect(readFileSync(join(tmp, 'report.html')).equals(first)).to.equal(true);
  });

  it('renders what it finds: a run without frames or sweep gets the tables it can', async () => {
    writeFixtureRun(tmp, { frames: 1, sweep: false });
    const csv = readFileSync(join(tmp, 'layers.csv'), 'utf8').replace(/^0,/gm, ',');
    writeFileSync(join(tmp, 'layers.csv'), csv);
    const { charts } = await buildReport(tmp);
    expect(charts.map((c) => c.split('/').pop())).to.deep.equal(['energy-breakdown.png', 'layer-sparsity.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(html).not.to.include('id="sweep"');
    expect(html).not.to.include('aggregated');
    expect(html.match(/<tr><td>/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
  });

  it('needs only summary.json', async () => {
    writeFileSync(join(tmp, 'summary.json'), JSON.stringify({ speedup: 2 }));
    await buildReport(tmp);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(html).to.include('2×');
    expect(html).to.include('No run.json');
  });

  it('rejects a missing directory, a directory without summary.json and broken JSON', async () => {
    await buildReport(join(tmp, 'nope')).then(
      () => expect.fail('resolved'),
      (e) => expect(e).to.be.instanceOf(InputError),
    );
    await buildReport(tmp).then(
      () => expect.fail('resolved'),
      (e) => {
        expect(e).to.be.instanceOf(InputError);
        expect((e as Error).message).to.include('summary.json');
      },
    );
    writeFileSync(join(tmp, 'summary.json'), '{"a": ');
    await buildReport(tmp).then(
      () => expect.fail('resolved'),
      (e) => expect((e as Error).message).to.include('summary.json'),
    );
    expect(existsSync(join(tmp, 'report.html'))).to.equal(false);
  });

  it('converts cycles to µs with the clock the run states', () => {
    expect(findClockMHz({ hw: { clock_mhz: 250 } })).to.equal(250);
    expect(findClockMHz({ clock: { hz: 1e9 } })).to.equal(1000);
    expect(findClockMHz({ clockMHz: 800 })).to.equal(800);
    expect(findClockMHz({ cycles: 5 })).to.equal(undefined);
    writeFileSync(join(tmp, 'l.csv'), 'frame,layer,mode,cycles\n0,a,dense,100\n0,b,dense,50\n1,a,dense,10\n1,b,dense,20\n');
    const t = readCsv(join(tmp, 'l.csv'));
    const lat = frameLatency(t, 100)!;
    expect(lat.unit).to.equal('µs');
    expect(lat.series.map((s) => s.mode)).to.deep.equal(['dense']);
    expect(lat.series[0]!.values.map((v) => +v.toFixed(9))).to.deep.equal([1.5, 0.3]);
    expect(frameLatency(t)?.unit).to.equal('cycles');
  });

  it('CLI: `deltasim report RUN_DIR` prints the report path; a bad dir exits 1', function () {
    this.timeout(30_000);
    writeFixtureRun(tmp, { sweep: false });
    const ok = spawnSync(process.execPath, ['bin/deltasim.js', 'report', tmp], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.equal(join(tmp, 'report.html'));
    const bad = spawnSync(process.execPath, ['bin/deltasim.js', 'report', join(tmp, 'nope')], { encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include('run directory not found');
  });
});
