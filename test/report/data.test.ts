/** Reading a run directory through sim/run-dir.ts: what is refused, and where each chart's numbers come from. */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ENERGY_COLUMNS, RUN_FILES } from '../../sim/run-dir.js';
import {
  energyBreakdown,
  frameLatency,
  gainColumns,
  layerSparsity,
  loadRun,
  paretoPoints,
  sweepParameters,
  sweepSeries,
  type SimulationData,
  type SweepData,
} from '../../src/report/data.js';
import { throwsInput } from '../support/input-error.js';
import { FIXTURE_BASELINE, FIXTURE_HW, FIXTURE_LAYERS, writeFixtureRun, writeFixtureSweep } from './fixture.js';

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
      throwsInput(() => simulation(), file(RUN_FILES.layers), 'line 1', 'is nothing, expected "temporal_sparsity"');
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
      expect(rowsChart!.note).to.equal('mean over arch.memories.ifmap.kiB');
      expect(rowsChart!.lines.map((l) => l.name)).to.deep.equal([
        'speedup sparse',
        'energy gain sparse',
        'speedup delta',
        'energy gain delta',
      ]);
      const col = run.sweep.columns.indexOf('speedup_delta');
      const at16 = rows.filter((r) => r[1] === 16).map((r) => Number(r[col]));
      const p16 = rowsChart!.lines[2]!.points.find((p) => p.x === 16)!;
      expect(p16.y).to.be.closeTo(at16.reduce((a, b) => a + b, 0) / at16.length, 1e-12);
      expect(kibChart!.lines[0]!.points.map((p) => p.x)).to.deep.equal([16, 64, 256]);
    });

    it('a boolean parameter is not charted; points whose hw-model lacks a mode (empty cells) are left out', () => {
      writeFixtureSweep(tmp, { parameters: { 'arch.rows': [8, 16, 32], 'arch.delta': [false, true] } });
      const run = sweep();
      expect(sweepParameters(run.summary)).to.deep.equal(['arch.rows']);
      const [s] = sweepSeries(run);
      expect(s!.note).to.equal('mean over arch.delta');
      const delta = s!.lines.find((l) => l.name === 'speedup delta')!;
      const col = run.sweep.columns.indexOf('speedup_delta');
      for (const p of delta.points) {
        const cell = run.sweep.rows.find((r) => r['arch.rows'] === String(p.x) && r['arch.delta'] === 'true')!;
        expect(p.y).to.equal(Number(cell[run.sweep.columns[col]!]));
      }
      const pts = paretoPoints(run)!;
      expect(pts).to.have.length(3); // the arch.delta=true points
      expect(pts.map((p) => p.label)).to.deep.equal(['rows=8, delta=true', 'rows=16, delta=true', 'rows=32, delta=true']);
    });

    it("Pareto: the delta mode's latency_ and energy_ columns, else the last mode's", () => {
      writeFixtureSweep(tmp);
      const rows = readRows(file(RUN_FILES.sweep));
      expect(paretoPoints(sweep())!.map((p) => [p.latencyUs, p.energyUj])).to.deep.equal(
        rows.map((r) => [Number(r.latency_delta_us), Number(r.energy_delta_pj) * 1e-6]),
      );
      writeFixtureSweep(tmp, { modes: ['dense', 'sparse'], trace: false });
      const sparse = readRows(file(RUN_FILES.sweep));
      expect(paretoPoints(sweep())!.map((p) => p.latencyUs)).to.deep.equal(sparse.map((r) => Number(r.latency_sparse_us)));
      expect(paretoPoints(sweep())![0]!.label).to.equal('rows=4, ifmap.kiB=16');
      writeFixtureSweep(tmp, { modes: ['dense'] });
      expect(sweepSeries(sweep())).to.deep.equal([]);
      expect(paretoPoints(sweep())).to.have.length(15);
    });
  });
});
