/**
 * The statistics a counter moves on by a frame's change list (a .deltas reader's: the sparse kind's map, sums,
 * receptive-field counts, touched outputs and entered / left lists, and the level-width histogram) equal the ones
 * counted from scratch, on random layers and random frame sequences; and the lazily listed sparse indices equal the
 * non-zero levels.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { layerActivityCounter, type EventStats, type LayerActivity } from '../../sim/activity.js';
import type { FoldModel } from '../../sim/fold-model.js';
import { computeLayer } from '../../sim/mapping.js';
import { traceFoldModels } from '../../sim/trace-fold-model.js';
import { gemmOf } from '../../sim/workload.js';
import { convOutputSize, layerOf } from '../../traces/layer.js';
import { completeLayer } from '../../traces/synthetic.js';
import { naiveIm2col } from '../support/im2col.js';
import { smallConvLayers } from '../support/layer-arb.js';
import { validateLayer, type Layer } from '../../traces/layer.js';

type Kind = 'int8' | 'uint8' | 'int16';
const make = (k: Kind, n: number): Int8Array | Uint8Array | Int16Array =>
  k === 'int8' ? new Int8Array(n) : k === 'uint8' ? new Uint8Array(n) : new Int16Array(n);
const range = (k: Kind): [number, number] => (k === 'int8' ? [-128, 127] : k === 'uint8' ? [0, 255] : [-32768, 32767]);

/** A layer, a level type and frames: frame 0 at a random density, each next one a random share of its levels changed. */
const caseArb = smallConvLayers(9, 2).chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  return fc.record({
    l: fc.constant(l),
    kind: fc.constantFrom<Kind>('int8', 'uint8', 'int16'),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    change: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    keyFrameEvery: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    signed: fc.boolean(),
    n: fc.constant(n),
  });
});

/** The frames, and each one's change list (increasing positions that differ from the frame before) and old levels. */
function framesOf(c: CaseValue) {
  const { kind, density, change, n } = c;
  let s = c.seed;
  const rnd = (): number => {
    s = (Math.imul(s, 48271) >>> 0) % 0x7fffffff;
    return s / 0x7fffffff;
  };
  const [lo, hi] = range(kind);
  // Small values mostly (many widths near 1 bit), a few extremes (the widest widths).
  const level = (): number => {
    const r = rnd();
    return r < 0.1 ? (rnd() < 0.5 ? lo : hi) : Math.max(lo, Math.min(hi, Math.round((rnd() - (lo < 0 ? 0.5 : 0)) * 20)));
  };
  const value = (d: number): number => (rnd() < d ? level() || 1 : 0);
  const frames = [make(kind, n)];
  for (let i = 0; i < n; i++) frames[0]![i] = value(density);
  const changes: { changed: Uint32Array; previous: Int8Array | Uint8Array | Int16Array }[] = [];
  for (const p of change) {
    const prev = frames.at(-1)!;
    const f = prev.slice();
    for (let i = 0; i < n; i++) if (rnd() < p) f[i] = value(rnd());
    const changed = Uint32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => f[i] !== prev[i]));
    const previous = make(kind, changed.length);
    changed.forEach((i, k) => {
      previous[k] = prev[i]!;
    });
    frames.push(f);
    changes.push({ changed, previous });
  }
  return { frames, changes };
}
type CaseValue = {
  l: Layer;
  kind: Kind;
  density: number;
  change: number[];
  seed: number;
  keyFrameEvery?: number;
  signed: boolean;
  n: number;
};

/** A plain copy of one kind's events (idx listed now: views are valid until the next frame). */
const plain = (w: EventStats | undefined) =>
  w && {
    events: Array.from(w.events),
    fanout: Array.from(w.fanout),
    touched: Array.from(w.touched),
    rf: Array.from(w.rf),
    idx: Array.from(w.idx),
    entered: w.changes ? Array.from(w.changes.entered) : null,
    left: w.changes ? Array.from(w.changes.left) : null,
  };
const plainFrame = (a: LayerActivity<EventStats>) => ({
  spatial: a.spatialSparsity,
  temporal: a.temporalSparsity,
  levelBits: a.levelBits && Array.from(a.levelBits),
  sparse: plain(a.sparse),
  delta: plain(a.delta),
});

describe('activity moved on by change lists equals activity counted from scratch', () => {
  it('sparse map, sums, receptive-field counts, touched, entered / left, idx; deltas; level widths (views and copies)', () => {
    fc.assert(
      fc.property(caseArb, fc.boolean(), (c, views) => {
        const { l, keyFrameEvery, signed } = c;
        const { frames, changes } = framesOf(c);
        const scratch = layerActivityCounter(l, { keyFrameEvery, signed, views: true });
        const byList = layerActivityCounter(l, { keyFrameEvery, signed, views, withChanges: true });
        frames.forEach((f, t) => {
          const want = plainFrame(scratch(f));
          const ch = t > 0 ? changes[t - 1]! : null;
          const got = plainFrame(byList(f, ch?.changed ?? null, ch?.previous ?? null));
          expect(got, `frame ${t}`).to.deep.equal(want);
        });
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('receptive-field counts hold all K events at the 8- and 16-bit boundaries (K = 255, 256), counted and by change lists', () => {
    for (const C of [255, 256]) {
      const l = validateLayer(layerOf(completeLayer({ name: 'k', op: 'conv2d', input: [2, 2, C], kernel: [1, 1], outChannels: 1 })));
      const n = 4 * C;
      const full = new Int16Array(n).fill(1);
      const rfOf = (a: LayerActivity<EventStats>) => [Array.from(a.sparse!.rf), Array.from(a.delta!.rf)];
      const want = [
        [C, C, C, C],
        [C, C, C, C],
      ];
      expect(rfOf(layerActivityCounter(l, { views: true })(full)), `K = ${C}`).to.deep.equal(want);
      const byList = layerActivityCounter(l, { views: true, withChanges: true });
      byList(new Int16Array(n));
      const all = Uint32Array.from({ length: n }, (_, i) => i);
      expect(rfOf(byList(full, all, new Int16Array(n))), `K = ${C}, by changes`).to.deep.equal(want);
    }
  });

  it('the sparse indices are listed on demand, again after another layer listed its own, and refused after their frame', () => {
    const l = smallLayer();
    const a = layerActivityCounter(l, { views: true });
    const b = layerActivityCounter(l, { views: true });
    const f0 = Int8Array.from([0, 3, 0, 0, 5, 0, 1, 0, 0]);
    const g0 = Int8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 7]);
    const wa = a(f0).sparse!;
    const wb = b(g0).sparse!;
    expect(Array.from(wa.idx)).to.deep.equal([1, 4, 6]);
    expect(Array.from(wb.idx)).to.deep.equal([0, 8]);
    expect(Array.from(wa.idx)).to.deep.equal([1, 4, 6]);
    expect(Array.from(wb.idx)).to.deep.equal([0, 8]);
    f0[0] = 1; // the frame's buffer moved on (a reader reuses it): its old statistics are stale
    expect(() => wa.idx).to.throw(/after their frame/);
  });
});

/** Layers with up to 24 channels per group: reductions of K > 32 (several words of step bits per row tile). */
const wideLayerArb = fc
  .record({
    H: fc.integer({ min: 1, max: 5 }),
    W: fc.integer({ min: 1, max: 5 }),
    cin: fc.integer({ min: 1, max: 24 }),
    groups: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 2 }),
    pad: fc.nat(1),
  })
  .filter((p) => p.k <= p.H + 2 * p.pad && p.k <= p.W + 2 * p.pad)
  .map((p) =>
    validateLayer({
      name: 'w',
      op: 'conv2d',
      input: [p.H, p.W, p.cin * p.groups],
      output: [convOutputSize(p.H, p.k, p.s, p.pad, p.pad, 1), convOutputSize(p.W, p.k, p.s, p.pad, p.pad, 1), 2 * p.groups],
      kernel: [p.k, p.k],
      stride: [p.s, p.s],
      padding: [p.pad, p.pad, p.pad, p.pad],
      dilation: [1, 1],
      groups: p.groups,
      weightBits: 8,
      weightDensity: 1,
    }),
  );

describe('lock-step os folds over a stream of frames', () => {
  it('extents, events and row steps equal brute-force unions frame after frame (sparse kept by changes, delta rebuilt)', () => {
    const WIDTHS = { ifmap: 8 / 64, filter: 8 / 64, ofmap: 8 / 64, psum: 32 / 64 };
    fc.assert(
      fc.property(
        wideLayerArb.chain((l) =>
          fc.record({
            l: fc.constant(l),
            frames: fc.array(
              fc.array(fc.constantFrom(0, 0, 0, 1, 2), {
                minLength: l.input.reduce((a, b) => a * b, 1),
                maxLength: l.input.reduce((a, b) => a * b, 1),
              }),
              {
                minLength: 1,
                maxLength: 4,
              },
            ),
            rows: fc.integer({ min: 1, max: 6 }),
            mapping: fc.constantFrom('scalesim' as const, 'depthwise-channels' as const),
          }),
        ),
        ({ l, frames, rows, mapping }) => {
          const hw = {
            rows,
            cols: 3,
            dataflow: 'os' as const,
            mapping,
            rowSync: 'lockstep' as const,
            skipZeroActivations: true,
            skipZeroWeights: false,
          };
          const count = layerActivityCounter(l, { views: true });
          const models = { sparse: traceFoldModels(l, hw), delta: traceFoldModels(l, hw) };
          frames.forEach((f, t) => {
            const fa = count(Float64Array.from(f));
            for (const kind of ['sparse', 'delta'] as const) {
              const events = Uint8Array.from(f, (v, i) => +(kind === 'sparse' ? v !== 0 : v !== (t === 0 ? 0 : frames[t - 1]![i]!)));
              const im = naiveIm2col(l, events);
              const model = models[kind](fa[kind]!, 1);
              const spy: FoldModel = {
                fold(m, tile, out) {
                  model.fold(m, tile, out);
                  const union = new Set<number>();
                  let n = 0;
                  for (let g = tile.group; g < tile.group + (tile.groupSpan ?? 1); g++)
                    for (let r = tile.rowStart; r < tile.rowStart + tile.rows; r++)
                      im[g]![r]!.forEach((x, k) => {
                        if (x) union.add(k);
                        n += x;
                      });
                  expect(out.extent, `frame ${t} ${kind}`).to.equal(union.size);
                  expect(out.rowSteps, `frame ${t} ${kind}`).to.equal(n);
                },
              };
              computeLayer(gemmOf(l), hw, spy, WIDTHS);
            }
          });
        },
      ),
      { seed: 5, numRuns: 200 },
    );
  });
});

function smallLayer(): Layer {
  return validateLayer({
    name: 'l',
    op: 'conv2d',
    input: [3, 3, 1],
    output: [3, 3, 1],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
  });
}
