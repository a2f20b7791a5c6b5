/** Reading a run directory through sim/run-dir.ts: what is refused, and where each chart's numbers come from. */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ENERGY_COLUMNS, RUN_FILES } from '../../sim/run-dir.js';
import {
  baselineSeries,
  energyBreakdown,
  frameLatency,
  gainColumns,
  layerCosts,
  layerOverview,
  layerSparsity,
  loadRun,
  paretoBaseline,
  paretoPoints,
  spread,
  sweepDimensions,
  sweepHeatmaps,
  sweepParameters,
  sweepSeries,
  type SimulationData,
  type SweepData,
} from '../../src/report/data.js';
import { throwsInput } from '../support/input-error.js';
import {
  FIXTURE_BASELINE,
  FIXTURE_HW,
  FIXTURE_LAYERS,
  FIXTURE_MODES,
  FIXTURE_SWEEP_BASELINE,
  writeFixtureRun,
  writeFixtureSweep,
} from './fixture.js';

type Rows = Record<string, string>[];
const readRows = (file: string) => parse(readFileSync(file, 'utf8'), { columns: true }) as Rows;

describe('report data (run directory)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-report-data-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const simulation = () => loadRun(tmp) as SimulationData;
  const sweep = () => loadRun(tmp) as SweepData;
  const file = (name: string) => join(tmp, name);
  const edit = (name: string, f: (text: string) => string) => writeFileSync(file(name), f(readFileSync(file(name), 'utf8')));

  describe('loadRun', () => {
    it('reads a simulation (layers.csv only when there) and a sweep by their kinds', () => {
      writeFixtureRun(tmp, { layers: false });
      const run = simulation();
      expect(run.kind).to.equal('simulation');
      expect(run.layers).to.equal(undefined);
      expect(run.frames.rows).to.have.length(12 * 4);
      writeFixtureRun(tmp);
      expect(simulation().layers!.rows).to.have.length(12 * FIXTURE_LAYERS.length * 3);
      const dir = join(tmp, 'sweep');
      writeFixtureSweep(dir);
      const s = loadRun(dir);
      expect(s.kind).to.equal('sweep');
      expect((s as SweepData).sweep.rows).to.have.length(15);
    });

    it('refuses a missing or unversioned summary.json, naming the file', () => {
      throwsInput(() => loadRun(tmp), tmp, 'no summary.json');
      writeFileSync(file(RUN_FILES.summary), JSON.stringify({ model: 'x', clock_mhz: 500, modes: { dense: { cycles: 1 } } }));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /format', 'deltasim-run');
      writeFileSync(file(RUN_FILES.summary), JSON.stringify({ format: 'deltasim-run', version: 1, kind: 'report' }));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /kind');
    });

    it('refuses a summary.json without the keys the report reads, with a pointer to the key', () => {
      writeFixtureRun(tmp);
      edit(RUN_FILES.summary, (t) => t.replace('"hwModel": "fixture-delta-16x16"', '"hwModel": 3'));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /hwModel');
      writeFixtureRun(tmp);
      edit(RUN_FILES.summary, (t) => t.replace('"totalPJ"', '"totalPj"'));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /modes/0/energy/totalPJ');
      writeFixtureSweep(tmp);
      edit(RUN_FILES.summary, (t) => t.replace('"parameters": {', '"parameters": {"arch.cols": 4, '));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /parameters/arch.cols');
      writeFixtureSweep(tmp);
      edit(RUN_FILES.summary, (t) => t.replace('"zip": []', '"zip": [["arch.rows", "arch.nope"]]'));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /zip/0', 'swept parameter names');
      writeFixtureSweep(tmp, { baseline: true });
      edit(RUN_FILES.summary, (t) => t.replace('"latencyUs": 4000', '"latencyUs": -4000'));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.summary), 'at /baseline/latencyUs', 'positive');
    });

    it("refuses a run without its kind's CSV, naming the file", () => {
      writeFixtureRun(tmp);
      rmSync(file(RUN_FILES.frames));
      throwsInput(() => loadRun(tmp), file(RUN_FILES.frames), 'not found');
      const dir = join(tmp, 'sweep');
      writeFixtureSweep(dir);
      rmSync(join(dir, RUN_FILES.sweep));
      throwsInput(() => loadRun(dir), join(dir, RUN_FILES.sweep), 'not found');
    });

    it('refuses a CSV whose header is not the one deltasim writes, naming the file and the column', () => {
      writeFixtureRun(tmp);
      edit(RUN_FILES.frames, (t) => t.replace(',latency_us,', ',latency_ms,'));
      throwsInput(() => simulation(), file(RUN_FILES.frames), 'line 1', 'column 7 is "latency_ms", expected "latency_us"');
      writeFixtureRun(tmp);
      // The layers.csv of an older deltasim: fewer columns.
      edit(RUN_FILES.layers, (t) => t.replace(/,[^,\n]*$/gm, ''));
      throwsInput(() => simulation(), file(RUN_FILES.layers), 'line 1', 'is nothing, expected "zero_tests"');
      writeFixtureRun(tmp);
      const withExtra = (t: string) =>
        `${t
          .trimEnd()
          .split('\n')
          .map((l, i) => `${l},${i === 0 ? 'extra' : 0}`)
          .join('\n')}\n`;
      edit(RUN_FILES.frames, withExtra);
      throwsInput(() => simulation(), file(RUN_FILES.frames), 'line 1', 'column 21 is "extra", expected no more columns');
      writeFileSync(file(RUN_FILES.frames), '');
      throwsInput(() => simulation(), file(RUN_FILES.frames), 'column 1 is nothing, expected "frame"');

      writeFixtureSweep(tmp);
      edit(RUN_FILES.sweep, (t) => t.replace(/^point,/, 'index,'));
      throwsInput(() => sweep(), file(RUN_FILES.sweep), 'line 1', 'expected "point"');
      // summary.json says fps (power columns); this sweep.csv has none.
      writeFixtureSweep(tmp, { trace: false });
      edit(RUN_FILES.summary, (t) => t.replace('"fps": null', '"fps": 30'));
      throwsInput(() => sweep(), file(RUN_FILES.sweep), 'line 1', 'expected "power_dense_mw"');
    });

    it('refuses a cell that is not a number where one is read, naming the file and line', () => {
      writeFixtureRun(tmp, { layers: false });
      edit(RUN_FILES.frames, (t) => {
        const lines = t.split('\n');
        lines[3] = lines[3]!.replace(/^(([^,]*,){6})[^,]*/, '$1fast');
        return lines.join('\n');
      });
      throwsInput(() => frameLatency(simulation()), file(RUN_FILES.frames), 'line 4', 'latency_us is "fast"');
    });
  });

  describe('simulation charts', () => {
    it('frame latency: frames.csv latency_us, one series per run, the baseline as `mode @ arch` (no layers.csv needed)', () => {
      writeFixtureRun(tmp, { layers: false, frames: 6 });
      const rows = readRows(file(RUN_FILES.frames));
      const series = frameLatency(simulation())!;
      expect(series.map((s) => s.mode)).to.deep.equal(['dense', 'sparse', 'delta', `dense @ ${FIXTURE_BASELINE}`]);
      const of = (arch: string, mode: string) => rows.filter((r) => r.arch === arch && r.mode === mode).map((r) => Number(r.latency_us));
      expect(series[2]!.values).to.deep.equal(of(FIXTURE_HW, 'delta'));
      expect(series[3]!.values).to.deep.equal(of(FIXTURE_BASELINE, 'dense'));
      expect(series[2]!.values).to.have.length(6);
      // The value is the file's, as it is: no clock, no sum over layers.
      edit(RUN_FILES.frames, (t) => t.replace(/^(2,fixture-delta-16x16,delta,(?:[^,]*,){3})[^,]*/m, '$112345.5'));
      expect(frameLatency(simulation())![2]!.values[2]).to.equal(12345.5);
    });

    it('frame latency: a baseline that is the hw-model itself gets its own series; one frame gets none', () => {
      writeFixtureRun(tmp, { layers: false, frames: 3 });
      edit(RUN_FILES.frames, (t) => t.replaceAll(FIXTURE_BASELINE, FIXTURE_HW));
      const series = frameLatency(simulation())!;
      expect(series.map((s) => s.mode)).to.deep.equal(['dense', 'sparse', 'delta', `dense @ ${FIXTURE_HW}`]);
      expect(series.every((s) => s.values.length === 3)).to.equal(true);
      expect(series[0]!.values).not.to.deep.equal(series[3]!.values);
      writeFixtureRun(tmp, { topology: true });
      expect(frameLatency(simulation())).to.equal(undefined);
    });

    it("energy breakdown: summary.json's energy per run, by ENERGY_COLUMNS component, in µJ", () => {
      writeFixtureRun(tmp);
      const summary = JSON.parse(readFileSync(file(RUN_FILES.summary), 'utf8'));
      const bars = energyBreakdown(simulation().summary);
      expect(bars.map((b) => b.mode)).to.deep.equal(['dense', 'sparse', 'delta', `dense @ ${FIXTURE_BASELINE}`]);
      const runs = [...summary.modes, summary.baselineDense];
      bars.forEach((b, i) => {
        const e = runs[i].energy;
        expect(Object.keys(b.components)).to.deep.equal(ENERGY_COLUMNS.map((c) => c.name));
        expect(b.components.compute).to.equal(e.computePJ * 1e-6);
        expect(b.components['ifmap sram']).to.equal(e.sramPJ.ifmap * 1e-6);
        expect(b.components['state sram']).to.equal(e.sramPJ.state * 1e-6);
        expect(b.components.dram).to.equal(e.dramPJ * 1e-6);
        expect(b.components.static).to.equal(e.staticPJ * 1e-6);
        const total = Object.values(b.components).reduce((a, x) => a + x, 0);
        expect(total).to.be.closeTo(e.totalPJ * 1e-6, 1e-6);
      });
      // From summary.json, not from the CSVs: an edit there shows.
      summary.modes[2].energy.computePJ = 123_456_789;
      writeFileSync(file(RUN_FILES.summary), JSON.stringify(summary));
      expect(energyBreakdown(simulation().summary)[2]!.components.compute).to.be.closeTo(123.456789, 1e-9);
    });

    it('per-layer costs: the costliest layers in network order, the others summed per mode', () => {
      writeFixtureRun(tmp, { frames: 3 });
      const rows = readRows(file(RUN_FILES.layers));
      const mean = (layer: string, mode: string) => {
        const xs = rows.filter((r) => r.layer === layer && r.mode === mode).map((r) => Number(r.energy_pj));
        return (xs.reduce((a, b) => a + b, 0) / xs.length) * 1e-3;
      };
      const all = layerCosts(simulation().layers!, 'energy_pj', 1e-3);
      expect(all.others).to.equal(undefined);
      expect(all.layers.map((l) => l.layer)).to.deep.equal(FIXTURE_LAYERS);
      expect(all.layers[1]!.values.delta).to.be.closeTo(mean('conv2', 'delta'), 1e-9);
      // The fixture's layers cost more the later they are: the top 2 are the last two, the first three summed.
      const top = layerCosts(simulation().layers!, 'energy_pj', 1e-3, 2);
      expect(top.layers.map((l) => l.layer)).to.deep.equal(['conv4', 'fc']);
      expect(top.total).to.equal(5);
      expect(top.others!.layers).to.equal(3);
      expect(top.others!.values.dense).to.be.closeTo(
        ['conv1', 'conv2', 'conv3'].reduce((a, l) => a + mean(l, 'dense'), 0),
        1e-9,
      );
    });

    it('per-layer overview: one row per layer, each mode side by side, means per frame in the header unit', () => {
      writeFixtureRun(tmp, { frames: 3 });
      const t = layerOverview(simulation().layers!);
      expect(t.columns.slice(0, 4)).to.deep.equal(['layer', 'MACs', 'spatial sparsity (%)', 'temporal sparsity (%)']);
      expect(t.columns.slice(4, 7)).to.deep.equal(['dense: latency (µs)', 'dense: energy (nJ)', 'dense: bound by']);
      expect(t.rows.map((r) => r[0]!.text)).to.deep.equal(FIXTURE_LAYERS);
      const rows = readRows(file(RUN_FILES.layers)).filter((r) => r.layer === 'fc');
      const temporal = rows.reduce((a, r) => a + Number(r.temporal_sparsity), 0) / rows.length;
      expect(t.rows[4]![3]!.text).to.equal(new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 }).format(100 * temporal));
    });

    it("layer sparsity: layers.csv's mean per layer; none for a topology run", () => {
      writeFixtureRun(tmp, { frames: 4 });
      const rows = readRows(file(RUN_FILES.layers)).filter((r) => r.layer === 'conv2');
      const sp = layerSparsity(simulation().layers!)!;
      expect(sp.map((l) => l.layer)).to.deep.equal(FIXTURE_LAYERS);
      const mean = (c: string) => rows.reduce((a, r) => a + Number(r[c]), 0) / rows.length;
      expect(sp[1]!.spatial).to.be.closeTo(mean('spatial_sparsity'), 1e-12);
      expect(sp[1]!.temporal).to.be.closeTo(mean('temporal_sparsity'), 1e-12);
      writeFixtureRun(tmp, { topology: true });
      expect(layerSparsity(simulation().layers!)).to.equal(undefined);
    });
  });

  describe('sweep charts', () => {
    it("parameters are summary.json's numeric ones; gain lines are each mode's speedup_ / energy_gain_ columns", () => {
      const rows = writeFixtureSweep(tmp);
      const run = sweep();
      expect(sweepParameters(run.summary)).to.deep.equal(['arch.rows', 'arch.memories.ifmap.kiB']);
      expect(gainColumns(run.summary)).to.deep.equal(['speedup_sparse', 'energy_gain_sparse', 'speedup_delta', 'energy_gain_delta']);
      const [rowsChart, kibChart] = sweepSeries(run);
      expect(rowsChart!.parameter).to.equal('arch.rows');
      expect(rowsChart!.note).to.equal('median over arch.memories.ifmap.kiB; band: min–max; dashed, hollow: speedup');
      expect(rowsChart!.lines.map((l) => l.name)).to.deep.equal([
        'speedup sparse',
        'energy gain sparse',
        'speedup delta',
        'energy gain delta',
      ]);
      const col = run.sweep.columns.indexOf('speedup_delta');
      // The median over the 3 kiB values at rows = 16 (their middle one), and their range.
      const at16 = rows
        .filter((r) => r[1] === 16)
        .map((r) => Number(r[col]))
        .sort((a, b) => a - b);
      const p16 = rowsChart!.lines[2]!.points.find((p) => p.x === 16)!;
      expect(p16).to.deep.equal({ x: 16, y: at16[1], lo: at16[0], hi: at16[2] });
      expect(rowsChart!.lines.map((l) => [l.mode, l.dashed])).to.deep.equal([
        ['sparse', true],
        ['sparse', false],
        ['delta', true],
        ['delta', false],
      ]);
      expect(kibChart!.lines[0]!.points.map((p) => p.x)).to.deep.equal([16, 64, 256]);
    });

    it('a boolean parameter is not charted; points whose hw-model lacks a mode (empty cells) are left out', () => {
      writeFixtureSweep(tmp, { parameters: { 'arch.rows': [8, 16, 32], 'arch.delta': [false, true] } });
      const run = sweep();
      expect(sweepParameters(run.summary)).to.deep.equal(['arch.rows']);
      const [s] = sweepSeries(run);
      expect(s!.note).to.equal('median over arch.delta; band: min–max; dashed, hollow: speedup');
      const delta = s!.lines.find((l) => l.name === 'speedup delta')!;
      const col = run.sweep.columns.indexOf('speedup_delta');
      for (const p of delta.points) {
        const cell = run.sweep.rows.find((r) => r['arch.rows'] === String(p.x) && r['arch.delta'] === 'true')!;
        expect(p.y).to.equal(Number(cell[run.sweep.columns[col]!]));
      }
      const pts = paretoPoints(run)!;
      // Every point in dense and sparse, delta only where arch.delta is true.
      expect(pts.map((p) => p.mode)).to.deep.equal([...Array(6).fill('dense'), ...Array(6).fill('sparse'), ...Array(3).fill('delta')]);
      expect(pts.slice(12).map((p) => p.label)).to.deep.equal([
        'delta: rows=8, delta=true',
        'delta: rows=16, delta=true',
        'delta: rows=32, delta=true',
      ]);
    });

    it("Pareto: every mode's latency_ and energy_ columns, so dense can be on the front; the baseline as its own point", () => {
      writeFixtureSweep(tmp);
      const rows = readRows(file(RUN_FILES.sweep));
      const pts = paretoPoints(sweep())!;
      for (const mode of FIXTURE_MODES)
        expect(pts.filter((p) => p.mode === mode).map((p) => [p.latencyUs, p.energyUj])).to.deep.equal(
          rows.map((r) => [Number(r[`latency_${mode}_us`]), Number(r[`energy_${mode}_pj`]) * 1e-6]),
        );
      expect(pts[0]!.label).to.equal('dense: rows=4, ifmap.kiB=16');
      expect(paretoBaseline(sweep().summary)).to.equal(undefined);
      writeFixtureSweep(tmp, { modes: ['dense'] });
      expect(sweepSeries(sweep())).to.deep.equal([]);
      expect(paretoPoints(sweep())).to.have.length(15);
      writeFixtureSweep(tmp, { baseline: true });
      expect(paretoBaseline(sweep().summary)).to.deep.equal({
        latencyUs: 4000,
        energyUj: 30,
        label: `baseline: dense @ ${FIXTURE_BASELINE}`,
      });
    });

    it('against the fixed baseline: every mode, speedup by time and energy gain, its median over the other parameters', () => {
      writeFixtureSweep(tmp);
      expect(baselineSeries(sweep())).to.deep.equal([]);
      writeFixtureSweep(tmp, { baseline: true });
      const rows = readRows(file(RUN_FILES.sweep));
      const [rowsChart] = baselineSeries(sweep());
      expect(rowsChart!.reference).to.equal(`dense @ ${FIXTURE_BASELINE}`);
      expect(rowsChart!.lines.map((l) => l.name)).to.deep.equal(FIXTURE_MODES.flatMap((m) => [`speedup ${m}`, `energy gain ${m}`]));
      const at = (m: string, col: string, ref: number) =>
        spread(rows.filter((r) => r['arch.rows'] === '32').map((r) => ref / Number(r[`${col}_${m}_${col === 'latency' ? 'us' : 'pj'}`])));
      const p = (i: number) => rowsChart!.lines[i]!.points.find((q) => q.x === 32)!;
      expect(p(0)).to.deep.equal({ x: 32, ...at('dense', 'latency', FIXTURE_SWEEP_BASELINE.latencyUs) });
      expect(p(5)).to.deep.equal({ x: 32, ...at('delta', 'energy', FIXTURE_SWEEP_BASELINE.energyPJ) });
    });

    it('median and range: the middle value, or the mean of the middle two', () => {
      expect(spread([3, 1, 2])).to.deep.equal({ y: 2, lo: 1, hi: 3 });
      expect(spread([4, 1, 3, 2])).to.deep.equal({ y: 2.5, lo: 1, hi: 4 });
      expect(spread([7])).to.deep.equal({ y: 7, lo: 7, hi: 7 });
    });

    it('zipped parameters are one dimension: charted once, never a median over each other', () => {
      writeFixtureSweep(tmp, {
        parameters: { 'arch.rows': [8, 16, 32], 'arch.memories.ifmap.kiB': [16, 64], 'arch.cols': [8, 16, 32] },
        zip: [['arch.rows', 'arch.cols']],
      });
      const run = sweep();
      expect(run.sweep.rows).to.have.length(6);
      expect(sweepDimensions(run.summary)).to.deep.equal([['arch.rows', 'arch.cols'], ['arch.memories.ifmap.kiB']]);
      expect(sweepParameters(run.summary)).to.deep.equal(['arch.rows', 'arch.memories.ifmap.kiB']);
      const [rowsChart, kibChart] = sweepSeries(run);
      expect(rowsChart!.parameter).to.equal('arch.rows (zipped with arch.cols)');
      expect(rowsChart!.note).to.match(/^median over arch\.memories\.ifmap\.kiB;/);
      expect(kibChart!.note).to.match(/^median over arch\.rows \(zipped with arch\.cols\);/);
      // A heat map of the two dimensions: the zipped values read together.
      const [h] = sweepHeatmaps(run);
      expect(h!.heatmap.ys).to.deep.equal(['8 / 8', '16 / 16', '32 / 32']);
      expect(h!.heatmap.yName).to.equal('arch.rows / arch.cols');
    });

    it('heat maps of a two-dimensional grid: each cell is its point, gains over dense and delta over sparse', () => {
      writeFixtureSweep(tmp);
      const rows = readRows(file(RUN_FILES.sweep));
      const maps = sweepHeatmaps(sweep());
      expect(maps.map((m) => m.key)).to.deep.equal([
        'speedup_sparse',
        'energy_gain_sparse',
        'speedup_delta',
        'energy_gain_delta',
        'speedup_delta_vs_sparse',
        'energy_gain_delta_vs_sparse',
      ]);
      const { heatmap } = maps[3]!;
      expect(heatmap.xs).to.deep.equal(['16', '64', '256']);
      expect(heatmap.ys).to.deep.equal(['4', '8', '16', '32', '64']);
      const row = (rowsV: string, kib: string) => rows.find((r) => r['arch.rows'] === rowsV && r['arch.memories.ifmap.kiB'] === kib)!;
      expect(heatmap.cells[3]![2]).to.equal(Number(row('32', '256').energy_gain_delta));
      const vsSparse = maps[5]!.heatmap.cells[1]![0];
      const r = row('8', '16');
      expect(vsSparse).to.be.closeTo(Number(r.energy_sparse_pj) / Number(r.energy_delta_pj), 1e-12);
      // One varied dimension: no heat map; a point without delta: an empty cell.
      writeFixtureSweep(tmp, { parameters: { 'arch.rows': [8, 16] } });
      expect(sweepHeatmaps(sweep())).to.deep.equal([]);
      writeFixtureSweep(tmp, { parameters: { 'arch.rows': [8, 16], 'arch.delta': [false, true] } });
      const delta = sweepHeatmaps(sweep()).find((m) => m.key === 'energy_gain_delta')!.heatmap;
      expect(delta.cells.map((c) => c[0])).to.deep.equal([undefined, undefined]);
      expect(delta.subtitle).to.include('cannot run delta');
    });
  });
});
