import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { type OnnxRecording, recordOnnxModelTrace, recordOnnxTrace } from '../../src/record/onnx-model.js';
import { onnxGraph } from '../../src/record/onnx/graph.js';
import { type OnnxModel, type OnnxNode, readOnnxModel } from '../../src/record/onnx/model.js';
import { findOnnxMacs } from '../../src/record/onnx/topology.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';
import { layerMacs, layerOf } from '../../traces/layer.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { leaveFree, mountTmpfs, unmount } from '../support/tmpfs.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'onnx');
const SMALL = join(FIXTURES, 'small.onnx');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const Q = 0.05;

const clipOf = (h: number, w: number, frames = 4): Clip =>
  new ProceduralDataset({ frames, width: w, height: h, channels: 3, seed: 3, noise: 0.02 }, 'test').render(1);

/** A float32 initializer of the fixture. */
function weights(model: OnnxModel, name: string): Float32Array {
  const raw = model.consts.get(name)!.rawData!;
  return new Float32Array(Uint8Array.from(raw).buffer); // a copy: rawData is a view into the file
}

/** Element [f][y][x][c] of a channels-last level array of `frames` frames. */
const at = (a: ArrayLike<number>, [H, W, C]: number[], f: number, y: number, x: number, c: number) => a[((f * H + y) * W + x) * C + c]!;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('record/onnx', function () {
  this.timeout(120_000);
  let dir: string;
  let model: OnnxModel;
  let rec: OnnxRecording;
  const clip = clipOf(12, 12);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-onnx-test-'));
    model = readOnnxModel(SMALL);
    rec = await recordOnnxModelTrace({ model, frames: clip, threshold: Q, out: join(dir, 'small') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records every Conv / ConvTranspose / Gemm / MatMul with channels-last geometry (pads, SAME_LOWER, dilation, groups)', () => {
    const trace = openTrace(join(dir, 'small')); // schema, geometry, .npy headers, sha256
    expect(trace.manifest).to.deep.equal(rec.manifest);
    // version 2: the network graph travels with the trace (validated by openTrace against the layers)
    expect(trace.manifest.version).to.equal(2);
    expect(trace.manifest.graph!.nodes.filter((n) => n.op === 'mac').map((n) => n.name)).to.deep.equal(
      rec.manifest.layers.map((l) => l.name),
    );
    const geo = rec.manifest.layers.map(({ act: _a, sha256: _s, weightBits: _b, weightDensity: _d, ...g }) => g);
    expect(geo).to.deep.equal([
      // pads (t, l, b, r) = (1, 0, 2, 1) → [t, b, l, r]
      {
        name: 'c1/Conv',
        op: 'conv2d',
        input: [12, 12, 3],
        output: [7, 6, 8],
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 2, 0, 1],
        dilation: [1, 1],
        groups: 1,
      },
      // SAME_LOWER: the odd pixel of the 3×2 kernel's width before
      {
        name: 'c2/Conv',
        op: 'conv2d',
        input: [7, 6, 8],
        output: [7, 6, 8],
        kernel: [3, 2],
        stride: [1, 1],
        padding: [1, 1, 1, 0],
        dilation: [1, 1],
        groups: 4,
      },
      {
        name: 'dw/Conv',
        op: 'depthwise2d',
        input: [7, 6, 8],
        output: [7, 6, 8],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [2, 2, 1, 1],
        dilation: [2, 1],
        groups: 8,
      },
      // ConvTranspose 16 → 4, 3×3, group 2 in its GEMM view: 3·3·4 columns per pixel
      {
        name: 'up/ConvTranspose',
        op: 'conv2d',
        input: [3, 3, 16],
        output: [3, 3, 36],
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0, 0, 0],
        dilation: [1, 1],
        groups: 2,
      },
      { name: 'fc/Gemm', op: 'dense', input: [4], output: [5] },
      { name: 'out/MatMul', op: 'dense', input: [5], output: [3] },
    ]);
    // The transposed convolution's own MACs: every input pixel × 3·3·(4/2) weights per input channel.
    expect(layerMacs(layerOf(rec.manifest.layers[3]!))).to.equal(3 * 3 * 16 * (3 * 3 * 2));
    expect(rec.manifest.layers.every((l) => l.weightBits === 32)).to.equal(true);
    expect(rec.manifest.layers[0]!.weightDensity).to.equal(215 / 216); // one zero written by the fixture script
    expect(rec.manifest.model).to.include({ recorder: 'onnx', threshold: Q, name: 'small' });
  });

  it('stores the image-fed layer at the pixel step, exactly the clip transposed from NCHW', () => {
    const l = rec.manifest.layers[0]!;
    expect(l.act).to.include({ dtype: 'uint8', scale: 1 / 255, signed: false });
    const levels = readLayer(openTrace(join(dir, 'small')).layers[0]!);
    const expected = Uint8Array.from(clip.frames.subarray(0, 4 * 12 * 12 * 3), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    expect(Array.from(levels)).to.deep.equal(Array.from(expected));
  });

  it('stores inner activations as round(value / q): relu(conv) recomputed here, and a max pool of them', () => {
    const trace = openTrace(join(dir, 'small'));
    const r1 = readLayer(trace.layers[1]!); // c2 reads relu(c1)
    expect(Array.from(readLayer(trace.layers[2]!))).to.deep.equal(Array.from(r1)); // dw reads the same tensor
    // Reference: c1 in ONNX's NCHW semantics, from the fixture's weights.
    const W1 = weights(model, 'W1');
    const B1 = weights(model, 'B1');
    let off = 0;
    let checked = 0;
    for (let f = 0; f < 4; f++)
      for (let co = 0; co < 8; co++)
        for (let oy = 0; oy < 7; oy++)
          for (let ox = 0; ox < 6; ox++) {
            let s = B1[co]!;
            for (let ci = 0; ci < 3; ci++)
              for (let ky = 0; ky < 3; ky++)
                for (let kx = 0; kx < 3; kx++) {
                  const y = oy * 2 - 1 + ky; // stride 2, pad top 1
                  const x = ox * 2 - 0 + kx; // pad left 0
                  if (y < 0 || y >= 12 || x < 0 || x >= 12) continue;
                  const pixel = Math.round(Math.min(1, Math.max(0, clip.frames[((f * 12 + y) * 12 + x) * 3 + ci]!)) * 255) / 255;
                  s += W1[((co * 3 + ci) * 3 + ky) * 3 + kx]! * pixel;
                }
            const level = at(r1, [7, 6, 8], f, oy, ox, co);
            expect(Math.abs(level * Q - Math.max(0, s))).to.be.at.most(Q / 2 + 1e-5);
            if (level !== Math.round(Math.max(0, s) / Q)) off++;
            checked++;
          }
    expect(off).to.be.at.most(checked * 0.01); // float32 summation order only moves values at a rounding boundary
    // The ConvTranspose reads MaxPool(Concat(add, r1)) on channels: channels 8..15 are max-pooled r1 (rounding is monotone).
    const pool = readLayer(trace.layers[3]!);
    for (let f = 0; f < 4; f++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 3; x++)
          for (let c = 0; c < 8; c++) {
            const m = Math.max(...[0, 1].flatMap((dy) => [0, 1].map((dx) => at(r1, [7, 6, 8], f, 2 * y + dy, 2 * x + dx, c))));
            expect(at(pool, [3, 3, 16], f, y, x, 8 + c)).to.equal(m);
          }
  });

  it('dense layers: the MatMul input is the Gemm of the recorded Gemm input, within the quantisation bound', () => {
    const trace = openTrace(join(dir, 'small'));
    const f = readLayer(trace.layers[4]!);
    const y1 = readLayer(trace.layers[5]!);
    const WG = weights(model, 'WG'); // [5, 4], transB
    const BG = weights(model, 'BG');
    for (let t = 0; t < 4; t++)
      for (let n = 0; n < 5; n++) {
        let s = BG[n]!;
        let bound = Q / 2;
        for (let k = 0; k < 4; k++) {
          s += WG[n * 4 + k]! * f[t * 4 + k]! * Q;
          bound += (Math.abs(WG[n * 4 + k]!) * Q) / 2;
        }
        expect(Math.abs(y1[t * 5 + n]! * Q - s)).to.be.at.most(bound + 1e-5);
      }
  });

  it('writes byte-identical traces for the same inputs', async () => {
    const again = await recordOnnxModelTrace({ model, frames: clip, threshold: Q, out: join(dir, 'again') });
    expect(again.manifest.layers.map((l) => l.sha256)).to.deep.equal(rec.manifest.layers.map((l) => l.sha256));
  });

  it('feeds a channels-last input [1, H, W, C] as it is', async () => {
    const c = clipOf(8, 8, 2);
    const r = await recordOnnxModelTrace({
      model: readOnnxModel(join(FIXTURES, 'nhwc.onnx')),
      frames: c,
      threshold: Q,
      out: join(dir, 'nhwc'),
    });
    expect(r.manifest.layers.map((l) => [l.op, l.input, l.output, l.padding])).to.deep.equal([
      ['conv2d', [8, 8, 3], [8, 8, 4], [1, 1, 1, 1]],
    ]);
    expect(r.manifest.layers[0]!.act.scale).to.equal(1 / 255); // through the Transpose, still the image alone
    const levels = readLayer(openTrace(join(dir, 'nhwc')).layers[0]!);
    expect(Array.from(levels)).to.deep.equal(Array.from(c.frames, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  });

  it('a model of open height and width takes dataset frames at --size', async () => {
    const out = join(dir, 'dynamic');
    const onnx = join(FIXTURES, 'dynamic.onnx');
    const r = await recordOnnxTrace({ onnx, data: 'procedural', frames: 2, size: 16, threshold: Q, out });
    expect(r.manifest.frames).to.equal(2);
    expect(r.manifest.layers.map((l) => [l.input, l.output, l.padding])).to.deep.equal([
      [
        [16, 16, 3],
        [16, 16, 2],
        [1, 1, 1, 1],
      ],
    ]);
    expect(r.graph.inputs).to.deep.equal([{ name: 'x', shape: [16, 16, 3] }]);
  });

  it('builds the network graph: a tensor read by three nodes, concat, pools, the transposed convolution and its col2im', () => {
    const g = rec.graph;
    expect(g.inputs).to.deep.equal([{ name: 'x', shape: [12, 12, 3] }]);
    expect(g.nodes.map((n) => [n.name, n.op, n.inputs.join('+'), n.output.name, n.output.shape.join('×')])).to.deep.equal([
      ['c1/Conv', 'mac', 'x', 'c1', '7×6×8'],
      ['relu/Relu', 'activation', 'c1', 'r1', '7×6×8'],
      ['c2/Conv', 'mac', 'r1', 'c2', '7×6×8'],
      ['dw/Conv', 'mac', 'r1', 'dw', '7×6×8'],
      ['add/Add', 'add', 'c2+dw', 'add', '7×6×8'],
      ['cat/Concat', 'concat', 'add+r1', 'cat', '7×6×16'],
      ['pool/MaxPool', 'maxpool', 'cat', 'pool', '3×3×16'],
      ['up/ConvTranspose', 'mac', 'pool', 'up/ConvTranspose:columns', '3×3×36'],
      ['up/ConvTranspose/col2im', 'other', 'up/ConvTranspose:columns', 't', '6×6×4'],
      ['gap/GlobalAveragePool', 'globalpool', 't', 'gap', '1×1×4'],
      ['flat/Flatten', 'reshape', 'gap', 'flat', '4'],
      ['fc/Gemm', 'mac', 'flat', 'fc', '5'],
      ['out/MatMul', 'mac', 'fc', 'y', '3'],
    ]);
    const pool = g.nodes.find((n) => n.op === 'maxpool')!;
    expect(pool).to.include.keys('kernel', 'stride');
    expect([pool.kernel, pool.stride, pool.padding]).to.deep.equal([[2, 2], [2, 2], undefined]);
    expect(g.outputs).to.deep.equal(['y']);
    // mac nodes ⇔ layers, same names, their input and output shapes the layers'
    const macs = g.nodes.filter((n) => n.op === 'mac');
    expect(macs.map((n) => n.name)).to.deep.equal(rec.manifest.layers.map((l) => l.name));
    const shape = new Map([...g.inputs, ...g.nodes.map((n) => n.output)].map((t) => [t.name, t.shape]));
    expect(shape.size).to.equal(g.inputs.length + g.nodes.length); // tensor names unique
    macs.forEach((n, i) => {
      expect(n.inputs.map((t) => shape.get(t))).to.deep.equal([rec.manifest.layers[i]!.input]);
      expect(n.output.shape).to.deep.equal(rec.manifest.layers[i]!.output);
    });
  });

  it('graph builder alone: shape arithmetic dropped, a constant operand makes an element-wise op, pool padding and Split parts', () => {
    const node = (index: number, opType: string, inputs: string[], outputs: string[], attrs: [string, object][] = []): OnnxNode => ({
      index,
      name: `n${index}`,
      opType,
      inputs,
      outputs,
      attrs: new Map(attrs.map(([k, v]) => [k, { name: k, ...v }])),
    });
    const nodes = [
      node(0, 'Conv', ['x', 'W'], ['a']),
      node(1, 'Shape', ['a'], ['s']),
      node(2, 'Gather', ['s', 'i'], ['s1']),
      node(3, 'Mul', ['a', 'scale'], ['b']),
      node(
        4,
        'AveragePool',
        ['b'],
        ['p'],
        [
          ['kernel_shape', { ints: [3, 3] }],
          ['strides', { ints: [2, 2] }],
          ['pads', { ints: [1, 0, 1, 0] }],
        ],
      ),
      node(5, 'Split', ['p'], ['p0', 'p1']),
      node(6, 'Mul', ['p0', 'p1'], ['m']),
      node(7, 'Reshape', ['m', 's1'], ['r']),
      node(8, 'Pad', ['r', 'pads'], ['pd']),
    ];
    const shapes = new Map<string, number[]>([
      ['a', [1, 4, 8, 8]],
      ['s', [4]],
      ['s1', [1]],
      ['b', [1, 4, 8, 8]],
      ['p', [1, 4, 4, 3]],
      ['p0', [1, 2, 4, 3]],
      ['p1', [1, 2, 4, 3]],
      ['m', [1, 2, 4, 3]],
      ['r', [1, 24]],
      ['pd', [1, 26]],
    ]);
    const macs = findOnnxMacs({
      file: 'm.onnx',
      bytes: new Uint8Array(),
      nodes,
      consts: new Map([['W', { dims: [4, 1, 1, 1], dataType: 1, floatData: [1, 1, 1, 1] }]]),
      inputs: [],
      outputs: ['pd'],
    });
    const g = onnxGraph(
      { nodes, input: { name: 'x', shape: [8, 8, 1] }, outputs: ['pd'] },
      macs,
      ['conv', 'shape', 'gather', 'scale', 'pool', 'split', 'mul', 'flat', 'pad'],
      shapes,
    );
    expect(g.nodes.map((n) => `${n.name}:${n.op}(${n.inputs.join(',')})→${n.output.name}[${n.output.shape.join(',')}]`)).to.deep.equal([
      'conv:mac(x)→a[8,8,4]',
      'scale:activation(a)→b[8,8,4]',
      'pool:avgpool(b)→p[4,3,4]',
      'split:other(p)→p0[4,3,2]',
      'split#1:other(p)→p1[4,3,2]',
      'mul:mul(p0,p1)→m[4,3,2]',
      'flat:reshape(m)→r[24]',
      'pad:pad(r)→pd[26]',
    ]);
    expect(g.nodes[2]!.padding).to.deep.equal([1, 1, 0, 0]); // ONNX pads (t, l, b, r) = (1, 0, 1, 0)
  });

  describe('bad input: a clear InputError, nothing written', () => {
    const fails = async (p: Promise<unknown>, re: RegExp, out: string) => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, 'no error').to.be.instanceOf(InputError);
      expect((e as Error).message).to.match(re);
      expect(existsSync(out)).to.equal(false);
    };

    it('a file that is not ONNX, or not there', () => {
      const text = join(dir, 'model.onnx');
      writeFileSync(text, '{"this": "is JSON, not a protobuf"}');
      expect(() => readOnnxModel(text)).to.throw(InputError, /model\.onnx: not an ONNX model/);
      const json = join(dir, 'empty.onnx');
      writeFileSync(json, new Uint8Array([8, 7])); // a valid protobuf (ir_version 7) with no graph
      expect(() => readOnnxModel(json)).to.throw(InputError, /empty\.onnx: not an ONNX model \(no IR version or no graph nodes\)/);
      expect(() => readOnnxModel(join(dir, 'missing.onnx'))).to.throw(InputError, /model file not found/);
    });

    it('an op the runtime lacks', async () => {
      const out = join(dir, 'bad-op');
      await fails(
        recordOnnxModelTrace({
          model: readOnnxModel(join(FIXTURES, 'unknown-op.onnx')),
          frames: { h: 4, w: 4, c: 3, frames: [new Float32Array(48)], source: 'zeros' },
          threshold: Q,
          out,
        }),
        /unknown-op\.onnx: onnxruntime cannot load the model \(.*NoSuchOp/,
        out,
      );
    });

    it('a clip that does not fit the model, a threshold ≤ 0', async () => {
      const out = join(dir, 'bad');
      await fails(
        recordOnnxModelTrace({ model, frames: clipOf(16, 16, 1), threshold: Q, out }),
        /takes 12×12×3 frames \(H×W×C\), the clip has 16×16×3/,
        out,
      );
      const gray = { ...clipOf(12, 12, 1), c: 1 };
      await fails(recordOnnxModelTrace({ model, frames: gray, threshold: Q, out }), /the clip has 12×12×1/, out);
      await fails(recordOnnxModelTrace({ model, frames: clip, threshold: 0, out }), /threshold must be a number > 0/, out);
      await fails(recordOnnxModelTrace({ model, frames: clip, threshold: -1, out }), /threshold must be a number > 0/, out);
    });
  });

  describe('CLI: deltasim trace --onnx', () => {
    it('records a procedural clip at the model size; refuses bad input with exit ≠ 0 and no trace', () => {
      const out = join(dir, 'cli');
      const ok = cli('trace', '--onnx', SMALL, '--threshold', '0.05', '--data', 'procedural', '--frames', '3', '--out', out);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(openTrace(out).manifest.layers.map((l) => l.name)).to.deep.equal(rec.manifest.layers.map((l) => l.name));
      const bad = join(dir, 'cli-bad');
      for (const [args, re] of [
        [['--threshold', '0'], /--threshold: expected a number > 0/],
        [['--threshold', '-0.1'], /--threshold: expected a number > 0/],
        [['--threshold', '0.1', '--channels', '1'], /the clip has 1 channel\(s\), the model takes 3/],
        [[], /--onnx needs --threshold/],
      ] as const) {
        const r = cli('trace', '--onnx', SMALL, '--data', 'procedural', '--frames', '2', '--out', bad, ...args);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(re);
        expect(existsSync(bad)).to.equal(false);
      }
      const notOnnx = cli('trace', '--onnx', BIN, '--threshold', '0.1', '--data', 'procedural', '--frames', '2', '--out', bad);
      expect(notOnnx.code).to.equal(1);
      expect(notOnnx.stderr).to.match(/deltasim\.js: not an ONNX model/);
      const both = cli('trace', '--onnx', SMALL, '--graph', 'human:emotion', '--threshold', '0.1', '--data', 'procedural', '--out', bad);
      expect(both.code).to.not.equal(0);
      expect(existsSync(bad)).to.equal(false);
    });

    it('a full disk (a small tmpfs; skipped where mounting is not permitted): exit 1, ENOSPC named, nothing left', function () {
      const mnt = join(dir, 'mnt');
      if (mountTmpfs(mnt, '64k') !== null) this.skip();
      try {
        leaveFree(mnt, 8 * 1024);
        const out = join(mnt, 'trace');
        const r = cli('trace', '--onnx', SMALL, '--threshold', '0.01', '--data', 'procedural', '--frames', '32', '--out', out);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.include('ENOSPC');
        expect(readdirSync(mnt)).to.deep.equal(['filler']);
      } finally {
        unmount(mnt);
      }
    });
  });
});
