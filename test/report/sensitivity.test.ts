/**
 * `simulate --sensitivity` end to end (the built CLI: files, console, bad flag combinations), the tornado chart, the
 * report's sensitivity section, and the report's real-time flag (ModeSummary.realTime).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';
import { RUN_FILES } from '../../sim/run-dir.js';
import { SENSITIVITY_COLUMNS, type Sensitivity } from '../../sim/sensitivity.js';
import { buildReport } from '../../src/report/build.js';
import { tornadoChart, type Tornado } from '../../src/report/charts.js';
import { loadRun, sensitivityTornados } from '../../src/report/data.js';
import { escapeHtml } from '../../src/report/format.js';
import { writeFixtureRun } from './fixture.js';
import { inkStats, pngSize } from './png.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const TRACE = new URL('../../traces/samples/tiny', import.meta.url).pathname;

/** The cells of the table row whose header is `label`, with their class attribute. */
function cellsOf(html: string, label: string): { cls: string; text: string }[] {
  const at = html.indexOf(`<th scope="row">${escapeHtml(label)}</th>`);
  if (at < 0) throw new Error(`no row "${label}"`);
  const row = html.slice(at, html.indexOf('</tr>', at));
  return [...row.matchAll(/<td(?: class="([^"]*)")?>(.*?)<\/td>/g)].map((m) => ({ cls: m[1] ?? '', text: m[2]!.replace(/<[^>]+>/g, '') }));
}

const tornado = (k: number): Tornado => ({
  title: 'Sensitivity of the energy gain',
  axis: 'energy gain (×)',
  nominal: 1.1,
  lowLabel: 'key ÷2',
  highLabel: 'key ×2',
  bars: [
    { name: 'rows (16 / 32 / 64)', low: 1.6 * k, high: 0.8, flips: true },
    { name: 'memories.dram.GBps (5 / 10 / 20)', low: 0.95, high: 1.2, flips: true },
    { name: 'memories.state.ports (0.5 invalid / 1 / 2)', high: 1.15, flips: false },
  ],
});

describe('sensitivity: CLI, tornado chart, report', function () {
  this.timeout(300_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-sensitivity-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('the tornado chart is a deterministic PNG with content, and draws the flips and the missing side', async () => {
    const png = tornadoChart(tornado(1));
    expect(pngSize(png)).to.deep.equal({ width: 900, height: 500 });
    const s = await inkStats(png);
    expect(s.whiteCorner).to.equal(true);
    expect(s.ink).to.be.greaterThan(0.03);
    expect(png.equals(tornadoChart(tornado(1)))).to.equal(true);
    expect(png.equals(tornadoChart(tornado(1.2)))).to.equal(false);
    const noFlips = { ...tornado(1), bars: tornado(1).bars.map((b) => ({ ...b, flips: false })) };
    expect(png.equals(tornadoChart(noFlips))).to.equal(false);
    // One row per parameter: 20 of them grow the canvas downwards.
    const many = { ...tornado(1), bars: Array.from({ length: 20 }, (_, i) => ({ name: `k${i}`, low: 1 + i / 10, high: 1, flips: false })) };
    expect(pngSize(tornadoChart(many))).to.deep.equal({ width: 900, height: 770 });
  });

  it('simulate --sensitivity writes sensitivity.csv and .json, prints the ranked table; the report draws the tornados', async () => {
    const out = join(tmp, 'run');
    const r = cli(['simulate', '--trace', TRACE, '--arch', 'delta-32x32', '--sensitivity', '--out', out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('sensitivity of delta on delta-32x32: each numeric hw-model key ÷2 and ×2, one at a time');
    expect(r.stdout).to.include('memories.ifmap.ports low 0.5 not run: /memories/ifmap/ports: must be integer');
    const csv = readFileSync(join(out, RUN_FILES.sensitivity), 'utf8');
    expect(csv.split('\n')[0]).to.equal(SENSITIVITY_COLUMNS.join(','));
    const s = JSON.parse(readFileSync(join(out, RUN_FILES.sensitivityJson), 'utf8')) as Sensitivity & { format: string };
    expect(s.format).to.equal('deltasim-sensitivity');
    expect(s.mode).to.equal('delta');
    expect(s.parameters.map((p) => p.parameter)).to.include.members(['rows', 'cols', 'memories.dram.GBps', 'clockMHz']);
    // The same command again: the same bytes (run.json aside, which holds the argv).
    const again = join(tmp, 'again');
    expect(cli(['simulate', '--trace', TRACE, '--arch', 'delta-32x32', '--sensitivity', '--out', again]).code).to.equal(0);
    for (const f of [RUN_FILES.sensitivity, RUN_FILES.sensitivityJson, RUN_FILES.summary])
      expect(readFileSync(join(again, f), 'utf8'), f).to.equal(readFileSync(join(out, f), 'utf8'));

    const { charts } = await buildReport(out);
    expect(charts.map((c) => c.split('/').pop())).to.include.members(['sensitivity-speedup.png', 'sensitivity-energy-gain.png']);
    const html = readFileSync(join(out, RUN_FILES.report), 'utf8');
    expect(html).to.include('<section id="sensitivity"><h2>Sensitivity to the hw-model parameters</h2>');
    const first = s.parameters[0]!;
    expect(html).to.include(`<th scope="row">1. ${escapeHtml(first.parameter)}</th>`);
    expect(html).to.include('low 0.5 not run: /memories/ifmap/ports: must be integer');
    // The report reads back what was written; each tornado draws the keys that move its gain, by swing.
    const run = loadRun(out);
    if (run.kind !== 'simulation') throw new Error('not a simulation');
    const { format: _f, version: _v, ...written } = s as Sensitivity & { format: string; version: number };
    expect(run.sensitivity).to.deep.equal(written);
    for (const { metric, tornado: t } of sensitivityTornados(run.sensitivity!)) {
      const moved = s.parameters.filter((p) => (p.swing[metric] ?? 0) > 0).sort((a, b) => b.swing[metric]! - a.swing[metric]!);
      expect(t.bars).to.have.length(Math.min(15, moved.length));
      expect(t.bars[0]!.name.startsWith(`${moved[0]!.parameter} (`)).to.equal(true);
      expect(t.nominal).to.equal(s.nominal[metric]);
    }
  });

  it('refuses bad flag combinations with one clear line and writes nothing', () => {
    const out = join(tmp, 'bad');
    const base = ['simulate', '--model', 'tiny', '--sensitivity'];
    for (const [args, message] of [
      [['--arch', 'delta-32x32', '--mode', 'dense'], "--sensitivity measures a mode's gains over dense: give --mode sparse, delta or all"],
      [['--arch', 'dense-32x32'], '--sensitivity needs a hw-model that runs a mode besides dense; "dense-32x32" runs only dense'],
      [['--arch', 'delta-32x32', '--json'], '--json prints summary.json, which holds no sensitivity'],
    ] as const) {
      const r = cli([...base, ...args, '--out', out]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(message);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(existsSync(out)).to.equal(false);
    }
    // --mode sparse studies sparse; no --out prints the table only.
    const r = cli([...base, '--arch', 'delta-32x32', '--mode', 'sparse']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('sensitivity of sparse on delta-32x32').and.include('sensitivity.csv (with --out)');
    expect(readdirSync(tmp)).to.deep.equal([]);
  });

  it('a sensitivity.json the report cannot read is refused, naming the file and the key', () => {
    writeFixtureRun(tmp, { layers: false });
    writeFileSync(join(tmp, RUN_FILES.sensitivityJson), JSON.stringify({ format: 'deltasim-sensitivity', version: 1, mode: 'delta' }));
    expect(() => loadRun(tmp))
      .to.throw(InputError)
      .with.property('message')
      .that.matches(/sensitivity\.json, at \/reference|sensitivity\.json, at \/mode/);
  });

  it('flags a run that is not real time in the report (summary.json realTime), not only in JSON', async () => {
    type Run = { mode: string; realTime: boolean };
    const rowsAt = async (fps: number) => {
      const dir = join(tmp, String(fps));
      writeFixtureRun(dir, { fps, layers: false });
      await buildReport(dir);
      const html = readFileSync(join(dir, RUN_FILES.report), 'utf8');
      const summary = JSON.parse(readFileSync(join(dir, RUN_FILES.summary), 'utf8')) as { modes: Run[]; baselineDense: Run };
      const period = `${1000 / fps === 0.1 ? '0.1' : '33.33'} ms`;
      return {
        html,
        runs: [...summary.modes, summary.baselineDense],
        realTime: cellsOf(html, `real time at ${fps} fps (every frame within the ${period} period)`),
        slow: cellsOf(html, `frames slower than the frame period (${period})`),
      };
    };
    // At 10,000 fps the frame period is 100 µs: frames miss it; at 30 fps none does.
    for (const fps of [10_000, 30]) {
      const { html, runs, realTime, slow } = await rowsAt(fps);
      expect(runs.every((m) => m.realTime)).to.equal(fps === 30);
      expect(realTime).to.have.length(runs.length);
      runs.forEach((m, i) => {
        expect(realTime[i]!.text).to.equal(m.realTime ? 'yes' : 'NO: frames miss the frame period');
        expect(realTime[i]!.cls.split(' ').includes('flag')).to.equal(!m.realTime);
      });
      // The count of slow frames is flagged for the same runs.
      expect(slow.map((c) => c.cls.includes('flag'))).to.deep.equal(runs.map((m) => !m.realTime));
      expect(html.includes('class="flag"') || html.includes('num flag')).to.equal(fps !== 30);
    }
  });
});
