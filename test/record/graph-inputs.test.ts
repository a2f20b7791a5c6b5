import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { recordGraphModelTrace } from '../../src/record/graph-model.js';
import { modelInput } from '../../src/record/graph/input.js';
import { loadGraphModel, resolveModelFile } from '../../src/record/graph/load.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import { layerMacs, layerOf } from '../../traces/layer.js';
import { openTrace, readLayer } from '../../traces/reader.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });

/**
 * A channels-first graph of free size, as a PyTorch → TF conversion gives: x[?, 3, ?, ?] → Transpose
 * to NHWC → Conv2D 3×3 SAME (NHWC) → Relu → Mean over H, W.
 */
function writeNchwGraph(dir: string): string {
  const w = tf.randomUniform([3, 3, 3, 2], -1, 1, 'float32', 9).dataSync() as Float32Array;
  const bin = Buffer.concat([
    Buffer.from(w.buffer),
    Buffer.from(new Int32Array([0, 2, 3, 1]).buffer),
    Buffer.from(new Int32Array([1, 2]).buffer),
  ]);
  writeFileSync(join(dir, 'w.bin'), bin);
  const f = { type: 'DT_FLOAT' };
  const i32 = { type: 'DT_INT32' };
  const json = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims(-1, 3, -1, -1) }, dtype: f } },
        { name: 'perm', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(4) } }, dtype: i32 } },
        { name: 'nhwc', op: 'Transpose', input: ['x', 'perm'], attr: { T: f, Tperm: i32 } },
        { name: 'w', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 3, 3, 2) } }, dtype: f } },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['nhwc', 'w'],
          attr: {
            strides: { list: { i: ['1', '1', '1', '1'] } },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
            padding: { s: b64('SAME') },
            data_format: { s: b64('NHWC') },
            T: f,
          },
        },
        { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: f } },
        { name: 'axes', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } }, dtype: i32 } },
        { name: 'pool', op: 'Mean', input: ['relu', 'axes'], attr: { T: f, Tidx: i32, keep_dims: { b: false } } },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['w.bin'],
        weights: [
          { name: 'w', shape: [3, 3, 3, 2], dtype: 'float32' },
          { name: 'perm', shape: [4], dtype: 'int32' },
          { name: 'axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

/** x[1, 4, 4, 3] → Conv2DBackpropInput (2×2 filter, stride 2, VALID) → [1, 8, 8, 2]. */
function writeTransposedGraph(dir: string): string {
  const w = tf.randomUniform([2, 2, 2, 3], -1, 1, 'float32', 4).dataSync() as Float32Array;
  writeFileSync(join(dir, 'wt.bin'), Buffer.concat([Buffer.from(new Int32Array([1, 8, 8, 2]).buffer), Buffer.from(w.buffer)]));
  const f = { type: 'DT_FLOAT' };
  const i32 = { type: 'DT_INT32' };
  const json = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims(1, 4, 4, 3) }, dtype: f } },
        { name: 'size', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(4) } }, dtype: i32 } },
        { name: 'w', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(2, 2, 2, 3) } }, dtype: f } },
        {
          name: 'up',
          op: 'Conv2DBackpropInput',
          input: ['size', 'w', 'x'],
          attr: { strides: { list: { i: ['1', '2', '2', '1'] } }, padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') }, T: f },
        },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['wt.bin'],
        weights: [
          { name: 'size', shape: [4], dtype: 'int32' },
          { name: 'w', shape: [2, 2, 2, 3], dtype: 'float32' },
        ],
      },
    ],
  };
  const file = join(dir, 'transposed.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('record/graph-model inputs: free size (--input-size), channels-first', () => {
  let dir: string;
  let file: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-graph-inputs-'));
    file = writeNchwGraph(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const clip = new ProceduralDataset({ frames: 3, width: 12, height: 8, channels: 3, seed: 2, noise: 0.02 }, 'test').render(0);

  it('feeds an NCHW input transposed and records the NHWC conv at the given size, pixel levels exact', async () => {
    const out = join(dir, 't');
    const m = await recordGraphModelTrace({ model: file, frames: clip, threshold: 0.05, out, inputSize: [8, 12] });
    openTrace(out); // graph validated against the layers
    expect(m.layers).to.have.length(1);
    expect(m.layers[0]).to.deep.include({ op: 'conv2d', input: [8, 12, 3], output: [8, 12, 2], padding: [1, 1, 1, 1] });
    expect(m.layers[0]!.act.scale).to.equal(1 / 255);
    // the conv reads the frame itself, channels-last: levels are its 8-bit pixels
    const levels = readLayer(openTrace(out).layers[0]!);
    expect(Array.from(levels)).to.deep.equal(Array.from(clip.frames, (v) => Math.round(v * 255)));
    expect(m.graph!.inputs).to.deep.equal([{ name: 'x:0', shape: [8, 12, 3] }]);
    expect(m.graph!.nodes.find((n) => n.name === 'nhwc')).to.deep.include({ opType: 'Transpose', inputs: ['x:0'] });
    expect(m.graph!.nodes.find((n) => n.name === 'pool')).to.deep.include({ op: 'globalpool' });
  });

  it('records a Conv2DBackpropInput in its GEMM view (its own MACs and input), then a Col2Im node in the graph', async () => {
    const out = join(dir, 'tconv');
    const frames = new ProceduralDataset({ frames: 2, width: 8, height: 8, channels: 3, seed: 1 }, 'test').render(0);
    const m = await recordGraphModelTrace({ model: writeTransposedGraph(dir), frames, threshold: 0.05, out });
    openTrace(out);
    const l = m.layers[0]!;
    expect(l).to.deep.include({ name: 'up', op: 'conv2d', input: [4, 4, 3], output: [4, 4, 8], kernel: [1, 1], stride: [1, 1] });
    // 4·4 input pixels × 3 channels × 2·2·2 weights each: the transposed convolution's MACs
    expect(layerMacs(layerOf(l))).to.equal(4 * 4 * 3 * 2 * 2 * 2);
    expect(m.graph!.nodes).to.have.length(2);
    expect(m.graph!.nodes[0]).to.deep.include({ op: 'mac', inputs: ['x:0'], output: { name: 'up/columns:0', shape: [4, 4, 8] } });
    expect(m.graph!.nodes[1]).to.deep.include({ op: 'other', opType: 'Col2Im', output: { name: 'up:0', shape: [8, 8, 2] } });
  });

  it("feeds human:centernet 0..255 pixels as @vladmandic/human does (not a float model's default [0, 1]); a given range wins", async () => {
    const file = resolveModelFile('human:centernet');
    const { model } = await loadGraphModel(file);
    try {
      expect(model.inputs[0]!.dtype).to.equal('float32');
      expect(modelInput(model, file).range).to.deep.equal([0, 255]);
      expect(modelInput(model, file, [0, 1]).range).to.deep.equal([0, 1]);
    } finally {
      model.dispose();
    }
  });

  it('a free size without --input-size, or one that does not fit a fixed input, is an InputError before anything is written', async () => {
    const out = join(dir, 'bad');
    const fails = async (opts: { inputSize?: [number, number] }, text: string) => {
      let err: unknown;
      try {
        await recordGraphModelTrace({ model: file, frames: clip, threshold: 0.05, out, ...opts });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(InputError);
      expect((err as Error).message)
        .to.contain(text)
        .and.contain('model.json');
    };
    await fails({}, 'a free image size, give --input-size H,W');
    // a fixed input: the given size must be its own
    const fixed = join(dir, 'fixed');
    mkdirSync(fixed);
    copyFileSync(join(dir, 'w.bin'), join(fixed, 'w.bin'));
    writeFileSync(
      join(fixed, 'model.json'),
      readFileSync(file, 'utf8').replace('{"size":"-1"},{"size":"-1"}]', '{"size":"8"},{"size":"12"}]'),
    );
    let err: unknown;
    try {
      await recordGraphModelTrace({ model: join(fixed, 'model.json'), frames: clip, threshold: 0.05, out, inputSize: [5, 12] });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.contain('--input-size 5,12 does not fit graph input "x"');
    expect(existsSync(out)).to.equal(false);
  });
});
