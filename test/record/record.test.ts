import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { buildModel, macLayers, type ModelSpec } from '../../src/tf/models.js';
import { DeltaActivation } from '../../src/tf/layers/index.js';
import { saveModel } from '../../src/tf/persist.js';
import { FFMPEG_PATH } from '../../src/video/index.js';
import {
  datasetSource,
  levelDtype,
  PIXEL_LEVELS,
  recordModelTrace,
  recordTrace,
  videoSource,
  type FrameSource,
} from '../../src/record/index.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { InputError } from '../../lib/errors.js';

const SIZE = 16;
const spec = (over: Partial<ModelSpec> = {}): ModelSpec => ({
  net: 'plain',
  variant: 'delta',
  classes: 2,
  frameShape: [SIZE, SIZE, 1],
  seed: 5,
  inputDelta: false, // the first conv reads 8-bit pixels here; with the input layer: test/tf/faithful-options.test.ts
  ...over,
});

/** Give each delta layer distinct per-channel thresholds, so per-channel scales are exercised. */
function spreadThresholds(model: tf.LayersModel): void {
  for (const l of model.layers) {
    if (!(l instanceof DeltaActivation)) continue;
    const c = l.getWeights()[0]!.shape[0]!;
    l.setWeights([tf.tensor1d(Array.from({ length: c }, (_, i) => 0.03 + 0.01 * (i % 4)))]);
  }
}

/** Every MAC layer's input over the whole clip in one call, fed the same 8-bit pixels as the recorder. */
async function activations(model: tf.LayersModel, source: FrameSource): Promise<Float32Array[]> {
  const frames: Float32Array[] = [];
  for await (const f of source.read()) frames.push(Float32Array.from(f, (v) => Math.round(v * PIXEL_LEVELS) / PIXEL_LEVELS));
  const x = tf.tensor5d(Float32Array.from(frames.flatMap((f) => Array.from(f))), [1, frames.length, ...source.frameShape]);
  const probe = tf.model({
    inputs: model.inputs,
    outputs: macLayers(model).map((m) => model.getLayer(m.inputLayer).output as tf.SymbolicTensor),
  });
  const outs = probe.predict(x) as tf.Tensor[];
  const values = outs.map((o) => o.dataSync() as Float32Array);
  tf.dispose([x, ...outs]);
  return values;
}

describe('record: traces from a layers model', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-record-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [label, s] of [
    ['plain delta, motion input, per-channel thresholds', spec({ motionInput: true })],
    [
      'mobilenet baseline, 32×32: the classifier reads a 2×2 average pool',
      spec({ net: 'mobilenet', variant: 'baseline', frameShape: [32, 32, 1] }),
    ],
  ] as const) {
    it(`recorded levels × scale equal the model's activations (${label}), across chunk boundaries`, async () => {
      const model = buildModel(s);
      spreadThresholds(model);
      const source = await datasetSource('procedural:classes=left+cw', { frameShape: s.frameShape, frames: 11, seed: 2 });
      const out = join(dir, `rt-${s.net}`);
      const r = await recordTrace(model, source, out, { modelInfo: { name: model.name, source: 'test' }, chunkFrames: 4 });
      const trace = openTrace(out, { verify: true }); // sha256 checked
      expect(trace.manifest.frames).to.equal(11);
      expect(trace.manifest.clip).to.deep.equal({ source: 'procedural:seed=2,split=test#0', firstFrame: 0 });
      expect(trace.layers.map((l) => l.spec.name)).to.deep.equal(macLayers(model).map((m) => m.name));
      const expected = await activations(model, source);
      trace.layers.forEach((layer, i) => {
        const levels = readLayer(layer);
        const { scale } = layer.spec.act;
        const c = layer.spec.input[layer.spec.input.length - 1]!;
        const a = expected[i]!;
        expect(levels.length).to.equal(a.length);
        let worst = 0;
        for (let k = 0; k < a.length; k++) {
          const q = typeof scale === 'number' ? scale : scale[k % c]!;
          expect(Number.isInteger(levels[k]), `${layer.spec.name}: integer levels`).to.equal(true);
          worst = Math.max(worst, Math.abs(levels[k]! * q - a[k]!));
        }
        expect(worst, `${layer.spec.name}: max |level·scale − activation|`).to.be.below(1e-5);
        expect(layer.dtype).to.equal(levelDtype(r.layers[i]!.min, r.layers[i]!.max));
      });
      const first = trace.manifest.layers[0]!;
      expect(first.act.scale).to.equal(1 / 255);
      if (s.motionInput) {
        // [x, x_t − x_{t−1}]: signed 8-bit differences need int16; later layers carry per-channel scales.
        expect(first.act).to.include({ dtype: 'int16', signed: true });
        expect(trace.manifest.layers[1]!.act.scale).to.have.length(8);
      } else {
        expect(first.act).to.include({ dtype: 'uint8', signed: false });
        expect(trace.manifest.layers.slice(1).every((l) => typeof l.act.scale === 'number')).to.equal(true);
      }
      // The graph (version 2): every per-frame layer of the model a node, in the model's order; the MAC
      // layers are the mac nodes (the clip's mean over frames is not per frame and is left out).
      expect(trace.manifest.version).to.equal(2);
      const g = trace.manifest.graph!;
      const perFrame = model.layers.filter((l) => (l.outputShape as unknown[]).length >= 3 && l.getClassName() !== 'InputLayer');
      expect(g.nodes.map((n) => n.name)).to.deep.equal(perFrame.map((l) => l.name));
      expect(g.nodes.filter((n) => n.op === 'mac').map((n) => n.name)).to.deep.equal(macLayers(model).map((m) => m.name));
      const fc = g.nodes.find((n) => n.name === trace.layers.at(-1)!.spec.name)!;
      const pool = g.nodes.find((n) => n.output.name === fc.inputs[0])!;
      expect(pool).to.deep.include({
        op: 'globalpool',
        opType: 'GlobalAveragePooling2D',
        output: { name: 'gap:0', shape: trace.layers.at(-1)!.spec.input },
      });
      expect(g.inputs[0]!.shape).to.deep.equal(s.frameShape);
      const stats = traceStats(trace);
      expect(stats.layers).to.have.length(trace.layers.length);
      expect(stats.overall.spatial).to.be.within(0, 1);
      model.dispose();
    });
  }

  it('is deterministic: the same model and clip give byte-identical traces', async () => {
    const model = buildModel(spec());
    const source = await datasetSource('procedural', { frameShape: [SIZE, SIZE, 1], frames: 6 });
    const a = (await recordTrace(model, source, join(dir, 'd1'), { modelInfo: { name: 'm' } })).manifest;
    const b = (await recordTrace(model, source, join(dir, 'd2'), { modelInfo: { name: 'm' }, chunkFrames: 2 })).manifest;
    expect(b.layers.map((l) => l.sha256)).to.deep.equal(a.layers.map((l) => l.sha256));
    model.dispose();
  });

  describe('bad input: a clear InputError and nothing written', () => {
    let modelDir: string;
    let video: string;
    const out = () => join(dir, 'bad-out');
    const rejects = async (p: Promise<unknown>, pattern: RegExp) => {
      let err: unknown;
      try {
        await p;
      } catch (e) {
        err = e;
      }
      expect(err, 'should have thrown').to.be.instanceOf(InputError);
      expect((err as Error).message).to.match(pattern);
      expect(existsSync(out()), 'output written').to.equal(false);
    };
    before(async () => {
      modelDir = join(dir, 'model');
      const model = buildModel(spec());
      await saveModel(modelDir, model, { net: 'plain', variant: 'delta', classes: ['a', 'b'], frameShape: [SIZE, SIZE, 1], seed: 5 });
      model.dispose();
      video = join(dir, 'ten.mp4'); // 10 frames of 40×30: not the model's size
      execFileSync(FFMPEG_PATH, [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=40x30:rate=10',
        '-frames:v',
        '10',
        '-pix_fmt',
        'yuv420p',
        video,
      ]);
    });

    it('missing video file', () =>
      rejects(recordModelTrace({ modelDir, video: join(dir, 'nope.mp4'), frames: 4, out: out() }), /no such video file/));
    it('undecodable video', () => {
      const junk = join(dir, 'junk.mp4');
      writeFileSync(junk, 'not a video at all');
      return rejects(recordModelTrace({ modelDir, video: junk, frames: 4, out: out() }), /ffmpeg cannot decode/);
    });
    it('missing model directory', () =>
      rejects(recordModelTrace({ modelDir: join(dir, 'no-model'), data: 'procedural', frames: 4, out: out() }), /no such model directory/));
    it('channels that do not fit the model', () =>
      rejects(recordModelTrace({ modelDir, data: 'procedural', frames: 4, channels: 3, out: out() }), /3 channel\(s\), the model takes 1/));
    it('more frames than the video has', () => rejects(recordModelTrace({ modelDir, video, frames: 12, out: out() }), /has 10 frames/));
    it('a clip index out of range', () =>
      rejects(recordModelTrace({ modelDir, data: 'procedural:test=2', frames: 4, clip: 5, out: out() }), /--clip 5/));

    it('a video of another size is resized to the model (and says so)', async () => {
      const notes: string[] = [];
      const r = await recordModelTrace({ modelDir, video, frames: 10, out: out(), onNote: (n) => notes.push(n) });
      expect(notes.join()).to.match(/resizing 40×30 .* 16×16/);
      expect(r.manifest.clip).to.deep.equal({ source: `file:${video}`, firstFrame: 0, nativeFps: 10, duplicatedFrames: 0 });
      expect(r.manifest.fps).to.equal(10);
      expect(openTrace(out()).manifest.layers[0]!.input).to.deep.equal([SIZE, SIZE, 1]);
      rmSync(out(), { recursive: true });
    });

    it('a frame source whose shape differs from the model input', async () => {
      const model = buildModel(spec());
      const source = await videoSource(video, { frameShape: [30, 40, 1], frames: 2 });
      await rejects(recordTrace(model, source, out(), { modelInfo: { name: 'm' } }), /frames 30×40×1, the model takes 16×16×1/);
      model.dispose();
    });
  });
});
