/**
 * Delta state on a graph (sim/state-graph.ts, docs/design.md §5.6): a tensor read by two layers holds its
 * levels once, a pooled tensor's levels are the pooled ones, and a graph that is a chain gives exactly
 * the chain's numbers (which test/sim/delta-accounting.test.ts ties to the functional executor).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deltaStateBytes,
  deltaStateTraffic,
  GraphStateFrame,
  graphStatePlan,
  loadHwModel,
  statePlanOf,
  traceActivity,
  type HwModel,
} from '../../sim/index.js';
import type { TraceGraph } from '../../traces/graph.js';
import { openTrace } from '../../traces/reader.js';
import { completeLayer, SYNTH_PRESETS } from '../../traces/synthetic.js';
import { prng } from '../../lib/prng.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import type { ActArray } from '../../traces/npy.js';
import { simActivity } from '../support/sim.js';

const SYSTOLIC = loadHwModel('delta-32x32');
const EVENT = loadHwModel('seneca-like');

/** A residual block: x read by a 1×1 conv (shortcut) and a 3×3 conv, added, globally pooled, classified. */
const RES_DRAFTS: LayerDraft[] = [
  completeLayer({ name: 'short', op: 'conv2d', input: [8, 8, 4], outChannels: 4, kernel: [1, 1] }),
  completeLayer({ name: 'conv', op: 'conv2d', input: [8, 8, 4], outChannels: 4 }),
  completeLayer({ name: 'fc', op: 'dense', input: [4], outChannels: 3 }),
];
const RES_GRAPH: TraceGraph = {
  inputs: [{ name: 'x', shape: [8, 8, 4] }],
  nodes: [
    { name: 'short', op: 'mac', inputs: ['x'], output: { name: 'short:0', shape: [8, 8, 4] } },
    { name: 'conv', op: 'mac', inputs: ['x'], output: { name: 'conv:0', shape: [8, 8, 4] } },
    { name: 'relu', op: 'activation', inputs: ['conv:0'], output: { name: 'relu:0', shape: [8, 8, 4] } },
    { name: 'add', op: 'add', inputs: ['short:0', 'relu:0'], output: { name: 'add:0', shape: [8, 8, 4] } },
    { name: 'gap', op: 'globalpool', inputs: ['add:0'], output: { name: 'gap:0', shape: [4] } },
    { name: 'fc', op: 'mac', inputs: ['gap:0'], output: { name: 'fc:0', shape: [3] } },
  ],
};

/** The tiny sample's chain as a graph: a separate ReLU after conv1 (fused into its neurons) and a flatten before fc4. */
const TINY_GRAPH: TraceGraph = {
  inputs: [{ name: 'frame', shape: [8, 8, 1] }],
  nodes: [
    { name: 'conv1', op: 'mac', inputs: ['frame'], output: { name: 'conv1:0', shape: [8, 8, 4] } },
    { name: 'relu1', op: 'activation', inputs: ['conv1:0'], output: { name: 'relu1:0', shape: [8, 8, 4] } },
    { name: 'dw2', op: 'mac', inputs: ['relu1:0'], output: { name: 'dw2:0', shape: [4, 4, 4] } },
    { name: 'pw3', op: 'mac', inputs: ['dw2:0'], output: { name: 'pw3:0', shape: [4, 4, 8] } },
    { name: 'flat', op: 'reshape', inputs: ['pw3:0'], output: { name: 'flat:0', shape: [128] } },
    { name: 'fc4', op: 'mac', inputs: ['flat:0'], output: { name: 'fc4:0', shape: [10] } },
  ],
};

const T = 6;

/** Write `drafts` with synthetic frames (layers listed in `same` get the first layer's frames: one tensor) and return its activity. */
async function traceOf(dir: string, name: string, drafts: LayerDraft[], graph?: TraceGraph, same: number[] = []) {
  // levels 0…15, a fifth of them redrawn every frame (the synthetic clip's blobs hardly move on an 8×8 map)
  const rng = prng(7, 0);
  const cur = drafts.map((d) => {
    const a = new (d.act.dtype === 'int8' ? Int8Array : Uint8Array)(d.input.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = rng.intBetween(0, 15);
    return a;
  });
  const frames = Array.from({ length: T }, () =>
    cur.map((c) => {
      for (let i = 0; i < c.length; i++) if (rng.next() < 0.2) c[i] = rng.intBetween(0, 15);
      return c.slice();
    }),
  );
  await writeTrace(join(dir, name), { model: { name }, frames: T, fps: 30, layers: drafts, ...(graph ? { graph } : {}) }, (w) => {
    for (const f of frames) w.appendFrames(f.map((x, i): ActArray => (same.includes(i) ? f[0]! : x)));
  });
  return traceActivity(openTrace(join(dir, name)));
}

const bytes = (hw: HwModel, acc: number, levels: number) =>
  (acc * hw.precisions.accumulatorBits + levels * hw.precisions.activationBits) / 8;

describe('delta state on a graph (sim/state-graph.ts)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-state-graph-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('preprocessing on the frame (an op fed by graph inputs alone) streams it: its levels are read packed, once each', () => {
    // MotionInput-like: the raw frame → [x, x − x_prev] → conv1. The frame is in no trace, so every level changes.
    const conv1 = completeLayer({ name: 'conv1', op: 'conv2d', input: [8, 8, 2], outChannels: 4 });
    const g: TraceGraph = {
      inputs: [{ name: 'raw', shape: [8, 8, 1] }],
      nodes: [
        { name: 'motion', op: 'other', inputs: ['raw'], output: { name: 'motion:0', shape: [8, 8, 2] } },
        { name: 'conv1', op: 'mac', inputs: ['motion:0'], output: { name: 'conv1:0', shape: [8, 8, 4] } },
      ],
    };
    const layer = { ...conv1, groups: 1, dilation: [1, 1], padding: [1, 1, 1, 1], stride: [1, 1], kernel: [3, 3] } as never;
    const plan = graphStatePlan([layer], g);
    expect(plan.ops.map((o) => o.streamed)).to.deep.equal([true]);
    const frame = new GraphStateFrame(plan);
    const counts = { touchedOutputs: 0, evaluatedOutputs: 0, changedInputs: 0 };
    frame.update([counts], false);
    const t = deltaStateTraffic(SYSTOLIC, counts, plan.layers[0]!, undefined, frame);
    // 64 raw levels compared (read) and written, 128 motion levels compared: all packed, 8 per 64-bit word
    expect(t.reads).to.equal(64 / 8 + 128 / 8);
    expect(t.writes).to.equal(64 / 8);
  });

  it('a tensor read by two layers holds its levels once; pooled levels are the pooled ones', async () => {
    const a = await traceOf(dir, 'res', RES_DRAFTS, RES_GRAPH, [1]);
    const plan = graphStatePlan(a.layers, RES_GRAPH);
    // x (256) once, with the first layer that reads it; the shortcut's outputs, the add and the pooled tensor
    expect(plan.layers.map((p) => [p.accumulators, p.levels])).to.deep.equal([
      [256 + 4, 256 + 256 + 256], // short: acc; x, its outputs, add:0 — and gap's 4 accumulators
      [256, 256], // conv: acc; its outputs (the ReLU is its neurons'), not x again
      [3, 4 + 3], // fc: acc; the pooled levels it reads, its outputs
    ]);
    expect(plan.layers.map((p) => p.inputShare)).to.deep.equal([1, 0, 1]);
    const res = simActivity(a, SYSTOLIC, { mode: 'delta' });
    const delta = res.modes.find((m) => m.mode === 'delta')!;
    expect(delta.footprint.stateBytes).to.equal(bytes(SYSTOLIC, 256 + 4 + 256 + 3, 768 + 256 + 7));
    // the chain rule would book x twice and neither the conv outputs nor the add
    const chain = statePlanOf(a.layers);
    expect(chain.layers.reduce((s, p) => s + deltaStateBytes(SYSTOLIC, p), 0)).to.equal(bytes(SYSTOLIC, 256 + 256 + 3, 256 + 256 + 4 + 3));

    // per frame: x's changed levels are written once (by short), conv writes only its accumulators and its own levels
    const accB = SYSTOLIC.precisions.accumulatorBits / 8;
    const actB = SYSTOLIC.precisions.activationBits / 8;
    const at = (t: number, name: string) => res.layers.find((r) => r.mode === 'delta' && r.frame === t && r.layer === name)!;
    for (let t = 1; t < T; t++) {
      const conv = at(t, 'conv');
      const short = at(t, 'short');
      const touchedConv = conv.actions.neuronUpdates; // evaluated = touched after the key frame
      const touchedShort = short.actions.neuronUpdates;
      expect(conv.actions.sram.state.writeBytes, `frame ${t}`).to.equal(touchedConv * (accB + actB));
      const xChanges = a.frames[t]![0]!.delta!.events.reduce((s, v) => s + v, 0);
      expect(xChanges, 'x changes').to.be.greaterThan(0);
      // short: its accumulators and the pool's (≤ the add's changes); x's changes; its own levels (per touched
      // output); the add's levels (≤ its inputs' changes). The pooled levels are fc's input: written by fc.
      const addWrites = Math.min(256, touchedShort + touchedConv);
      const gapTouched = Math.min(4, addWrites);
      expect(short.actions.sram.state.writeBytes, `frame ${t}`).to.equal(
        (touchedShort + gapTouched) * accB + (xChanges + touchedShort + addWrites) * actB,
      );
      const fc = at(t, 'fc');
      const gapChanges = a.frames[t]![2]!.delta!.events.reduce((s, v) => s + v, 0);
      expect(fc.actions.sram.state.writeBytes, `frame ${t}`).to.equal(fc.actions.neuronUpdates * (accB + actB) + gapChanges * actB);
    }
  });

  it('a graph that is a chain gives exactly the chain numbers (fused ReLU, flatten), systolic and event', async () => {
    const drafts = SYNTH_PRESETS.tiny!.map(completeLayer);
    const v1 = await traceOf(dir, 'v1', drafts);
    const v2 = await traceOf(dir, 'v2', drafts, TINY_GRAPH);
    expect(v2.graph).to.deep.equal(TINY_GRAPH);
    for (const hw of [SYSTOLIC, EVENT]) {
      const a = simActivity(v1, hw, { mode: 'all' });
      const b = simActivity(v2, hw, { mode: 'all' });
      expect(b.layers, hw.name).to.deep.equal(a.layers);
      expect(a.layers.some((r) => r.actions.sram.state.writeBytes > 0)).to.equal(true);
      expect(b.modes, hw.name).to.deep.equal(a.modes);
    }
  });
});
