import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { recordGraphModelTrace, layerNames } from '../../src/record/graph-model.js';
import { frameToInput, modelInput } from '../../src/record/graph/input.js';
import { loadGraphModel, resolveModelFile } from '../../src/record/graph/load.js';
import { findMacNodes, samePadding } from '../../src/record/graph/topology.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';
import { InputError } from '../../lib/errors.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { statePlanOf } from '../../sim/state-graph.js';
import { dims, writeTinyGraph } from '../support/tiny-graph.js';

const clipOf = (c: 1 | 3, frames = 6, noise = 0.02): Clip =>
  new ProceduralDataset({ frames, width: 64, height: 64, channels: c, seed: 3, noise }, 'test').render(1);
/** A clip whose every frame is frame 0 of `clip`. */
const frozen = (clip: Clip, t: number): Clip => {
  const n = clip.h * clip.w * clip.c;
  const frames = new Float32Array(n * t);
  for (let i = 0; i < t; i++) frames.set(clip.frames.subarray(0, n), i * n);
  return { ...clip, frames, t };
};
/** Levels that differ from the previous frame, frames 1..T-1, over all elements of a layer. */
const changes = (levels: ArrayLike<number>, frameElements: number): number => {
  let n = 0;
  for (let i = frameElements; i < levels.length; i++) if (levels[i] !== levels[i - frameElements]) n++;
  return n;
};

describe('record/graph-model', () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-graph-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('pads SAME the way TensorFlow does (extra pixel after) and names layers without their common prefix', () => {
    expect(samePadding(192, 3, 2, 1)).to.deep.equal([0, 1]);
    expect(samePadding(29, 3, 1, 1)).to.deep.equal([1, 1]);
    expect(samePadding(15, 3, 2, 1)).to.deep.equal([1, 1]);
    expect(samePadding(8, 1, 2, 1)).to.deep.equal([0, 0]);
    expect(samePadding(10, 3, 1, 2)).to.deep.equal([2, 2]);
    expect(layerNames(['S/m/a/Relu', 'S/m/b:x', 'S/m/a/Relu'])).to.deep.equal(['a/Relu', 'b_x', 'a/Relu_2']);
  });

  it('records human:emotion: every MAC node a layer, levels × scale within q/2 of the graph, input exact', async () => {
    const q = 0.05;
    const clip = clipOf(1);
    const out = join(dir, 'emotion');
    const t0 = performance.now();
    const manifest = await recordGraphModelTrace({ model: 'human:emotion', frames: clip, threshold: q, out });
    const ms = performance.now() - t0;
    const trace = openTrace(out); // schema, geometry, .npy headers, sha256
    expect(trace.manifest).to.deep.equal(manifest);
    expect(manifest.frames).to.equal(6);

    // An independent count of the MAC ops in model.json (emotion has no MatMul).
    const file = resolveModelFile('human:emotion');
    const json = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: { node: { op: string }[] } };
    const macOps = json.modelTopology.node.filter((n) => /^(_Fused)?Conv2D$|DepthwiseConv2dNative$/.test(n.op)).length;
    expect(macOps).to.equal(13);
    expect(trace.layers.length).to.equal(macOps);
    expect(manifest.layers.filter((l) => l.op === 'depthwise2d').length).to.equal(4);

    const first = manifest.layers[0]!;
    expect(first).to.include({ op: 'conv2d' });
    expect(first.input).to.deep.equal([64, 64, 1]);
    expect(first.output).to.deep.equal([31, 31, 32]); // VALID, stride 2
    expect(first.act.scale).to.equal(1 / 255); // [-1, 1] input: levels 2k − 255
    expect(manifest.layers.slice(1).every((l) => l.act.scale === q)).to.equal(true);
    const dw = manifest.layers.find((l) => l.op === 'depthwise2d')!;
    expect(dw.padding).to.deep.equal([1, 1, 1, 1]);
    expect(dw.groups).to.equal(dw.input[2]);

    // Recompute the activations the graph produces and compare with the recorded levels.
    const macs = findMacNodes(json as never, file);
    const { model } = await loadGraphModel(file);
    try {
      const input = modelInput(model, file);
      const n = 64 * 64;
      for (const t of [0, 5]) {
        const x = frameToInput(clip.frames.subarray(t * n, (t + 1) * n), clip, input);
        const acts = model.execute(
          x,
          macs.map((m) => m.input),
        ) as tf.Tensor[];
        trace.layers.forEach((layer, i) => {
          const levels = readLayer(layer);
          const scale = layer.spec.act.scale as number;
          const a = acts[i]!.dataSync();
          let worst = 0;
          for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(levels[t * a.length + j]! * scale - a[j]!));
          expect(worst, layer.spec.name).to.be.at.most(scale / 2 + 1e-5);
        });
        tf.dispose([x, ...acts.filter((a) => a !== x)]);
      }
    } finally {
      model.dispose();
    }
    // The graph (version 2): every node computed from the image, counted independently from model.json.
    expect(manifest.version).to.equal(2);
    const g = manifest.graph!;
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    const tfCount = (re: RegExp) => json.modelTopology.node.filter((n) => re.test(n.op)).length;
    expect(count('mac')).to.equal(macOps);
    expect(count('maxpool')).to.equal(tfCount(/^MaxPool$/));
    expect(count('add')).to.equal(tfCount(/^AddV2$/));
    expect(count('globalpool')).to.equal(tfCount(/^Mean$/));
    expect(g.inputs).to.deep.equal([{ name: 'input_1:0', shape: [64, 64, 1] }]);
    // Xception's first residual block: one tensor read by the separable branch and the strided 1×1 shortcut
    // (in the second, the separable branch reads a ReLU of the block input, another tensor)
    const readers = new Map<string, number>();
    for (const n of g.nodes) if (n.op === 'mac') readers.set(n.inputs[0]!, (readers.get(n.inputs[0]!) ?? 0) + 1);
    expect([...readers.values()].filter((k) => k === 2).length).to.equal(1);
    const plan = statePlanOf(
      trace.layers.map((l) => l.layer),
      g,
    );
    expect(plan.layers.filter((p) => p.inputShare === 0).length, 'the second reader books nothing').to.equal(1);

    // The procedural clip moves: some deltas exist beyond frame 0.
    const moved = trace.layers.reduce((s, l) => s + changes(readLayer(l), l.frameElements), 0);
    expect(moved).to.be.greaterThan(0);
    expect(ms).to.be.below(20000);
  });

  it('identical frames give zero deltas after frame 0; a larger threshold gives fewer deltas', async () => {
    const still = frozen(clipOf(1), 4);
    await recordGraphModelTrace({ model: 'human:emotion', frames: still, threshold: 0.05, out: join(dir, 'still') });
    const again = await recordGraphModelTrace({ model: 'human:emotion', frames: still, threshold: 0.05, out: join(dir, 'still2') });
    expect(readFileSync(join(dir, 'still2', 'manifest.json'), 'utf8')).to.equal(readFileSync(join(dir, 'still', 'manifest.json'), 'utf8'));
    expect(again.layers.map((l) => l.sha256)).to.have.length(13); // same bytes (sha256 in the manifest) on a re-run
    const trace = openTrace(join(dir, 'still'));
    for (const l of trace.layers) {
      const levels = readLayer(l);
      expect(changes(levels, l.frameElements), l.spec.name).to.equal(0);
      expect(
        levels.subarray(0, l.frameElements).some((v) => v !== 0),
        l.spec.name,
      ).to.equal(true);
    }

    const clip = clipOf(1, 6, 0); // motion without sensor noise
    const deltas = [];
    for (const q of [0.02, 1]) {
      const out = join(dir, `q${q}`);
      await recordGraphModelTrace({ model: 'human:emotion', frames: clip, threshold: q, out });
      // Skip the input layer (its step does not depend on q).
      deltas.push(
        openTrace(out)
          .layers.slice(1)
          .reduce((s, l) => s + changes(readLayer(l), l.frameElements), 0),
      );
    }
    expect(deltas[1]).to.be.lessThan(deltas[0]! / 2);
  });

  it('accepts a stream of frames, stops at maxFrames, and writes the clip provenance', async () => {
    const clip = clipOf(3, 4); // RGB frames into a gray model: converted to luma
    const n = 64 * 64 * 3;
    async function* frames() {
      for (let t = 0; t < clip.t; t++) yield clip.frames.slice(t * n, (t + 1) * n);
    }
    const m = await recordGraphModelTrace({
      model: 'human:emotion',
      frames: { h: 64, w: 64, c: 3, frames: frames(), source: 'stream:test', firstFrame: 7 },
      maxFrames: 3,
      threshold: 0.1,
      out: join(dir, 'stream'),
      fps: 25,
    });
    expect(m.frames).to.equal(3);
    expect(m.fps).to.equal(25);
    expect(m.clip).to.deep.equal({ source: 'stream:test', firstFrame: 7 });
    expect(m.model).to.include({ name: 'human:emotion', threshold: 0.1, clampedLevels: 0 });
    expect(openTrace(join(dir, 'stream')).layers[0]!.frames).to.equal(3);
  });

  it('reads geometry of explicit padding, grouped strides and a dense MatMul from a hand-written graph', async () => {
    const gdir = join(dir, 'tiny');
    freshDir(gdir);
    const file = writeTinyGraph(gdir);
    const clip = new ProceduralDataset({ frames: 3, width: 12, height: 12, channels: 3, seed: 1 }, 'test').render(0);
    // 2-channel input: frames must have 2 channels; build them from the clip's first two.
    const frames = new Float32Array(3 * 12 * 12 * 2);
    for (let i = 0; i < 3 * 12 * 12; i++) {
      frames[2 * i] = clip.frames[3 * i]!;
      frames[2 * i + 1] = clip.frames[3 * i + 1]!;
    }
    const m = await recordGraphModelTrace({ model: file, frames: { ...clip, c: 2, frames }, threshold: 0.01, out: join(gdir, 'trace') });
    expect(m.model.name).to.equal('tiny');
    expect(m.layers.map((l) => l.name)).to.deep.equal(['conv', 'fc']);
    expect(m.layers[0]).to.deep.include({
      op: 'conv2d',
      input: [5, 5, 2],
      output: [3, 2, 4],
      kernel: [3, 3],
      stride: [2, 2],
      padding: [1, 2, 0, 1],
      dilation: [1, 1],
      groups: 1,
      weightBits: 32,
    });
    expect(m.layers[0]!.act.scale).to.equal(1 / 255); // fed by the image: its own step
    expect(m.layers[1]).to.deep.include({ op: 'dense', input: [24], output: [3] });
    expect(m.layers[1]!.act).to.include({ scale: 0.01, signed: false }); // after Relu
    openTrace(join(gdir, 'trace'));
    // the graph: constants left out, the Relu fused into the conv's neurons, Reshape / Identity aliases
    expect(m.graph!.nodes.map((n) => [n.name, n.op, n.inputs, n.output.shape])).to.deep.equal([
      ['conv', 'mac', ['x:0'], [3, 2, 4]],
      ['net/relu', 'activation', ['net/conv:0'], [3, 2, 4]],
      ['net/flat', 'reshape', ['net/relu:0'], [24]],
      ['fc', 'mac', ['net/flat:0'], [3]],
      ['Identity', 'reshape', ['net/fc:0'], [3]],
    ]);
    const layers = openTrace(join(gdir, 'trace')).layers.map((l) => l.layer);
    expect(statePlanOf(layers, m.graph).layers).to.deep.equal(statePlanOf(layers).layers);
  });

  it('records movenet-lightning (192×192×3 int32 input, MobileNetV2) for 3 frames', async function () {
    this.timeout(60000);
    const t0 = performance.now();
    const m = await recordGraphModelTrace({
      model: 'human:movenet-lightning',
      frames: clipOf(1, 3),
      threshold: 0.05,
      out: join(dir, 'movenet'),
    });
    const ms = performance.now() - t0;
    expect(m.layers.length).to.equal(74);
    const first = m.layers[0]!;
    expect(first).to.deep.include({ input: [192, 192, 3], output: [96, 96, 32], padding: [0, 1, 0, 1], weightBits: 16 });
    expect(first.act.scale).to.equal(1 / 255); // in-graph normalisation to [-1, 1] of 0..255 pixels
    expect(m.model.inputRange).to.deep.equal([0, 255]);
    openTrace(join(dir, 'movenet'));
    console.log(`      movenet-lightning: 3 frames recorded in ${(ms / 1000).toFixed(1)} s`);
  });

  describe('errors', () => {
    it('missing model.json, missing weights, no MAC nodes, bad threshold, unfit frames', async () => {
      const clip = clipOf(1, 2);
      const rec = (model: string, over: object = {}) =>
        recordGraphModelTrace({ model, frames: clip, threshold: 0.1, out: join(dir, 'bad'), ...over });
      const rejects = async (p: Promise<unknown>, re: RegExp) => {
        const e = await p.then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(e).to.be.instanceOf(InputError);
        expect((e as Error).message).to.match(re);
      };
      await rejects(rec(join(dir, 'nope/model.json')), /nope\/model\.json: model file not found/);
      await rejects(rec('human:no-such-model'), /no-such-model\.json: model file not found/);

      const noBin = join(dir, 'nobin');
      freshDir(noBin);
      copyFileSync(resolveModelFile('human:emotion'), join(noBin, 'emotion.json'));
      await rejects(rec(join(noBin, 'emotion.json')), /weight file "emotion\.bin" not found/);

      const noMac = join(dir, 'nomac.json');
      writeFileSync(
        noMac,
        JSON.stringify({
          format: 'graph-model',
          modelTopology: {
            node: [
              { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims(-1, 4, 4, 1) }, dtype: { type: 'DT_FLOAT' } } },
              { name: 'y', op: 'Relu', input: ['x'] },
            ],
          },
          weightsManifest: [],
        }),
      );
      await rejects(rec(noMac), /nomac\.json: the graph has no MAC nodes/);

      await rejects(rec('human:emotion', { threshold: 0 }), /threshold must be a number > 0/);
      await rejects(
        rec('human:emotion', { frames: { ...clip, c: 2, frames: new Float32Array(2 * 64 * 64 * 2) } }),
        /frames have 2 channels; the model takes 1/,
      );
      expect(() => openTrace(join(dir, 'bad'))).to.throw(); // nothing left behind
    });
  });
});

function freshDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
}
