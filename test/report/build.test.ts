import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { ENERGY_COLUMNS, RUN_FILES } from '../../sim/run-dir.js';
import { buildReport } from '../../src/report/build.js';
import { plainNumber } from '../../src/report/columns.js';
import { NO_LAYERS_NOTE } from '../../src/report/data.js';
import { escapeHtml } from '../../src/report/format.js';
import { InputError } from '../../lib/errors.js';
import { FIXTURE_BASELINE, FIXTURE_LAYERS, FIXTURE_MODES, writeFixtureRun, writeFixtureSweep } from './fixture.js';
import { pngSize } from './png.js';

/** The cells of the table row whose header is `label` (text, tags stripped). */
function rowOf(html: string, label: string): string[] {
  const at = html.indexOf(`<th scope="row">${escapeHtml(label)}</th>`);
  if (at < 0) throw new Error(`no row "${label}"`);
  const row = html.slice(at, html.indexOf('</tr>', at));
  return [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
}

const SWEEP_CHARTS = [
  'sweep-arch.rows.png',
  'sweep-arch.memories.ifmap.kiB.png',
  'pareto.png',
  ...[
    'speedup_sparse',
    'energy_gain_sparse',
    'speedup_delta',
    'energy_gain_delta',
    'speedup_delta_vs_sparse',
    'energy_gain_delta_vs_sparse',
  ].map((k) => `heatmap-${k}.png`),
];

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

    expect(names(charts)).to.deep.equal([
      'frame-latency.png',
      'energy-breakdown.png',
      'layer-sparsity.png',
      'layer-latency.png',
      'layer-energy.png',
    ]);
    expectEmbedded(tmp, html, charts);

    // Header: exact command (shell-quoted) and versions.
    expect(html).to.include(
      escapeHtml(`deltasim simulate --trace traces/fixture --arch hw-models/fixture.json --layers --out 'it'\\''s here'`),
    );
    expect(html).to.match(/<th scope="row">chart\.js<\/th><td>4\.x<\/td>/);
    // Summary: the facts in words, then the runs side by side (the hw-model's modes, the baseline's dense run).
    expect(rowOf(html, 'Hardware model')).to.deep.equal(['fixture-delta-16x16 at 500 MHz']);
    expect(rowOf(html, 'Frame rate')).to.deep.equal(['30 fps: a frame period of 33.33 ms']);
    expect(rowOf(html, 'Delta threshold')[0]).to.include('simulated with delta threshold 0.05 (in levels');
    const cols = ['per frame (means over frames)', ...FIXTURE_MODES, `dense @ ${FIXTURE_BASELINE}`];
    expect(html).to.include(cols.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join(''));
    const summary = JSON.parse(readFileSync(join(tmp, RUN_FILES.summary), 'utf8'));
    const runs = [...summary.modes, summary.baselineDense];
    const values = (f: (m: (typeof runs)[number]) => number | null) => runs.map((m) => (f(m) === null ? '—' : plainNumber(f(m)!)));
    // The two energies per frame, named plainly, side by side; the comparisons where the run has them.
    expect(rowOf(html, 'energy of the active frame (µJ)')).to.deep.equal(values((m) => m.energy.totalPJ / 1e6));
    expect(rowOf(html, 'energy per frame period, idle leakage up to 1/fps included (µJ)')).to.deep.equal(values((m) => m.frameEnergyUJ));
    expect(rowOf(html, 'energy of the active frame (µJ)')).not.to.deep.equal(
      rowOf(html, 'energy per frame period, idle leakage up to 1/fps included (µJ)'),
    );
    expect(rowOf(html, 'latency per frame, p95 (µs)')).to.deep.equal(values((m) => m.latencyUs.p95));
    expect(rowOf(html, 'speedup vs dense on the same hw-model (×)')).to.deep.equal(values((m) => m.speedupVsDense));
    expect(rowOf(html, 'energy gain vs dense, frame period (×)')).to.deep.equal(values((m) => m.periodEnergyGainVsDense));
    expect(rowOf(html, 'speedup vs sparse on the same hw-model (×)')).to.deep.equal(['—', '—', plainNumber(runs[2].speedupVsSparse), '—']);
    expect(rowOf(html, 'energy gain vs sparse, active frame (×)')[2]).to.equal(plainNumber(runs[2].energyGainVsSparse));
    expect(rowOf(html, `energy gain vs dense @ ${FIXTURE_BASELINE}, active frame (×)`)).to.deep.equal(
      values((m) => m.energyGainVsBaseline),
    );
    expect(rowOf(html, 'delta state (KiB)')).to.deep.equal(['0', '0', '1,536', '0']);
    expect(rowOf(html, 'frames slower than the frame period (33.33 ms)')).to.deep.equal(Array(4).fill('0 of 12'));
    expect(rowOf(html, `dense @ ${FIXTURE_BASELINE}`)).to.have.length(ENERGY_COLUMNS.length + 2);
    // Plain headers only: no summary.json or CSV key is shown as a header.
    for (const key of ['energy.totalPJ', 'frameEnergyUJ', 'speedupVsSparse', 'latencyUs.mean', 'energy_pj', 'spatial_sparsity'])
      expect(html).not.to.include(`>${key}<`);
    expect(res.modes).to.have.length(3);
    // Per-layer overview: one row per layer, modes side by side; then every column per layer × mode (folded), with p95.
    const layers = html.slice(html.indexOf('id="layers"'));
    const [overview, details] = layers.split('<details>') as [string, string];
    expect(overview.match(/<tr><th scope="row">/g)).to.have.length(FIXTURE_LAYERS.length);
    expect(overview).to.include('<th scope="col">delta: energy (nJ)</th>');
    expect(details.match(/<tr><th scope="row">/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
    expect(details).to.include('180 per-frame rows aggregated');
    expect(details).to.include('<th scope="col">ifmap SRAM bandwidth needed (B/cycle)</th>');
    expect(details).to.include('p95 ');
    expect(html).not.to.include('id="sweep"');
    // Everything escaped, nothing external, no scripts.
    expect(html).to.include('fixture &lt;data&gt; &amp; &quot;not&quot; a result');
    expect(html).not.to.include('<data>');
    expect(html).not.to.match(/<script|https?:\/\/|src="(?!data:)/i);
  });

  it('a sweep: gain charts per numeric parameter, the Pareto chart over every mode, heat maps, and every point', async () => {
    const rows = writeFixtureSweep(tmp);
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.deep.equal(SWEEP_CHARTS);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expectEmbedded(tmp, html, charts);
    expect(html).to.include('Latency–energy Pareto front over the sweep, every mode');
    expect(html).to.include(escapeHtml('deltasim sweep --trace traces/fixture'));
    expect(rowOf(html, 'Points')).to.deep.equal(['15: arch.rows (5 values) × arch.memories.ifmap.kiB (3 values)']);
    expect(rowOf(html, 'Baseline')[0]).to.match(/^none/);
    expect(rowOf(html, 'arch.rows')).to.deep.equal(['4, 8, 16, 32, 64', '5', '—']);
    // The best point of a figure of merit, in its unit, where summary.json says.
    const summary = JSON.parse(readFileSync(join(tmp, RUN_FILES.summary), 'utf8'));
    const best = summary.best.energy_delta_pj;
    expect(rowOf(html, 'delta: energy of the active frame (µJ)')).to.deep.equal([
      plainNumber(best.value / 1e6),
      String(best.point),
      `arch.rows=${best.parameters['arch.rows']}, arch.memories.ifmap.kiB=${best.parameters['arch.memories.ifmap.kiB']}`,
    ]);
    // The points table: plain headers, one row per point, values in the header's unit.
    const sweep = html.slice(html.indexOf('id="sweep"'));
    expect(sweep.match(/<tr><th scope="row">/g)).to.have.length(15);
    expect(sweep).to.include('<th scope="col">delta: speedup vs dense (×)</th>');
    expect(sweep).not.to.include('>speedup_delta<');
    const csv = parse(readFileSync(join(tmp, RUN_FILES.sweep), 'utf8'), { columns: true }) as Record<string, string>[];
    const cells = rowOf(sweep, '3');
    const columns = Object.keys(csv[0]!);
    expect(cells[columns.indexOf('energy_delta_pj') - 1]).to.equal(plainNumber(Number(csv[3]!.energy_delta_pj) / 1e6));
    expect(rows).to.have.length(15);
    expect(html).not.to.include('id="layers"');
    expect(html).not.to.match(/<script|https?:\/\/|src="(?!data:)/i);
  });

  it('a sweep with a fixed baseline: gain charts against it too, and the baseline in the summary', async () => {
    writeFixtureSweep(tmp, { baseline: true });
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.include.members(['sweep-arch.rows-vs-baseline.png', 'sweep-arch.memories.ifmap.kiB-vs-baseline.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(rowOf(html, 'Baseline')).to.deep.equal([`dense @ ${FIXTURE_BASELINE}: 4,000 µs and 30 µJ per active frame`]);
    expect(html).to.include(`Gain over dense @ ${FIXTURE_BASELINE} vs arch.rows`);
  });

  it('a zipped sweep: one chart per dimension, the zip in the parameters table, no heat map for one dimension', async () => {
    writeFixtureSweep(tmp, { parameters: { 'arch.rows': [8, 16, 32], 'arch.cols': [8, 16, 32] }, zip: [['arch.rows', 'arch.cols']] });
    const { charts } = await buildReport(tmp);
    expect(names(charts)).to.deep.equal(['sweep-arch.rows.png', 'pareto.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(rowOf(html, 'Points')).to.deep.equal(['3: arch.rows, arch.cols (3 values, zipped)']);
    expect(rowOf(html, 'arch.cols')).to.deep.equal(['8, 16, 32', '3', 'arch.rows']);
    expect(html).to.include('Gain over dense on the same point vs arch.rows (zipped with arch.cols)');
  });

  it('flags frames slower than the frame period, and shows how the trace was recorded', async () => {
    // At 10,000 fps the frame period is 100 µs: delta's key frame takes longer, its other frames do not.
    writeFixtureRun(tmp, { fps: 10_000, layers: false, recording: true });
    await buildReport(tmp);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    const frames = parse(readFileSync(join(tmp, RUN_FILES.frames), 'utf8'), { columns: true }) as Record<string, string>[];
    const delta = frames.filter((r) => r.mode === 'delta' && r.arch === 'fixture-delta-16x16').map((r) => Number(r.latency_us));
    const slow = delta.filter((x) => x > 100).length;
    expect(slow).to.be.within(1, delta.length - 1);
    const warn = html.slice(html.indexOf('<ul class="warn">'), html.indexOf('</ul>'));
    expect(warn).to.include(
      `<li>delta: ${slow} of 12 frames exceed the 0.1 ms frame period at 10000 fps (max ${Math.round(Math.max(...delta)).toLocaleString('en-US')} µs)</li>`,
    );
    expect(rowOf(html, 'frames slower than the frame period (0.1 ms)')[2]).to.equal(`${slow} of 12`);
    expect(rowOf(html, 'Trace recorded')).to.deep.equal(['recorded by graph-model with delta threshold q = 0.05 (levels = round(a / q))']);
    expect(html).not.to.include('<th scope="row">recording</th>');
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
    expect(names(charts)).to.deep.equal(['energy-breakdown.png', 'layer-latency.png', 'layer-energy.png']);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(html).not.to.include('id="sweep"');
    expect(html).not.to.include('aggregated');
    expect(rowOf(html, 'Densities')).to.deep.equal(['activations 0.5, weights per layer, deltas 0.2 (uniform, statistical)']);
    expect(html).not.to.include('latency per frame, p95');
    const details = html.slice(html.indexOf('<details>'));
    expect(details.match(/<tr><th scope="row">/g)).to.have.length(FIXTURE_LAYERS.length * FIXTURE_MODES.length);
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
