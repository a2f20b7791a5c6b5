import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../src/tf/backend.js';
import { MotionInput } from '../../src/tf/layers/index.js';
import { buildModel, deltaise, macLayers, type ModelSpec } from '../../src/tf/models.js';
import { loadModel, saveModel } from '../../src/tf/persist.js';

describe('tf/layers: MotionInput and motionInput models', () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-motion-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("appends each frame's temporal difference as channels, zero for frame 0", () => {
    // (1, 3, 1, 2, 1): frames [1,2], [4,2], [4,7]
    const x = tf.tensor5d([1, 2, 4, 2, 4, 7], [1, 3, 1, 2, 1]);
    const y = new MotionInput().apply(x) as tf.Tensor;
    expect(y.shape).to.deep.equal([1, 3, 1, 2, 2]);
    expect(Array.from(y.dataSync())).to.deep.equal([1, 0, 2, 0, 4, 3, 2, 0, 4, 0, 7, 5]);
  });

  it('feeds the first conv 2·C channels, survives deltaise and a save / load round trip', async () => {
    const spec: ModelSpec = { net: 'plain', variant: 'baseline', classes: 3, frameShape: [32, 32, 1], seed: 5, motionInput: true };
    const base = buildModel(spec);
    const conv1 = macLayers(base)[0]!;
    expect(conv1.input).to.deep.equal([32, 32, 2]);
    expect(conv1.inputLayer).to.equal('motion');
    expect(conv1.quantiser).to.equal(null);
    const x = tf.randomUniform([1, 4, 32, 32, 1], 0, 1, 'float32', 3);
    const delta = deltaise(base);
    expect(macLayers(delta)[0]!.input).to.deep.equal([32, 32, 2]);
    await saveModel(join(dir, 'm'), delta, { net: 'plain', variant: 'delta', classes: ['a', 'b', 'c'], frameShape: [32, 32, 1], seed: 5 });
    const { model } = await loadModel(join(dir, 'm'));
    expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).to.deep.equal(Array.from((delta.predict(x) as tf.Tensor).dataSync()));
  });
});
