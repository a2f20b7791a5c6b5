/**
 * The depthwise-channels mapping of grouped layers (hw-model `mapping`, docs/design.md §5.4) against a
 * brute-force per-PE schedule; for groups = 1 it is the SCALE-Sim mapping exactly; utilisation, mapping
 * efficiency and the low-utilisation list; a bad `mapping` value is an error naming the key.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  LAYER_COLUMNS,
  LOW_UTILISATION,
  computeLayer,
  denseFolds,
  foldGeometry,
  gemmOf,
  layerActivityCounter,
  layerMacs,
  layerRow,
  loadHwModel,
  loadTopology,
  lowUtilisationLine,
  mapGemm,
  parseHwModelJson,
  statisticalFolds,
  traceFoldModels,
  validateLayer,
  withSystolic,
  type ArrayShape,
  type ComputeResult,
  type Dataflow,
  type EdgeWidths,
  type FoldLoad,
  type FoldModel,
  type FoldTile,
  type Gemm,
  type HwModel,
  type Layer,
  type SystolicMapping,
  type SystolicSpec,
} from '../../sim/index.js';
import { convOutputSize } from '../../traces/layer.js';
import { naiveIm2col } from '../support/im2col.js';
import { throwsInput } from '../support/input-error.js';
import { simTopology } from '../support/sim.js';

const OPTS = { seed: 15, numRuns: 120 };
const DATAFLOWS: Dataflow[] = ['os', 'ws', 'is'];
const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

/** One MAC of the layer: output (g, m, n) += ifmap (g, m, k) · weight (g, k, n). */
interface Mac {
  g: number;
  m: number;
  n: number;
  k: number;
}

/**
 * The per-PE schedule of a mapping, written out: which MAC every PE does at every step of every fold. Rows,
 * columns and steps are items of the GEMM; on depthwise-channels the columns list every group's items
 * (group-major), on scalesim one group's per pass.
 */
function schedule(g: Gemm, arr: ArrayShape, mapping: SystolicMapping) {
  const { M, K, N, groups } = g;
  const df = arr.dataflow;
  const packed = mapping === 'depthwise-channels';
  const perGroupCols = df === 'is' ? M : N;
  const rowItems = df === 'os' ? M : K;
  const steps = df === 'os' ? K : df === 'ws' ? M : N;
  const passes = packed ? 1 : groups;
  const colItems = packed ? groups * perGroupCols : perGroupCols;
  const folds: { pass: number; r0: number; c0: number; rows: number; cols: number }[] = [];
  for (let pass = 0; pass < passes; pass++)
    for (let r0 = 0; r0 < rowItems; r0 += arr.rows)
      for (let c0 = 0; c0 < colItems; c0 += arr.cols)
        folds.push({ pass, r0, c0, rows: Math.min(arr.rows, rowItems - r0), cols: Math.min(arr.cols, colItems - c0) });
  /** The MAC of PE (r, c) of a fold at step t. */
  const mac = (f: (typeof folds)[number], r: number, c: number, t: number): Mac => {
    const row = f.r0 + r,
      col = f.c0 + c;
    const grp = packed ? Math.floor(col / perGroupCols) : f.pass;
    const j = packed ? col % perGroupCols : col;
    if (df === 'os') return { g: grp, m: row, n: j, k: t };
    if (df === 'ws') return { g: grp, m: t, n: j, k: row };
    return { g: grp, m: j, n: t, k: row };
  };
  return { folds, steps, mac, rowItems };
}

const addr = {
  ifmap: (x: Mac) => `${x.g},${x.m},${x.k}`,
  filter: (x: Mac) => `${x.g},${x.k},${x.n}`,
  ofmap: (x: Mac) => `${x.g},${x.m},${x.n}`,
};
const ROLES = {
  os: { stationary: 'ofmap', west: 'ifmap', northSouth: 'filter', fill: (r: number, c: number) => r + c - 2 },
  ws: { stationary: 'filter', west: 'ifmap', northSouth: 'ofmap', fill: (r: number, c: number) => 2 * r + c - 2 },
  is: { stationary: 'ifmap', west: 'filter', northSouth: 'ofmap', fill: (r: number, c: number) => 2 * r + c - 2 },
} as const;

/**
 * The dense layer by brute force from the schedule: every MAC exactly once; a fold costs fill/drain + its steps;
 * per step, the west edge delivers each distinct operand a row's PEs need once (shared along the row only where
 * the PEs need the same element), the north/south edge one element per column; the stationary operand one per PE.
 */
function bruteDense(g: Gemm, arr: ArrayShape, mapping: SystolicMapping, widths: EdgeWidths): Omit<ComputeResult, 'foldsRun'> {
  const s = schedule(g, arr, mapping);
  const roles = ROLES[arr.dataflow];
  const partialSums = roles.northSouth === 'ofmap' && s.rowItems > arr.rows;
  const ratio = { ifmap: widths.ifmap, filter: widths.filter, ofmap: partialSums ? widths.psum : widths.ofmap };
  const count = new Map<string, number>();
  const edges = { ifmap: 0, filter: 0, ofmap: 0, psum: 0 };
  const words = { ifmap: 0, filter: 0, ofmap: 0, psum: 0 };
  let cycles = 0,
    macs = 0,
    used = 0,
    ifmapCovered = 0;
  for (const f of s.folds) {
    cycles += roles.fill(arr.rows, arr.cols) + s.steps;
    const pes = new Set<string>();
    const stationary = new Set<string>();
    for (let t = 0; t < s.steps; t++) {
      const west = new Set<string>(),
        ns = new Set<string>();
      for (let r = 0; r < f.rows; r++)
        for (let c = 0; c < f.cols; c++) {
          const x = s.mac(f, r, c, t);
          const key = `${x.g},${x.m},${x.n},${x.k}`;
          count.set(key, (count.get(key) ?? 0) + 1);
          macs++;
          pes.add(`${r},${c}`);
          west.add(`${r}|${addr[roles.west](x)}`);
          ns.add(`${c}|${addr[roles.northSouth](x)}`);
          stationary.add(`${r},${c}|${addr[roles.stationary](x)}`);
        }
      edges[roles.west] += west.size;
      words[roles.west] += Math.ceil(west.size * ratio[roles.west]);
      if (roles.west === 'ifmap') ifmapCovered += west.size;
      edges[roles.northSouth] += ns.size;
      words[roles.northSouth] += Math.ceil(ns.size * ratio[roles.northSouth]);
      if (partialSums && f.r0 > 0) {
        edges.psum += ns.size;
        words.psum += Math.ceil(ns.size * widths.psum);
      }
    }
    edges[roles.stationary] += stationary.size;
    if (roles.stationary === 'ifmap') ifmapCovered += stationary.size;
    words[roles.stationary] += Math.ceil(stationary.size * ratio[roles.stationary]);
    used += pes.size;
  }
  // The schedule computes the layer: every (g, m, n, k) MAC exactly once.
  expect(count.size).to.equal(g.groups * g.M * g.N * g.K);
  for (const n of count.values()) expect(n).to.equal(1);
  return {
    computeCycles: Math.max(0, cycles - 1),
    folds: s.folds.length,
    mappingEfficiency: used / (s.folds.length * arr.rows * arr.cols),
    issued: macs,
    effective: macs,
    edges: { ifmapReads: edges.ifmap, filterReads: edges.filter, ofmapWrites: edges.ofmap, psumReads: edges.psum },
    words: { ifmapReads: words.ifmap, filterReads: words.filter, ofmapWrites: words.ofmap, psumReads: words.psum },
    partialSums,
    ifmapCovered,
  };
}

const gemmArb = fc.record({
  M: fc.integer({ min: 1, max: 12 }),
  K: fc.integer({ min: 1, max: 10 }),
  N: fc.integer({ min: 1, max: 4 }),
  groups: fc.integer({ min: 1, max: 7 }),
});
const arrayArb = fc.record({
  rows: fc.integer({ min: 1, max: 7 }),
  cols: fc.integer({ min: 1, max: 9 }),
  dataflow: fc.constantFrom(...DATAFLOWS),
});
/** Bits per element over word bits (powers of two: exact in floating point). */
const ratioArb = fc.constantFrom(0.125, 0.25, 0.5, 1, 2);
const widthsArb = fc.record({ ifmap: ratioArb, filter: ratioArb, ofmap: ratioArb, psum: ratioArb });

describe('depthwise-channels mapping (dense) equals a brute-force per-PE schedule', () => {
  it('cycles, folds, MACs, edge accesses and words, mapping efficiency: random grouped GEMMs, os / ws / is, any array', () => {
    fc.assert(
      fc.property(gemmArb, arrayArb, widthsArb, (g, a, widths) => {
        for (const mapping of ['depthwise-channels', 'scalesim'] as const) {
          const arr = { ...a, mapping };
          const got = computeLayer(g, arr, denseFolds, widths);
          const { foldsRun, ...rest } = got;
          expect(rest, mapping).to.deep.equal(bruteDense(g, arr, mapping, widths));
          expect(foldsRun).to.equal(got.folds);
          expect(foldGeometry(g, arr)).to.deep.equal({ folds: got.folds, mappingEfficiency: got.mappingEfficiency });
        }
      }),
      OPTS,
    );
  });

  it('a depthwise layer: one fold serves up to `cols` channels; each PE gets its own input (reads = MACs on os)', () => {
    const g: Gemm = { M: 64, K: 9, N: 1, groups: 20 };
    const arr: ArrayShape = { rows: 8, cols: 8, dataflow: 'os', mapping: 'depthwise-channels' };
    const r = computeLayer(g, arr, denseFolds);
    // 8 row tiles × ⌈20/8⌉ = 3 column tiles, each 9 + 8 + 8 − 2 cycles; scalesim: 20 × 8 one-column folds.
    expect(r.folds).to.equal(24);
    expect(r.computeCycles).to.equal(24 * 23 - 1);
    expect(computeLayer(g, { ...arr, mapping: 'scalesim' }, denseFolds).computeCycles).to.equal(160 * 23 - 1);
    expect(r.edges.ifmapReads).to.equal(64 * 9 * 20);
    expect(r.edges.filterReads).to.equal(8 * (8 + 8 + 4) * 9);
    expect(r.mappingEfficiency).to.equal((64 * 20) / (24 * 64));
  });
});

// --- trace-driven ------------------------------------------------------------------------------

const layerArb = fc
  .record({
    H: fc.integer({ min: 1, max: 7 }),
    W: fc.integer({ min: 1, max: 7 }),
    cin: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 6 }),
    nPer: fc.integer({ min: 1, max: 2 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.tuple(fc.nat(1), fc.nat(1), fc.nat(1), fc.nat(1)),
  })
  .filter((p) => p.kh <= p.H + p.pad[0] + p.pad[1] && p.kw <= p.W + p.pad[2] + p.pad[3])
  .map(
    (p): Layer =>
      validateLayer({
        name: 'l',
        op: p.cin === 1 && p.nPer === 1 ? 'depthwise2d' : 'conv2d',
        input: [p.H, p.W, p.cin * p.groups],
        output: [
          convOutputSize(p.H, p.kh, p.sh, p.pad[0], p.pad[1], 1),
          convOutputSize(p.W, p.kw, p.sw, p.pad[2], p.pad[3], 1),
          p.nPer * p.groups,
        ],
        kernel: [p.kh, p.kw],
        stride: [p.sh, p.sw],
        padding: p.pad,
        dilation: [1, 1],
        groups: p.groups,
        weightBits: 8,
        weightDensity: 1,
      }),
  );
const caseArb = layerArb.chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  return fc.record({ l: fc.constant(l), frame: fc.array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: n, maxLength: n }) });
});

/** A fold model that records what computeLayer asks of another one, fold by fold. */
function recording(inner: FoldModel): FoldModel & { log: { tile: FoldTile; load: FoldLoad }[] } {
  const log: { tile: FoldTile; load: FoldLoad }[] = [];
  return {
    log,
    fold(m, t, out) {
      inner.fold(m, t, out);
      log.push({ tile: { ...t }, load: { ...out } });
    },
  };
}

describe('depthwise-channels mapping (trace-driven) equals a per-PE brute force', () => {
  it('per-fold extents, issued and effective MACs, and the layer cycles: real events, os / ws / is, with and without skipping', () => {
    fc.assert(
      fc.property(caseArb, arrayArb, fc.boolean(), fc.constantFrom(1, 0.5), ({ l, frame }, a, skip, wd) => {
        const arr: ArrayShape = { ...a, mapping: 'depthwise-channels' };
        const w = layerActivityCounter(l)(Float64Array.from(frame)).sparse!;
        const hw = { rows: a.rows, dataflow: a.dataflow, skipZeroActivations: skip, skipZeroWeights: false };
        const model = recording(traceFoldModels(l, hw)(w, wd));
        const g = gemmOf(l);
        const got = computeLayer(g, arr, model);
        const nz = naiveIm2col(
          l,
          Uint8Array.from(frame, (v) => (v !== 0 ? 1 : 0)),
        );
        const s = schedule(g, arr, 'depthwise-channels');
        expect(model.log.length).to.equal(s.folds.length);
        let cycles = 0;
        s.folds.forEach((f, i) => {
          const { tile, load } = model.log[i]!;
          expect([tile.rowStart, tile.rows, tile.colStart, tile.cols]).to.deep.equal([f.r0, f.rows, f.c0, f.cols]);
          // Every PE's own work: the MACs it would do at each of the fold's steps, kept where its input is an event.
          const pe: Mac[][][] = [];
          for (let r = 0; r < f.rows; r++) {
            pe.push([]);
            for (let c = 0; c < f.cols; c++) pe[r]!.push(Array.from({ length: s.steps }, (_, t) => s.mac(f, r, c, t)));
          }
          const ev = (x: Mac) => nz[x.g]![x.m]![x.k]!;
          const all = pe.flat();
          let extent: number, issued: number;
          const eff = sum(all.map((macs) => sum(macs.map(ev)))) * wd;
          if (a.dataflow === 'os') {
            // A PE steps through its own output's receptive-field events; the fold waits for the slowest PE.
            const own = all.map((macs) => (skip ? sum(macs.map(ev)) : macs.length));
            extent = Math.max(...own);
            issued = sum(own);
          } else if (a.dataflow === 'ws') {
            // Step t (one output) is skipped only when no PE of the fold has an event at it.
            extent = skip
              ? Array.from({ length: s.steps }, (_, t) => all.some((macs) => ev(macs[t]!) > 0)).filter(Boolean).length
              : s.steps;
            issued = f.rows * f.cols * extent;
          } else {
            // Inputs are stationary: a fold with no event in its tile has nothing to do.
            const any = all.some((macs) => ev(macs[0]!) > 0);
            extent = skip && !any ? 0 : s.steps;
            issued = f.rows * f.cols * extent;
          }
          const label = `${a.dataflow} fold ${i}`;
          expect(load.extent, label).to.equal(extent);
          expect(load.issued, label).to.equal(issued);
          expect(load.effective, label).to.be.closeTo(eff, 1e-9);
          if (extent > 0) cycles += ROLES[a.dataflow].fill(a.rows, a.cols) + extent;
        });
        expect(got.computeCycles).to.equal(Math.max(0, cycles - 1));
        expect(got.effective).to.be.closeTo(sum(nz.flat(2)) * g.N * wd, 1e-9);
      }),
      OPTS,
    );
  });

  it('statistical: on unpadded layers the expected vector-skipped steps (ws) are exact, rows × the tile groups per vector', () => {
    fc.assert(
      fc.property(
        layerArb.filter((l) => l.padding.every((p) => p === 0)),
        arrayArb,
        fc.constantFrom(0.1, 0.5, 0.9),
        (l, a, d) => {
          const arr: ArrayShape = { ...a, dataflow: 'ws', mapping: 'depthwise-channels' };
          const g = gemmOf(l);
          const model = recording(statisticalFolds({ actDensity: d, weightDensity: 1, skipZeroActivations: true, skipZeroWeights: false }));
          computeLayer(g, arr, model);
          const s = schedule(g, arr, 'depthwise-channels');
          const [, W, C] = l.input as [number, number, number];
          const OW = l.output[1]!;
          const cin = C / l.groups;
          s.folds.forEach((f, i) => {
            // Step t is kept unless every distinct input position its PEs read is zero: P = 1 − (1 − d)^|positions|.
            let expected = 0;
            for (let t = 0; t < s.steps; t++) {
              const pos = new Set<number>();
              for (let r = 0; r < f.rows; r++)
                for (let c = 0; c < f.cols; c++) {
                  const x = s.mac(f, r, c, t);
                  const ch = x.k % cin,
                    tap = (x.k - ch) / cin;
                  const y = Math.floor(x.m / OW) * l.stride[0] + Math.floor(tap / l.kernel[1]);
                  const xx = (x.m % OW) * l.stride[1] + (tap % l.kernel[1]);
                  pos.add((y * W + xx) * C + x.g * cin + ch);
                }
              expected += 1 - (1 - d) ** pos.size;
            }
            expect(model.log[i]!.load.issued).to.be.closeTo(f.rows * f.cols * expected, 1e-9);
          });
        },
      ),
      OPTS,
    );
  });
});

// --- groups = 1: the SCALE-Sim mapping exactly --------------------------------------------------

describe('depthwise-channels with groups = 1 is the SCALE-Sim mapping exactly', () => {
  it('dense, statistical and trace-driven fold models: every result field', () => {
    fc.assert(
      fc.property(
        caseArb.filter(({ l }) => l.groups === 1),
        arrayArb,
        widthsArb,
        fc.boolean(),
        fc.boolean(),
        ({ l, frame }, a, widths, skipA, skipW) => {
          const g = gemmOf(l);
          const w = layerActivityCounter(l)(Float64Array.from(frame)).sparse!;
          const hw = { rows: a.rows, dataflow: a.dataflow, skipZeroActivations: skipA, skipZeroWeights: skipW };
          const models = () => [
            denseFolds,
            statisticalFolds({ actDensity: 0.3, weightDensity: 0.6, skipZeroActivations: skipA, skipZeroWeights: skipW }),
            traceFoldModels(l, hw)(w, 0.6),
          ];
          const sc = models().map((m) => computeLayer(g, { ...a, mapping: 'scalesim' }, m, widths));
          const dc = models().map((m) => computeLayer(g, { ...a, mapping: 'depthwise-channels' }, m, widths));
          expect(dc).to.deep.equal(sc);
          expect(models().map((m) => computeLayer(g, a, m, widths))).to.deep.equal(sc);
          expect(mapGemm(g, a.dataflow, 'depthwise-channels')).to.deep.equal({ ...mapGemm(g, a.dataflow), packed: true });
        },
      ),
      OPTS,
    );
  });

  it('through simulate(): a network without grouped layers gives the same layers.csv rows and summary', () => {
    const tiny = loadTopology('tiny');
    expect(tiny.layers.every((l) => l.groups === 1)).to.equal(true);
    const base = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
    const a = simTopology(tiny, base, { mode: 'all', actDensity: 0.4, deltaDensity: 0.1 });
    const b = simTopology(tiny, withSystolic(base, { mapping: 'depthwise-channels' }), { mode: 'all', actDensity: 0.4, deltaDensity: 0.1 });
    expect(b.layers.map((r) => layerRow(r, base))).to.deep.equal(a.layers.map((r) => layerRow(r, base)));
    expect(b.modes).to.deep.equal(a.modes);
  });
});

// --- MobileNet-64: utilisation, mapping efficiency, warnings ------------------------------------

describe('utilisation and mapping efficiency (layers.csv, SimResult.lowUtilisation)', () => {
  const mobilenet = loadTopology('mobilenet-64');
  const dense = loadHwModel('dense-32x32') as HwModel & SystolicSpec;
  const run = (mapping: SystolicMapping) => simTopology(mobilenet, withSystolic(dense, { mapping }), { mode: 'dense' });
  const sc = run('scalesim');
  const dc = run('depthwise-channels');
  const col = (c: (typeof LAYER_COLUMNS)[number]) => LAYER_COLUMNS.indexOf(c);

  it('utilisation = effective MACs / (PEs × compute cycles); mapping efficiency: depthwise 1/32 on scalesim, full columns on depthwise-channels', () => {
    for (const res of [sc, dc])
      for (const r of res.layers) {
        const l = mobilenet.layers.find((x) => x.name === r.layer)!;
        expect(r.utilisation).to.equal(layerMacs(l) / (1024 * r.computeCycles));
        const row = layerRow(r, dense);
        expect(row[col('utilisation_pct')]).to.equal(Math.round(100 * r.utilisation! * 1000) / 1000);
        expect(row[col('mapping_efficiency_pct')]).to.equal(Math.round(100 * r.mappingEfficiency! * 1000) / 1000);
      }
    const dw = (res: typeof sc, name: string) => res.layers.find((r) => r.layer === name)!;
    // dw1: 32×32 outputs × 16 channels, K = 9. scalesim: 16 groups × 32 row tiles of one column; depthwise-channels: 32 folds of 16 columns.
    expect([dw(sc, 'dw1').computeCycles, dw(sc, 'dw1').mappingEfficiency]).to.deep.equal([16 * 32 * (9 + 62) - 1, 1 / 32]);
    expect([dw(dc, 'dw1').computeCycles, dw(dc, 'dw1').mappingEfficiency]).to.deep.equal([32 * (9 + 62) - 1, 0.5]);
    // dw3: 16×16 outputs × 64 channels: 8 row tiles × 2 column tiles, every PE mapped.
    expect([dw(dc, 'dw3').computeCycles, dw(dc, 'dw3').mappingEfficiency]).to.deep.equal([16 * (9 + 62) - 1, 1]);
    for (const name of ['dw1', 'dw2', 'dw3', 'dw4', 'dw5'])
      expect(dw(dc, name).computeCycles).to.be.lessThan(dw(sc, name).computeCycles / 7);
    // A depthwise-channels fold streams every PE its own input: the ifmap buffer's ports bound these layers.
    expect(dw(dc, 'dw3').bound).to.equal('ifmap');
  });

  it('lists the layers below 10 % (dense run), in layer order, with their share of the dense compute cycles', () => {
    const names = (res: typeof sc) => res.lowUtilisation!.map((u) => u.layer);
    expect(names(sc)).to.deep.equal(['conv1', 'dw1', 'dw2', 'dw3', 'dw4', 'dw5', 'fc']);
    expect(names(dc)).to.deep.equal(['conv1', 'dw1', 'fc']);
    const total = sum(sc.layers.map((r) => r.computeCycles));
    for (const u of sc.lowUtilisation!) {
      const r = sc.layers.find((x) => x.layer === u.layer)!;
      expect(u).to.deep.equal({
        layer: r.layer,
        utilisation: r.utilisation,
        mappingEfficiency: r.mappingEfficiency,
        cycleShare: r.computeCycles / total,
      });
      expect(u.utilisation).to.be.lessThan(LOW_UTILISATION);
    }
    for (const r of dc.layers) expect(names(dc).includes(r.layer)).to.equal(r.utilisation! < LOW_UTILISATION);
    expect(lowUtilisationLine(sc.lowUtilisation![1]!)).to.equal(
      'layer "dw1": 0.40 % utilisation of the PEs in dense mode (mapping efficiency 3.1 %), 28.1 % of the dense compute cycles',
    );
    // The same list whichever modes are reported (the dense reference always runs).
    const sparse = simTopology(mobilenet, withSystolic(loadHwModel('zero-skip-32x32') as HwModel & SystolicSpec, { mapping: 'scalesim' }), {
      mode: 'sparse',
    });
    expect(names(sparse)).to.deep.equal(names(sc));
  });

  it('an engine without a PE array has no utilisation: empty cells, no warnings', () => {
    const seneca = loadHwModel('seneca-like');
    const res = simTopology(mobilenet, seneca, { mode: 'dense' });
    expect(res.lowUtilisation).to.deep.equal([]);
    for (const r of res.layers) {
      expect([r.utilisation, r.mappingEfficiency]).to.deep.equal([null, null]);
      const row = layerRow(r, seneca);
      expect([row[col('utilisation_pct')], row[col('mapping_efficiency_pct')]]).to.deep.equal(['', '']);
    }
  });
});

describe('the `mapping` key of a systolic hw-model', () => {
  const shipped = JSON.parse(readFileSync(new URL('../../hw-models/dense-32x32.json', import.meta.url), 'utf8')) as object;
  const text = (mapping: unknown) => JSON.stringify({ ...shipped, mapping });
  it('accepts scalesim and depthwise-channels; absent is scalesim', () => {
    for (const m of ['scalesim', 'depthwise-channels'] as const) {
      const hw = parseHwModelJson(text(m), 'x.json') as HwModel & SystolicSpec;
      expect(hw.mapping).to.equal(m);
    }
    expect((loadHwModel('dense-32x32') as SystolicSpec).mapping).to.equal(undefined);
  });
  it('a bad value is an error naming the key and the values it may take', () => {
    for (const bad of ['depthwise', 1, null])
      throwsInput(() => parseHwModelJson(text(bad), 'x.json'), 'x.json', 'at /mapping', '"scalesim", "depthwise-channels"');
  });
});
