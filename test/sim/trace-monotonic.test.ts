/**
 * Trace-driven runs: more PEs / cores, bandwidth or SRAM never make a result worse, with the
 * documented exceptions made explicit:
 * - systolic: a bigger array has a longer fill/drain skew per fold, so cycles may rise by at most
 *   foldsRun(bigger) · Δ(fill/drain) (as in monotonic.test.ts). With data-dependent extents there is
 *   a second effect: tile boundaries move with the array shape, so a cluster of work that sat in one
 *   fold can straddle two (work 0 0 5 5 0 0 over rows: 2 rows ⇒ one fold of 5, 3 rows ⇒ two of 5).
 *   When the bigger array's rows and columns are multiples of the smaller's, every big tile is a
 *   union of small tiles and the skew bound holds; the alignment effect is shown below;
 * - event: channels are dealt round-robin, so for a grouped layer (per-channel loads differ) one more
 *   core can put two heavy channels on one core; for groups = 1 (every channel the same load) more
 *   cores never slow a layer down.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  computeLayer,
  coreLoad,
  DATAFLOWS,
  gemmOf,
  layerOf,
  layerActivityCounter,
  loadHwModel,
  traceFoldModels,
  validateLayer,
  type EventSpec,
  type EventStats,
  type FrameActivity,
  type HwModel,
  type Memories,
  type SystolicSpec,
  type TraceActivity,
  withMemories,
} from '../../sim/index.js';
import { completeLayer, SYNTH_PRESETS, synthFrames } from '../../traces/synthetic.js';
import { simActivity } from '../support/sim.js';

/** The synthetic `tiny` preset (conv, depthwise, 1×1 conv, dense), 6 frames, in memory. */
function tinyWork(): TraceActivity {
  const drafts = SYNTH_PRESETS.tiny!.map(completeLayer);
  const layers = drafts.map((d) => validateLayer(layerOf(d)));
  const counters = layers.map((l) => layerActivityCounter(l));
  const frames: FrameActivity<EventStats>[] = [];
  for (const f of synthFrames(drafts, { seed: 3, frames: 6, density: 0.4, changeRate: 0.1, blobs: 2 }))
    frames.push(f.map((x, i) => counters[i]!(x)));
  return { model: 'tiny', fps: 30, threshold: 0, quantStep: null, layers, frames };
}
const work = tinyWork();
const delta = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
const seneca = loadHwModel('seneca-like') as HwModel & EventSpec;
const OPTS = { seed: 99, numRuns: 60 };

describe('trace-driven runs: more resources never make a result worse', () => {
  it('rows/cols × integer factors: folds never increase; cycles rise at most by the fill/drain skew (os/ws/is, skip on/off, every layer and frame)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('os', 'ws', 'is' as const),
        fc.boolean(),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (dataflow, skip, r, c, fr, fcol) => {
          const run = (rows: number, cols: number, l: (typeof work.layers)[number], w: FrameActivity<EventStats>[number]) =>
            computeLayer(
              gemmOf(l),
              { rows, cols, dataflow },
              traceFoldModels(l, { rows, dataflow, skipZeroActivations: skip, skipZeroWeights: false })(w.delta!, 1),
            );
          const skew = DATAFLOWS[dataflow].fillDrain(r * fr, c * fcol) - DATAFLOWS[dataflow].fillDrain(r, c);
          for (const fw of work.frames)
            work.layers.forEach((l, i) => {
              const small = run(r, c, l, fw[i]!);
              const big = run(r * fr, c * fcol, l, fw[i]!);
              expect(big.folds).to.be.at.most(small.folds);
              expect(big.foldsRun).to.be.at.most(small.foldsRun);
              expect(big.computeCycles).to.be.at.most(small.computeCycles + big.foldsRun * skew);
            });
        },
      ),
      OPTS,
    );
  });

  it('the alignment exception is real: work 0 0 5 5 0 0 over output rows runs one fold on 2 rows, two on 3', () => {
    const l = validateLayer({
      name: 'fc',
      op: 'conv2d',
      input: [1, 6, 5],
      output: [1, 6, 1],
      kernel: [1, 1],
      stride: [1, 1],
      padding: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
      weightBits: 8,
      weightDensity: 1,
    });
    const frame = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const w = layerActivityCounter(l)(frame).sparse!;
    const foldsRun = (rows: number) =>
      computeLayer(
        gemmOf(l),
        { rows, cols: 1, dataflow: 'os' },
        traceFoldModels(l, { rows, dataflow: 'os', skipZeroActivations: true, skipZeroWeights: false })(w, 1),
      ).foldsRun;
    expect(foldsRun(2)).to.equal(1);
    expect(foldsRun(3)).to.equal(2);
  });

  it('more cores or synaptic ops per cycle: an event layer with groups = 1 is never slower', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.nat(40), fc.integer({ min: 1, max: 4 }), fc.nat(3), (p, dp, ops, dops) => {
        const hw = (cores: number, s: number) => ({ ...seneca, cores, synOpsPerCyclePerCore: s });
        for (const fw of work.frames)
          work.layers.forEach((l, i) => {
            if (l.groups !== 1) return;
            const lo = coreLoad(l, hw(p, ops), fw[i]!.delta!, 1, false);
            expect(coreLoad(l, hw(p + dp, ops), fw[i]!.delta!, 1, false).cycles).to.be.at.most(lo.cycles);
            expect(coreLoad(l, hw(p, ops + dops), fw[i]!.delta!, 1, false).cycles).to.be.at.most(lo.cycles);
          });
      }),
      OPTS,
    );
  });

  it('the round-robin exception is real: a depthwise layer with two heavy channels is slower on 3 cores than on 2', () => {
    const l = validateLayer({
      name: 'dw',
      op: 'depthwise2d',
      input: [4, 4, 4],
      output: [4, 4, 4],
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1, 1, 1],
      dilation: [1, 1],
      groups: 4,
      weightBits: 8,
      weightDensity: 1,
    });
    const w = { events: [10, 0, 0, 10], fanout: [90, 0, 0, 90], touched: [16, 0, 0, 16] };
    const cyc = (cores: number) => coreLoad(l, { ...seneca, cores }, w, 1, false).cycles;
    expect(cyc(3)).to.be.greaterThan(cyc(2));
  });

  // Operand buffers re-fetch as SCALE-Sim's do, which is not monotone in their size (test/sim/monotonic.test.ts).
  // More state SRAM moves state accesses from DRAM to the state SRAM's ports: DRAM bytes never rise, but time can, when
  // those ports serve scattered accesses more slowly than DRAM moves their bytes.
  it('more DRAM bandwidth: DRAM bytes, stalls and latency (mean and max) never rise; more state SRAM: DRAM bytes never rise (systolic and event, all modes)', () => {
    const bufArb = fc.constantFrom<keyof Memories>('state', 'dram');
    fc.assert(
      fc.property(
        fc.constantFrom<HwModel>(delta, seneca),
        bufArb,
        fc.double({ min: 0.01, max: 64, noNaN: true }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        (base, key, v, k) => {
          const patched = (x: number): HwModel =>
            ({ ...base, memories: withMemories(base.memories, key === 'dram' ? { dram: { GBps: x } } : { [key]: { kiB: x } }) }) as HwModel;
          const lo = simActivity(work, patched(v), { mode: 'all' });
          const hi = simActivity(work, patched(v * k), { mode: 'all' });
          lo.modes.forEach((s, j) => {
            const h = hi.modes[j]!;
            expect(h.dramBytes).to.be.at.most(s.dramBytes + 1e-9);
            if (key !== 'dram') return;
            expect(h.stallCycles).to.be.at.most(s.stallCycles + 1e-9);
            expect(h.latencyUs.mean).to.be.at.most(s.latencyUs.mean + 1e-9);
            expect(h.latencyUs.max).to.be.at.most(s.latencyUs.max + 1e-9);
          });
        },
      ),
      { ...OPTS, numRuns: 40 },
    );
  });
});
