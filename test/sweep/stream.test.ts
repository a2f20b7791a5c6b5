/**
 * Trace sweeps stream: a batch reads the trace once per threshold and simulates all its points on a
 * frame before reading the next, so what a sweep holds does not grow with the frames. Checked without
 * measuring RSS: a stream that spoils each frame as soon as the next one is read still gives the
 * gathered replay's rows, the simulations keep no per-frame rows, and batches are bounded.
 */
import { expect } from 'chai';
import { loadHwModel, startSimulation, traceActivityStream, traceWorkload, type ActivityOptions } from '../../sim/index.js';
import type { EventStats, FrameActivity } from '../../sim/activity.js';
import { batchesOf, MAX_BATCH, parseSet, pointRunner, prepareSweep, runBatch, thresholdOf, workerBatches } from '../../sim/sweep/index.js';
import { openTrace, type Trace } from '../../traces/reader.js';

const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;
const arch = loadHwModel('delta-32x32');
const job = prepareSweep({
  trace: openTrace(TINY),
  hwModel: arch,
  axes: ['threshold=0,2,8', 'rows=8,32', 'memories.state.kiB=1,1024'].map(parseSet),
  mode: 'all',
  fps: 30,
});

/** A copy of a frame's typed arrays (the real stream yields views the next frame overwrites). */
const copyFrame = (fa: FrameActivity<EventStats>): FrameActivity<EventStats> =>
  fa.map((l) => ({
    ...l,
    ...(l.levelBits ? { levelBits: l.levelBits.slice() } : {}),
    ...Object.fromEntries(
      (['sparse', 'delta'] as const).flatMap((k) => {
        const e = l[k];
        return e
          ? [[k, { events: e.events.slice(), fanout: e.fanout.slice(), touched: e.touched.slice(), rf: e.rf.slice(), idx: e.idx.slice() }]]
          : [];
      }),
    ),
  }));

/** Overwrite every array of a frame with nonsense (NaN counts, out-of-range indices): whoever reads it later gets different numbers. */
function spoil(fa: FrameActivity<EventStats>): void {
  for (const l of fa) {
    l.levelBits?.fill(1e9);
    l.spatialSparsity = Number.NaN;
    l.temporalSparsity = Number.NaN;
    for (const e of [l.sparse, l.delta])
      if (e) {
        for (const a of [e.events, e.fanout, e.touched]) a.fill(Number.NaN);
        e.rf.fill(7);
        e.idx.fill(0xffffffff);
      }
  }
}

describe('trace sweeps stream the trace', function () {
  this.timeout(120000);

  it('a batch streams once per threshold; no frame is read after the next one: rows equal the gathered replay', () => {
    const calls: (number | undefined)[] = [];
    let resident = 0;
    let maxResident = 0;
    // Frames handed out and not yet spoiled; each is spoiled when the next is read (or the pass ends).
    const spy = function* (t: Trace, o: ActivityOptions = {}): Generator<FrameActivity<EventStats>, void, undefined> {
      calls.push(o.threshold);
      let last: FrameActivity<EventStats> | undefined;
      for (const fa of traceActivityStream(t, o)) {
        if (last) {
          spoil(last);
          resident--;
        }
        last = copyFrame(fa);
        maxResident = Math.max(maxResident, ++resident);
        yield last;
      }
      if (last) {
        spoil(last);
        resident--;
      }
    };
    const points = Array.from({ length: job.meta.points }, (_, i) => i);
    const rows = runBatch(job, points, spy);
    expect(calls).to.deep.equal([0, 2, 8]);
    expect(maxResident).to.equal(1);
    const replay = pointRunner(job);
    expect(rows).to.deep.equal(points.map((p) => replay(p)));
    // The spoiling is seen: a runner that kept frames would not have matched.
    const kept: FrameActivity<EventStats>[] = [];
    const keeper = function* (t: Trace, o: ActivityOptions = {}) {
      for (const fa of spy(t, o)) {
        kept.push(fa);
        yield fa;
      }
    };
    runBatch(job, [0], keeper);
    expect(kept[0]![0]!.spatialSparsity).to.be.NaN;
  });

  it("a point's simulation keeps no per-frame rows, only its sums and latencies", () => {
    const trace = openTrace(TINY);
    const w = traceWorkload(trace, { kinds: ['sparse', 'delta'] });
    const sim = startSimulation(w, arch, { mode: 'all', fps: 30, frameRows: false });
    for (const fa of traceActivityStream(trace, { kinds: sim.kinds })) sim.add(fa);
    const res = sim.result();
    expect(res.frames).to.equal(8);
    expect(res.frameRows.length).to.equal(0);
    expect(res.modes.map((m) => m.mode)).to.deep.equal(['dense', 'sparse', 'delta']);
  });

  it('batches: one threshold each, at most the given size, every point once', () => {
    const points = [11, 0, 5, 3, 8, 1, 2, 4, 6, 7, 9, 10];
    const batches = batchesOf(job, points, 3);
    expect(batches.flat().sort((a, b) => a - b)).to.deep.equal([...Array(12).keys()]);
    for (const b of batches) {
      expect(b.length).to.be.at.most(3);
      expect(new Set(b.map((p) => thresholdOf(job, p))).size).to.equal(1);
    }
    expect(batches).to.have.length(6); // 3 thresholds × 4 points each, in batches of ≤ 3
    expect(MAX_BATCH).to.be.at.least(1);
  });

  it('workers get whole families: points that share fold statistics are one pass, never split over idle workers', () => {
    const sweep = (arch: string, axes: string[]) =>
      prepareSweep({ trace: openTrace(TINY), hwModel: loadHwModel(arch), axes: axes.map(parseSet), mode: 'all', fps: 30 });
    // Bandwidth and columns: one family (same rows and dataflow): one batch, whatever the workers.
    const bw = sweep('delta-32x32', ['memories.dram.GBps=1,2,4,8', 'cols=16,32']);
    expect(workerBatches(bw, [...Array(8).keys()], 4)).to.deep.equal([[0, 1, 2, 3, 4, 5, 6, 7]]);
    // 3 bandwidths × 2 rows values (the last axis fastest: point p has rows index p % 2): a family per rows value.
    const rows = sweep('delta-32x32', ['memories.dram.GBps=1,2,4', 'rows=8,16']);
    const b = workerBatches(rows, [...Array(6).keys()], 4);
    expect(b).to.have.length(2);
    for (const batch of b) expect(new Set(batch.map((p) => p % 2)).size, JSON.stringify(b)).to.equal(1);
    expect(b.flat().sort((x, y) => x - y)).to.deep.equal([...Array(6).keys()]);
    // One worker: both families in one batch. An event engine shares nothing: as many pieces as workers.
    expect(workerBatches(rows, [...Array(6).keys()], 1)).to.have.length(1);
    const ev = sweep('seneca-like', ['memories.dram.GBps=1,2,4,8']);
    expect(workerBatches(ev, [0, 1, 2, 3], 2)).to.deep.equal([
      [0, 2],
      [1, 3],
    ]);
    // Past MAX_BATCH a family is cut into batches of MAX_BATCH.
    const big = sweep('delta-32x32', [`memories.dram.GBps=${Array.from({ length: MAX_BATCH + 2 }, (_, i) => i + 1).join(',')}`]);
    expect(workerBatches(big, [...Array(MAX_BATCH + 2).keys()], 4).map((x) => x.length)).to.deep.equal([MAX_BATCH, 2]);
  });
});
