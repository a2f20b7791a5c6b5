/** Fuzz: topology CSV (parseTopologyCsv). */
import { expect } from 'chai';
import { parseTopologyCsv } from '../../sim/index.js';
import { fuzz } from './mutate.js';
import { logStats, text, topologyFuzz } from './helpers.js';

describe('fuzz: topology CSV', function () {
  this.timeout(60_000);

  it('600 mutants of the built-in and fixture topologies parse or are refused in one line', () => {
    const file = 'fuzzed.csv';
    const s = fuzz(topologyFuzz(), (b) => () => parseTopologyCsv(text(b), file), file);
    logStats('topology', s);
    expect(s.parsed).to.be.greaterThan(0);
    expect(s.rejected).to.be.greaterThan(0);
  });
});
