import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../src/tf/backend.js';
import { DeltaActivation, L1Activation, frameWise } from '../../src/tf/layers/index.js';
import {
  activationLayers,
  assignFanOuts,
  buildModel,
  conv,
  deltaise,
  INPUT_DELTA,
  inputDeltaOf,
  macLayers,
  maxpool,
  type ModelSpec,
  unmeasuredInputFanOut,
} from '../../src/tf/models.js';
import { loadModel, saveModel, type ModelMeta } from '../../src/tf/persist.js';
import { InputError } from '../../lib/errors.js';

const spec = (over: Partial<ModelSpec> = {}): ModelSpec => ({
  net: 'plain',
  variant: 'baseline',
  classes: 3,
  frameShape: [64, 64, 1],
  seed: 7,
  ...over,
});
const clip = (b = 2, t = 3, side = 64) => tf.randomUniform([b, t, side, side, 1], 0, 1, 'float32', 11);
const values = (m: tf.LayersModel, x: tf.Tensor) => Array.from((m.predict(x) as tf.Tensor).dataSync());

describe('tf/models', () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-models-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('plain and mobilenet predict one distribution per clip (mean of per-frame softmax)', () => {
    for (const net of ['plain', 'mobilenet'] as const) {
      const y = buildModel(spec({ net })).predict(clip()) as tf.Tensor;
      expect(y.shape).to.deep.equal([2, 3]);
      for (const row of y.arraySync() as number[][]) expect(row.reduce((a, b) => a + b)).to.be.closeTo(1, 1e-5);
    }
  });

  it('the same seed gives the same weights; another seed other weights', () => {
    const w = (seed: number) => Array.from(buildModel(spec({ seed })).getWeights()[0]!.dataSync());
    expect(w(7)).to.deep.equal(w(7));
    expect(w(7)).to.not.deep.equal(w(8));
  });

  it('describes its MAC layers for trace manifests, with TensorFlow "same" padding', () => {
    const macs = macLayers(buildModel(spec()));
    expect(macs.map((m) => m.name)).to.deep.equal(['conv1', 'conv2', 'conv3', 'conv4', 'fc']);
    expect(macs[0]).to.deep.include({
      op: 'conv2d',
      input: [64, 64, 1],
      output: [32, 32, 8],
      kernel: [3, 3],
      stride: [2, 2],
      padding: [0, 1, 0, 1],
      groups: 1,
      inputLayer: 'frames',
      quantiser: null,
    });
    expect(macs[4]).to.deep.include({ op: 'dense', input: [32], output: [3], inputLayer: 'gap', quantiser: 'act4' });
    const dw = macLayers(buildModel(spec({ net: 'mobilenet' })))[1]!;
    expect(dw).to.deep.include({ op: 'depthwise2d', input: [32, 32, 8], output: [16, 16, 8], groups: 8, quantiser: 'act1' });
  });

  it("sets each activation's fan-out from the next MAC layer: the authors' kh·kw·filters by default, ÷ stride² per-stride", () => {
    const fan = (over: Partial<ModelSpec>) => activationLayers(buildModel(spec(over))).map((l) => l.nOutputs);
    expect(fan({})).to.deep.equal([9 * 16, 9 * 32, 9 * 32, 3]);
    expect(fan({ fanOut: 'authors' })).to.deep.equal(fan({}));
    expect(fan({ fanOut: 'per-stride' })).to.deep.equal([(9 * 16) / 4, (9 * 32) / 4, (9 * 32) / 4, 3]);
    // mobilenet: conv1 → dw2 (3×3, stride 2) → pw3 (1×1, 16) → dw4 → pw5 (32) → dw6 → pw7 (32) → fc
    expect(fan({ net: 'mobilenet' })).to.deep.equal([9, 16, 9, 32, 9, 32, 3]);
    expect(fan({ net: 'mobilenet', fanOut: 'per-stride' })).to.deep.equal([9 / 4, 16, 9 / 4, 32, 9 / 4, 32, 3]);
    // The delta variant's input layer feeds conv1 (3×3, 8 filters, stride 2).
    expect(fan({ variant: 'delta' })[0]).to.equal(9 * 8);
    expect(fan({ variant: 'delta', fanOut: 'per-stride' })[0]).to.equal((9 * 8) / 4);
    expect(() => buildModel(spec({ fanOut: 'stride' as 'authors' }))).to.throw(InputError, /unknown fan-out convention "stride"/);
  });

  it('fan-out of a tensor feeding two convs (3×3×8 stride 1, 5×5×4 stride 2) is summed over both, against a hand count', () => {
    const input = tf.input({ shape: [null, 16, 16, 1], name: 'frames' });
    const shared = new L1Activation({ name: 'shared', step: 0.1 }).apply(input) as tf.SymbolicTensor;
    const branch = (id: string, filters: number, kernel: number, stride: number, units: number) => {
      let x = frameWise(tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same' }), id).apply(
        shared,
      ) as tf.SymbolicTensor;
      x = new L1Activation({ name: `${id}_act`, step: 0.1 }).apply(x) as tf.SymbolicTensor;
      x = frameWise(tf.layers.globalAveragePooling2d({}), `${id}_gap`).apply(x) as tf.SymbolicTensor;
      return frameWise(tf.layers.dense({ units }), `${id}_fc`).apply(x) as tf.SymbolicTensor;
    };
    const model = tf.model({ inputs: input, outputs: [branch('a', 8, 3, 1, 2), branch('b', 4, 5, 2, 3)] });
    const macs = macLayers(model);
    expect(macs.filter((m) => m.quantiser === 'shared').map((m) => m.name)).to.deep.equal(['a', 'b']);
    const fan = () => Object.fromEntries(activationLayers(model).map((l) => [l.name, l.nOutputs]));
    assignFanOuts(model);
    // authors: 3·3·8 + 5·5·4 = 72 + 100; the branch activations feed their dense layers (units).
    expect(fan()).to.deep.equal({ shared: 172, a_act: 2, b_act: 3 });
    assignFanOuts(model, 'per-stride');
    expect(fan()).to.deep.equal({ shared: 72 + 100 / 4, a_act: 2, b_act: 3 });
  });

  it('fan-out of an unmeasured input: the MAC layers reading the frames (through a pool), by the convention the model was given', () => {
    const input = tf.input({ shape: [null, 16, 16, 1], name: 'frames' });
    const conv = (id: string, filters: number, kernel: number, stride: number, x: tf.SymbolicTensor) =>
      frameWise(tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same' }), id).apply(x) as tf.SymbolicTensor;
    const act = (id: string, x: tf.SymbolicTensor) => new L1Activation({ name: id, step: 0.1 }).apply(x) as tf.SymbolicTensor;
    const pooled = frameWise(tf.layers.maxPooling2d({ poolSize: 2 }), 'pool').apply(input) as tf.SymbolicTensor;
    // frames → a (3×3×8, stride 1) → a_act → c (3×3×4, stride 2); frames → pool → b (5×5×4, stride 2) → b_act
    const a = act('a_act', conv('a', 8, 3, 1, input));
    const model = tf.model({ inputs: input, outputs: [conv('c', 4, 3, 2, a), act('b_act', conv('b', 4, 5, 2, pooled))] });
    assignFanOuts(model);
    expect(unmeasuredInputFanOut(model)).to.equal(3 * 3 * 8 + 5 * 5 * 4);
    assignFanOuts(model, 'per-stride');
    expect(unmeasuredInputFanOut(model)).to.equal(3 * 3 * 8 + (5 * 5 * 4) / 4);
    // Measured by an activation layer: nothing to add.
    const measured = tf.model({ inputs: input, outputs: conv('d', 2, 3, 1, act('inp', input)) });
    expect(unmeasuredInputFanOut(measured)).to.equal(0);
  });

  it('delta models get the input Delta Activation Layer (linear, 3/255) in front of the first conv, or not when asked', () => {
    const delta = buildModel(spec({ variant: 'delta', motionInput: true }));
    const inp = inputDeltaOf(delta)!;
    expect(inp.name).to.equal(INPUT_DELTA);
    expect(inp.getConfig()).to.include({ activation: 'linear', thresholdInit: 3 / 255, granularity: 'channel' });
    expect(delta.layers[1]).to.equal(inp);
    expect(macLayers(delta)[0]).to.deep.include({ name: 'conv1', inputLayer: 'motion', quantiser: INPUT_DELTA });
    expect(inp.nOutputs).to.equal(9 * 8);
    expect(inputDeltaOf(buildModel(spec({ variant: 'delta', inputDelta: false })))).to.equal(null);
    expect(inputDeltaOf(buildModel(spec()))).to.equal(null);
    expect(inputDeltaOf(buildModel(spec({ variant: 'delta', inputThreshold: 0.05 })))!.thresholdInit).to.equal(0.05);
    expect(() => buildModel(spec({ variant: 'l1', inputDelta: true }))).to.throw(InputError, /input delta layer is for delta models/);
    expect(() => buildModel(spec({ variant: 'delta', inputThreshold: 0 }))).to.throw(InputError, /input threshold/);
  });

  it('max-pool blocks: no activation after them; the conv behind reads the pooled levels of the activation before', async () => {
    const model = buildModel(spec({ variant: 'delta', frameShape: [16, 16, 1], blocks: [conv(8, 3, 1), maxpool(2), conv(16, 3, 1)] }));
    expect(model.layers.map((l) => l.name)).to.deep.equal([
      'frames',
      'inp_delta',
      'conv1',
      'act1',
      'pool2',
      'conv3',
      'act3',
      'gap',
      'fc',
      'frame_softmax',
      'clip_mean',
    ]);
    const macs = macLayers(model);
    expect(macs[1]).to.deep.include({ name: 'conv3', input: [8, 8, 8], output: [8, 8, 16], inputLayer: 'pool2', quantiser: 'act1' });
    expect(activationLayers(model).map((l) => l.nOutputs)).to.deep.equal([9 * 8, 9 * 16, 3]);
    // Trainable on this backend (wasm's MaxPoolGrad is replaced: src/tf/kernels): every gradient finite, conv1's non-zero.
    const x = tf.randomUniform([2, 3, 16, 16, 1], 0, 1, 'float32', 5);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, tf.tensor1d([1, -1, 2]))) as tf.Scalar,
      vars,
    );
    for (const v of vars) expect(Array.from(grads[v.name]!.dataSync()).every(Number.isFinite), v.name).to.equal(true);
    const k1 = grads[(model.getLayer('conv1').trainableWeights[0]!.read() as tf.Variable).name]!;
    expect(tf.max(tf.abs(k1)).dataSync()[0]).to.be.greaterThan(0);
  });

  it('variants: baseline has no penalty, l1 and delta carry sp_rate; delta thresholds are trainable', () => {
    const acts = (variant: ModelSpec['variant']) => activationLayers(buildModel(spec({ variant, spRate: 1e-4 })));
    expect(acts('baseline').every((l) => l instanceof L1Activation && l.spRate === 0)).to.equal(true);
    expect(acts('l1').every((l) => l instanceof L1Activation && l.spRate === 1e-4)).to.equal(true);
    expect(acts('delta').every((l) => l instanceof DeltaActivation && l.spRate === 1e-4 && l.trainableWeights.length === 1)).to.equal(true);
    expect(() => buildModel(spec({ net: 'resnet' as 'plain' }))).to.throw(InputError, /unknown net/);
  });

  it('deltaise replaces the quantised activations (same outputs at threshold = step) and keeps the weights', () => {
    const base = buildModel(spec());
    const delta = deltaise(base, { spRate: 1e-4, inputDelta: false });
    expect(activationLayers(delta).every((l) => l instanceof DeltaActivation)).to.equal(true);
    expect(activationLayers(delta).map((l) => l.nOutputs)).to.deep.equal(activationLayers(base).map((l) => l.nOutputs));
    const x = clip();
    expect(values(delta, x)).to.deep.equal(values(base, x));
    // By default the frames get the input layer too (once: delta-ising a delta model adds none).
    const withInput = deltaise(base, { fanOut: 'per-stride' });
    expect(activationLayers(withInput).map((l) => l.name)).to.deep.equal([INPUT_DELTA, 'act1', 'act2', 'act3', 'act4']);
    expect(activationLayers(withInput).map((l) => l.nOutputs)).to.deep.equal([(9 * 8) / 4, (9 * 16) / 4, (9 * 32) / 4, (9 * 32) / 4, 3]);
    expect(activationLayers(deltaise(withInput)).filter((l) => l.name === INPUT_DELTA)).to.have.length(1);
  });

  it('deltaise inserts a Delta Activation Layer after every relu of a float model', () => {
    const input = tf.input({ shape: [null, 16, 16, 1] });
    let x = frameWise(tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), 'c1').apply(
      input,
    ) as tf.SymbolicTensor;
    x = frameWise(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }), 'c2').apply(x) as tf.SymbolicTensor;
    x = frameWise(tf.layers.flatten(), 'flat').apply(x) as tf.SymbolicTensor;
    x = frameWise(tf.layers.dense({ units: 2, activation: 'softmax' }), 'out').apply(x) as tf.SymbolicTensor;
    const d = deltaise(tf.model({ inputs: input, outputs: x }), { thresholdInit: 0.1 });
    const acts = activationLayers(d);
    expect(acts.map((l) => l.name)).to.deep.equal([INPUT_DELTA, 'c1_delta', 'c2_delta']);
    expect(acts[0]!.nOutputs).to.equal(9 * 4); // c1: 3×3 kernel, 4 filters (stride 2 not divided out)
    expect(acts[1]!.nOutputs).to.equal(9 * 6); // c2: 3×3 kernel, 6 filters, stride 1
    expect((d.predict(tf.ones([1, 2, 16, 16, 1])) as tf.Tensor).shape).to.deep.equal([1, 2, 2]);
  });

  it('save / load round trip: same predictions and layer configs, meta.json kept', async () => {
    const model = deltaise(buildModel(spec({ net: 'mobilenet' })), { spRate: 3e-4, granularity: 'neuron' });
    const thr = activationLayers(model)[2]!.getWeights()[0]!;
    activationLayers(model)[2]!.setWeights([tf.mul(thr, tf.randomUniform(thr.shape, 0.5, 2, 'float32', 3))]);
    const meta: ModelMeta = {
      net: 'mobilenet',
      variant: 'delta',
      classes: ['a', 'b', 'c'],
      frameShape: [64, 64, 1],
      seed: 7,
      training: { epochs: 1 },
    };
    const out = join(dir, 'm1');
    await saveModel(out, model, meta);
    const loaded = await loadModel(out);
    expect(loaded.meta).to.deep.equal(meta);
    const x = clip();
    expect(values(loaded.model, x)).to.deep.equal(values(model, x));
    const cfg = (m: tf.LayersModel) => activationLayers(m).map((l) => l.getConfig());
    expect(cfg(loaded.model)).to.deep.equal(cfg(model));
    expect(macLayers(loaded.model)).to.deep.equal(macLayers(model));
  });

  it('load reports a missing model, bad JSON and truncated weights as input errors', async () => {
    await expectInputError(loadModel(join(dir, 'nope')), /model\.json: file not found/);
    const out = join(dir, 'm2');
    await saveModel(out, buildModel(spec()), {
      net: 'plain',
      variant: 'baseline',
      classes: ['a', 'b', 'c'],
      frameShape: [64, 64, 1],
      seed: 7,
    });
    writeFileSync(join(out, 'weights.bin'), new Uint8Array(10));
    await expectInputError(loadModel(out), /weights hold 10 bytes/);
    writeFileSync(join(out, 'model.json'), '{"modelTopology": ');
    await expectInputError(loadModel(out), /malformed JSON/);
  });
});

async function expectInputError(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(InputError);
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail('expected an InputError');
}
