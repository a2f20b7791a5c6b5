import { expect } from 'chai';
import fc from 'fast-check';
import { convOutputSize, inputCount, layerMacs, layerOf, spatial, type Layer } from '../../traces/layer.js';
import { axisFanout, frameStatsCounter, layerFanout, summarize, traceStats, type FrameStats } from '../../traces/stats.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { validTrace } from './helpers.js';

/** Every MAC that reads a real input element, enumerated: fan-out per element (y, x, c). */
function bruteFanout(g: Layer): Float64Array {
  const [H, W, C] = g.input as [number, number, number];
  const [Ho, Wo, Co] = g.output as [number, number, number];
  const cin = C / g.groups,
    cout = Co / g.groups;
  const fan = new Float64Array(H * W * C);
  for (let oy = 0; oy < Ho; oy++)
    for (let ox = 0; ox < Wo; ox++)
      for (let co = 0; co < Co; co++) {
        for (let ky = 0; ky < g.kernel[0]; ky++)
          for (let kx = 0; kx < g.kernel[1]; kx++) {
            const y = oy * g.stride[0] - g.padding[0] + ky * g.dilation[0];
            const x = ox * g.stride[1] - g.padding[2] + kx * g.dilation[1];
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            const group = Math.floor(co / cout);
            for (let c = group * cin; c < (group + 1) * cin; c++) fan[(y * W + x) * C + c]!++;
          }
      }
  return fan;
}

/** The statistics by definition, element by element. */
function bruteStats(g: Layer, frames: number[][], threshold: number): FrameStats[] {
  const fan = bruteFanout(g);
  const ref = new Array(fan.length).fill(0);
  const total = fan.reduce((a, b) => a + b, 0);
  return frames.map((f) => {
    const s = {
      elements: f.length,
      nonZero: 0,
      nonZeroDeltas: 0,
      fanout: total,
      fanoutNonZero: 0,
      fanoutNonZeroDeltas: 0,
      min: Math.min(...f),
      max: Math.max(...f),
    };
    f.forEach((v, i) => {
      if (v !== 0) {
        s.nonZero++;
        s.fanoutNonZero += fan[i]!;
      }
      if (Math.abs(v - ref[i]) > threshold) {
        s.nonZeroDeltas++;
        s.fanoutNonZeroDeltas += fan[i]!;
        ref[i] = v;
      }
    });
    return s;
  });
}

const geometry: fc.Arbitrary<Layer> = fc
  .record({
    op: fc.constantFrom('conv2d' as const, 'depthwise2d' as const),
    H: fc.integer({ min: 1, max: 7 }),
    W: fc.integer({ min: 1, max: 7 }),
    C: fc.integer({ min: 1, max: 4 }),
    mult: fc.integer({ min: 1, max: 3 }),
    groupsPick: fc.integer({ min: 0, max: 3 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    pad: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  })
  .map((r): Layer => {
    const divisors = Array.from({ length: r.C }, (_, i) => i + 1).filter((d) => r.C % d === 0);
    const groups = r.op === 'depthwise2d' ? r.C : divisors[r.groupsPick % divisors.length]!;
    const Ho = convOutputSize(r.H, r.kh, r.sh, r.pad[0], r.pad[1], r.dh);
    const Wo = convOutputSize(r.W, r.kw, r.sw, r.pad[2], r.pad[3], r.dw);
    return {
      name: 'l',
      op: r.op,
      input: [r.H, r.W, r.C],
      output: [Ho, Wo, groups * r.mult],
      kernel: [r.kh, r.kw],
      stride: [r.sh, r.sw],
      padding: r.pad,
      dilation: [r.dh, r.dw],
      groups,
      weightBits: 8,
      weightDensity: 1,
    };
  })
  .filter((g) => g.output[0]! >= 1 && g.output[1]! >= 1);

describe('traces/stats', () => {
  it('axisFanout counts the output positions whose receptive field covers each input index', () => {
    // 5 inputs, k=3, s=2, pad 1: outputs 0,1,2 read inputs {-1,0,1}, {1,2,3}, {3,4,5}
    expect(Array.from(axisFanout(5, 3, 3, 2, 1, 1))).to.deep.equal([1, 2, 1, 2, 1]);
    // dilation 2, no padding: 5 inputs, k=2 → outputs 0..2 read {0,2}, {1,3}, {2,4}
    expect(Array.from(axisFanout(5, 3, 2, 1, 0, 2))).to.deep.equal([1, 1, 2, 1, 1]);
  });

  it('per-element fan-out (separable per axis) equals brute force; sums equal the MACs on real inputs', () => {
    fc.assert(
      fc.property(geometry, (g) => {
        const fan = layerFanout(g);
        const brute = bruteFanout(g);
        const { H, W, C } = spatial(g);
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++)
            for (let c = 0; c < C; c++) {
              expect(fan.h[y]! * fan.w[x]! * fan.perChannel).to.equal(brute[(y * W + x) * C + c]);
            }
        expect(fan.total).to.equal(brute.reduce((a, b) => a + b, 0));
        if (g.padding.every((p) => p === 0))
          expect(fan.total).to.equal(layerMacs(g)); // no padding taps
        else expect(fan.total).to.be.at.most(layerMacs(g));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('per-frame statistics equal brute force on small random traces (integer and thresholded)', () => {
    const frames = (g: Layer) =>
      fc.array(
        fc.array(fc.integer({ min: -2, max: 2 }), {
          minLength: inputCount(g),
          maxLength: inputCount(g),
        }),
        { minLength: 1, maxLength: 4 },
      );
    fc.assert(
      fc.property(
        geometry.chain((g) => fc.tuple(fc.constant(g), frames(g), fc.constantFrom(0, 1))),
        ([g, fs, threshold]) => {
          const count = frameStatsCounter(g, { threshold });
          expect(fs.map((f) => count(Int8Array.from(f)))).to.deep.equal(bruteStats(g, fs, threshold));
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('quantises float frames before comparing when a step is given', () => {
    const g = layerOf({ name: 'fc', op: 'dense', input: [3], output: [2], weightBits: 8, weightDensity: 1 });
    const count = frameStatsCounter(g, { quantStep: 0.5 });
    expect(count(Float32Array.of(0.1, 0.6, 1.0))).to.include({ nonZero: 2, nonZeroDeltas: 2, fanoutNonZeroDeltas: 4 });
    expect(count(Float32Array.of(0.2, 0.7, 1.3))).to.include({ nonZero: 2, nonZeroDeltas: 1, min: Math.fround(0.2) });
    const plain = frameStatsCounter(g, { threshold: 0.15 });
    plain(Float32Array.of(0, 0, 1));
    // the reference only moves when a delta is sent: 0.1 + 0.1 drift is caught on the second step
    expect(plain(Float32Array.of(0.1, 0, 1)).nonZeroDeltas).to.equal(0);
    expect(plain(Float32Array.of(0.2, 0, 1)).nonZeroDeltas).to.equal(1);
  });

  it('summarises with and without the key frame; the trace pass equals per-layer counting', async () => {
    const trace = openTrace(await validTrace());
    const s = traceStats(trace);
    trace.layers.forEach((l, i) => {
      const all = readLayer(l);
      const count = frameStatsCounter(l.layer);
      const rows = Array.from({ length: l.frames }, (_, t) => count(all.subarray(t * l.frameElements, (t + 1) * l.frameElements)));
      expect(s.layers[i]!.frames).to.deep.equal(rows);
    });
    const f = s.frames;
    const sum = (k: keyof FrameStats, from = 0) => f.slice(from).reduce((a, r) => a + r[k], 0);
    expect(s.overall.temporalNoKey).to.be.closeTo(1 - sum('nonZeroDeltas', 1) / sum('elements', 1), 1e-12);
    expect(s.overall.operation).to.be.closeTo(1 - sum('fanoutNonZeroDeltas') / sum('fanout'), 1e-12);
    // frame 0 against zeros: its non-zero deltas are its non-zeros
    expect(f[0]!.nonZeroDeltas).to.equal(f[0]!.nonZero);
    expect(s.overall.temporalNoKey).to.be.greaterThan(s.overall.temporal);
    expect(summarize(f.slice(0, 1)).temporalNoKey).to.be.NaN;
  });
});
