/** Fuzz: `--set name=v1,v2,…` flags (parseSet), and the parsed axis applied to a hw-model (checkAxes). */
import { expect } from 'chai';
import { loadHwModel } from '../../sim/index.js';
import { checkAxes, parseSet, specOf } from '../../sim/sweep/index.js';
import { fuzz } from './mutate.js';
import { logStats, text } from './helpers.js';

const enc = new TextEncoder();
const FLAGS = [
  'rows=8,16,32',
  'sim.actDensity=0.1,0.5,1',
  'memories.dram.GBps=12.5',
  'energy="horowitz-45nm","seneca-22nm"',
  'dataflow=os,ws,is',
  'delta=true,false',
  'arch.precisions.activationBits=4, 8 ,16',
].map((f) => enc.encode(f));

describe('fuzz: --set', function () {
  this.timeout(60_000);

  it('1000 mutants of --set flags parse or are refused in one line', () => {
    const s = fuzz({ seed: 0x736574, count: 1000, bases: FLAGS }, (b) => () => parseSet(text(b)));
    logStats('--set', s);
    expect(s.parsed).to.be.greaterThan(0);
    expect(s.rejected).to.be.greaterThan(0);
  });

  it('300 mutants, once parsed, patch a hw-model or are refused in one line (first 4 values of each)', () => {
    const hw = loadHwModel('delta-32x32');
    const s = fuzz({ seed: 0x736575, count: 300, bases: FLAGS }, (b) => () => {
      const axis = parseSet(text(b));
      checkAxes(specOf(hw), hw.source, [{ ...axis, values: axis.values.slice(0, 4) }]);
    });
    logStats('--set applied', s);
    expect(s.parsed).to.be.greaterThan(0);
  });
});
