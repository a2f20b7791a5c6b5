import { expect } from 'chai';
import { tf, initBackend } from '../../src/tf/backend.js';
import { DeltaActivation, L1Activation, quantise, type DeltaActivationArgs } from '../../src/tf/layers/index.js';
import { INPUT_THRESHOLD_INIT, inputDeltaLayer } from '../../src/tf/models.js';

const close = (a: tf.Tensor, b: number[], eps = 1e-6) => {
  const got = Array.from(a.dataSync());
  expect(got.length).to.equal(b.length);
  got.forEach((v, i) => expect(v, `element ${i}: ${got} vs ${b}`).to.be.closeTo(b[i]!, eps));
};

// One clip (batch 1) of T = 2 frames × 3 channels.
const X = [
  [
    [0.26, -1, 0.74],
    [0.26, 0.6, 1.3],
  ],
];
// relu → /0.5 → round: levels t0 [1,0,1], t1 [1,1,3]; Y = levels · 0.5.
const Y = [0.5, 0, 0.5, 0.5, 0.5, 1.5];

function delta(args: DeltaActivationArgs = {}): DeltaActivation {
  const layer = new DeltaActivation({ thresholdInit: 0.5, ...args });
  layer.build([null, 2, 3]);
  return layer;
}

/** Gradients of f(layer output) + the layer's penalty w.r.t. the input and the threshold. */
function grads(layer: DeltaActivation, f: (y: tf.Tensor) => tf.Scalar) {
  const x = tf.variable(tf.tensor3d(X));
  const thr = layer.trainableWeights[0]!.read() as tf.Variable;
  const { grads } = tf.variableGrads(() => {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    return tf.add(f(y), layer.calculateLosses()[0]!) as tf.Scalar;
  }, [x, thr]);
  return { dx: grads[x.name]!, dthr: grads[thr.name]! };
}

describe('tf/layers: quantiser', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it("rounds to multiples of q (banker's rounding, as tf.round)", () => {
    close(quantise(tf.tensor1d([0.24, 0.25, 0.26, 0.75, -0.3]), tf.scalar(0.5)), [0, 0, 0.5, 1, -0.5]);
  });

  it('passes the gradient straight through the rounding and flips the step gradient', () => {
    const a = tf.tensor1d([0.26, 0.74, 1.3]);
    const q = tf.tensor1d([0.5]);
    const [da, dq] = tf.grads((a: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(quantise(a, q), tf.tensor1d([1, 2, 3]))))([a, q]);
    close(da!, [1, 2, 3]);
    // levels [1, 1, 3]: dL/dq = −Σ dy·level = −(1 + 2 + 9)
    close(dq!, [-12]);
  });
});

describe('tf/layers: DeltaActivation', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it('forward: relu then round(x/q)·q (delta level 0)', () => {
    close(delta().apply(tf.tensor3d(X)) as tf.Tensor, Y);
  });

  it('delta level 1 emits the first frame against zeros, level 2 only the T−1 deltas', () => {
    const l1 = delta({ deltaLevel: 1 }).apply(tf.tensor3d(X)) as tf.Tensor;
    expect(l1.shape).to.deep.equal([1, 2, 3]);
    close(l1, [0.5, 0, 0.5, 0, 0.5, 1.0]);
    const l2 = delta({ deltaLevel: 2 }).apply(tf.tensor3d(X)) as tf.Tensor;
    expect(l2.shape).to.deep.equal([1, 1, 3]);
    close(l2, [0, 0.5, 1.0]);
  });

  it('sigma integrates the input over time before the activation', () => {
    // cumsum: t0 [0.26,-1,0.74], t1 [0.52,-0.4,2.04] → levels [1,0,1], [1,0,4]
    close(delta({ sigma: true }).apply(tf.tensor3d(X)) as tf.Tensor, [0.5, 0, 0.5, 0.5, 0, 2.0]);
  });

  it('penalty = spRate · nOutputs · mean |ΔY| over the T−1 deltas, only when training', () => {
    const layer = delta({ spRate: 0.1, nOutputs: 4 });
    layer.apply(tf.tensor3d(X));
    expect(layer.calculateLosses()[0]!.dataSync()[0]).to.equal(0);
    layer.apply(tf.tensor3d(X), { training: true });
    // |ΔY| = [0, 0.5, 1.0] → mean 0.5 → 0.1 · 4 · 0.5
    expect(layer.calculateLosses()[0]!.dataSync()[0]).to.be.closeTo(0.2, 1e-6);
    layer.setSpRate(0.01);
    layer.apply(tf.tensor3d(X), { training: true });
    expect(layer.calculateLosses()[0]!.dataSync()[0]).to.be.closeTo(0.02, 1e-7);
  });

  it('gradients of sum(Y): straight-through to x where relu is active, −Σ levels to the threshold', () => {
    const { dx, dthr } = grads(delta(), (y) => tf.sum(y));
    close(dx, [1, 0, 1, 1, 1, 1]);
    close(dthr, [-2, -1, -4]);
    // q = |threshold|: a negative threshold gets the mirrored gradient
    close(grads(delta({ thresholdInit: -0.5 }), (y) => tf.sum(y)).dthr, [2, 1, 4]);
  });

  it("the sparsity penalty's threshold gradient is sign-flipped so that descent grows the step", () => {
    const { dx, dthr } = grads(delta({ spRate: 0.1, nOutputs: 4 }), () => tf.scalar(0));
    const k = (0.1 * 4) / 3;
    // ΔL per channel = [0, 1, 2]; dP/dY1 = k·sign(ΔY), dP/dY0 = −k·sign(ΔY); dq = −Σ dy·level = −k·ΔL
    close(dthr, [0, -k, -2 * k]);
    expect(Array.from(dthr.dataSync()).every((g) => g <= 0)).to.equal(true);
    // STE: dP/dx = dP/dY where relu is active (x[0][1] = −1 is not)
    close(dx, [0, 0, -k, 0, k, k]);
  });

  it('threshold granularity: one per channel, per neuron or per layer', () => {
    const shape = (g: DeltaActivationArgs['granularity']) => {
      const layer = new DeltaActivation({ granularity: g });
      layer.build([null, 4, 5, 6, 3]);
      return layer.quantiserStep().shape;
    };
    expect(shape('channel')).to.deep.equal([3]);
    expect(shape('neuron')).to.deep.equal([5, 6, 3]);
    expect(shape('layer')).to.deep.equal([1]);
  });

  it('serialises and deserialises with its config', () => {
    const layer = delta({ spRate: 1e-4, nOutputs: 72, granularity: 'layer', sigma: true, deltaLevel: 1, trainableBias: true, name: 'da' });
    const cfg = layer.getConfig();
    const again = DeltaActivation.fromConfig(DeltaActivation, cfg) as DeltaActivation;
    expect(again.getConfig()).to.deep.equal(cfg);
    expect(again.nOutputs).to.equal(72);
    expect(again.deltaLevel).to.equal(1);
  });
});

describe('tf/layers: L1Activation', () => {
  before(async () => {
    await initBackend({ quiet: true });
  });

  it('relu + fixed-step quantiser; penalty spRate · nOutputs · mean |Y|; no trainable weights', () => {
    const layer = new L1Activation({ step: 0.5, spRate: 0.1, nOutputs: 4 });
    const y = layer.apply(tf.tensor3d(X), { training: true }) as tf.Tensor;
    close(y, Y);
    // mean |Y| = 3.5 / 6
    expect(layer.calculateLosses()[0]!.dataSync()[0]).to.be.closeTo((0.4 * 3.5) / 6, 1e-6);
    expect(layer.trainableWeights).to.have.length(0);
    close(layer.levels(y), [1, 0, 1, 1, 1, 3]);
  });

  it("the L1 penalty's gradient reaches x straight through the quantiser", () => {
    const layer = new L1Activation({ step: 0.5, spRate: 0.1, nOutputs: 4 });
    const x = tf.tensor3d(X);
    const dx = tf.grad((x: tf.Tensor) => {
      layer.apply(x, { training: true });
      return layer.calculateLosses()[0]! as tf.Scalar;
    })(x);
    // d mean|Y| / dY = 1/6 for Y > 0 (0 at Y = 0); relu blocks x < 0
    const g = 0.4 / 6;
    close(dx, [g, 0, g, g, g, g]);
  });
});

describe('tf/layers: the input Delta Activation Layer (inp_delta), on cpu and the default backend', () => {
  // One channel, 4 pixels, 3 frames of 8-bit values k/255 with noise of a level or two: q = 3/255, so
  // level = round(k/3) (k/3 is never a tie). The layer is linear: frames are >= 0 and 0 must pass gradients.
  const K = [
    [100, 50, 200, 0],
    [101, 50, 198, 1],
    [120, 49, 200, 4],
  ];
  const levels = K.map((f) => f.map((k) => Math.round(k / 3)));
  const frames = () =>
    tf.tensor5d(
      K.flat().map((k) => k / 255),
      [1, 3, 2, 2, 1],
    );
  const q = 3 / 255;
  let fallback: string;
  before(async () => {
    fallback = await initBackend({ quiet: true });
  });
  after(async () => {
    await tf.setBackend(fallback);
  });

  for (const backend of ['cpu', 'default'] as const) {
    const use = () => tf.setBackend(backend === 'cpu' ? 'cpu' : fallback);
    const layer = (args: DeltaActivationArgs = {}) => {
      const l = inputDeltaLayer({ thresholdInit: args.thresholdInit });
      l.spRate = args.spRate ?? 0;
      l.nOutputs = args.nOutputs ?? 1;
      l.build([null, 3, 2, 2, 1]);
      return l;
    };

    it(`${backend}: Y = round(x/q)·q; the key frame carries all levels, later frames only their change`, async () => {
      await use();
      const l = layer();
      expect(l.name).to.equal('inp_delta');
      expect(l.activation).to.equal('linear');
      expect(l.thresholdInit).to.be.closeTo(INPUT_THRESHOLD_INIT, 0);
      expect(INPUT_THRESHOLD_INIT).to.equal(3 / 255);
      const y = l.apply(frames()) as tf.Tensor;
      close(
        y,
        levels.flat().map((v) => v * q),
        1e-6,
      );
      close(l.levels(y), levels.flat());
      // As a delta engine sees it (deltaLevel 1): frame 0 against zeros (the key frame), then ΔL·q.
      const d = new DeltaActivation({ ...l.getConfig(), deltaLevel: 1 } as DeltaActivationArgs);
      d.build([null, 3, 2, 2, 1]);
      const expected = levels.flatMap((f, t) => f.map((v, i) => (t === 0 ? v : v - levels[t - 1]![i]!) * q));
      close(d.apply(frames()) as tf.Tensor, expected, 1e-6);
      // The noise of ±1 or 2 pixel levels: of 8 raw pixel changes 7 are non-zero, of the quantised ones 6;
      // the counts leave the key frame out.
      l.apply(frames(), { training: true });
      const [nz, n, nzd, nd] = Array.from(l.lastActivityCounts()!.dataSync());
      const changed = levels.slice(1).flatMap((f, t) => f.filter((v, i) => v !== levels[t]![i])).length;
      expect([nz, n, nzd, nd]).to.deep.equal([levels.flat().filter((v) => v !== 0).length, 12, changed, 8]);
      expect(changed).to.equal(6);
    });

    it(`${backend}: gradients: straight through (1 at every pixel, 0 included); threshold −Σ levels; penalty sign-flipped`, async () => {
      await use();
      const w = tf.tensor5d([1, 2, 3, 4, 1, 1, 1, 1, 2, 0, 1, 0], [1, 3, 2, 2, 1]);
      const x = tf.variable(frames());
      const l = layer();
      const thr = l.trainableWeights[0]!.read() as tf.Variable;
      const g = tf.variableGrads(() => tf.sum(tf.mul(l.apply(x) as tf.Tensor, w)) as tf.Scalar, [x, thr]).grads;
      close(g[x.name]!, Array.from(w.dataSync()));
      const wv = Array.from(w.dataSync());
      close(g[thr.name]!, [-levels.flat().reduce((a, v, i) => a + v * wv[i]!, 0)], 1e-3);

      // Penalty only: P = s·n·mean|ΔY| over the 8 deltas ⇒ dP/dq = −k·Σ|ΔL| (k = s·n/8) ≤ 0, so descent grows q.
      const lp = layer({ spRate: 0.1, nOutputs: 4 });
      const thrP = lp.trainableWeights[0]!.read() as tf.Variable;
      const gp = tf.variableGrads(() => {
        lp.apply(x, { training: true });
        return lp.calculateLosses()[0]! as tf.Scalar;
      }, [x, thrP]).grads;
      const k = (0.1 * 4) / 8;
      const sumAbs = levels.slice(1).reduce((a, f, t) => a + f.reduce((b, v, i) => b + Math.abs(v - levels[t]![i]!), 0), 0);
      close(gp[thrP.name]!, [-k * sumAbs], 1e-6);
      // dP/dx_t = k·(sign ΔL_t − sign ΔL_{t+1}) (STE through the linear layer)
      const sg = (t: number, i: number) => (t < 1 || t > 2 ? 0 : Math.sign(levels[t]![i]! - levels[t - 1]![i]!));
      close(
        gp[x.name]!,
        levels.flatMap((f, t) => f.map((_, i) => k * (sg(t, i) - sg(t + 1, i)))),
        1e-7,
      );
    });
  }
});
