/**
 * Sparse and delta dataflows a systolic array could build (docs/design.md §5.4): independent rows pay per-row weight
 * reads, lock-step rows pay idle slots (exact union extents); the compactor and the event lists' metadata cost SRAM
 * traffic, time and energy; bad values of every new hw-model key are refused naming the key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  MODE_TABLE,
  computeLayer,
  energyOf,
  engineFor,
  gemmOf,
  layerActivityCounter,
  listBits,
  listFillers,
  loadHwModel,
  parseHwModelJson,
  statisticalFolds,
  storedShare,
  traceFoldModels,
  validateLayer,
  withSystolic,
  zeroActions,
  type EventStats,
  type FoldModel,
  type HwModel,
  type RowSync,
  type SystolicMapping,
  type SystolicSpec,
} from '../../sim/index.js';
import { naiveIm2col } from '../support/im2col.js';
import { throwsInput } from '../support/input-error.js';
import { smallConvLayers } from '../support/layer-arb.js';
import { simActivity, simTopology } from '../support/sim.js';
import { pattern, sizes, small, workOf } from '../support/small-net.js';
import { loadTopology } from '../../sim/topology.js';
import { HW_MODELS_DIR } from '../../sim/paths.js';

const OPTS = { seed: 11, numRuns: 150 };
const WIDTHS = { ifmap: 8 / 64, filter: 8 / 64, ofmap: 8 / 64, psum: 32 / 64 };

/** A layer, one frame of levels (many zeros), an array and the skipping options. */
const caseArb = smallConvLayers(6, 3).chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  return fc.record({
    l: fc.constant(l),
    frame: fc.array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: n, maxLength: n }),
    rows: fc.integer({ min: 1, max: 6 }),
    cols: fc.integer({ min: 1, max: 6 }),
    mapping: fc.constantFrom<SystolicMapping>('scalesim', 'depthwise-channels'),
    skipW: fc.boolean(),
    wd: fc.double({ min: 0.05, max: 1, noNaN: true }),
  });
});

type Case = { l: ReturnType<typeof validateLayer>; frame: number[]; rows: number; cols: number; mapping: SystolicMapping; skipW: boolean };

const osArray = (c: Case, rowSync: RowSync) => ({
  rows: c.rows,
  cols: c.cols,
  dataflow: 'os' as const,
  mapping: c.mapping,
  rowSync,
  skipZeroActivations: true,
  skipZeroWeights: c.skipW,
});

const sparseEvents = (c: Case): EventStats => layerActivityCounter(c.l)(Float64Array.from(c.frame)).sparse!;

describe('sparse dataflows: independent vs lock-step rows (os)', () => {
  it('property: independent rows never cost fewer weight reads than lock-step at equal work, and never take more cycles', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const ev = sparseEvents(c);
        const g = gemmOf(c.l);
        const wd = c.skipW ? 0.5 : 1;
        const run = (s: RowSync) => computeLayer(g, osArray(c, s), traceFoldModels(c.l, osArray(c, s))(ev, wd), WIDTHS);
        const ind = run('independent'),
          lock = run('lockstep');
        expect(ind.computeCycles).to.be.at.most(lock.computeCycles);
        expect(ind.effective).to.be.closeTo(lock.effective, 1e-9);
        // Equal work: the same events, dense weights, one group per fold (depthwise-channels broadcasts to idle groups' columns).
        if (!c.skipW && c.mapping === 'scalesim') {
          expect(ind.edges.filterReads).to.be.at.least(lock.edges.filterReads);
          expect(ind.words.filterReads).to.be.at.least(lock.words.filterReads);
          // Both gather exactly the events their rows meet: the same ifmap reads.
          expect(ind.edges.ifmapReads).to.equal(lock.edges.ifmapReads);
        }
        // Lock-step rows step together: every PE of a fold takes every step (idle ones are gated slots).
        expect(lock.issued).to.be.at.least(ind.issued - 1e-9);
      }),
      OPTS,
    );
  });

  it('property: a lock-step fold lasts as many steps as the union of its rows’ (and groups’) event positions, by brute force', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const ev = sparseEvents(c);
        const hw = osArray(c, 'lockstep');
        const im = naiveIm2col(
          c.l,
          Uint8Array.from(c.frame, (v) => (v !== 0 ? 1 : 0)),
        );
        const model = traceFoldModels(c.l, { ...hw, skipZeroWeights: false })(ev, 1);
        const seen: { group: number; span: number; rowStart: number; rows: number; extent: number }[] = [];
        const spy: FoldModel = {
          fold(m, t, out) {
            model.fold(m, t, out);
            seen.push({ group: t.group, span: t.groupSpan ?? 1, rowStart: t.rowStart, rows: t.rows, extent: out.extent });
          },
        };
        computeLayer(gemmOf(c.l), hw, spy, WIDTHS);
        expect(seen.length).to.be.greaterThan(0);
        for (const f of seen) {
          const union = new Set<number>();
          for (let g = f.group; g < f.group + f.span; g++)
            for (let m = f.rowStart; m < f.rowStart + f.rows; m++) im[g]![m]!.forEach((x, k) => x && union.add(k));
          expect(f.extent).to.equal(union.size);
        }
      }),
      OPTS,
    );
  });

  it('statistical folds by hand: 4×2 array, M 4, K 10, N 2, density 0.5', () => {
    const g = { M: 4, K: 10, N: 2, groups: 1 };
    const folds = statisticalFolds({ actDensity: 0.5, weightDensity: 1, skipZeroActivations: true, skipZeroWeights: false });
    const ind = computeLayer(g, { rows: 4, cols: 2, dataflow: 'os', rowSync: 'independent' }, folds, WIDTHS);
    const lock = computeLayer(g, { rows: 4, cols: 2, dataflow: 'os', rowSync: 'lockstep' }, folds, WIDTHS);
    // independent: ⌈10 · 0.5⌉ steps; 4 rows × 5 row-steps each read their own 2 weights
    expect(ind.computeCycles).to.equal(4 + 2 - 2 + 5 - 1);
    expect(ind.edges.filterReads).to.equal(4 * 5 * 2);
    expect(ind.words.filterReads).to.equal(4 * 5);
    // lock-step: a step is kept when any of the 4 rows has an event: ⌈10 · (1 − 0.5⁴)⌉ = 10; one broadcast per column per step
    expect(lock.computeCycles).to.equal(4 + 2 - 2 + 10 - 1);
    expect(lock.edges.filterReads).to.equal(10 * 2);
    expect(lock.words.filterReads).to.equal(10);
    expect(lock.issued).to.equal(4 * 2 * 10 * (1 - 0.5 ** 4)); // expected slots: every PE at every kept step
    // both gather each row's events only
    expect(ind.edges.ifmapReads).to.equal(4 * 10 * 0.5);
    expect(lock.edges.ifmapReads).to.equal(4 * 10 * 0.5);
  });

  it('dense mode is the same whatever rowSync (SCALE-Sim’s cycles and edges), and an absent key on os is independent', () => {
    const base = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
    const tiny = loadTopology('tiny');
    const of = (rowSync: RowSync | undefined, mode: 'dense' | 'all') =>
      simTopology(tiny, withSystolic(base, { rowSync }), { mode, actDensity: 0.4, deltaDensity: 0.2 }).layers;
    expect(of('lockstep', 'dense')).to.deep.equal(of('independent', 'dense'));
    expect(of(undefined, 'all')).to.deep.equal(of('independent', 'all'));
    // with skipping the variants differ: lock-step takes longer, independent reads more weights
    const ind = of('independent', 'all').filter((r) => r.mode === 'delta');
    const lock = of('lockstep', 'all').filter((r) => r.mode === 'delta');
    const total = (rs: typeof ind, f: (r: (typeof ind)[number]) => number) => rs.reduce((s, r) => s + f(r), 0);
    expect(total(lock, (r) => r.computeCycles)).to.be.greaterThan(total(ind, (r) => r.computeCycles));
    expect(total(ind, (r) => r.actions.sram.filter.reads)).to.be.greaterThan(total(lock, (r) => r.actions.sram.filter.reads));
  });
});

describe('sparse dataflows: event lists (compactor and metadata)', () => {
  // A dense layer of 16 inputs, events at 0, 5 and 15.
  const fc16 = validateLayer({
    name: 'fc16',
    op: 'dense',
    input: [16],
    output: [4],
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
  });
  const levels = new Float64Array(16);
  levels[0] = 3;
  levels[5] = 1;
  levels[15] = 2;
  const ev = layerActivityCounter(fc16)(levels).sparse!;
  const base = withSystolic(loadHwModel('zero-skip-32x32') as HwModel & SystolicSpec, {
    rows: 4,
    cols: 4,
    skipZeroWeights: false,
    compactor: { lanes: 5 },
  });

  it('list sizes by hand: bitmap 16 + 3 × 8 bits; 2-bit coordinates need 3 fillers (gaps 0, 4, 9 over runs of 4)', () => {
    expect(listFillers({ kind: 'bitmap' }, 16, ev)).to.equal(0);
    expect(listBits({ kind: 'bitmap' }, 16, ev, 8)).to.equal(16 + 3 * 8);
    expect(listFillers({ kind: 'coordinates', indexBits: 2 }, 16, ev)).to.equal(0 + 1 + 2);
    expect(listBits({ kind: 'coordinates', indexBits: 2 }, 16, ev, 8)).to.equal(6 * (8 + 2));
    expect(listBits({ kind: 'coordinates', indexBits: 4 }, 16, ev, 8)).to.equal(3 * (8 + 4));
    // expected events: q = (1 − d)^L per event, the mean of ⌊G / L⌋ for geometric gaps
    const f = listFillers({ kind: 'coordinates', indexBits: 1 }, 100, { density: 0.5 });
    expect(f).to.be.closeTo((50 * 0.25) / 0.75, 1e-12);
    expect(listBits({ kind: 'coordinates', indexBits: 1 }, 100, { density: 0.5 }, 8)).to.be.closeTo((50 + f) * 9, 1e-9);
    // DRAM: stored as the list when smaller than dense (128 bits), else dense
    expect(storedShare(base, fc16, ev)).to.equal(40 / 128);
    expect(storedShare(withSystolic(base, { sparseFormat: { kind: 'coordinates', indexBits: 2 } }), fc16, ev)).to.equal(60 / 128);
    expect(storedShare(base, fc16, { density: 1 })).to.equal(1);
    expect(storedShare(withSystolic(base, { skipZeroActivations: false }), fc16, ev)).to.equal(1);
  });

  it('the engine charges the compactor (zero tests, cycles, list writes) and the gather’s metadata by hand', () => {
    const step = (hw: typeof base) => engineFor(hw).layer(fc16, hw, MODE_TABLE.sparse)(ev, 1, undefined);
    const b = step(base);
    expect(b.actions.zeroTests).to.equal(16);
    expect(b.compactorCycles).to.equal(Math.ceil(16 / 5));
    // list written: 40 bits; gathered: 3 events × 8 bits + the fold's bitmap of its 16 inputs (one row, K = 16)
    expect(b.actions.sram.ifmap.writeBytes).to.equal(5);
    expect(b.actions.sram.ifmap.writes).to.equal(1);
    expect(b.actions.sram.ifmap.readBytes).to.equal(3 + 2);
    expect(b.actions.sram.ifmap.reads).to.equal(1 + 1);
    const c = step(withSystolic(base, { sparseFormat: { kind: 'coordinates', indexBits: 2 } }));
    expect(c.actions.sram.ifmap.writeBytes).to.equal(60 / 8);
    expect(c.actions.sram.ifmap.readBytes).to.equal((3 * 10) / 8);
    expect(c.actions.sram.ifmap.reads).to.equal(1);
    // independent rows: one row of 3 events, each reading its 4 weights (one 64-bit word)
    expect(b.actions.sram.filter.readBytes).to.equal(3 * 4);
    expect(b.actions.sram.filter.reads).to.equal(3);
    // dense mode builds no list
    const d = engineFor(base).layer(fc16, base, MODE_TABLE.dense)(null, 1, undefined);
    expect(d.actions.zeroTests).to.equal(0);
    expect(d.compactorCycles ?? 0).to.equal(0);
  });

  it('zero tests cost the table’s zeroDetect energy; a narrow compactor bounds a layer', () => {
    const a = zeroActions();
    a.zeroTests = 10;
    expect(energyOf(base, a, 0).computePJ).to.be.closeTo(10 * base.energyTable.actions.zeroDetect.pJ, 1e-12);
    // a 1×1 conv of 256 inputs on a 16×4 array: at most 16 + 18 compute cycles, 256 for a one-lane compactor
    const pw = validateLayer({ ...small[0]!, name: 'pw', input: [4, 4, 16], output: [4, 4, 4], kernel: [1, 1], padding: [0, 0, 0, 0] });
    const slow = withSystolic(base, { rows: 16, compactor: { lanes: 1 } });
    const res = simActivity(workOf([pw], [[pattern(256, 1)]]), slow, { mode: 'sparse' });
    const r = res.layers.find((x) => x.mode === 'sparse')!;
    expect(r.compactorCycles).to.equal(256);
    expect(r.computeCycles).to.be.lessThan(256);
    expect(r.bound).to.equal('compactor');
    expect(r.cycles).to.equal(256 + (slow.layerOverheadCycles ?? 0));
  });

  it('activations that spill between layers move as the consumer’s event list; the network input arrives dense', () => {
    const frame = sizes.map((n) => pattern(n, 3));
    // tiny activation buffers: every layer spills; a large filter buffer keeps the weights resident
    const hw = withSystolic(base, { memories: { ifmap: { kiB: 0.01 }, ofmap: { kiB: 0.01 }, filter: { kiB: 1024 } } });
    const act = workOf(small, [frame]);
    const res = simActivity(act, hw, { mode: 'sparse' });
    const rows = res.layers.filter((r) => r.mode === 'sparse');
    small.forEach((l, i) => {
      const reuse = engineFor(hw).dramReuse(l, hw);
      const ev = act.frames[0]![i]!.sparse!;
      const next = act.frames[0]![i + 1]?.sparse;
      expect(rows[i]!.actions.dram.readBytes, l.name).to.be.closeTo(reuse.actsIn * (i === 0 ? 1 : storedShare(hw, l, ev)), 1e-9);
      const out = next ? storedShare(hw, small[i + 1]!, next) : 1;
      expect(rows[i]!.actions.dram.writeBytes, l.name).to.be.closeTo(reuse.actsOut * out, 1e-9);
    });
    expect(storedShare(hw, small[1]!, act.frames[0]![1]!.sparse!)).to.be.lessThan(1);
  });
});

describe('sparse dataflows: bad hw-model keys name the key', () => {
  const file = join(HW_MODELS_DIR, 'delta-32x32.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const parse = (patch: Record<string, unknown>) => parseHwModelJson(JSON.stringify({ ...doc, ...patch }), 'bad.json');
  const cases: [string, Record<string, unknown>, string][] = [
    ['rowSync not an enum value', { rowSync: 'sometimes' }, '/rowSync'],
    ['rowSync independent on ws', { rowSync: 'independent', dataflow: 'ws' }, '/rowSync'],
    ['rowSync independent on is', { rowSync: 'independent', dataflow: 'is' }, '/rowSync'],
    ['compactor lanes 0', { compactor: { lanes: 0 } }, '/compactor/lanes'],
    ['compactor lanes fractional', { compactor: { lanes: 2.5 } }, '/compactor/lanes'],
    ['compactor without lanes', { compactor: {} }, '/compactor'],
    ['compactor with an unknown key', { compactor: { lanes: 4, width: 2 } }, '/compactor'],
    ['compactor without activation skipping', { compactor: { lanes: 4 }, skipZeroActivations: false }, '/compactor'],
    ['sparseFormat of an unknown kind', { sparseFormat: { kind: 'rle' } }, '/sparseFormat'],
    ['sparseFormat coordinates without indexBits', { sparseFormat: { kind: 'coordinates' } }, '/sparseFormat'],
    ['sparseFormat coordinates indexBits 0', { sparseFormat: { kind: 'coordinates', indexBits: 0 } }, '/sparseFormat/indexBits'],
    ['sparseFormat bitmap with indexBits', { sparseFormat: { kind: 'bitmap', indexBits: 4 } }, '/sparseFormat'],
    ['sparseFormat not an object', { sparseFormat: 'bitmap' }, '/sparseFormat'],
    ['sparseFormat without activation skipping', { sparseFormat: { kind: 'bitmap' }, skipZeroActivations: false }, '/sparseFormat'],
  ];
  for (const [what, patch, pointer] of cases)
    it(`${what} ⇒ an InputError at ${pointer}`, () => {
      throwsInput(() => parse(patch), 'bad.json', pointer);
    });

  it('good values load: lockstep on ws, coordinates, a compactor', () => {
    const hw = parse({ rowSync: 'lockstep', compactor: { lanes: 8 }, sparseFormat: { kind: 'coordinates', indexBits: 4 } });
    expect(hw.kind === 'systolic' && hw.rowSync).to.equal('lockstep');
    expect(parse({ rowSync: 'lockstep', dataflow: 'ws' }).kind).to.equal('systolic');
    const lines = engineFor(hw).describe(hw).details.join('\n');
    expect(lines).to.match(/rows: lock-step/);
    expect(lines).to.match(/compactor: 8 lanes/);
    expect(lines).to.match(/4-bit relative coordinates/);
  });
});
