/** Grid expansion: order, sizes, names, --set parsing, grid files, bad paths / values. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { loadHwModel, loadTopology } from '../../sim/index.js';
import {
  canonicalName,
  loadGrid,
  mergeAxes,
  parseSet,
  parseValue,
  pointConfig,
  pointCount,
  pointValues,
  prepareSweep,
  runPoint,
  specOf,
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
