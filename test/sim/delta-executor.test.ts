/**
 * The functional delta executor: quantised delta inference gives exactly the levels of quantised
 * dense inference, frame after frame, and its op counts equal what trace statistics and naive loops say.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DeltaExecutor, makeRandomIntNetwork, requantize, runDelta, runDense, type IntNetwork } from '../support/delta-executor.js';
import { layerOf, validateLayer, type Layer } from '../../traces/layer.js';
import { prng } from '../../lib/prng.js';
import { frameStatsCounter } from '../../traces/stats.js';
import { completeLayer, synthFrames, type SynthLayer } from '../../traces/synthetic.js';

/** A sim Layer from a synthetic layer description (dense layers get their trivial geometry). */
function toLayer(s: SynthLayer, weightDensity = 1): Layer {
  const d = completeLayer(s);
  return validateLayer(layerOf({ ...d, weightBits: 8, weightDensity }));
}

/** Frame 0 random levels at `density`; then each frame changes `changes` random elements by a small step. */
function smallChangeFrames(n: number, size: number, seed: number, o: { density: number; changes: number; maxLevel: number }): Int32Array[] {
  const rng = prng(seed, 99);
  const x = new Int32Array(size);
  for (let i = 0; i < size; i++) if (rng.next() < o.density) x[i] = rng.intBetween(1, o.maxLevel);
  const frames = [x.slice()];
  for (let t = 1; t < n; t++) {
    for (let k = 0; k < o.changes; k++) {
      const i = rng.int(size);
      x[i] = Math.min(o.maxLevel, Math.max(0, x[i]! + rng.intBetween(-3, 3)));
    }
    frames.push(x.slice());
  }
  return frames;
}

/** Every layer's input levels per frame (layer 0: the frame; layer L: layer L−1's output). */
function layerInputs(frames: readonly ArrayLike<number>[], dense: Int32Array[][]): ArrayLike<number>[][] {
  return frames.map((f, t) => [f, ...dense[t]!.slice(0, -1)]);
}

function expectSameLevels(net: IntNetwork, frames: readonly ArrayLike<number>[]): void {
  const dense = runDense(net, frames);
  const delta = runDelta(net, frames).outputs;
  expect(delta.length).to.equal(dense.length);
  dense.forEach((layers, t) =>
    layers.forEach((levels, l) => {
      if (!delta[t]![l]!.every((v, i) => v === levels[i]))
        expect.fail(`frame ${t}, layer ${net.layers[l]!.layer.name}: delta levels differ from dense`);
    }),
  );
}

/** Outputs whose receptive field holds ≥ 1 non-zero delta of the layer's input, by brute force over outputs and taps. */
function naiveTouched(l: Layer, delta: ArrayLike<number>): number {
  if (l.op === 'dense') return Array.prototype.some.call(delta, (d: number) => d !== 0) ? l.output[0]! : 0;
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW, OC] = l.output as [number, number, number];
  const cin = C / l.groups,
    nPer = OC / l.groups;
  let touched = 0;
  for (let oh = 0; oh < OH; oh++)
    for (let ow = 0; ow < OW; ow++)
      for (let oc = 0; oc < OC; oc++) {
        const g = Math.floor(oc / nPer);
        let hit = false;
        for (let ky = 0; ky < l.kernel[0] && !hit; ky++)
          for (let kx = 0; kx < l.kernel[1] && !hit; kx++) {
            const ih = oh * l.stride[0] + ky * l.dilation[0] - l.padding[0];
            const iw = ow * l.stride[1] + kx * l.dilation[1] - l.padding[2];
            if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
            for (let c = g * cin; c < (g + 1) * cin; c++) if (delta[(ih * W + iw) * C + c] !== 0) hit = true;
          }
        if (hit) touched++;
      }
  return touched;
}

/** conv "same" → depthwise stride 2 → dilated conv with uneven padding (→ 4×3×6) → dense. */
const mixed = (): Layer[] => [
  toLayer({ name: 'conv1', op: 'conv2d', input: [9, 9, 2], outChannels: 4 }),
  toLayer({ name: 'dw2', op: 'depthwise2d', input: [9, 9, 4], stride: [2, 2] }, 0.7),
  toLayer({ name: 'dil3', op: 'conv2d', input: [5, 5, 4], outChannels: 6, dilation: [2, 2], padding: [2, 1, 0, 2] }),
  toLayer({ name: 'fc4', op: 'dense', input: [4 * 3 * 6], outChannels: 7 }),
];

describe('delta executor', () => {
  it('requantises with ReLU, round-half-even and clamping', () => {
    const q = { multiplier: 1, shift: 2, maxLevel: 5 };
    expect([-7, 0, 1, 2, 3, 6, 10, 14, 19, 100].map((a) => requantize(a, q))).to.deep.equal([0, 0, 0, 0, 1, 2, 2, 4, 5, 5]);
    expect(requantize(2 ** 38, { multiplier: 2 ** 14, shift: 52, maxLevel: 9 })).to.equal(1);
    expect(() => requantize(2 ** 40, { multiplier: 2 ** 14 + 1, shift: 0, maxLevel: 1 })).to.throw(RangeError, /not exact/);
  });

  it('delta levels equal dense levels at every layer, every frame, on synthetic moving-blob video', () => {
    const layers = mixed();
    const first = completeLayer({ name: 'in', op: 'conv2d', input: [9, 9, 2] });
    const frames: Int32Array[] = [];
    // the generator reuses its buffers: copy each frame as it comes
    for (const f of synthFrames([first], {
      seed: 3,
      frames: 24,
      density: 0.3,
      changeRate: 0.05,
      blobs: 2,
      blobRadius: 0.25,
      blobSpeed: 0.1,
    }))
      frames.push(Int32Array.from(f[0]!));
    for (const maxLevel of [255, 7]) {
      const net = makeRandomIntNetwork(layers, 11, { maxLevel });
      expectSameLevels(net, frames);
      // not vacuous: levels spread over the range and change over time at every layer
      const dense = runDense(net, frames);
      for (let l = 0; l < layers.length; l++) {
        const all = dense.flatMap((d) => [...d[l]!]);
        expect(
          all.some((v) => v > 0 && v < maxLevel),
          `layer ${l} has levels strictly inside the range`,
        ).to.equal(true);
        expect(
          dense.slice(1).some((d, t) => d[l]!.some((v, i) => v !== dense[t]![l]![i])),
          `layer ${l} changes`,
        ).to.equal(true);
      }
    }
  });

  it('delta levels equal dense levels on random geometries (stride, padding, dilation, depthwise, dense, negative weights)', () => {
    const convArb = fc.record({
      depthwise: fc.boolean(),
      out: fc.integer({ min: 1, max: 4 }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 2 }),
      sw: fc.integer({ min: 1, max: 2 }),
      dh: fc.integer({ min: 1, max: 2 }),
      dw: fc.integer({ min: 1, max: 2 }),
      pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(convArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        fc.integer(),
        (H, W, C, convs, withDense, maxLevel, seed) => {
          const layers: Layer[] = [];
          let shape = [H, W, C];
          for (const [i, c] of convs.entries()) {
            const [ih, iw, ic] = shape as [number, number, number];
            const effH = c.dh * (c.kh - 1) + 1,
              effW = c.dw * (c.kw - 1) + 1;
            if (effH > ih + c.pad[0] + c.pad[1] || effW > iw + c.pad[2] + c.pad[3]) break;
            const l = toLayer(
              {
                name: `c${i}`,
                op: c.depthwise ? 'depthwise2d' : 'conv2d',
                input: [ih, iw, ic],
                outChannels: c.depthwise ? ic * (1 + (c.out % 2)) : c.out,
                kernel: [c.kh, c.kw],
                stride: [c.sh, c.sw],
                dilation: [c.dh, c.dw],
                padding: c.pad,
              },
              0.8,
            );
            layers.push(l);
            shape = l.output;
          }
          const n = shape.reduce((a, b) => a * b, 1);
          if (withDense || layers.length === 0) layers.push(toLayer({ name: 'fc', op: 'dense', input: [n], outChannels: 5 }));
          const net = makeRandomIntNetwork(layers, seed, { maxLevel });
          const size = H * W * C;
          expectSameLevels(net, smallChangeFrames(8, size, seed, { density: 0.5, changes: Math.max(1, size >> 3), maxLevel: 255 }));
        },
      ),
      { seed: 20240611, numRuns: 80 },
    );
  });

  it('op counts equal trace statistics (layerFanout) and naive counts on the same input deltas', () => {
    const layers = mixed();
    const net = makeRandomIntNetwork(layers, 5, { maxLevel: 15 });
    const frames = smallChangeFrames(12, 9 * 9 * 2, 8, { density: 0.6, changes: 6, maxLevel: 255 });
    const dense = runDense(net, frames);
    const inputs = layerInputs(frames, dense);
    const { counts } = runDelta(net, frames);
    const stats = layers.map((l) => frameStatsCounter(l));
    let touchedNotChanged = 0;
    frames.forEach((_, t) =>
      layers.forEach((l, li) => {
        const c = counts[t]![li]!;
        const s = stats[li]!(inputs[t]![li]!);
        const prev = t === 0 ? new Int32Array(inputs[0]![li]!.length) : inputs[t - 1]![li]!;
        const delta = Array.from(inputs[t]![li]!, (v, i) => v - prev[i]!);
        const prevOut = t === 0 ? new Int32Array(dense[0]![li]!.length) : dense[t - 1]![li]!;
        const at = `frame ${t} layer ${l.name}`;
        expect(c.nonZeroDeltas, at).to.equal(s.nonZeroDeltas);
        expect(c.synapticOps, at).to.equal(s.fanoutNonZeroDeltas);
        expect(c.touchedOutputs, at).to.equal(naiveTouched(l, delta));
        expect(c.changedOutputs, at).to.equal(dense[t]![li]!.filter((v, i) => v !== prevOut[i]).length);
        expect(c.evaluatedOutputs, at).to.equal(t === 0 ? dense[0]![li]!.length : c.touchedOutputs);
        expect([c.accReads, c.accWrites, c.levelReads, c.levelWrites], at).to.deep.equal([
          c.evaluatedOutputs,
          c.touchedOutputs,
          c.evaluatedOutputs,
          c.changedOutputs,
        ]);
        expect([c.prevInputReads, c.prevInputWrites], at).to.deep.equal(li === 0 ? [c.inputs, c.nonZeroDeltas] : [0, 0]);
        if (li + 1 < layers.length) expect(counts[t]![li + 1]!.nonZeroDeltas, at).to.equal(c.changedOutputs);
        if (t > 0) expect(c.synapticOps, at).to.be.below(c.denseMacs);
        touchedNotChanged += c.touchedOutputs - c.changedOutputs;
      }),
    );
    // the requantisation really absorbs some small accumulator changes (outputs touched without a new level)
    expect(touchedNotChanged).to.be.greaterThan(0);
  });

  it('identical frames ⇒ no synaptic ops and no emitted deltas after frame 0', () => {
    const net = makeRandomIntNetwork(mixed(), 2);
    const frame = smallChangeFrames(1, 9 * 9 * 2, 4, { density: 0.5, changes: 0, maxLevel: 255 })[0]!;
    const { counts } = runDelta(
      net,
      Array.from({ length: 6 }, () => frame),
    );
    expect(counts[0]![0]!.synapticOps).to.be.greaterThan(0);
    for (const frameCounts of counts.slice(1))
      for (const c of frameCounts) expect([c.nonZeroDeltas, c.synapticOps, c.touchedOutputs, c.changedOutputs]).to.deep.equal([0, 0, 0, 0]);
  });

  it('all-zero input ⇒ no synaptic ops (positive biases: only the key frame propagates their levels)', () => {
    const zeros = Array.from({ length: 5 }, () => new Int32Array(9 * 9 * 2));
    const biased = runDelta(makeRandomIntNetwork(mixed(), 9), zeros).counts;
    biased.forEach((frameCounts, t) => {
      expect(frameCounts[0]!.synapticOps).to.equal(0);
      if (t > 0) expect(frameCounts.map((c) => c.synapticOps)).to.deep.equal([0, 0, 0, 0]);
    });
    expect(
      biased[0]!.some((c) => c.changedOutputs > 0),
      'some bias gives a non-zero level',
    ).to.equal(true);
    const net = makeRandomIntNetwork(mixed(), 9, { nonPositiveBias: true });
    const r = runDelta(net, zeros);
    expect(r.counts.flat().every((c) => c.synapticOps === 0 && c.changedOutputs === 0)).to.equal(true);
    expect(r.outputs.flat().every((levels) => levels.every((v) => v === 0))).to.equal(true);
    expectSameLevels(net, zeros);
  });

  it('a dropped input delta is detected as a mismatch with dense', () => {
    const net = makeRandomIntNetwork(mixed(), 6);
    const frames = smallChangeFrames(3, 9 * 9 * 2, 12, { density: 0.5, changes: 20, maxLevel: 255 });
    const dense = runDense(net, frames);
    const changed = [...frames[1]!.keys()].filter((i) => frames[1]![i] !== frames[0]![i]);
    let detected = 0;
    for (const i of changed) {
      // the delta executor never sees input i change in frame 1 (its delta is lost)
      const lossy = frames[1]!.slice();
      lossy[i] = frames[0]![i]!;
      const ex = new DeltaExecutor(net);
      ex.step(frames[0]!);
      if (ex.step(lossy).outputs.some((levels, l) => levels.some((v, k) => v !== dense[1]![l]![k]))) detected++;
    }
    expect(changed.length).to.be.greaterThan(5);
    expect(detected / changed.length).to.be.greaterThan(0.5);
  });

  it('rejects networks whose layers do not chain and frames of the wrong size', () => {
    const [a, b] = mixed();
    expect(() => makeRandomIntNetwork([b!, a!], 1)).to.throw(RangeError, /takes .* inputs/);
    expect(() => new DeltaExecutor(makeRandomIntNetwork([a!], 1)).step(new Int32Array(3))).to.throw(RangeError, /frame of 3 levels/);
  });
});
