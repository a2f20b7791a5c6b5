/**
 * Energy tables: SRAM energy per access by capacity (log-log, never clamped) and word width, DRAM by
 * interface class, and every shipped number sourced or marked assumed (the loader refuses an entry
 * with neither, naming the file and the key).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  assumedEntries,
  DRAM_INTERFACES,
  dramInterfaceFor,
  dramPJPerByte,
  type EnergyTable,
  loadEnergyTable,
  sramAccessPJ,
  sramExtrapolation,
  sramPJPerByte,
} from '../../sim/index.js';
import { ENERGY_DIR } from '../../sim/paths.js';
import { throwsInput } from '../support/input-error.js';

const TABLE_FILES = readdirSync(ENERGY_DIR)
  .filter((f) => f.endsWith('.json') && f !== 'schema.json')
  .sort();
const tables: [string, EnergyTable][] = TABLE_FILES.map((f) => [f, loadEnergyTable(join(ENERGY_DIR, f))]);
const horowitz = loadEnergyTable(join(ENERGY_DIR, 'horowitz-45nm.json'));
const OPTS = { seed: 0x5ea7, numRuns: 300 };

/** A copy of `t` with its SRAM section replaced (points get a source so the type holds). */
function withSram(t: EnergyTable, points: [number, number, number][], fixedShare = t.sram.width.fixedShare): EnergyTable {
  return {
    ...t,
    sram: {
      points: points.map(([kiB, wordBits, pJ]) => ({ kiB, wordBits, pJ, source: 'test' })),
      width: { ...t.sram.width, fixedShare },
    },
  };
}

const relClose = (a: number, b: number, rel = 1e-12): void => {
  expect(Math.abs(a - b)).to.be.at.most(rel * Math.max(Math.abs(a), Math.abs(b)));
};

describe('energy tables: SRAM energy per access', () => {
  it('the shipped tables are the two expected ones', () => {
    expect(TABLE_FILES).to.deep.equal(['horowitz-45nm.json', 'seneca-22nm.json']);
  });

  for (const [file, t] of tables) {
    describe(file, () => {
      it('is exact at the table points (their own width)', () => {
        for (const p of t.sram.points) relClose(sramAccessPJ(t, p.kiB, p.wordBits), p.pJ);
      });

      it('rises with capacity, inside the table and beyond both ends', () => {
        let prev = 0;
        for (let kiB = 1 / 16; kiB <= 64 * 1024; kiB *= 1.25) {
          const e = sramAccessPJ(t, kiB, 64);
          expect(e, `${kiB} KiB`).to.be.greaterThan(prev);
          prev = e;
        }
      });

      it('is never clamped: 2 MiB costs more than 1 MiB, 4 KiB less than 8 KiB, along the end segments', () => {
        const [a, b] = t.sram.points;
        const [y, z] = t.sram.points.slice(-2);
        const e = (kiB: number): number => sramAccessPJ(t, kiB, 64);
        expect(e(2048)).to.be.greaterThan(e(1024));
        expect(e(8 * 1024)).to.be.greaterThan(e(2048));
        expect(e(4)).to.be.lessThan(e(8)).and.greaterThan(0);
        // Extrapolation continues the end segments' slopes in log-log.
        const slopeHi = Math.log(z!.pJ / y!.pJ) / Math.log(z!.kiB / y!.kiB);
        relClose(e(2 * z!.kiB), z!.pJ * 2 ** slopeHi, 1e-9);
        const slopeLo = Math.log(b!.pJ / a!.pJ) / Math.log(b!.kiB / a!.kiB);
        relClose(e(a!.kiB / 2), a!.pJ * 0.5 ** slopeLo, 1e-9);
      });

      it('width rule: energy per access never falls with width, energy per bit never rises (property)', () => {
        fc.assert(
          fc.property(
            fc.double({ min: 0.25, max: 65536, noNaN: true }),
            fc.integer({ min: 1, max: 1024 }),
            fc.integer({ min: 1, max: 1024 }),
            (kiB, w1, w2) => {
              const [lo, hi] = w1 <= w2 ? [w1, w2] : [w2, w1];
              const eLo = sramAccessPJ(t, kiB, lo);
              const eHi = sramAccessPJ(t, kiB, hi);
              expect(eHi).to.be.at.least(eLo * (1 - 1e-12));
              expect(eHi / hi).to.be.at.most((eLo / lo) * (1 + 1e-12));
            },
          ),
          OPTS,
        );
      });

      it('sramExtrapolation: null inside (ends included), else ratio and side', () => {
        const lo = t.sram.points[0]!.kiB;
        const hi = t.sram.points[t.sram.points.length - 1]!.kiB;
        expect(sramExtrapolation(t, lo)).to.equal(null);
        expect(sramExtrapolation(t, hi)).to.equal(null);
        expect(sramExtrapolation(t, Math.sqrt(lo * hi))).to.equal(null);
        expect(sramExtrapolation(t, 2 * hi)).to.deep.equal({ ratio: 2, beyond: 'above' });
        expect(sramExtrapolation(t, lo / 4)).to.deep.equal({ ratio: 4, beyond: 'below' });
        expect(sramExtrapolation(t, 0)).to.equal(null);
      });
    });
  }

  it('width rule holds for any fixed share in [0, 1] (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.5, max: 8192, noNaN: true }),
        fc.integer({ min: 1, max: 2048 }),
        fc.integer({ min: 1, max: 2048 }),
        (share, kiB, w1, w2) => {
          const t = withSram(horowitz, [
            [8, 64, 10],
            [32, 64, 20],
            [1024, 64, 100],
          ]);
          t.sram.width.fixedShare = share;
          const [lo, hi] = w1 <= w2 ? [w1, w2] : [w2, w1];
          const eLo = sramAccessPJ(t, kiB, lo);
          const eHi = sramAccessPJ(t, kiB, hi);
          expect(eHi).to.be.at.least(eLo * (1 - 1e-12));
          expect(eHi / hi).to.be.at.most((eLo / lo) * (1 + 1e-12));
        },
      ),
      OPTS,
    );
  });

  it('the width rule: a fixed part plus a part proportional to width (Horowitz: 64-bit 8 KiB = 10 pJ)', () => {
    const s = horowitz.sram.width.fixedShare;
    relClose(sramAccessPJ(horowitz, 8, 64), 10);
    relClose(sramAccessPJ(horowitz, 8, 32), 10 * (s + (1 - s) / 2));
    relClose(sramAccessPJ(horowitz, 8, 128), 10 * (s + (1 - s) * 2));
    relClose(sramAccessPJ(horowitz, 8, 8), 10 * (s + (1 - s) / 8));
  });

  it('points at other widths are brought to one width before interpolating', () => {
    // 32-bit figure at 8 KiB equal to what the rule makes of 10 pJ at 64 bits: same curve as all-64-bit points.
    const s = 0.25;
    const t64 = withSram(
      horowitz,
      [
        [8, 64, 10],
        [1024, 64, 100],
      ],
      s,
    );
    const tMixed = withSram(
      horowitz,
      [
        [8, 32, 10 * (s + (1 - s) / 2)],
        [1024, 64, 100],
      ],
      s,
    );
    for (const kiB of [2, 8, 64, 1024, 4096])
      for (const w of [8, 32, 64, 256]) relClose(sramAccessPJ(tMixed, kiB, w), sramAccessPJ(t64, kiB, w), 1e-9);
    relClose(sramAccessPJ(tMixed, 8, 32), 10 * (s + (1 - s) / 2));
  });

  it('one point: constant in capacity; 0 KiB (no SRAM) costs 0; bad arguments throw', () => {
    const t = withSram(horowitz, [[1, 64, 2]]);
    for (const kiB of [0.01, 1, 100, 1e6]) relClose(sramAccessPJ(t, kiB, 64), 2);
    expect(sramAccessPJ(horowitz, 0, 64)).to.equal(0);
    expect(() => sramAccessPJ(horowitz, -1, 64)).to.throw(RangeError);
    expect(() => sramAccessPJ(horowitz, Number.NaN, 64)).to.throw(RangeError);
    expect(() => sramAccessPJ(horowitz, 8, 0)).to.throw(RangeError);
  });

  it('sramPJPerByte (deprecated) is a 64-bit access over 8 bytes', () => {
    relClose(sramPJPerByte(horowitz, 8), 1.25);
    relClose(sramPJPerByte(horowitz, 1024), 12.5);
    for (const kiB of [3, 100, 5000]) relClose(sramPJPerByte(horowitz, kiB), sramAccessPJ(horowitz, kiB, 64) / 8);
  });
});

describe('energy tables: DRAM by interface class', () => {
  it('pJ per byte is 8 × pJ per bit (HBM2 3.97 pJ/bit = 31.76 pJ/B)', () => {
    for (const [, t] of tables) {
      relClose(dramPJPerByte(t, 'HBM2'), 31.76);
      for (const d of DRAM_INTERFACES) relClose(dramPJPerByte(t, d), 8 * t.dram[d].pJPerBit);
    }
  });

  it('LPDDR/DDR-class interfaces cost more per byte than HBM2', () => {
    for (const [, t] of tables) {
      expect(dramPJPerByte(t, 'LPDDR4')).to.be.greaterThan(dramPJPerByte(t, 'HBM2'));
      expect(dramPJPerByte(t, 'DDR4')).to.be.greaterThan(dramPJPerByte(t, 'LPDDR4'));
    }
  });

  it('dramInterfaceFor: the class with the least interface bandwidth that covers it', () => {
    for (const [, t] of tables) {
      const bw = (d: 'LPDDR4' | 'DDR4' | 'HBM2'): number => t.dram[d].interfaceGBps.GBps;
      expect(bw('LPDDR4')).to.be.lessThan(bw('DDR4'));
      expect(bw('DDR4')).to.be.lessThan(bw('HBM2'));
      for (const g of [0.1, 2, 8, 10, bw('LPDDR4')]) expect(dramInterfaceFor(t, g), `${g} GB/s`).to.equal('LPDDR4');
      for (const g of [bw('LPDDR4') * 1.001, 16, bw('DDR4')]) expect(dramInterfaceFor(t, g), `${g} GB/s`).to.equal('DDR4');
      for (const g of [bw('DDR4') * 1.001, 32, 200, bw('HBM2')]) expect(dramInterfaceFor(t, g), `${g} GB/s`).to.equal('HBM2');
      // Beyond every class: several interfaces of the widest class.
      expect(dramInterfaceFor(t, 10 * bw('HBM2'))).to.equal('HBM2');
    }
  });

  it('dramInterfaceFor: equal interface bandwidths go to the lower energy per bit; bad bandwidths throw', () => {
    const t: EnergyTable = structuredClone(horowitz);
    t.dram.DDR4.interfaceGBps.GBps = t.dram.LPDDR4.interfaceGBps.GBps;
    expect(dramInterfaceFor(t, 1)).to.equal(t.dram.DDR4.pJPerBit < t.dram.LPDDR4.pJPerBit ? 'DDR4' : 'LPDDR4');
    t.dram.DDR4.pJPerBit = t.dram.LPDDR4.pJPerBit / 2;
    expect(dramInterfaceFor(t, 1)).to.equal('DDR4');
    for (const g of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => dramInterfaceFor(horowitz, g)).to.throw(RangeError);
  });

  it('dramInterfaceFor (property): the chosen class covers the bandwidth, or no class does and it is the widest', () => {
    const widest = [...DRAM_INTERFACES].sort((a, b) => horowitz.dram[b].interfaceGBps.GBps - horowitz.dram[a].interfaceGBps.GBps)[0]!;
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 5000, noNaN: true }), (g) => {
        const d = dramInterfaceFor(horowitz, g);
        const covering = DRAM_INTERFACES.filter((x) => horowitz.dram[x].interfaceGBps.GBps >= g);
        if (covering.length === 0) expect(d).to.equal(widest);
        else {
          expect(covering).to.include(d);
          for (const x of covering) expect(horowitz.dram[x].interfaceGBps.GBps).to.be.at.least(horowitz.dram[d].interfaceGBps.GBps);
        }
      }),
      OPTS,
    );
  });
});

describe('energy tables: every number sourced or assumed', () => {
  /** Every provenance-carrying entry of a raw table document: [key, entry]. */
  function entries(doc: Record<string, any>): [string, Record<string, unknown>][] {
    const out: [string, Record<string, unknown>][] = [];
    for (const [k, v] of Object.entries(doc.actions)) out.push([`actions.${k}`, v as Record<string, unknown>]);
    doc.sram.points.forEach((p: Record<string, unknown>, i: number) => out.push([`sram.points[${i}]`, p]));
    out.push(['sram.width', doc.sram.width]);
    for (const [k, v] of Object.entries(doc.dram) as [string, Record<string, any>][]) {
      out.push([`dram.${k}`, v]);
      out.push([`dram.${k}.interfaceGBps`, v.interfaceGBps]);
    }
    for (const [k, v] of Object.entries(doc.leakage)) out.push([`leakage.${k}`, v as Record<string, unknown>]);
    doc.area?.sram.forEach((p: Record<string, unknown>, i: number) => out.push([`area.sram[${i}]`, p]));
    if (doc.area) out.push(['area.perPE', doc.area.perPE]);
    return out;
  }

  for (const file of TABLE_FILES) {
    it(`${file}: each entry has exactly one of a non-empty source or assumed reason, and nothing else unexplained`, () => {
      const doc = JSON.parse(readFileSync(join(ENERGY_DIR, file), 'utf8'));
      const list = entries(doc);
      expect(list.length).to.be.greaterThan(15);
      for (const [key, e] of list) {
        const has = ['source', 'assumed'].filter((k) => k in e);
        expect(has, key).to.have.length(1);
        expect(String(e[has[0]!]).trim(), key).to.not.equal('');
      }
      // No dramPerByte / sramPerByte left from the old layout.
      expect(doc.actions).to.not.have.property('dramPerByte');
      expect(doc).to.not.have.property('sramPerByte');
    });
  }

  it('assumedEntries lists exactly the assumed numbers, with value, unit and reason', () => {
    for (const [file, t] of tables) {
      const doc = JSON.parse(readFileSync(join(ENERGY_DIR, file), 'utf8'));
      const assumed = assumedEntries(t);
      const expected = entries(doc)
        .filter(([, e]) => 'assumed' in e)
        .map(([k]) => (k === 'sram.width' ? 'sram.width.fixedShare' : k));
      expect(assumed.map((a) => a.key).sort(), file).to.deep.equal(expected.sort());
      for (const a of assumed) {
        expect(a.reason.trim(), a.key).to.not.equal('');
        expect(a.unit, a.key).to.be.a('string').and.not.equal('');
        expect(a.value, a.key).to.be.a('number');
      }
    }
    const keys = assumedEntries(horowitz).map((a) => a.key);
    expect(keys).to.include.members(['actions.nocHop', 'leakage.perPE', 'leakage.sramPerKiB', 'dram.LPDDR4', 'sram.width.fixedShare']);
    expect(keys).to.not.include('actions.mac8');
    expect(keys).to.not.include('dram.HBM2');
    expect(assumedEntries(horowitz).find((a) => a.key === 'actions.nocHop')!.value).to.equal(horowitz.actions.nocHop.pJ);
  });

  describe('the loader', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'deltasim-energy-table-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const base = (): Record<string, any> => JSON.parse(readFileSync(join(ENERGY_DIR, 'horowitz-45nm.json'), 'utf8'));
    const write = (doc: unknown): string => {
      const file = join(dir, `t${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(doc));
      return file;
    };

    it('loads a table with every entry sourced or assumed', () => {
      expect(loadEnergyTable(write(base())).name).to.equal('horowitz-45nm');
    });

    it('refuses an action with neither source nor assumed, naming the file and the key', () => {
      const doc = base();
      delete doc.actions.nocHop.assumed;
      const file = write(doc);
      throwsInput(() => loadEnergyTable(file), file, 'at /actions/nocHop', '"actions.nocHop"', 'neither "source" nor "assumed"');
    });

    it('refuses an SRAM point, a width rule, a DRAM class, its bandwidth or a leakage entry with neither', () => {
      const cases: [string, (d: Record<string, any>) => void][] = [
        ['/sram/points/1', (d) => delete d.sram.points[1].source],
        ['/sram/width', (d) => delete d.sram.width.assumed],
        ['/dram/HBM2', (d) => delete d.dram.HBM2.source],
        ['/dram/DDR4/interfaceGBps', (d) => delete d.dram.DDR4.interfaceGBps.source],
        ['/leakage/perPE', (d) => delete d.leakage.perPE.assumed],
        ['/area/sram/2', (d) => delete d.area.sram[2].assumed],
        ['/area/perPE', (d) => delete d.area.perPE.assumed],
      ];
      for (const [pointer, edit] of cases) {
        const doc = base();
        edit(doc);
        const file = write(doc);
        throwsInput(() => loadEnergyTable(file), file, `at ${pointer}`, 'neither "source" nor "assumed"');
      }
    });

    it('refuses a bad area entry, naming its key: a non-positive or non-number figure, two points at one size', () => {
      const cases: [string, (d: Record<string, any>) => void, string][] = [
        ['/area/sram/0/mm2PerKiB', (d) => (d.area.sram[0].mm2PerKiB = 0), '> 0'],
        ['/area/sram/1/kiB', (d) => (d.area.sram[1].kiB = 'big'), 'number'],
        ['/area/perPE/mm2', (d) => (d.area.perPE.mm2 = -1), '> 0'],
        ['/area/perPE', (d) => delete d.area.perPE.mm2, 'mm2'],
        ['/area/sram/2/kiB', (d) => (d.area.sram[2].kiB = 32), 'two SRAM area points at 32 KiB'],
        ['/area', (d) => (d.area.dies = 1), 'dies'],
      ];
      for (const [pointer, edit, what] of cases) {
        const doc = base();
        edit(doc);
        const file = write(doc);
        throwsInput(() => loadEnergyTable(file), file, `at ${pointer}`, what);
      }
    });

    it('refuses an entry with both, or with an empty source / reason', () => {
      const both = base();
      both.actions.mac8.assumed = 'also assumed';
      const f1 = write(both);
      throwsInput(() => loadEnergyTable(f1), f1, 'at /actions/mac8', 'both "source" and "assumed"');
      const empty = base();
      empty.leakage.perPE.assumed = '  ';
      const f2 = write(empty);
      throwsInput(() => loadEnergyTable(f2), f2, 'at /leakage/perPE/assumed', 'non-empty');
    });

    it('refuses the old layout (actions.dramPerByte, sramPerByte) and two SRAM points at one capacity', () => {
      const old = base();
      old.actions.dramPerByte = { pJ: 31.2, source: 'x' };
      const f1 = write(old);
      throwsInput(() => loadEnergyTable(f1), f1, 'dramPerByte');
      const oldSram = base();
      oldSram.sramPerByte = [{ kiB: 8, pJ: 1.25, source: 'x' }];
      const f3 = write(oldSram);
      throwsInput(() => loadEnergyTable(f3), f3, 'sramPerByte');
      const dup = base();
      dup.sram.points.push({ ...dup.sram.points[0], pJ: 11 });
      const f2 = write(dup);
      throwsInput(() => loadEnergyTable(f2), f2, 'at /sram/points/3/kiB', 'two SRAM points at 8 KiB');
    });

    it('sorts the SRAM points by capacity', () => {
      const doc = base();
      doc.sram.points.reverse();
      const t = loadEnergyTable(write(doc));
      expect(t.sram.points.map((p) => p.kiB)).to.deep.equal([8, 32, 1024]);
      relClose(sramAccessPJ(t, 100, 64), sramAccessPJ(horowitz, 100, 64));
    });
  });
});
