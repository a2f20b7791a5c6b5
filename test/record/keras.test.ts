import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { frameToInput } from '../../src/record/graph/input.js';
import { imageInput, recordKerasModelTrace } from '../../src/record/keras-model.js';
import { loadKerasModel } from '../../src/record/keras/load.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { saveModel } from '../../src/tf/persist.js';
import { FFMPEG_PATH } from '../../src/video/index.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';
import { layerMacs, layerOf } from '../../traces/layer.js';
import type { Manifest } from '../../traces/manifest.js';
import { openTrace, readLayer } from '../../traces/reader.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const Q = 0.05;

const clipOf = (h: number, w: number, frames = 3): Clip =>
  new ProceduralDataset({ frames, width: w, height: h, channels: 3, seed: 5, noise: 0.02 }, 'test').render(0);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A small functional multi-branch network: c1's output is read by two branches (a 1×1 conv; a depthwise
 * then a separable conv), concatenated, max-pooled, then a transposed conv, a per-pixel Dense and a
 * global pool + Dense head.
 */
function smallNet(): tf.LayersModel {
  const L = tf.layers;
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const inp = tf.input({ shape: [12, 12, 3], name: 'image' });
  const pad = L.zeroPadding2d({
    padding: [
      [1, 0],
      [0, 1],
    ],
    name: 'pad',
  }).apply(inp) as tf.SymbolicTensor;
  const c1 = L.conv2d({
    filters: 8,
    kernelSize: 3,
    strides: 2,
    padding: 'valid',
    activation: 'relu',
    name: 'c1',
    kernelInitializer: init(1),
  }).apply(pad) as tf.SymbolicTensor;
  const a = L.conv2d({ filters: 4, kernelSize: 1, padding: 'same', name: 'a', kernelInitializer: init(2) }).apply(c1) as tf.SymbolicTensor;
  const dw = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw', depthwiseInitializer: init(3) }).apply(
    c1,
  ) as tf.SymbolicTensor;
  const relu = L.reLU({ name: 'relu' }).apply(dw) as tf.SymbolicTensor;
  const sep = L.separableConv2d({
    filters: 4,
    kernelSize: 3,
    strides: 2,
    padding: 'same',
    name: 'sep',
    depthwiseInitializer: init(4),
    pointwiseInitializer: init(5),
    biasInitializer: tf.initializers.constant({ value: 0.1 }),
  }).apply(relu) as tf.SymbolicTensor;
  const up = L.upSampling2d({ size: [2, 2], name: 'up' }).apply(sep) as tf.SymbolicTensor;
  const cat = L.concatenate({ name: 'cat' }).apply([a, up]) as tf.SymbolicTensor;
  const pool = L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'pool' }).apply(cat) as tf.SymbolicTensor;
  const tconv = L.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, name: 'tconv', kernelInitializer: init(6) }).apply(
    pool,
  ) as tf.SymbolicTensor;
  const pix = L.dense({ units: 3, name: 'pix', kernelInitializer: init(7) }).apply(pool) as tf.SymbolicTensor;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(pool) as tf.SymbolicTensor;
  const head = L.dense({ units: 5, activation: 'softmax', name: 'head', kernelInitializer: init(8) }).apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: [head, tconv, pix], name: 'small' });
}

const META = { net: 'keras-test', variant: 'float', classes: [], frameShape: [12, 12, 3] as [number, number, number], seed: 0 };

describe('record/keras', function () {
  this.timeout(120_000);
  let dir: string;
  let model: tf.LayersModel;
  let file: string;
  let manifest: Manifest;
  const clip = clipOf(12, 12);
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-keras-test-'));
    model = smallNet();
    await saveModel(join(dir, 'small'), model, META);
    file = join(dir, 'small', 'model.json');
    manifest = await recordKerasModelTrace({ model: file, frames: clip, threshold: Q, out: join(dir, 'trace') });
  });
  after(() => rmSync(dir, { recursive: true, force: true })); // model's layers are disposed with the probe (below)

  it('records every MAC layer with its geometry (SeparableConv2D as two, Dense on a map as 1×1, Conv2DTranspose as its GEMM)', () => {
    const trace = openTrace(join(dir, 'trace')); // schema, geometry, graph, .npy headers, sha256
    expect(trace.manifest).to.deep.equal(manifest);
    expect(manifest.model).to.include({ name: 'small', recorder: 'keras', threshold: Q });
    const geo = manifest.layers.map(({ act: _a, sha256: _s, weightBits: _b, weightDensity: _d, dilation: _l, ...g }) => g);
    const one = { kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0] };
    expect(geo).to.deep.equal([
      // padded 13×13 → valid 3×3 stride 2 → 6×6
      { name: 'c1', op: 'conv2d', input: [13, 13, 3], output: [6, 6, 8], kernel: [3, 3], stride: [2, 2], padding: [0, 0, 0, 0], groups: 1 },
      {
        name: 'dw',
        op: 'depthwise2d',
        input: [6, 6, 8],
        output: [6, 6, 16],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1, 1, 1],
        groups: 8,
      },
      // SAME with stride 2 on 6: output 3, total padding 1, after
      {
        name: 'sep/depthwise',
        op: 'depthwise2d',
        input: [6, 6, 16],
        output: [3, 3, 16],
        kernel: [3, 3],
        stride: [2, 2],
        padding: [0, 1, 0, 1],
        groups: 16,
      },
      { name: 'sep/pointwise', op: 'conv2d', input: [3, 3, 16], output: [3, 3, 4], ...one, groups: 1 },
      { name: 'a', op: 'conv2d', input: [6, 6, 8], output: [6, 6, 4], ...one, groups: 1 },
      { name: 'head', op: 'dense', input: [8], output: [5] },
      // GEMM view: each of the 3×3 input pixels times 2·2·2 weights per input channel
      { name: 'tconv', op: 'conv2d', input: [3, 3, 8], output: [3, 3, 8], ...one, groups: 1 },
      { name: 'pix', op: 'conv2d', input: [3, 3, 8], output: [3, 3, 3], ...one, groups: 1 },
    ]);
    // the transposed conv's MACs are its own: 3·3 pixels × 8 channels × 2·2·2 weights
    expect(layerMacs(layerOf(manifest.layers[6]!))).to.equal(3 * 3 * 8 * 8);
    expect(manifest.layers.every((l) => l.weightBits === 32)).to.equal(true);
  });

  it("stores levels round(value / q) of the model's own intermediate tensors; the image-fed layer at the pixel step", async () => {
    const probe = tf.model({
      inputs: model.inputs,
      outputs: ['pad', 'c1', 'relu', 'pool', 'gap', 'sep'].map((n) => model.getLayer(n).output as tf.SymbolicTensor),
    });
    const loaded = await loadKerasModel(file);
    const input = imageInput(loaded);
    loaded.model.dispose();
    expect(input.range).to.deep.equal([0, 1]);
    const stepOf = (name: string) => manifest.layers.find((l) => l.name === name)!.act.scale;
    expect(stepOf('c1')).to.equal(1 / 255);
    expect(manifest.layers.filter((l) => l.name !== 'c1').every((l) => l.act.scale === Q)).to.equal(true);
    const trace = openTrace(join(dir, 'trace'));
    const levels = (name: string) => readLayer(trace.layers[manifest.layers.findIndex((l) => l.name === name)]!);
    const n = 12 * 12 * 3;
    for (let t = 0; t < clip.t; t++) {
      const x = frameToInput(clip.frames.subarray(t * n, (t + 1) * n), clip, input);
      const outs = probe.predict(x) as tf.Tensor[];
      const [pad, c1, relu, pool, gap, sep] = outs.map((o) => o.dataSync() as Float32Array);
      const expectLevels = (name: string, v: Float32Array, step: number) => {
        const got = levels(name);
        const size = v.length;
        const want = Array.from(v, (a) => Math.round(a / step) + 0); // + 0: -0 → 0
        expect(Array.from(got.subarray(t * size, (t + 1) * size)), `${name} frame ${t}`).to.deep.equal(want);
      };
      expectLevels('c1', pad!, 1 / 255);
      for (const name of ['a', 'dw']) expectLevels(name, c1!, Q); // one tensor, two readers, the same levels
      expectLevels('sep/depthwise', relu!, Q);
      for (const name of ['tconv', 'pix']) expectLevels(name, pool!, Q);
      expectLevels('head', gap!, Q);
      // sep/pointwise reads the depthwise result: its levels · q through the pointwise kernel and bias give
      // the layer's own output within q/2 · Σ|w| per output
      const [, pwKernel, bias] = model
        .getLayer('sep')
        .getWeights()
        .map((w) => w.dataSync() as Float32Array);
      const pw = levels('sep/pointwise');
      const [P, K, N] = [9, 16, 4];
      for (let p = 0; p < P; p++)
        for (let o = 0; o < N; o++) {
          let acc = bias![o]!;
          let bound = 0;
          for (let k = 0; k < K; k++) {
            acc += pw[t * P * K + p * K + k]! * Q * pwKernel![k * N + o]!;
            bound += Math.abs(pwKernel![k * N + o]!);
          }
          expect(Math.abs(acc - sep![p * N + o]!)).to.be.at.most((Q / 2) * bound + 1e-5);
        }
      tf.dispose([x, ...outs]);
    }
    probe.dispose();
  });

  it('writes the network graph: a tensor read by two branches, the concatenation, the pool, the separable and transposed parts', () => {
    const g = manifest.graph!;
    expect(manifest.version).to.equal(2);
    const node = (name: string) => g.nodes.find((n) => n.name === name)!;
    expect(g.inputs).to.deep.equal([{ name: 'image:0', shape: [12, 12, 3] }]);
    expect(g.nodes.filter((n) => n.inputs.includes('c1:0')).map((n) => n.name)).to.deep.equal(['dw', 'a']);
    expect(node('cat')).to.deep.include({ op: 'concat', inputs: ['a:0', 'up:0'], output: { name: 'cat:0', shape: [6, 6, 8] } });
    expect(node('pool')).to.deep.include({ op: 'maxpool', kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] });
    expect(node('sep/depthwise')).to.deep.include({
      op: 'mac',
      inputs: ['relu:0'],
      output: { name: 'sep/depthwise:0', shape: [3, 3, 16] },
    });
    expect(node('sep/pointwise')).to.deep.include({ op: 'mac', inputs: ['sep/depthwise:0'], output: { name: 'sep:0', shape: [3, 3, 4] } });
    expect(node('tconv')).to.deep.include({ op: 'mac', output: { name: 'tconv/columns:0', shape: [3, 3, 8] } });
    expect(node('tconv/col2im')).to.deep.include({
      op: 'other',
      opType: 'Col2Im',
      inputs: ['tconv/columns:0'],
      output: { name: 'tconv:0', shape: [6, 6, 2] },
    });
    expect(node('gap')).to.deep.include({ op: 'globalpool', inputs: ['pool:0'] });
    expect(g.nodes.filter((n) => n.op === 'mac').map((n) => n.name)).to.deep.equal(manifest.layers.map((l) => l.name));
  });

  it('records nsfwjs:mobilenet_v2 (from the installed package, offline) over a procedural clip', async () => {
    const out = join(dir, 'mobilenet');
    const m = await recordKerasModelTrace({ model: 'nsfwjs:mobilenet_v2', frames: clipOf(224, 224, 2), threshold: Q, out });
    openTrace(out);
    expect(m.model).to.include({ name: 'nsfwjs:mobilenet_v2', source: 'nsfwjs:mobilenet_v2', recorder: 'keras' });
    expect(m.frames).to.equal(2);
    // keras.applications MobileNetV2 (35 Conv2D, 17 DepthwiseConv2D) and nsfwjs's 3-Dense head
    expect(m.layers.map((l) => l.op).filter((o) => o === 'conv2d').length).to.equal(35);
    expect(m.layers.map((l) => l.op).filter((o) => o === 'depthwise2d').length).to.equal(17);
    expect(m.layers.map((l) => l.op).filter((o) => o === 'dense').length).to.equal(3);
    // Conv1 reads the zero-padded image (ZeroPadding2D ((0, 1), (0, 1))) at the pixel step, uint8 weights
    expect(m.layers[0]).to.deep.include({ name: 'Conv1', input: [225, 225, 3], output: [112, 112, 32], stride: [2, 2], weightBits: 8 });
    expect(m.layers[0]!.act).to.include({ scale: 1 / 255, dtype: 'uint8' });
    // the inverted residual blocks' adds are in the graph
    expect(m.graph!.nodes.filter((n) => n.op === 'add').length).to.equal(10);
  });

  it('deltasim trace --keras records a model.json over a dataset clip', () => {
    const out = join(dir, 'cli');
    const r = cli('trace', '--keras', file, '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--quiet', '--out', out);
    expect(r.code, r.stderr).to.equal(0);
    const m = openTrace(out).manifest;
    expect(m.frames).to.equal(2);
    expect(m.layers.map((l) => l.name)).to.deep.equal(manifest.layers.map((l) => l.name));
    expect(m.model).to.include({ source: file, recorder: 'keras' });
  });

  it('deltasim trace --keras over a video writes its native rate and duplicated frames in the manifest clip', () => {
    const video = join(dir, 'six.mp4');
    execFileSync(FFMPEG_PATH, [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=40x30:rate=10',
      '-frames:v',
      '6',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
    const out = join(dir, 'cli-video');
    const r = cli('trace', '--keras', file, '--threshold', '0.05', '--video', video, '--frames', '4', '--quiet', '--out', out);
    expect(r.code, r.stderr).to.equal(0);
    expect(openTrace(out).manifest.clip).to.deep.equal({ source: `file:${video}`, firstFrame: 0, nativeFps: 10, duplicatedFrames: 0 });
  });

  it('refuses bad input with a clear error, exit ≠ 0 and nothing written', async () => {
    const out = join(dir, 'bad');
    // a graph model is not a layers model, and the other way round
    const human = join(dirname(dirname(createRequire(import.meta.url).resolve('@vladmandic/human'))), 'models', 'emotion.json');
    let r = cli('trace', '--keras', human, '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--out', out);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('a tfjs graph model, not a Keras layers model (record it with --graph)').and.contain('emotion.json');
    r = cli('trace', '--graph', file, '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--out', out);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('a Keras layers model, not a graph model (record it with --keras)');
    r = cli('trace', '--model', join(dir, 'small'), '--data', 'procedural', '--frames', '2', '--out', out);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('a per-image model, not a clip model').and.contain('recorded with --keras');
    r = cli('trace', '--keras', 'nsfwjs:resnet', '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--out', out);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('unknown nsfwjs model "resnet"').and.contain('nsfwjs:mobilenet_v2, nsfwjs:inception_v3');
    // gray clips for an RGB model
    r = cli('trace', '--keras', file, '--threshold', '0.05', '--data', 'procedural', '--channels', '1', '--frames', '2', '--out', out);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('the clip has 1 channel(s), the model takes 3');
    expect(existsSync(out)).to.equal(false);
    // an input of free size has no static geometry
    const free = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [null, null, 3], filters: 2, kernelSize: 3, name: 'k' })] });
    await saveModel(join(dir, 'free'), free, META);
    free.dispose();
    let err: unknown;
    try {
      await recordKerasModelTrace({ model: join(dir, 'free', 'model.json'), frames: clip, threshold: Q, out });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message)
      .to.contain('fixed H, W, C is needed')
      .and.contain('model.json');
    expect(existsSync(out)).to.equal(false);
  });
});
