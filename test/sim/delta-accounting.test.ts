/**
 * docs/design.md §6: the delta engine charges exactly the operations the functional delta executor performs.
 * A small random integer network runs over a synthetic clip in the executor; every layer's input
 * levels (layer 0: the clip; layer L: the dense outputs of L−1, equal to the executor's) are written
 * as a trace, which simulate() replays in delta mode. Per layer and frame the engine's effective
 * MACs, neuron updates / compares and state bytes must equal the executor's counts × byte widths.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRandomIntNetwork, runDelta, runDense } from '../support/delta-executor.js';
import {
  loadHwModel,
  traceActivity,
  validateLayer,
  type HwModel,
  type Layer,
  type LayerResult,
  type SystolicSpec,
} from '../../sim/index.js';
import { openTrace } from '../../traces/reader.js';
import { completeLayer, synthFrames, type SynthLayer } from '../../traces/synthetic.js';
import { writeTrace } from '../../traces/writer.js';
import type { LayerDraft } from '../../traces/writer.js';
import { simActivity } from '../support/sim.js';

const SYNTH: SynthLayer[] = [
  { name: 'conv1', op: 'conv2d', input: [10, 10, 2], outChannels: 4 },
  { name: 'dw2', op: 'depthwise2d', input: [10, 10, 4], stride: [2, 2] },
  { name: 'conv3', op: 'conv2d', input: [5, 5, 4], outChannels: 6, kernel: [3, 3], dilation: [2, 2], padding: [2, 1, 0, 2] },
];
const drafts: LayerDraft[] = SYNTH.map(completeLayer);
const layers: Layer[] = [
  ...drafts.map((d) =>
    validateLayer({
      name: d.name,
      op: d.op,
      input: d.input,
      output: d.output,
      kernel: d.kernel ?? [1, 1],
      stride: d.stride ?? [1, 1],
      padding: d.padding ?? [0, 0, 0, 0],
      dilation: d.dilation ?? [1, 1],
      groups: d.groups ?? 1,
      weightBits: 8,
      weightDensity: 1,
    }),
  ),
];
// a dense head on the flattened map
const flat = layers.at(-1)!.output.reduce((a, b) => a * b, 1);
drafts.push(completeLayer({ name: 'fc4', op: 'dense', input: [flat], outChannels: 7 }));
layers.push(
  validateLayer({
    name: 'fc4',
    op: 'dense',
    input: [flat],
    output: [7],
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
  }),
);

describe('delta engine charges what the delta executor does (docs/design.md §6)', () => {
  it('per layer per frame: effective MACs, neuron updates, compares and state bytes', async () => {
    const T = 10;
    const clip: Uint8Array[] = [];
    for (const f of synthFrames([drafts[0]!], {
      seed: 5,
      frames: T,
      density: 0.4,
      changeRate: 0.08,
      blobs: 2,
      blobRadius: 0.25,
      blobSpeed: 0.15,
    }))
      clip.push(Uint8Array.from(f[0]!));
    const net = makeRandomIntNetwork(layers, 3, { maxLevel: 255 });
    const dense = runDense(net, clip);
    const { counts } = runDelta(net, clip);
    const dir = mkdtempSync(join(tmpdir(), 'deltasim-accounting-'));
    try {
      await writeTrace(join(dir, 't'), { model: { name: 'exec' }, frames: T, fps: 30, layers: drafts }, (w) => {
        for (let t = 0; t < T; t++) w.appendFrames([clip[t]!, ...dense[t]!.slice(0, -1).map((levels) => Uint8Array.from(levels))]);
      });
      const hw = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
      const res = simActivity(traceActivity(openTrace(join(dir, 't'))), hw, { mode: 'delta' });
      const delta = res.modes.find((m) => m.mode === 'delta')!;
      expect(delta.footprint.stateSpill, 'the state fits on chip: every access is an SRAM access').to.equal(0);
      const accB = hw.precisions.accumulatorBits / 8,
        actB = hw.precisions.activationBits / 8;
      const byKey = new Map<string, LayerResult>(res.layers.filter((r) => r.mode === 'delta').map((r) => [`${r.frame}/${r.layer}`, r]));
      let evaluatedNotTouched = 0,
        untouchedInputs = 0;
      for (let t = 0; t < T; t++)
        layers.forEach((l, li) => {
          const c = counts[t]![li]!;
          const r = byKey.get(`${t}/${l.name}`)!;
          const at = `frame ${t} layer ${l.name}`;
          const last = li === layers.length - 1;
          expect(r.actions.effectiveMacs, at).to.equal(c.synapticOps);
          expect(r.actions.neuronUpdates, at).to.equal(c.evaluatedOutputs);
          expect(r.actions.deltaCompares, at).to.equal(c.evaluatedOutputs);
          // reads: accumulator + last level per evaluated output; the network input's previous levels
          expect(r.actions.sram.state.readBytes, at).to.equal(c.accReads * accB + (c.levelReads + c.prevInputReads) * actB);
          // writes: touched accumulators; a level per change, booked with the consumer (the producer's
          // levelWrites); the last layer's changes are not in the trace: one per touched output
          const levelWrites = li === 0 ? c.prevInputWrites : counts[t]![li - 1]!.levelWrites;
          expect(r.actions.sram.state.writeBytes, at).to.equal(c.accWrites * accB + (levelWrites + (last ? c.touchedOutputs : 0)) * actB);
          if (last) expect(c.touchedOutputs, at).to.be.at.least(c.levelWrites);
          evaluatedNotTouched += c.evaluatedOutputs - c.touchedOutputs;
          untouchedInputs += c.inputs - c.nonZeroDeltas;
        });
      // not vacuous: the key frame evaluates untouched outputs, and most inputs do not change
      expect(evaluatedNotTouched).to.be.greaterThan(0);
      expect(untouchedInputs).to.be.greaterThan(0);
      expect(
        counts.slice(1).some((f) => f.some((c) => c.synapticOps > 0)),
        'later frames do work',
      ).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
