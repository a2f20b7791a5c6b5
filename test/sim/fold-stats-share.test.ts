/**
 * Simulations fed the same frames (a sweep's points) share the per-frame statistics their fold models compute from the
 * events and the rows alone (FoldStatsCache): fed frame by frame together, each gives exactly what it gives alone,
 * whatever its hw-model varies, and points that differ only in keys the statistics do not depend on hold one set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { loadHwModel, startSimulation, traceActivityStream, traceWorkload, type HwModel } from '../../sim/index.js';
import { parseSet, pointConfig, specOf } from '../../sim/sweep/index.js';
import { FoldStatsCache } from '../../sim/trace-fold-model.js';
import { openTrace, type Trace } from '../../traces/reader.js';
import { completeLayer } from '../../traces/synthetic.js';
import { writeTrace } from '../../traces/writer.js';

const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;
const base = loadHwModel('delta-32x32');

/** A depthwise 3×3 layer and the 1×1 convolution after it, 4 frames of int8 levels from a fixed generator. */
async function writeDepthwiseTrace(dir: string): Promise<void> {
  const int8 = { dtype: 'int8' as const, signed: true };
  const layers = [
    completeLayer({ name: 'dw', op: 'depthwise2d', input: [6, 6, 8], ...int8 }),
    completeLayer({ name: 'pw', op: 'conv2d', input: [6, 6, 8], kernel: [1, 1], outChannels: 16, ...int8 }),
  ];
  let s = 7;
  const rnd = () => (s = (Math.imul(s, 48271) >>> 0) % 0x7fffffff) / 0x7fffffff;
  const frame = (n: number) => Int8Array.from({ length: n }, () => (rnd() < 0.4 ? Math.floor(rnd() * 5) - 1 : 0));
  await writeTrace(dir, { model: { name: 'dw' }, frames: 4, fps: 10, layers }, (w) => {
    for (let t = 0; t < 4; t++) for (let i = 0; i < layers.length; i++) w.appendFrame(i, frame(288));
  });
}

/** The base hw-model with `patch` (sweep keys) applied. */
function variant(patch: Record<string, string | number | boolean | undefined>): HwModel {
  const keys = Object.keys(patch).filter((k) => patch[k] !== undefined);
  const axes = keys.map((k) => parseSet(`${k}=${patch[k]}`));
  return pointConfig(
    specOf(base),
    base.source,
    axes,
    keys.map((k) => patch[k]!),
  ).hw;
}

/** Simulate `hws` on the trace, each frame handed to every simulation before the next is read; their results. */
function together(trace: Trace, hws: HwModel[], foldStats?: FoldStatsCache) {
  const workload = traceWorkload(trace, { threshold: 2 });
  const sims = hws.map((hw) => startSimulation(workload, hw, { mode: 'all', fps: 30, ...(foldStats ? { foldStats } : {}) }));
  for (const fa of traceActivityStream(trace, { threshold: 2, kinds: ['sparse', 'delta'] })) for (const s of sims) s.add(fa);
  return sims.map((s) => s.result());
}

// Each fold model's path: os with lock-step or independent rows, ws, is (rowSync is an os key).
const flows = [{ dataflow: 'os', rowSync: 'lockstep' }, { dataflow: 'os', rowSync: 'independent' }, { dataflow: 'ws' }, { dataflow: 'is' }];
const patchArb = fc
  .tuple(
    fc.constantFrom(...flows),
    fc.record(
      {
        rows: fc.constantFrom(4, 8, 32),
        cols: fc.constantFrom(4, 32),
        skipZeroActivations: fc.boolean(),
        skipZeroWeights: fc.boolean(),
        mapping: fc.constantFrom('scalesim', 'depthwise-channels'),
        'memories.dram.GBps': fc.constantFrom(1, 12.8),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([flow, rest]) => ({ ...flow, ...rest }));

describe('fold statistics shared by simulations of the same frames', function () {
  this.timeout(120000);
  let dir: string;
  const traces: Trace[] = [openTrace(TINY)];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-fold-share-'));
    await writeDepthwiseTrace(join(dir, 'dw'));
    traces.push(openTrace(join(dir, 'dw')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('each of several hw-models fed together with one cache gives what it gives alone (a conv net; depthwise layers)', () => {
    for (const trace of traces)
      fc.assert(
        fc.property(fc.array(patchArb, { minLength: 2, maxLength: 4 }), (patches) => {
          const hws = patches.map(variant);
          const shared = together(trace, hws, new FoldStatsCache());
          hws.forEach((hw, i) => expect(shared[i]).to.deep.equal(together(trace, [hw])[0], JSON.stringify(patches[i])));
        }),
        { numRuns: 12, seed: 16 },
      );
  });

  it('points that differ only in columns, bandwidth or buffers hold one set of statistics; other rows add their own', () => {
    const trace = traces[0]!;
    const sizeFor = (hws: HwModel[]) => {
      const cache = new FoldStatsCache();
      together(trace, hws, cache);
      return cache.size;
    };
    const one = sizeFor([variant({ rows: 8 })]);
    // Both kinds of events (sparse, delta) of every layer: each layer's os lock-step statistics, per kind.
    expect(one).to.equal(2 * trace.layers.length);
    const others = [
      variant({ rows: 8, cols: 4 }),
      variant({ rows: 8, 'memories.dram.GBps': 1 }),
      variant({ rows: 8, 'memories.ifmap.kiB': 1 }),
    ];
    expect(sizeFor([variant({ rows: 8 }), ...others])).to.equal(one);
    expect(sizeFor([variant({ rows: 8 }), variant({ rows: 16 })])).to.equal(2 * one);
  });
});
