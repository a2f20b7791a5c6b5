/**
 * A global average pool's output as the next layer's input: its levels at scale step / (H·W) are the sum of
 * the pool input's levels. Read off the float32 mean instead, large levels fall off that finer grid (a mean
 * of ~30 is exact to 2^-19, a few hundredths of step / 16 = 6.25e-5), which made the recorder refuse models
 * with a small trained threshold before the pool (issue 18: the seed-3 delta model on Megamind.avi).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { buildModel, conv } from '../../src/tf/models.js';
import { recordTrace, type FrameSource } from '../../src/record/index.js';
import { openTrace, readLayer } from '../../traces/reader.js';

const STEP = 1e-3;
const FRAMES = 5;

/** Frames whose pixels differ frame to frame (deterministic), each a multiple of 1/255 as the recorder feeds them. */
function source(): FrameSource {
  const frame = (t: number) => Float32Array.from({ length: 64 }, (_, k) => ((k * 37 + t * 11) % 256) / 255);
  return {
    frameShape: [8, 8, 1],
    frames: FRAMES,
    fps: 10,
    notes: [],
    clip: { source: 'test', firstFrame: 0 },
    async *read() {
      for (let t = 0; t < FRAMES; t++) yield frame(t);
    },
  };
}

describe('record: a global average pool of large levels', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-pooled-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("records the classifier's input as the exact sum of the pooled levels (no 'off the level grid' refusal)", async () => {
    // 1×1 stride-2 conv → 4×4×2 activations up to ~30 at step 1e-3 (levels up to ~30 000) → 4×4 pool → fc.
    const model = buildModel({
      net: 'plain',
      variant: 'baseline',
      classes: 2,
      frameShape: [8, 8, 1],
      seed: 1,
      step: STEP,
      blocks: [conv(2, 1, 2)],
    });
    const conv1 = model.getLayer('conv1');
    conv1.setWeights([tf.tensor4d([30, 17], [1, 1, 1, 2]), tf.zeros([2])]);
    const out = join(dir, 'pooled');
    const r = await recordTrace(model, source(), out, { modelInfo: { name: 'pooled', source: 'test' }, chunkFrames: 2 });
    const trace = openTrace(out, { verify: true });
    const fc = trace.layers.find((l) => l.spec.name === 'fc')!;
    expect(fc.spec.act.scale).to.be.closeTo(STEP / 16, 1e-10); // (the step is a float32 weight)
    expect(r.layers.find((l) => l.name === 'fc')!.max, 'levels large enough to be off the float32 mean').to.be.above(2 ** 18);

    // Expected: per frame and channel, the sum over the 16 cells of round(act / step), act = the model's activation.
    const pixels: Float32Array[] = [];
    for await (const f of source().read()) pixels.push(f);
    const x = tf.tensor5d(Float32Array.from(pixels.flatMap((f) => Array.from(f))), [1, FRAMES, 8, 8, 1]);
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('act1').output as tf.SymbolicTensor });
    const act = probe.predict(x) as tf.Tensor;
    const expected = tf.tidy(() => tf.sum(tf.reshape(tf.round(tf.div(act, STEP)), [FRAMES, 16, 2]), 1)).dataSync();
    tf.dispose([x, act]);
    expect(Array.from(readLayer(fc))).to.deep.equal(Array.from(expected));
    model.dispose();
  });
});
