/**
 * The event engine (sim/engines/event.ts) against brute force: per-core loads for both partitions, the spatial cut,
 * the mesh's multicast hop counts; what the driver charges for its delta state (docs/design.md §5.6: the synaptic op
 * includes the accumulator's read-modify-write); and the new hw-model keys' errors.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  gemmOf,
  layerActivityCounter,
  loadHwModel,
  parseHwModelJson,
  simulate,
  sramAccessPJOf,
  stateCounts,
  noState,
  topologyWorkload,
  validateLayer,
  type EventSpec,
  type EventStats,
  type HwModel,
  type Layer,
  type SystolicSpec,
} from '../../sim/index.js';
import { eventLayer, spatialChannelCut, xyMulticastLinks, type EventLayoutSpec } from '../../sim/engines/event.js';
import { throwsInput } from '../support/input-error.js';
import { smallConvLayers } from '../support/layer-arb.js';
import { simActivity } from '../support/sim.js';
import { pattern, sizes, small, workOf } from '../support/small-net.js';

const layerArb = smallConvLayers(9, 4);

/** A layer and one frame of events (0/1 per input element, mostly 0). */
const caseArb = layerArb.chain((l) => {
  const n = l.input.reduce((a, b) => a * b, 1);
  return fc.record({ l: fc.constant(l), events: fc.array(fc.constantFrom(0, 0, 0, 1), { minLength: n, maxLength: n }) });
});

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);
const OPTS = { seed: 11, numRuns: 200 };
type Partition = 'channel' | 'spatial-channel';

/** Brute-force owner of neuron (y, x, c) of an OH×OW×OC map: round-robin channels, or the spatial cut's blocks and tiles. */
function ownerOf(OH: number, OW: number, OC: number, P: number, partition: Partition): (y: number, x: number, c: number) => number {
  if (partition === 'channel') return (_y, _x, c) => c % P;
  const { pc, ph, pw } = spatialChannelCut(OH, OW, OC, P);
  const part = (v: number, len: number, n: number) => {
    for (let i = 0; i < n; i++) if (v >= Math.floor((i * len) / n) && v < Math.floor(((i + 1) * len) / n)) return i;
    throw new Error('outside');
  };
  return (y, x, c) => (part(y, OH, ph) * pw + part(x, OW, pw)) * pc + part(c, OC, pc);
}

/** Input positions (rows or columns) an output reads along one axis, in bounds. */
function reads(o: number, In: number, k: number, s: number, pad: number, d: number): number[] {
  const r: number[] = [];
  for (let j = 0; j < k; j++) {
    const v = o * s + j * d - pad;
    if (v >= 0 && v < In) r.push(v);
  }
  return r;
}

/** Links of the union of XY routes (row first, then column) from src to each destination, enumerated link by link. */
function bruteLinks(src: number, dests: number[], cols: number): number {
  const links = new Set<string>();
  const at = (k: number) => [Math.floor(k / cols), k % cols] as const;
  const [r0, c0] = at(src);
  for (const d of dests) {
    const [r1, c1] = at(d);
    let r = r0,
      c = c0;
    while (c !== c1) {
      const n = c + Math.sign(c1 - c);
      links.add(`${r},${c}-${r},${n}`);
      c = n;
    }
    while (r !== r1) {
      const n = r + Math.sign(r1 - r);
      links.add(`${r},${c}-${n},${c}`);
      r = n;
    }
  }
  return links.size;
}

interface Brute {
  syn: number[];
  ev: number[];
  upd: number[];
  hops: number;
}

/**
 * Per-core loads by brute force: every output neuron's receptive-field events on its owner; every event delivered to
 * each core holding a channel of its group (spatial-channel: whose tile's input window, the rows and columns its outputs
 * read, holds the event); its hops = the links of the XY routes from its source neuron's owner to those cores.
 */
function brute(l: Layer, ev: number[], P: number, partition: Partition, meshCols: number, allOutputs: boolean, wd: number): Brute {
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW, OC] = l.output as [number, number, number];
  const cin = C / l.groups,
    N = OC / l.groups;
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [dh, dw] = l.dilation;
  const pt = l.padding[0],
    pl = l.padding[2];
  const own = ownerOf(OH, OW, OC, P, partition);
  const srcOwn = ownerOf(H, W, C, P, partition);
  const syn = new Array<number>(P).fill(0),
    upd = new Array<number>(P).fill(0),
    evs = new Array<number>(P).fill(0);
  // Each core's channels' groups and its input window (bounding box of what its outputs read).
  const groupsOf = Array.from({ length: P }, () => new Set<number>());
  const win = Array.from({ length: P }, () => ({ y0: Infinity, y1: -Infinity, x0: Infinity, x1: -Infinity }));
  for (let y = 0; y < OH; y++)
    for (let x = 0; x < OW; x++)
      for (let co = 0; co < OC; co++) {
        const k = own(y, x, co);
        const g = Math.floor(co / N);
        groupsOf[k]!.add(g);
        const ry = reads(y, H, kh, sh, pt, dh),
          rx = reads(x, W, kw, sw, pl, dw);
        // Bounding box of the tile's reads: its first output's first read to its last output's last read (clipped).
        const w = win[k]!;
        w.y0 = Math.min(w.y0, Math.max(0, y * sh - pt));
        w.y1 = Math.max(w.y1, Math.min(H - 1, y * sh - pt + (kh - 1) * dh));
        w.x0 = Math.min(w.x0, Math.max(0, x * sw - pl));
        w.x1 = Math.max(w.x1, Math.min(W - 1, x * sw - pl + (kw - 1) * dw));
        let n = 0;
        for (const iy of ry) for (const ix of rx) for (let c = g * cin; c < (g + 1) * cin; c++) n += ev[(iy * W + ix) * C + c]!;
        syn[k]! += n * wd;
        upd[k]! += allOutputs || n > 0 ? 1 : 0;
      }
  let hops = 0;
  for (let i = 0; i < ev.length; i++) {
    if (!ev[i]) continue;
    const c = i % C,
      p = Math.floor(i / C);
    const y = Math.floor(p / W),
      x = p % W;
    const g = Math.floor(c / cin);
    const dests: number[] = [];
    for (let k = 0; k < P; k++) {
      if (!groupsOf[k]!.has(g)) continue;
      const w = win[k]!;
      if (partition === 'spatial-channel' && !(w.y0 <= y && y <= w.y1 && w.x0 <= x && x <= w.x1)) continue;
      dests.push(k);
      evs[k]!++;
    }
    hops += bruteLinks(srcOwn(y, x, c), dests, meshCols);
  }
  return { syn, ev: evs, upd, hops };
}

const statsOf = (l: Layer, events: number[]): EventStats =>
  layerActivityCounter(l, { kinds: ['sparse'] })(Float64Array.from(events)).sparse!;

describe('event engine: partitions and loads equal brute force', () => {
  it('per-core synaptic ops, deliveries, neuron updates and mesh hops, both partitions; per-core sums equal the layer totals', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<Partition>('channel', 'spatial-channel'),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.constantFrom(1, 0.5),
        ({ l, events }, P, partition, meshCols, allOutputs, wd) => {
          const hw: EventLayoutSpec = {
            cores: P,
            synOpsPerCyclePerCore: 2,
            eventOverheadCycles: 3,
            neuronUpdateCycles: 1,
            partition,
            meshCols,
          };
          const w = statsOf(l, events);
          const got = eventLayer(l, hw).load(w, wd, allOutputs);
          const per = eventLayer(l, hw).perCore(); // the shared views of the last load
          const want = brute(l, events, P, partition, meshCols, allOutputs, wd);
          expect(Array.from(per.synOps), 'synaptic ops per core').to.deep.equal(want.syn);
          expect(Array.from(per.events), 'deliveries per core').to.deep.equal(want.ev);
          expect(Array.from(per.neuronUpdates), 'updates per core').to.deep.equal(want.upd);
          expect(got.nocHops, 'mesh hops').to.equal(want.hops);
          // the layer's totals: synaptic ops = Σ rf × N × wd; updates = touched × N (or every output); deliveries = Σ per core
          const N = gemmOf(l).N;
          const outputs = l.output.reduce((a, b) => a * b, 1);
          expect(got.synOps).to.equal(sum(w.rf) * N * wd);
          expect(sum(per.synOps)).to.equal(got.synOps);
          expect(got.neuronUpdates).to.equal(allOutputs ? outputs : sum(w.touched) * N);
          expect(sum(per.neuronUpdates)).to.equal(got.neuronUpdates);
          expect(sum(per.events)).to.equal(got.events);
          const cycles = want.syn.map((s, k) => Math.ceil(s / 2 - 1e-9) + 3 * want.ev[k]! + want.upd[k]!);
          expect(got.cycles).to.equal(Math.max(...cycles));
          expect(got.busyCores).to.equal(cycles.filter((c) => c > 0).length);
        },
      ),
      OPTS,
    );
  });

  it('the hop cache’s Map (beyond its array’s size) counts the same hops', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<Partition>('channel', 'spatial-channel'),
        ({ l, events }, P, partition) => {
          const hw: EventLayoutSpec = { cores: P, synOpsPerCyclePerCore: 1, eventOverheadCycles: 1, neuronUpdateCycles: 1, partition };
          const w = statsOf(l, events);
          const arrayHops = eventLayer(l, hw).load(w, 1, false);
          const mapHops = eventLayer(l, hw, { hopCacheEntries: 0 }).load(w, 1, false);
          expect(mapHops).to.deep.equal(arrayHops);
          expect(eventLayer(l, hw, { hopCacheEntries: 0 }).load(null, 1, true)).to.deep.equal(eventLayer(l, hw).load(null, 1, true));
        },
      ),
      { ...OPTS, numRuns: 100 },
    );
  });

  it('channel partition, groups = 1: every event goes to min(OC, cores) cores', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 12 }), ({ l, events }, P) => {
        fc.pre(l.groups === 1);
        const hw: EventLayoutSpec = {
          cores: P,
          synOpsPerCyclePerCore: 1,
          eventOverheadCycles: 1,
          neuronUpdateCycles: 1,
          partition: 'channel',
          nocHopsPerEvent: 2,
        };
        const got = eventLayer(l, hw).load(statsOf(l, events), 1, false);
        const n = sum(events);
        expect(got.events).to.equal(n * Math.min(P, l.output[2]!));
        expect(got.nocHops, 'flat hops').to.equal(2 * got.events);
      }),
      OPTS,
    );
  });

  it('expected events (a topology, and dense mode) spread as the real ones do: every input an event gives the same loads', () => {
    fc.assert(
      fc.property(
        layerArb,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<Partition>('channel', 'spatial-channel'),
        fc.integer({ min: 1, max: 5 }),
        (l, P, partition, meshCols) => {
          const hw: EventLayoutSpec = {
            cores: P,
            synOpsPerCyclePerCore: 1,
            eventOverheadCycles: 2,
            neuronUpdateCycles: 1,
            partition,
            meshCols,
          };
          const n = l.input.reduce((a, b) => a * b, 1);
          const el = eventLayer(l, hw);
          const real = el.load(statsOf(l, new Array<number>(n).fill(1)), 1, true);
          const realPer = el.perCore();
          const r = { syn: Array.from(realPer.synOps), ev: Array.from(realPer.events), upd: Array.from(realPer.neuronUpdates) };
          for (const e of [null, { density: 1 }]) {
            const exp = el.load(e, 1, true);
            const p = el.perCore();
            expect(exp).to.deep.equal(real);
            expect({ syn: Array.from(p.synOps), ev: Array.from(p.events), upd: Array.from(p.neuronUpdates) }).to.deep.equal(r);
          }
          // half the inputs expected: half the synaptic ops, deliveries and hops
          const half = el.load({ density: 0.5 }, 1, true);
          expect(half.synOps).to.equal(real.synOps / 2);
          expect(half.events).to.equal(real.events / 2);
          expect(half.nocHops).to.equal(real.nocHops / 2);
        },
      ),
      { ...OPTS, numRuns: 100 },
    );
  });
});

describe('event engine: the spatial-channel cut', () => {
  it('minimises the largest core’s neurons over every cut of the map into ≤ cores parts (brute force), channels first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 70 }),
        (OH, OW, OC, P) => {
          const { pc, ph, pw } = spatialChannelCut(OH, OW, OC, P);
          expect(pc * ph * pw).to.be.at.most(P);
          expect(pc <= OC && ph <= OH && pw <= OW).to.equal(true);
          const vol = (a: number, b: number, c: number) => Math.ceil(OC / a) * Math.ceil(OH / b) * Math.ceil(OW / c);
          let best = Infinity,
            bestPc = 0;
          for (let a = 1; a <= Math.min(OC, P); a++)
            for (let b = 1; b <= OH; b++)
              for (let c = 1; c <= OW; c++)
                if (a * b * c <= P) {
                  const v = vol(a, b, c);
                  if (v < best || (v === best && a > bestPc)) {
                    best = v;
                    bestPc = a;
                  }
                }
          expect(vol(pc, ph, pw)).to.equal(best);
          expect(pc, 'the most channel blocks among the best cuts').to.equal(bestPc);
        },
      ),
      OPTS,
    );
  });

  it('an 8-channel layer keeps all 64 cores busy when its map is large enough (round-robin channels: 8)', () => {
    const conv = (side: number) =>
      validateLayer({
        name: 'c8',
        op: 'conv2d',
        input: [side, side, 3],
        output: [side, side, 8],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1, 1, 1],
        dilation: [1, 1],
        groups: 1,
        weightBits: 8,
        weightDensity: 1,
      });
    const hw = (partition: Partition): EventLayoutSpec => ({
      cores: 64,
      synOpsPerCyclePerCore: 1,
      eventOverheadCycles: 4,
      neuronUpdateCycles: 2,
      partition,
    });
    // 2×2: 4 tiles × 8 blocks; 3×3: 72 neurons need 2 on some core, and 8 blocks × 6 tiles of ≤ 2 positions do it on 48.
    for (const [side, cores] of [
      [2, 32],
      [3, 48],
      [4, 64],
      [8, 64],
      [16, 64],
      [33, 64],
    ] as const) {
      const l = conv(side);
      const busy = (p: Partition) => eventLayer(l, hw(p)).load(null, 1, true).busyCores;
      expect(busy('channel'), `${side}×${side} channel`).to.equal(8);
      expect(busy('spatial-channel'), `${side}×${side} spatial-channel`).to.equal(cores);
    }
    // A frame's real events on one corner still reach only the tiles there: the busy cores follow the events.
    const l = conv(16);
    const ev = new Array<number>(16 * 16 * 3).fill(0);
    ev[0] = 1;
    const one = eventLayer(l, hw('spatial-channel')).load(statsOf(l, ev), 1, false);
    expect(one.busyCores).to.equal(8); // one tile × 8 channel blocks
    // and the dense layer is over 6× faster than with channels dealt round-robin (8× the cores, less the events
    // delivered to two or four tiles at their borders: 1,540 cycles against 9,932)
    const t = (p: Partition) => eventLayer(l, hw(p)).load(null, 1, true).cycles;
    expect(t('spatial-channel')).to.be.below(t('channel') / 6);
  });
});

describe('event engine: NoC hops on the mesh', () => {
  it('the XY multicast tree’s links equal the links of the XY routes enumerated one by one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (rows, cols, s, ds) => {
          const n = rows * cols;
          const src = s % n,
            dests = ds.map((d) => d % n);
          expect(xyMulticastLinks(src, dests, cols)).to.equal(bruteLinks(src, dests, cols));
        },
      ),
      OPTS,
    );
  });

  it('small cases by hand: a row, a column, a corner-to-corner multicast', () => {
    // 3×3 mesh: core 4 is the centre
    expect(xyMulticastLinks(4, [3, 5], 3)).to.equal(2);
    expect(xyMulticastLinks(4, [1, 7], 3)).to.equal(2);
    expect(xyMulticastLinks(0, [8], 3)).to.equal(4); // Manhattan distance
    expect(xyMulticastLinks(0, [2, 8, 6], 3)).to.equal(2 + 2 + 2 + 0); // row 0 to col 2, down col 2, down col 0
    expect(xyMulticastLinks(4, [4], 3)).to.equal(0);
    expect(xyMulticastLinks(4, [], 3)).to.equal(0);
  });
});

// ——— delta state: what the driver charges on an event hw-model ———

const seneca = loadHwModel('seneca-like') as HwModel & EventSpec;
const delta32 = loadHwModel('delta-32x32') as HwModel & SystolicSpec;

describe('event engine: delta state charged once (docs/design.md §5.6)', () => {
  // Frames that change a little: a key frame, then a few changed levels per layer.
  const frames = [0, 1, 2, 3].map((t) => sizes.map((n, i) => pattern(n, 1).map((v, j) => ((j * 11 + i) % 9 === t ? (v + 1) % 4 : v))));
  const work = workOf(small, frames);

  /** The documented state rule, per layer-frame, from the frame's own events (delta-state.ts stateCounts). */
  function rule(hw: HwModel, l: Layer, li: number, t: number, accumulatorWrites: boolean) {
    const s = stateCounts(noState(), l, work.frames[t]![li]!.delta!, t === 0);
    const p = hw.precisions,
      wb = hw.memories.state.wordBits;
    const scattered = (n: number, bits: number) => n * Math.ceil(bits / wb);
    const first = li === 0,
      last = li === small.length - 1;
    const inputLevels = first ? l.input.reduce((a, b) => a * b, 1) : 0;
    const levelWrites = s.changedInputs + (last ? s.touchedOutputs : 0);
    return {
      s,
      reads:
        scattered(s.evaluatedOutputs, p.accumulatorBits) +
        scattered(s.evaluatedOutputs, p.activationBits) +
        Math.ceil((inputLevels * p.activationBits) / wb),
      writes: (accumulatorWrites ? scattered(s.touchedOutputs, p.accumulatorBits) : 0) + scattered(levelWrites, p.activationBits),
    };
  }

  for (const hw of [seneca, { ...seneca, partition: 'channel' as const, nocHopsPerEvent: 4 }])
    it(`${hw.partition} partition: state reads = evaluated × (accumulator + level) (+ the network input's levels); writes = changed levels only, no accumulator write-back; state energy = those accesses × pJ per access`, () => {
      const res = simActivity(work, hw, { mode: 'delta' });
      const rows = res.layers.filter((r) => r.mode === 'delta');
      expect(rows).to.have.length(frames.length * small.length);
      expect(res.modes[0]!.footprint.stateSpill, 'the state fits on chip').to.equal(0);
      const pj = sramAccessPJOf(hw).state;
      let touched = 0;
      for (const r of rows) {
        const li = small.findIndex((l) => l.name === r.layer);
        const want = rule(hw, small[li]!, li, r.frame!, false);
        const st = r.actions.sram.state;
        const at = `frame ${r.frame} ${r.layer}`;
        expect(st.reads, at).to.equal(want.reads);
        expect(st.writes, at).to.equal(want.writes);
        expect(r.energy.sramPJ.state, at).to.be.closeTo((want.reads + want.writes) * pj, 1e-9 * (1 + r.energy.sramPJ.state));
        // the per-update work the synaptic op does not include: activation + compare per evaluated output
        expect(r.actions.neuronUpdates, at).to.equal(want.s.evaluatedOutputs);
        expect(r.actions.deltaCompares, at).to.equal(want.s.evaluatedOutputs);
        // the synaptic op pays its weight read: no filter SRAM access beyond DRAM fills; the level is state, not output
        expect(r.actions.sram.filter.reads, at).to.equal(0);
        expect(r.actions.sram.ofmap.writes, at).to.equal(0);
        touched += want.s.touchedOutputs;
      }
      expect(touched, 'not vacuous: outputs are touched').to.be.greaterThan(0);
    });

  it('the systolic engine keeps its accounting: accumulator write-backs are charged', () => {
    const res = simActivity(work, delta32, { mode: 'delta' });
    for (const r of res.layers.filter((x) => x.mode === 'delta')) {
      const li = small.findIndex((l) => l.name === r.layer);
      const want = rule(delta32, small[li]!, li, r.frame!, true);
      expect(r.actions.sram.state.reads, `${r.frame} ${r.layer}`).to.equal(want.reads);
      expect(r.actions.sram.state.writes, `${r.frame} ${r.layer}`).to.equal(want.writes);
    }
  });

  it('sparse mode (no state) still writes each updated neuron’s level to the output buffer', () => {
    const res = simActivity(work, seneca, { mode: 'sparse' });
    for (const r of res.layers.filter((x) => x.mode === 'sparse')) {
      expect(r.actions.sram.state.reads + r.actions.sram.state.writes).to.equal(0);
      expect(r.actions.sram.ofmap.writeBytes).to.be.at.least(r.actions.neuronUpdates); // 8-bit levels (+ DRAM drains)
    }
  });
});

// ——— the hw-model keys ———

const senecaText = readFileSync(new URL('../../hw-models/seneca-like.json', import.meta.url), 'utf8');
const patched = (f: (d: Record<string, unknown>) => void): string => {
  const d = JSON.parse(senecaText) as Record<string, unknown>;
  f(d);
  return JSON.stringify(d);
};

describe('event engine: hw-model keys', () => {
  it('the shipped seneca-like loads, with the spatial-channel partition and mesh hops', () => {
    expect(seneca.partition).to.equal('spatial-channel');
    expect(seneca.nocHopsPerEvent).to.equal(undefined);
    const m = parseHwModelJson(senecaText, 'ok.json');
    expect(m.kind).to.equal('event');
  });

  const BAD: [string, string, string[]][] = [
    ['partition not a partition', patched((d) => (d.partition = 'rows')), ['bad.json', 'at /partition', '"channel", "spatial-channel"']],
    ['partition not a string', patched((d) => (d.partition = 1)), ['bad.json', 'at /partition']],
    ['meshCols zero', patched((d) => (d.meshCols = 0)), ['bad.json', 'at /meshCols', '>= 1']],
    ['meshCols fractional', patched((d) => (d.meshCols = 2.5)), ['bad.json', 'at /meshCols', 'integer']],
    ['meshCols a string', patched((d) => (d.meshCols = '8')), ['bad.json', 'at /meshCols']],
    ['nocHopsPerEvent negative', patched((d) => (d.nocHopsPerEvent = -1)), ['bad.json', 'at /nocHopsPerEvent', '>= 0']],
  ];
  for (const [what, text, parts] of BAD)
    it(`bad ${what} ⇒ an InputError naming the key`, () => throwsInput(() => parseHwModelJson(text, 'bad.json'), ...parts));

  it('meshCols with nocHopsPerEvent (flat hops need no mesh) ⇒ an InputError naming both keys, before any frame is simulated', () => {
    const hw = parseHwModelJson(
      patched((d) => {
        d.meshCols = 4;
        d.nocHopsPerEvent = 4;
      }),
      'both.json',
    );
    const w = topologyWorkload({ name: 't', layers: [small[0]!] });
    throwsInput(() => simulate(w, hw, { mode: 'delta' }), 'both.json', 'at /meshCols', '"meshCols"', '"nocHopsPerEvent"');
  });
});
