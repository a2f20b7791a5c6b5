import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../src/tf/backend.js';
import { DeltaActivation, L1Activation, frameWise } from '../../src/tf/layers/index.js';
import { activationLayers, buildModel, deltaise, macLayers, type ModelSpec } from '../../src/tf/models.js';
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

  it("sets each activation's fan-out from the next MAC layer (kh·kw·filters/stride², kh·kw/stride², units)", () => {
    expect(activationLayers(buildModel(spec())).map((l) => l.nOutputs)).to.deep.equal([(9 * 16) / 4, (9 * 32) / 4, (9 * 32) / 4, 3]);
    expect(activationLayers(buildModel(spec({ net: 'mobilenet' }))).map((l) => l.nOutputs)).to.deep.equal([
      9 / 4,
      16,
      9 / 4,
      32,
      9 / 4,
      32,
      3,
    ]);
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
    const delta = deltaise(base, { spRate: 1e-4 });
    expect(activationLayers(delta).every((l) => l instanceof DeltaActivation)).to.equal(true);
    expect(activationLayers(delta).map((l) => l.nOutputs)).to.deep.equal(activationLayers(base).map((l) => l.nOutputs));
    const x = clip();
    expect(values(delta, x)).to.deep.equal(values(base, x));
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
    expect(acts.map((l) => l.name)).to.deep.equal(['c1_delta', 'c2_delta']);
    expect(acts[0]!.nOutputs).to.equal(9 * 6); // c2: 3×3 kernel, 6 filters, stride 1
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
