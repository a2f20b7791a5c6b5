/**
 * Delta-ising a pretrained per-frame Keras functional model (src/tf/deltaise-graph.ts) on a multi-branch
 * toy (test/support/keras-toy.ts): outputs at threshold → 0, placement of the measuring layers, fan-outs
 * against a hand count, frozen batch norm, save/load, and gradients on wasm against cpu.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { CLIP_MEAN, deltaiseKeras } from '../../src/tf/deltaise-graph.js';
import { perFrameModel } from '../../src/tf/distill.js';
import { evaluate } from '../../src/tf/evaluate.js';
import { train } from '../../src/tf/train.js';
import { setRelativeThresholds } from '../../src/tf/relative-thresholds.js';
import { DeltaActivation, FrozenFrameWise, L1Activation } from '../../src/tf/layers/index.js';
import { activationLayers, assignFanOuts, INPUT_DELTA } from '../../src/tf/models.js';
import { loadModel, saveModel } from '../../src/tf/persist.js';
import { loadKerasModel, NSFWJS_MODELS } from '../../src/record/keras/load.js';
import { TOY_FRAME, toyKerasModel } from '../support/keras-toy.js';

const clip = (b = 2, t = 3) => tf.randomUniform([b, t, ...TOY_FRAME], 0, 1, 'float32', 5);
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
/** The original model on every frame of `x`, as (batch, time, K). */
const perFrame = (m: tf.LayersModel, x: tf.Tensor) =>
  tf.tidy(() => tf.reshape(m.predict(tf.reshape(x, [-1, ...TOY_FRAME])) as tf.Tensor, [x.shape[0]!, x.shape[1]!, -1]));

/** The hand count: kh·kw·filters (kh·kw·multiplier, units) of every MAC layer behind each measuring layer. */
const HAND_COUNT = {
  inp_delta: 3 * 3 * 4, // c1
  r1_delta: 3 * 3 * 1, // dw, through the zero padding; its residual path ends at add_delta
  dw_delta: 1 * 1 * 4, // proj (dw is linear: covered because a MAC layer reads it)
  add_delta: 1 * 1 * 2 + 3 * 3 * 3 + 1 * 1 * 2, // c2, c3, and c4 through the average pool
  c2_delta: 8, // d1 (units), through concatenate, max-pool and flatten
  c3_delta: 8,
  c4_delta: 8,
  d1_delta: 3, // fc, through dropout
};

/**
 * Gradients of a cross-entropy + penalty loss w.r.t. every trainable weight of the delta-ised `build()`,
 * on wasm and on cpu: each finite, not all zero, and within 1e-4 of cpu's (relative to cpu's largest).
 * Returns the weight names.
 */
async function expectWasmGradsMatchCpu(build: () => tf.LayersModel, shape: number[], what = ''): Promise<string[]> {
  const grads = async (backend: string) => {
    await tf.setBackend(backend);
    const d = deltaiseKeras(build(), { spRate: 1e-3 });
    const x = tf.randomUniform(shape, 0, 1, 'float32', 9);
    const k = (d.outputs[0]!.shape as number[])[1]!;
    const target = tf.oneHot(
      tf.tensor1d(
        [...Array(shape[0]).keys()].map((i) => i % k),
        'int32',
      ),
      k,
    );
    const { grads } = tf.variableGrads(
      () =>
        tf.addN([
          tf.losses.softmaxCrossEntropy(target, tf.log(d.apply(x, { training: true }) as tf.Tensor)),
          ...d.calculateLosses(),
        ]) as tf.Scalar,
      d.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k.replace(/_\d+$/, ''), Array.from(g.dataSync())]));
  };
  const wasm = await grads('wasm');
  const cpu = await grads('cpu');
  await tf.setBackend('wasm');
  expect(Object.keys(wasm), what).to.have.members(Object.keys(cpu));
  for (const [name, g] of Object.entries(wasm)) {
    const ref = cpu[name]!;
    const scale = Math.max(...ref.map(Math.abs));
    expect(scale, `${what} ${name}: zero gradient`).to.be.above(0);
    expect(g.every(Number.isFinite), `${what} ${name}`).to.equal(true);
    expect(Math.max(...g.map((v, i) => Math.abs(v - ref[i]!))) / scale, `${what} ${name}`).to.be.below(1e-4);
  }
  return Object.keys(wasm);
}

describe('tf/deltaise-graph: delta-ising a pretrained Keras model', () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-deltaise-graph-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('puts a measuring layer after every activation and on every other tensor a MAC layer reads, nowhere else', () => {
    const d = deltaiseKeras(toyKerasModel());
    expect(activationLayers(d).map((l) => l.name)).to.have.members(Object.keys(HAND_COUNT));
    expect(activationLayers(d).every((l) => l instanceof DeltaActivation && l.activation === 'linear')).to.equal(true);
    const fixed = deltaiseKeras(toyKerasModel(), { trainableThreshold: false });
    expect(fixed.trainableWeights.filter((w) => w.name.includes('threshold'))).to.have.lengthOf(0);
    expect(d.trainableWeights.filter((w) => w.name.includes('threshold'))).to.have.lengthOf(Object.keys(HAND_COUNT).length);
    const l1 = deltaiseKeras(toyKerasModel(), { variant: 'l1' });
    expect(activationLayers(l1).map((l) => l.name)).to.have.members(
      Object.keys(HAND_COUNT)
        .filter((n) => n !== INPUT_DELTA)
        .map((n) => n.replace('_delta', '_l1')),
    );
    expect(activationLayers(l1).every((l) => l instanceof L1Activation)).to.equal(true);
  });

  it('keeps the original per-frame outputs at threshold → 0 (delta, l1, baseline), and not at a real threshold', () => {
    const m = toyKerasModel();
    const x = clip();
    const ref = perFrame(m, x);
    for (const variant of ['delta', 'l1', 'baseline'] as const) {
      const d = deltaiseKeras(m, { variant, thresholdInit: 1e-7, inputThreshold: 1e-7 });
      const y = perFrameModel(d).predict(x) as tf.Tensor;
      expect(y.shape).to.deep.equal([2, 3, 3]);
      expect(maxAbsDiff(y, ref), variant).to.be.below(1e-5);
      expect(maxAbsDiff(d.predict(x) as tf.Tensor, tf.mean(ref, 1)), `${variant} ${CLIP_MEAN}`).to.be.below(1e-5);
    }
    const coarse = perFrameModel(deltaiseKeras(m, { thresholdInit: 0.5 })).predict(x) as tf.Tensor;
    expect(maxAbsDiff(coarse, ref)).to.be.above(1e-4); // 2.6e-4: the softmax head damps it
  });

  it('sets fan-outs per consumer as the hand count, summed over branches; per-stride divides by the stride²', () => {
    const d = deltaiseKeras(toyKerasModel());
    const got = Object.fromEntries(activationLayers(d).map((l) => [l.name, l.nOutputs]));
    expect(got).to.deep.equal(HAND_COUNT);
    assignFanOuts(d, 'per-stride');
    expect(activationLayers(d).find((l) => l.name === INPUT_DELTA)!.nOutputs).to.equal(HAND_COUNT.inp_delta / 4); // c1 has stride 2
    expect(activationLayers(d).find((l) => l.name === 'add_delta')!.nOutputs).to.equal(HAND_COUNT.add_delta);
  });

  it('keeps batch norm in inference mode in training calls (moving statistics fixed, scale and offset trainable)', () => {
    const d = deltaiseKeras(toyKerasModel(), { thresholdInit: 1e-7, inputThreshold: 1e-7 });
    const bn = d.getLayer('bn1');
    expect(bn).to.be.instanceOf(FrozenFrameWise);
    expect(bn.trainableWeights.map((w) => w.name)).to.have.lengthOf(2);
    const before = bn.getWeights().map((w) => Array.from(w.dataSync()));
    const x = clip();
    const train = d.apply(x, { training: true }) as tf.Tensor;
    expect(maxAbsDiff(train, d.predict(x) as tf.Tensor)).to.be.below(1e-6);
    expect(bn.getWeights().map((w) => Array.from(w.dataSync()))).to.deep.equal(before);
  });

  it('saves and loads (custom layers of a branching model), with its fan-outs and outputs', async () => {
    const d = deltaiseKeras(toyKerasModel(), { spRate: 1e-4 });
    const meta = { net: 'toy', variant: 'delta', classes: ['a', 'b', 'c'], frameShape: TOY_FRAME, seed: 1 };
    await saveModel(join(dir, 'toy'), d, meta);
    const { model } = await loadModel(join(dir, 'toy'));
    const x = clip();
    expect(maxAbsDiff(model.predict(x) as tf.Tensor, d.predict(x) as tf.Tensor)).to.equal(0);
    expect(activationLayers(model).map((l) => [l.name, l.nOutputs, l.spRate])).to.deep.equal(
      activationLayers(d).map((l) => [l.name, l.nOutputs, l.spRate]),
    );
    expect(model.getLayer('bn2')).to.be.instanceOf(FrozenFrameWise);
    expect(perFrameModel(model).outputs[0]!.shape).to.deep.equal([null, null, 3]);
  });

  it('train() and evaluate() take a delta-ised model: one epoch moves its weights and thresholds, every layer is tallied', async () => {
    const d = deltaiseKeras(toyKerasModel(), { spRate: 1e-4 });
    const frames = (await clip(4, 4).data()) as Float32Array;
    const size = 4 * TOY_FRAME.reduce((a, b) => a * b);
    const data = {
      classes: ['a', 'b', 'c'],
      size: 4,
      get: async (i: number) => ({
        source: `clip${i}`,
        label: i % 3,
        t: 4,
        h: 8,
        w: 8,
        c: 3,
        frames: frames.slice(i * size, (i + 1) * size),
      }),
    };
    const before = d.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    const res = await train(d, data as never, {
      phases: [{ epochs: 1, clipLength: 2, spRate: 1e-4 }],
      batchSize: 2,
      learningRate: 0.01,
      decay: 0,
      momentum: 0.9,
      seed: 1,
    });
    expect(res.iterations).to.equal(2);
    expect(Number.isFinite(res.epochs[0]!.loss)).to.equal(true);
    const moved = d.trainableWeights.filter((w, i) => Array.from(w.read().dataSync()).some((v, k) => v !== before[i]![k]));
    expect(moved.length).to.equal(d.trainableWeights.length);
    const e = await evaluate(d, data as never);
    expect(e.layers.map((l) => l.name)).to.deep.equal(activationLayers(d).map((l) => l.name));
    expect(e.operationSparsity).to.be.within(0, 1);
  });

  it('trains on wasm: every trainable weight gets a finite, non-zero gradient equal to the cpu backend’s', async () => {
    const names = await expectWasmGradsMatchCpu(() => toyKerasModel(), [2, 3, ...TOY_FRAME]);
    // 8 conv / dense layers (kernel, bias), 2 batch norms (scale, offset; bn2's made up), 8 thresholds.
    expect(names).to.have.lengthOf(2 * 8 + 2 * 2 + 8);
  });

  it('trains on wasm like on cpu through every layer geometry of nsfwjs MobileNetV2 and InceptionV3', async function () {
    this.timeout(600_000);
    const geometries = new Map<string, tf.layers.Layer>();
    for (const ref of NSFWJS_MODELS) {
      const { model } = await loadKerasModel(`nsfwjs:${ref}`);
      for (const l of model.layers) {
        const kind = l.getClassName();
        if (!['Conv2D', 'DepthwiseConv2D', 'ZeroPadding2D', 'MaxPooling2D', 'AveragePooling2D'].includes(kind)) continue;
        const { kernelSize, strides, padding, poolSize, depthMultiplier } = l.getConfig();
        geometries.set(JSON.stringify([kind, kernelSize, strides, padding, poolSize, depthMultiplier]), l);
      }
      model.dispose();
    }
    expect(geometries.size).to.equal(17); // 10 conv, 2 depthwise, 3 average-pool, 1 max-pool, 1 padding geometries
    for (const layer of geometries.values()) {
      const config = layer.getConfig();
      const kind = layer.getClassName();
      // The layer on an 11×11×3 frame (4 filters for a conv), then a dense head.
      const build = () => {
        const inp = tf.input({ shape: [11, 11, 3] });
        const cls = layer.constructor as unknown as { fromConfig(c: unknown, cfg: object): tf.layers.Layer };
        const copy = cls.fromConfig(layer.constructor, { ...config, ...(kind === 'Conv2D' ? { filters: 4 } : {}), name: 'probe' });
        const head = tf.layers.dense({
          name: 'head',
          units: 2,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        });
        const m = tf.model({
          inputs: inp,
          outputs: head.apply(tf.layers.flatten({ name: 'flat' }).apply(copy.apply(inp))) as tf.SymbolicTensor,
        });
        m.setWeights(m.weights.map((w, i) => tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', i + 1)));
        return m;
      };
      await expectWasmGradsMatchCpu(
        build,
        [1, 2, 11, 11, 3],
        `${kind} ${JSON.stringify(config.kernelSize ?? config.poolSize ?? config.padding)}`,
      );
    }
  });

  it('relative initial thresholds: each layer at r × the 99.9th percentile of |its input| on the clip, the input layer as it was', async () => {
    const d = deltaiseKeras(toyKerasModel(), {});
    const x = clip(1, 4);
    const dals = d.layers.filter((l): l is DeltaActivation => l instanceof DeltaActivation);
    const before = new Map(dals.map((l) => [l.name, Array.from(l.thresholdVariable!.read().dataSync())]));
    // Every layer's input in one pass at the initial thresholds (setting them changes what downstream layers see).
    const probe = tf.model({ inputs: d.inputs, outputs: dals.map((l) => l.input as tf.SymbolicTensor) });
    const ins = probe.predict(x) as tf.Tensor[];
    const set = await setRelativeThresholds(d, x, 0.05);
    for (const [k, l] of dals.entries()) {
      const now = Array.from(l.thresholdVariable!.read().dataSync());
      if (l.name === INPUT_DELTA) {
        expect(now, l.name).to.deep.equal(before.get(l.name));
        continue;
      }
      const a = Array.from(ins[k]!.dataSync(), Math.abs).sort((p, q) => p - q);
      const p999 = a[Math.ceil(0.999 * a.length) - 1]!;
      expect(set.get(l.name), l.name).to.be.closeTo(0.05 * p999, 1e-6 * (1 + p999));
      for (const v of now) expect(v, l.name).to.be.closeTo(0.05 * p999, 1e-6 * (1 + p999));
    }
    expect(set.size).to.equal(dals.length - 1);
    tf.dispose([x, ...ins]);
  });

  it('refuses what it cannot copy faithfully, naming the layer', () => {
    const inp = tf.input({ shape: [null, null, 3] });
    const open = tf.model({
      inputs: inp,
      outputs: tf.layers.globalAveragePooling2d({}).apply(tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(inp)) as tf.SymbolicTensor,
    });
    expect(() => deltaiseKeras(open)).to.throw(InputError, /known size/);
    const inp2 = tf.input({ shape: [4, 4, 2] });
    const shared = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'twice' });
    const twice = tf.model({
      inputs: inp2,
      outputs: tf.layers.flatten({}).apply(shared.apply(shared.apply(inp2))) as tf.SymbolicTensor,
    });
    expect(() => deltaiseKeras(twice)).to.throw(InputError, /"twice" is used 2 times/);
    expect(() => deltaiseKeras(toyKerasModel(), { variant: 'l1', inputDelta: true })).to.throw(InputError, /input delta/);
  });
});
