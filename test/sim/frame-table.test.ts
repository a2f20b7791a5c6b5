/** FrameTable: compact per-frame rows read back exactly as pushed, in order, across growth. */
import { expect } from 'chai';
import fc from 'fast-check';
import { FrameTable, type FrameRow } from '../../sim/index.js';

const num = fc.double({ min: -1e12, max: 1e12, noNaN: true });
const rowArb: fc.Arbitrary<FrameRow> = fc.record({
  frame: fc.nat(100000),
  arch: fc.constantFrom('a', 'delta-32x32', 'seneca-like'),
  mode: fc.constantFrom('dense', 'sparse', 'delta' as const),
  cycles: num,
  computeCycles: num,
  stallCycles: num,
  latencyUs: num,
  macs: num,
  effectiveMacs: num,
  events: num,
  neuronUpdates: num,
  dramBytes: num,
  energy: fc.record({
    computePJ: num,
    sramPJ: fc.record({ ifmap: num, filter: num, ofmap: num, state: num }),
    dramPJ: num,
    staticPJ: num,
    totalPJ: num,
  }),
});

describe('FrameTable', () => {
  it('gives back every pushed row, in order (more rows than its first allocation)', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 300 }), (rows) => {
        const t = new FrameTable();
        for (const r of rows) t.push(r);
        expect(t.length).to.equal(rows.length);
        expect([...t]).to.deep.equal(rows);
        if (rows.length > 0) expect(t.at(rows.length - 1)).to.deep.equal(rows.at(-1));
      }),
      { numRuns: 30 },
    );
  });

  it('rejects a row index outside the table', () => {
    const t = new FrameTable();
    expect(() => t.at(0)).to.throw(RangeError, /row 0 outside \[0, 0\)/);
  });
});
