/**
 * Trace-driven work statistics and engines against brute force on small random traces, and the
 * limits: identical frames ⇒ no delta work after frame 0; all-zero input ⇒ only overheads.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  coreLoad,
  eventsPerKTile,
  gemmOf,
  layerActivityCounter,
  loadHwModel,
  mapGemm,
  traceFoldModels,
  validateLayer,
  type EventSpec,
  type HwModel,
  type SystolicSpec,
} from '../../sim/index.js';
import { frameStatsCounter } from '../../traces/stats.js';
import { naiveIm2col } from '../support/im2col.js';
import { smallConvLayers } from '../support/layer-arb.js';
import { simActivity } from '../support/sim.js';
import { pattern, sizes, small, workOf } from '../support/small-net.js';

const layerArb = smallConvLayers(8, 3);

/** A layer and 3 frames of small levels (many zeros, some repeated values so deltas are sparse too). */
const caseArb = layerArb.chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  const frame = fc.array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: n, maxLength: n });
  return fc.record({ l: fc.constant(l), frames: fc.array(frame, { minLength: 3, maxLength: 3 }) });
});

/** Events of each frame by brute force: non-zero levels, and levels that differ from the previous frame (frame 0 vs zeros). */
function naiveEvents(frames: number[][]): { sparse: Uint8Array[]; delta: Uint8Array[] } {
  return {
    sparse: frames.map((f) => Uint8Array.from(f, (v) => (v !== 0 ? 1 : 0))),
    delta: frames.map((f, t) => Uint8Array.from(f, (v, i) => (v !== (t === 0 ? 0 : frames[t - 1]![i]!) ? 1 : 0))),
  };
}

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);
const OPTS = { seed: 7, numRuns: 150 };

describe('trace work statistics equal brute force', () => {
  it('effective MACs, receptive-field counts and touched outputs (sparse and delta); fan-out sums equal traces/stats', () => {
    fc.assert(
      fc.property(caseArb, ({ l, frames }) => {
        const count = layerActivityCounter(l);
        const stats = frameStatsCounter(l);
        const naive = naiveEvents(frames);
        const N = gemmOf(l).N;
        frames.forEach((f, t) => {
          const fw = count(Float64Array.from(f));
          const st = stats(f);
          for (const kind of ['sparse', 'delta'] as const) {
            const w = fw[kind]!;
            const cols = naiveIm2col(l, naive[kind][t]!);
            const rf = cols.flatMap((g) => g.map((row) => sum(row)));
            expect(Array.from(w.rf)).to.deep.equal(rf);
            expect(sum(w.fanout) * N, 'effective MACs').to.equal(sum(rf) * N);
            expect(sum(w.touched), 'touched').to.equal(rf.filter((n) => n > 0).length);
            expect(sum(w.events)).to.equal(sum(naive[kind][t]!));
          }
          expect(sum(fw.sparse!.fanout) * N).to.equal(st.fanoutNonZero);
          expect(sum(fw.delta!.fanout) * N).to.equal(st.fanoutNonZeroDeltas);
          expect(fw.temporalSparsity).to.be.closeTo(1 - st.nonZeroDeltas / st.elements, 1e-12);
        });
      }),
      OPTS,
    );
  });

  it('byte frames (uint8 / int8 views into one chunk buffer, as the reader yields them): word scans and per-word tallies equal brute force', () => {
    // Channels per group up to 8, so that whole 32-bit words lie in one cell (cin = 4, 8) or straddle cells.
    const byteCase = fc
      .record({ l: layerArb, cin: fc.constantFrom(1, 2, 3, 4, 8), signed: fc.boolean(), threshold: fc.constantFrom(0, 0.5, 1, 2) })
      .map(({ l, cin, signed, threshold }) => {
        const C = cin * l.groups;
        return {
          l: validateLayer({ ...l, input: [l.input[0]!, l.input[1]!, C], output: [l.output[0]!, l.output[1]!, l.output[2]!] }),
          signed,
          threshold,
        };
      })
      .chain((c) => {
        const n = c.l.input.reduce((a, b) => a * b, 1);
        const level = c.signed ? fc.constantFrom(0, 0, 0, 1, -2, 3, -128) : fc.constantFrom(0, 0, 0, 1, 2, 3, 255);
        return fc.record({
          c: fc.constant(c),
          frames: fc.array(fc.array(level, { minLength: n, maxLength: n }), { minLength: 4, maxLength: 4 }),
        });
      });
    fc.assert(
      fc.property(byteCase, ({ c: { l, signed, threshold }, frames }) => {
        const n = frames[0]!.length;
        const stride = Math.ceil(n / 4) * 4; // frames at 4-byte-aligned offsets of one buffer, like a reader's chunk
        const Kind = signed ? Int8Array : Uint8Array;
        const chunk = new Kind(stride * frames.length);
        frames.forEach((f, t) => chunk.set(f, t * stride));
        const count = layerActivityCounter(l, { threshold });
        const ref = new Float64Array(n); // the delta reference moves only where an event is sent
        frames.forEach((f, t) => {
          const fw = count(chunk.subarray(t * stride, t * stride + n));
          const delta = Uint8Array.from(f, (v, i) => (Math.abs(v - ref[i]!) > threshold ? 1 : 0));
          delta.forEach((e, i) => e && (ref[i] = f[i]!));
          const w = fw.delta!;
          const rf = naiveIm2col(l, delta).flatMap((g) => g.map((row) => sum(row)));
          expect(Array.from(w.rf), `frame ${t}`).to.deep.equal(rf);
          expect(sum(w.touched), 'touched').to.equal(rf.filter((k) => k > 0).length);
          expect(Array.from(w.idx)).to.deep.equal([...delta.keys()].filter((i) => delta[i]));
          expect(fw.temporalSparsity).to.equal(1 - sum(delta) / n);
          expect(fw.spatialSparsity).to.equal(1 - f.filter((v) => v !== 0).length / n);
          expect(Array.from(fw.sparse!.rf)).to.deep.equal(
            naiveIm2col(
              l,
              Uint8Array.from(f, (v) => +(v !== 0)),
            ).flatMap((g) => g.map((row) => sum(row))),
          );
        });
      }),
      OPTS,
    );
  });

  it('per-fold extents equal a per-PE brute force (os, ws, is; any array shape; with and without activation skipping)', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('os', 'ws', 'is' as const),
        fc.boolean(),
        ({ l, frames }, rows, cols, dataflow, skip) => {
          const fw = layerActivityCounter(l)(Float64Array.from(frames[1]!));
          const w = fw.sparse!;
          const hw = { rows, cols, dataflow, skipZeroActivations: skip, skipZeroWeights: false };
          const model = traceFoldModels(l, hw)(w, 1);
          const g = gemmOf(l);
          const mg = mapGemm(g, dataflow);
          const im = naiveIm2col(l, naiveEvents(frames).sparse[1]!);
          for (let group = 0; group < g.groups; group++)
            for (let r0 = 0; r0 < mg.Sr; r0 += rows)
              for (let c0 = 0; c0 < mg.Sc; c0 += cols) {
                const tile = { group, rowStart: r0, rows: Math.min(rows, mg.Sr - r0), colStart: c0, cols: Math.min(cols, mg.Sc - c0) };
                const got = { extent: 0, issued: 0, effective: 0, rowSteps: 0 };
                model.fold(mg, tile, got);
                const A = im[group]!; // [m][k]
                let want: number,
                  eff = 0;
                if (dataflow === 'os') {
                  // PE row = output m: steps = events in its receptive field (or K); fold = slowest row.
                  const per = A.slice(r0, r0 + tile.rows).map((row) => sum(row));
                  want = skip ? Math.max(...per) : g.K;
                  eff = sum(per) * tile.cols;
                } else if (dataflow === 'ws') {
                  // step = output m, vector = its K-slice [r0, r0+rows): skipped when all zero.
                  const slices = A.map((row) => sum(row.slice(r0, r0 + tile.rows)));
                  want = skip ? slices.filter((n) => n > 0).length : g.M;
                  eff = sum(slices) * tile.cols;
                } else {
                  // stationary tile K[r0..] × M[c0..]; a fold without any event has no work.
                  const n = sum(A.slice(c0, c0 + tile.cols).map((row) => sum(row.slice(r0, r0 + tile.rows))));
                  want = skip && n === 0 ? 0 : g.N;
                  eff = n * g.N;
                }
                expect(got.extent, `${dataflow} fold g${group} r${r0} c${c0}`).to.equal(want);
                expect(got.effective).to.equal(eff);
              }
        },
      ),
      OPTS,
    );
  });

  it('eventsPerKTile with one tile per K is the receptive-field count', () => {
    fc.assert(
      fc.property(caseArb, ({ l, frames }) => {
        const w = layerActivityCounter(l)(Float64Array.from(frames[0]!)).sparse!;
        const { counts, tiles } = eventsPerKTile(l, w, gemmOf(l).K);
        expect(tiles).to.equal(1);
        expect(Array.from(counts)).to.deep.equal(Array.from(w.rf));
      }),
      OPTS,
    );
  });

  it('event engine: per-core synaptic ops, events and cycles equal a brute-force deal of channels to cores', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), ({ l, frames }, cores, ops) => {
        const count = layerActivityCounter(l);
        const w = frames.map((f) => count(Float64Array.from(f)))[2]!.delta!;
        const hw = { cores, synOpsPerCyclePerCore: ops, eventOverheadCycles: 3, neuronUpdateCycles: 2 };
        const got = coreLoad(l, hw, w, 1, false);
        const im = naiveIm2col(l, naiveEvents(frames).delta[2]!);
        const OC = l.output[2]!,
          N = gemmOf(l).N,
          C = l.input[2]!,
          cin = C / l.groups;
        const ev = naiveEvents(frames).delta[2]!;
        const syn = new Array<number>(cores).fill(0),
          evs = new Array<number>(cores).fill(0),
          upd = new Array<number>(cores).fill(0);
        for (let j = 0; j < cores; j++) {
          const groups = new Set<number>();
          for (let co = j; co < OC; co += cores) {
            const g = Math.floor(co / N);
            groups.add(g);
            syn[j]! += sum(im[g]!.map((row) => sum(row)));
            upd[j]! += im[g]!.filter((row) => sum(row) > 0).length;
          }
          for (const g of groups) for (let i = 0; i < ev.length; i++) if (ev[i] && Math.floor((i % C) / cin) === g) evs[j]!++;
        }
        const cyc = syn.map((s, j) => Math.ceil(s / ops) + 3 * evs[j]! + 2 * upd[j]!);
        expect(got.synOps).to.equal(sum(syn));
        expect(got.events).to.equal(sum(evs));
        expect(got.neuronUpdates).to.equal(sum(upd));
        expect(got.cycles).to.equal(Math.max(...cyc));
      }),
      OPTS,
    );
  });
});

/** TraceActivity from in-memory frames (no files): layers × frames of levels. */
const systolic = ['delta-32x32'].map(loadHwModel);
const event = loadHwModel('seneca-like') as HwModel & EventSpec;

describe('trace engines: limits', () => {
  for (const hw of [...systolic, event])
    it(`${hw.name}: identical frames ⇒ zero delta work after frame 0 (only overheads)`, () => {
      const frame = sizes.map((n) => pattern(n, 1));
      const res = simActivity(workOf(small, [frame, frame, frame]), hw, { mode: 'delta' });
      const later = res.layers.filter((r) => r.frame! > 0 && r.mode === 'delta');
      expect(later).to.have.length(2 * small.length);
      for (const r of later) {
        expect(r.actions.effectiveMacs).to.equal(0);
        expect(r.computeCycles).to.equal(0);
        expect(r.actions.neuronUpdates).to.equal(0);
        expect(r.actions.events).to.equal(0);
        expect(r.actions.macsFull + r.actions.macsGated + r.actions.synOps).to.equal(0);
        expect(r.foldsRun).to.equal(0);
      }
      const key = res.layers.filter((r) => r.frame === 0 && r.mode === 'delta');
      expect(key.reduce((s, r) => s + r.actions.effectiveMacs, 0)).to.be.greaterThan(0);
      // what remains: previous-level reads, leakage, the network input from DRAM
      const f1 = [...res.frameRows].find((f) => f.frame === 1 && f.mode === 'delta')!;
      expect(f1.energy.totalPJ).to.be.greaterThan(0);
      // compute energy = every MAC skipped at the table's skip cost, and (an array that skips activations) the
      // compactor's zero test of every input, which finds no event: nothing else
      const skippedPJ = hw.energyTable.actions.macSkipped.pJ;
      const zeroTests = later.filter((r) => r.frame === 1).reduce((s, r) => s + r.actions.zeroTests, 0);
      expect(zeroTests).to.equal(hw.kind === 'systolic' && hw.skipZeroActivations ? sizes.reduce((a, b) => a + b, 0) : 0);
      expect(f1.energy.computePJ).to.be.closeTo(f1.macs * skippedPJ + zeroTests * hw.energyTable.actions.zeroDetect.pJ, 1e-6);
    });

  for (const hw of [...systolic, event])
    it(`${hw.name}: all-zero input ⇒ only overheads in sparse and delta mode, every frame`, () => {
      const zero = sizes.map((n) => new Array<number>(n).fill(0));
      const res = simActivity(workOf(small, [zero, zero]), hw, { mode: 'all' });
      for (const r of res.layers.filter((x) => x.mode !== 'dense')) {
        expect(r.actions.effectiveMacs, `${r.mode} ${r.layer}`).to.equal(0);
        expect(r.actions.macsFull).to.equal(0);
        // the delta key frame evaluates every output once (its bias level): an event core spends neuron-update cycles on it
        const keyFrame = r.mode === 'delta' && r.frame === 0;
        const outputs = small.find((l) => l.name === r.layer)!.output.reduce((a, b) => a * b, 1);
        if (keyFrame) expect(r.actions.neuronUpdates).to.equal(outputs);
        else expect(r.computeCycles, `${r.mode} frame ${r.frame} ${r.layer}`).to.equal(0);
      }
      for (const f of [...res.frameRows].filter((x) => x.mode === 'sparse' || (x.mode === 'delta' && x.frame > 0)))
        expect(f.computeCycles).to.equal(0);
    });

  it('delta state traffic comes from the real touched outputs and changed inputs', () => {
    const a = sizes.map((n) => pattern(n, 1));
    const b = a.map((f) => f.slice());
    b[0]![5] = 3; // one input change in c1 (8×8×2): touches the 3×3 neighbourhood of (0, 2) ⇒ 2×3 positions × 4 channels
    const hw = systolic[0]! as HwModel & SystolicSpec;
    const res = simActivity(workOf(small, [a, b]), hw, { mode: 'delta' });
    const c1 = res.layers.find((r) => r.frame === 1 && r.layer === 'c1')!;
    expect(c1.actions.neuronUpdates).to.equal(6 * 4);
    const acc = (6 * 4 * hw.precisions.accumulatorBits) / 8;
    const s = c1.actions.sram.state;
    // accumulators + the touched outputs' last levels (compare) + every network input's previous level (state fits: nothing spilled)
    expect(s.readBytes).to.equal(acc + 6 * 4 + 128);
    expect(s.writeBytes).to.equal(acc + 1); // accumulators + the one changed level
    // a later layer receives its input deltas as events: it reads no previous level per input
    const dw = res.layers.find((r) => r.frame === 1 && r.layer === 'dw')!;
    expect(dw.actions.sram.state.readBytes).to.equal(
      (dw.actions.neuronUpdates * (hw.precisions.accumulatorBits + hw.precisions.activationBits)) / 8,
    );
  });

  it('dense mode does not depend on the data and equals the same frame every time', () => {
    const res = simActivity(workOf(small, [sizes.map((n) => pattern(n, 1)), sizes.map((n) => pattern(n, 2))]), systolic[0]!, {
      mode: 'dense',
    });
    const [f0, f1] = res.frameRows;
    expect(f0!.cycles).to.equal(f1!.cycles);
    expect(res.modes[0]!.latencyUs.p50).to.equal(res.modes[0]!.latencyUs.max);
  });
});
