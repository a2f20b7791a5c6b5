/** Grid expansion: order, sizes, names, --set parsing, grid files, bad paths / values. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { loadHwModel, loadTopology } from '../../sim/index.js';
import {
  canonicalName,
  describeGrid,
  loadGrid,
  mergeAxes,
  parseSet,
  parseValue,
  parseZip,
  pointConfig,
  pointCount,
  pointValues,
  prepareSweep,
  runPoint,
  specOf,
  zipAxes,
  type Axis,
} from '../../sim/sweep/index.js';
import { removeTmp, smallJob, throwsInput, tmp } from './helpers.js';

const axis = (name: string, values: (number | string | boolean)[]): Axis => ({ name, values, origin: 'test' });
const delta32 = loadHwModel('delta-32x32');
const tiny = loadTopology('tiny');

describe('sweep grid', () => {
  after(removeTmp);
  it('expands in odometer order, the last axis fastest', () => {
    const axes = [axis('arch.rows', [8, 16]), axis('arch.cols', [1, 2, 3])];
    expect(pointCount(axes)).to.equal(6);
    expect(Array.from({ length: 6 }, (_, i) => pointValues(axes, i))).to.deep.equal([
      [8, 1],
      [8, 2],
      [8, 3],
      [16, 1],
      [16, 2],
      [16, 3],
    ]);
  });

  it('visits every combination exactly once, for any axis sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), (sizes) => {
        const axes = sizes.map((n, i) =>
          axis(
            `arch.a${i}`,
            Array.from({ length: n }, (_, j) => j),
          ),
        );
        const n = pointCount(axes);
        expect(n).to.equal(sizes.reduce((a, b) => a * b, 1));
        const seen = new Set(Array.from({ length: n }, (_, i) => pointValues(axes, i).join(',')));
        expect(seen.size).to.equal(n);
      }),
    );
  });

  it('zipped axes are one dimension, taken pairwise, where their first axis sits; the rest stay in odometer order', () => {
    const axes = zipAxes(
      [axis('arch.rows', [8, 16, 32]), axis('sim.deltaDensity', [0.1, 0.2]), axis('arch.cols', [4, 5, 6])],
      [parseZip('rows,cols')],
    );
    expect(axes.map((a) => a.zip)).to.deep.equal(['arch.rows', undefined, 'arch.rows']);
    expect(pointCount(axes)).to.equal(6);
    expect(Array.from({ length: 6 }, (_, i) => pointValues(axes, i))).to.deep.equal([
      [8, 0.1, 4],
      [8, 0.2, 4],
      [16, 0.1, 5],
      [16, 0.2, 5],
      [32, 0.1, 6],
      [32, 0.2, 6],
    ]);
    expect(describeGrid(axes)).to.equal('arch.rows+arch.cols (3, zipped) × sim.deltaDensity (2)');
  });

  it('zipped grids visit every combination of their dimensions exactly once, zipped axes always in step', () => {
    const grid = fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), group: fc.integer({ min: 0, max: 2 }) }), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(grid, (spec) => {
        // Axes with the same group number > 0 are zipped (and so get that group's size).
        const sizeOf = (g: number, own: number) => (g > 0 ? spec.find((s) => s.group === g)!.size : own);
        const axes0 = spec.map((s, i) =>
          axis(
            `arch.a${i}`,
            Array.from({ length: sizeOf(s.group, s.size) }, (_, j) => j),
          ),
        );
        const groups = [1, 2]
          .map((g) => spec.flatMap((s, i) => (s.group === g ? [`arch.a${i}`] : [])))
          .filter((names) => names.length >= 2)
          .map((names) => ({ names, origin: 'test' }));
        const axes = zipAxes(axes0, groups);
        const dims = new Map<string, number>();
        for (const a of axes) dims.set(a.zip ?? a.name, a.values.length);
        const n = pointCount(axes);
        expect(n).to.equal([...dims.values()].reduce((a, b) => a * b, 1));
        const points = Array.from({ length: n }, (_, i) => pointValues(axes, i));
        expect(new Set(points.map((p) => p.join(','))).size).to.equal(n);
        for (const p of points)
          for (const g of groups) expect(new Set(g.names.map((name) => p[axes.findIndex((a) => a.name === name)]))).to.have.length(1);
      }),
    );
  });

  it('zips from a grid file and from --zip; a --set of a zipped axis keeps it zipped; bad zips name the file or flag', () => {
    const dir = tmp();
    const file = join(dir, 'g.json');
    writeFileSync(
      file,
      JSON.stringify({ parameters: { rows: [8, 16], cols: [8, 16], 'memories.state.kiB': [64, 128] }, zip: [['rows', 'cols']] }),
    );
    const grid = loadGrid(file);
    expect(grid.map((a) => a.zip)).to.deep.equal(['arch.rows', 'arch.rows', undefined]);
    const merged = mergeAxes(grid, [parseSet('cols=4,32')]);
    expect(merged[1]).to.deep.equal({ name: 'arch.cols', values: [4, 32], origin: '--set cols=4,32', zip: 'arch.rows' });
    expect(pointCount(merged)).to.equal(4);
    const prepare = (axes: Axis[]) => () => prepareSweep({ topology: tiny, hwModel: delta32, axes, mode: 'all' });
    throwsInput(
      prepare(mergeAxes(grid, [parseSet('cols=4,8,32')])),
      '--set cols=4,8,32',
      'as many values each',
      'arch.rows has 2 (',
      'arch.cols has 3',
    );
    const sets = ['rows=8,16', 'cols=8,16', 'memories.state.kiB=64,128'].map(parseSet);
    expect(pointCount(zipAxes(sets, [parseZip('rows, memories.state.kiB')]))).to.equal(4);
    throwsInput(() => parseZip('rows'), '--zip rows', 'two or more');
    throwsInput(() => parseZip('rows,,cols'), 'two or more');
    throwsInput(() => parseZip('rows,sim.rows'), '--zip rows,sim.rows', 'unknown simulation parameter');
    throwsInput(() => zipAxes(sets, [parseZip('rows,dataflow')]), '--zip rows,dataflow', '"arch.dataflow" is not a swept parameter');
    throwsInput(() => zipAxes(sets, [parseZip('rows,arch.rows')]), 'named twice');
    throwsInput(
      () => zipAxes(sets, [parseZip('rows,cols'), parseZip('cols,memories.state.kiB')]),
      '--zip cols,memories.state.kiB',
      '"arch.cols" is zipped twice',
    );
    throwsInput(() => zipAxes(grid, [parseZip('cols,memories.state.kiB')]), 'zipped twice');
    const bad = (doc: unknown) => {
      writeFileSync(file, JSON.stringify(doc));
      return () => loadGrid(file);
    };
    throwsInput(bad({ parameters: { rows: [8] }, zip: [['rows']] }), 'g.json', 'at /zip/0');
    throwsInput(
      bad({ parameters: { rows: [8], cols: [8] }, zip: [['rows', 'rowz']] }),
      'g.json',
      'at /zip/0',
      '"arch.rowz" is not a swept parameter',
    );
    throwsInput(bad({ parameters: { rows: [8], cols: [8] }, zip: [['rows', 'a..b']] }), 'g.json', 'at /zip/0/1');
  });

  it('canonical names: hw-model paths get arch., sim options sim.', () => {
    expect(canonicalName('rows', {})).to.equal('arch.rows');
    expect(canonicalName('memories.dram.GBps', {})).to.equal('arch.memories.dram.GBps');
    expect(canonicalName('arch.rows', {})).to.equal('arch.rows');
    expect(canonicalName('deltaDensity', {})).to.equal('sim.deltaDensity');
    throwsInput(() => canonicalName('sim.rows', { file: 'g.json' }), 'g.json', 'unknown simulation parameter "sim.rows"');
    throwsInput(() => canonicalName('a..b', {}), 'not a parameter name');
  });

  it('--set values: numbers, booleans, quoted and bare strings', () => {
    expect(parseValue('16')).to.equal(16);
    expect(parseValue('-2.5e3')).to.equal(-2500);
    expect(parseValue('.5')).to.equal(0.5);
    expect(parseValue('true')).to.equal(true);
    expect(parseValue('false')).to.equal(false);
    expect(parseValue('os')).to.equal('os');
    expect(parseValue('"16"')).to.equal('16');
    expect(parseSet('memories.dram.GBps=4, 16')).to.deep.equal({
      name: 'arch.memories.dram.GBps',
      values: [4, 16],
      origin: '--set memories.dram.GBps=4, 16',
    });
    expect(parseSet('dataflow=os,ws,is').values).to.deep.equal(['os', 'ws', 'is']);
    expect(parseSet('delta=true,false').values).to.deep.equal([true, false]);
  });

  it('bad --set flags are InputErrors naming the flag', () => {
    throwsInput(() => parseSet('rows'), '--set rows', 'name=value');
    throwsInput(() => parseSet('=8'), 'name=value');
    throwsInput(() => parseSet('rows=8,,16'), '--set rows=8,,16', 'empty value');
    throwsInput(() => parseSet('rows=8,8'), 'value 8 listed twice');
  });

  it('a grid file gives axes in key order; --set replaces an axis in place and adds new ones last', () => {
    const dir = tmp();
    const file = join(dir, 'g.json');
    writeFileSync(file, JSON.stringify({ parameters: { rows: [8, 16], 'memories.state.kiB': [64], deltaDensity: [0.1, 0.2] } }));
    const grid = loadGrid(file);
    expect(grid.map((a) => a.name)).to.deep.equal(['arch.rows', 'arch.memories.state.kiB', 'sim.deltaDensity']);
    const merged = mergeAxes(grid, [parseSet('memories.state.kiB=1,2,3'), parseSet('cols=4')]);
    expect(merged.map((a) => [a.name, a.values.length])).to.deep.equal([
      ['arch.rows', 2],
      ['arch.memories.state.kiB', 3],
      ['sim.deltaDensity', 2],
      ['arch.cols', 1],
    ]);
    throwsInput(() => mergeAxes([], [parseSet('rows=1'), parseSet('arch.rows=2')]), 'parameter "arch.rows" given twice');
  });

  it('bad grid files are InputErrors naming the file and the key', () => {
    const dir = tmp();
    const bad = (name: string, doc: unknown): string => {
      const f = join(dir, name);
      writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return f;
    };
    throwsInput(() => loadGrid(bad('a.json', '{"parameters": ')), 'a.json', 'malformed JSON');
    throwsInput(() => loadGrid(bad('b.json', { parameters: { rows: [] } })), 'b.json', 'at /parameters/rows');
    throwsInput(() => loadGrid(bad('c.json', { parameters: { rows: [8, 8] } })), 'c.json', 'at /parameters/rows');
    throwsInput(() => loadGrid(bad('d.json', { parameters: { rows: [8] }, extra: 1 })), 'd.json', 'unknown key "extra"');
    throwsInput(() => loadGrid(bad('e.json', { parameters: { rows: [{}] } })), 'e.json', 'at /parameters/rows/0');
    throwsInput(() => loadGrid(join(dir, 'missing.json')), 'missing.json', 'cannot read');
  });

  it('patches dotted paths and re-validates against the schema', () => {
    const base = specOf(delta32);
    const axes = [axis('arch.rows', [8]), axis('arch.memories.dram.GBps', [4]), axis('sim.deltaDensity', [0.3])];
    const { hw, sim } = pointConfig(base, delta32.source, axes, [8, 4, 0.3]);
    expect(hw.kind === 'systolic' && hw.rows).to.equal(8);
    expect(hw.memories.dram.GBps).to.equal(4);
    expect(hw.memories.state.kiB).to.equal(delta32.memories.state.kiB);
    expect(hw.energyTable.name).to.equal(delta32.energyTable.name);
    expect(sim).to.deep.equal({ deltaDensity: 0.3 });
    expect(base.kind === 'systolic' && base.rows, 'the base is not modified').to.equal(32);
  });

  it('a bad path or value is an InputError naming the --set / grid file and the key, before anything runs', () => {
    const sweep =
      (...sets: string[]) =>
      () =>
        prepareSweep({ topology: tiny, hwModel: delta32, axes: sets.map(parseSet), mode: 'all' });
    throwsInput(sweep('peArray.rows=8'), '--set peArray.rows=8', '"peArray" is not a key of the hw-model');
    throwsInput(sweep('rows.x=8'), '"rows" is not an object');
    throwsInput(sweep('rowz=8'), '--set rowz=8', 'arch.rowz = 8', 'unknown key "rowz"');
    throwsInput(sweep('rows=8,0'), '--set rows=8,0', 'arch.rows = 0', 'at /rows', '>= 1');
    throwsInput(sweep('rows=8.5'), 'at /rows', 'integer');
    throwsInput(sweep('memories.dram.GBps=fast'), 'at /memories/dram/GBps', 'number');
    throwsInput(sweep('dataflow=rs'), 'at /dataflow', '"os", "ws", "is"');
    throwsInput(sweep('delta=maybe'), 'at /delta', 'boolean');
    throwsInput(sweep('deltaDensity=0.1,2'), 'sim.deltaDensity = 2', '[0, 1]');
    const dir = tmp();
    const file = join(dir, 'grid.json');
    writeFileSync(file, JSON.stringify({ parameters: { 'memories.state.kiB': [64, -1] } }));
    throwsInput(
      () => prepareSweep({ topology: tiny, hwModel: delta32, axes: loadGrid(file), mode: 'all' }),
      'grid.json',
      'arch.memories.state.kiB = -1',
      'at /memories/state/kiB',
    );
  });

  it('modes: "all" gives columns for every mode some point supports; a fixed mode must be supported everywhere', () => {
    const dense = loadHwModel('dense-32x32');
    const job = prepareSweep({ topology: tiny, hwModel: dense, axes: [parseSet('delta=false,true')], mode: 'all' });
    expect(job.meta.modes).to.deep.equal(['dense', 'delta']);
    const [plain, withDelta] = [runPoint(job, 0), runPoint(job, 1)];
    const at = (row: (string | number)[], c: string) => row[job.meta.columns.indexOf(c)];
    expect(at(plain, 'speedup_delta'), 'no delta on a point without delta').to.equal('');
    expect(at(withDelta, 'speedup_delta')).to.be.a('number');
    throwsInput(
      () => prepareSweep({ topology: tiny, hwModel: dense, axes: [parseSet('delta=false,true')], mode: 'delta' }),
      'sweep point 0',
      'arch.delta=false',
    );
  });

  it('columns: point, parameters, then per mode the metrics the report reads', () => {
    const { meta } = smallJob();
    expect(meta.points).to.equal(24);
    expect(meta.columns.slice(0, 5)).to.deep.equal(['point', 'arch.rows', 'arch.cols', 'arch.memories.state.kiB', 'sim.deltaDensity']);
    for (const c of [
      'latency_dense_us',
      'energy_delta_pj',
      'cycles_sparse',
      'dram_delta_bytes',
      'power_delta_mw',
      'speedup_delta',
      'energy_gain_sparse',
    ])
      expect(meta.columns).to.include(c);
    expect(meta.columns).not.to.include('speedup_dense');
  });
});
