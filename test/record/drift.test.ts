import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphClosedLoop, kerasClosedLoop } from '../../src/record/drift/closed-loop.js';
import { loadGraphModel, readGraphModelJson } from '../../src/record/graph/load.js';
import { findMacNodes } from '../../src/record/graph/topology.js';
import {
  chooseTask,
  DriftAccumulator,
  heatmapPeakAgreement,
  keypointDisplacement,
  relativeL2,
  taskChoice,
  taskOf,
  top1Agreement,
  type DriftReport,
} from '../../src/record/drift/metrics.js';
import { macsPerElement } from '../../src/record/drift/recording.js';
import { evaluateSteps, searchThresholds } from '../../src/record/drift/threshold-search.js';
import { recordGraphModelTrace } from '../../src/record/graph-model.js';
import { frameToInput } from '../../src/record/graph/input.js';
import { imageInput, recordKerasModelTrace } from '../../src/record/keras-model.js';
import { loadKerasModel, type LoadedKerasModel } from '../../src/record/keras/load.js';
import { kerasMacs } from '../../src/record/keras/topology.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { saveModel } from '../../src/tf/persist.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { writeTinyGraph } from '../support/tiny-graph.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const META = { net: 'drift-test', variant: 'float', classes: [], frameShape: [12, 12, 3] as [number, number, number], seed: 0 };
const clipOf = (frames: number, channels: 1 | 3 = 3): Clip =>
  new ProceduralDataset({ frames, width: 12, height: 12, channels, seed: 9, noise: 0.03 }, 'test').render(0);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Three chained convolutions of different gains (so layers differ in how much a threshold costs), a pool and a linear head. */
function chain(): tf.LayersModel {
  const L = tf.layers;
  const init = (seed: number, s: number) => tf.initializers.randomUniform({ minval: -s, maxval: s, seed });
  const inp = tf.input({ shape: [12, 12, 3], name: 'image' });
  let x = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: init(1, 0.5) }).apply(
    inp,
  ) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2', kernelInitializer: init(2, 0.1) }).apply(
    x,
  ) as tf.SymbolicTensor;
  x = L.conv2d({ filters: 16, kernelSize: 1, activation: 'relu', name: 'c3', kernelInitializer: init(3, 1.5) }).apply(
    x,
  ) as tf.SymbolicTensor;
  x = L.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const head = L.dense({ units: 4, name: 'head', kernelInitializer: init(4, 1) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: head });
}

describe('record/drift: task metrics', () => {
  it('relative L2, top-1 agreement, keypoint displacement and heat-map peaks on hand-made outputs', () => {
    expect(relativeL2([3, 4], [3, 4])).to.equal(0);
    expect(relativeL2([3, 5], [3, 4])).to.be.closeTo(1 / 5, 1e-12);
    expect(relativeL2([1, 0], [0, 0])).to.equal(1); // nothing to be relative to: the absolute norm
    expect(top1Agreement([0.1, 0.7, 0.2], [0.2, 0.5, 0.3])).to.equal(1);
    expect(top1Agreement([0.6, 0.3, 0.1], [0.2, 0.5, 0.3])).to.equal(0);
    // two keypoints (y, x, score) in a 100 × 200 frame: one moved 0.03 down (3 px) and 0.02 right (4 px), one still
    expect(keypointDisplacement([0.53, 0.52, 0.9, 0.1, 0.1, 0.5], [0.5, 0.5, 0.8, 0.1, 0.1, 0.5], 100, 200)).to.be.closeTo(2.5, 1e-9);
    // a 3 × 3 map of 2 channels: channel 0 peaks at (0,0) dense and (1,1) delta (within one cell), channel 1 at (0,0) and (2,2)
    const dense = new Float32Array(18);
    const delta = new Float32Array(18);
    dense[0] = 1; // (0,0) c0
    delta[(1 * 3 + 1) * 2] = 1; // (1,1) c0
    dense[1] = 1; // (0,0) c1
    delta[(2 * 3 + 2) * 2 + 1] = 1; // (2,2) c1
    expect(heatmapPeakAgreement(delta, dense, 3, 3, 2)).to.deep.equal({ near: 0.5, exact: 0, channels: 2 });
    expect(heatmapPeakAgreement(dense, dense, 3, 3, 2)).to.deep.equal({ near: 1, exact: 1, channels: 2 });
    // A channel with nothing in it (dense peak 0.01 against 1: a detector's absent class) is left out, its argmax being noise.
    const faint = dense.slice();
    faint[1] = 0.01;
    expect(heatmapPeakAgreement(delta, faint, 3, 3, 2)).to.deep.equal({ near: 1, exact: 0, channels: 1 });
    // Logits (every peak ≤ 0): all channels count.
    expect(
      heatmapPeakAgreement(
        dense.map((v) => v - 2),
        dense.map((v) => v - 2),
        3,
        3,
        2,
      ).channels,
    ).to.equal(2);
  });

  it('--task KIND:OUTPUT reads the named output; a missing or unfitting output, or a bad kind, is an InputError', () => {
    const outs = [
      { name: 'wh', shape: [1, 8, 8, 4] },
      { name: 'cls', shape: [1, 8, 8, 80] },
      { name: 'boxes', shape: [1, 100, 6] },
    ];
    expect(chooseTask('auto', outs)).to.deep.equal({ kind: 'heatmap', output: 0 });
    expect(chooseTask('heatmap:cls', outs)).to.deep.equal({ kind: 'heatmap', output: 1 });
    expect(() => chooseTask('heatmap:nope', outs)).to.throw(InputError, /no output "nope".*wh \[1,8,8,4\]/);
    expect(() => chooseTask('classifier:boxes', outs)).to.throw(InputError, /boxes \[1,100,6\] is not a classifier output/);
    expect(() => taskChoice('heat')).to.throw(InputError, /--task: expected/);
    expect(() => taskChoice('auto:x')).to.throw(InputError, /--task: expected/);
    expect(taskChoice('keypoints:out')).to.equal('keypoints:out');
  });

  it('auto picks the task from the output shape; summaries leave out frame 0 and key frames', () => {
    expect(taskOf([1, 1, 17, 3])).to.equal('keypoints');
    expect(taskOf([1, 1000])).to.equal('classifier');
    expect(taskOf([1, 128, 128, 80])).to.equal('heatmap');
    expect(taskOf([1, 1])).to.equal(undefined);
    const acc = new DriftAccumulator({ task: 'auto', frame: { h: 1, w: 1 }, keyFrameEvery: 2 });
    const out = (v: number[]) => [{ name: 'y', shape: [1, v.length], values: Float32Array.from(v) }];
    acc.add(out([1, 0]), out([2, 0])); // t = 0: key frame, drift 0.5
    acc.add(out([0, 1]), out([1, 0])); // t = 1: counted, drift √2, top-1 differs
    acc.add(out([9, 9]), out([1, 0])); // t = 2: key frame
    acc.add(out([1, 0]), out([1, 0])); // t = 3: counted, exact
    const r = acc.report();
    expect(r.countedFrames).to.equal(2);
    expect(r.relL2).to.have.length(4);
    expect(r.relL2Mean).to.be.closeTo(Math.SQRT2 / 2, 1e-5);
    expect(r.task).to.include({ kind: 'classifier', metric: 'top1Agreement', mean: 0.5 });
    expect(acc.budgetDrift('task')).to.equal(0.5);
  });
});

describe('record/drift: closed-loop delta inference', function () {
  this.timeout(300_000);
  let dir: string;
  let file: string;
  let loaded: LoadedKerasModel;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-drift-test-'));
    const m = chain();
    await saveModel(join(dir, 'chain'), m, META);
    m.dispose();
    file = join(dir, 'chain', 'model.json');
    loaded = await loadKerasModel(file);
  });
  after(() => {
    loaded?.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const driftOf = (out: string): DriftReport => JSON.parse(readFileSync(join(out, 'drift.json'), 'utf8')) as DriftReport;

  it('a graph model: drift ≈ 0 at a tiny q, growing with q; drift.json and the manifest summary agree', async () => {
    const clip = clipOf(5, 3);
    const frames = new Float32Array(5 * 12 * 12 * 2); // the tiny graph takes 2 channels
    for (let i = 0; i < 5 * 12 * 12; i++) {
      frames[2 * i] = clip.frames[3 * i]!;
      frames[2 * i + 1] = clip.frames[3 * i + 1]!;
    }
    const gfile = writeTinyGraph(dir);
    const drifts: number[] = [];
    for (const q of [1e-4, 0.05, 0.5]) {
      const out = join(dir, `g${q}`);
      const m = await recordGraphModelTrace({
        model: gfile,
        frames: { ...clip, c: 2, frames },
        threshold: q,
        out,
        drift: { task: 'auto' },
      });
      const r = driftOf(out);
      expect(r).to.include({ format: 'deltasim-drift', closedLoop: true, frames: 5, countedFrames: 4 });
      expect(r.task?.kind).to.equal('classifier');
      expect(m.model.drift).to.deep.include({ file: 'drift.json', relL2Mean: r.relL2Mean, relL2Max: r.relL2Max });
      drifts.push(r.relL2Mean!);
    }
    expect(drifts[0]).to.be.below(1e-3);
    expect(drifts[1]).to.be.above(drifts[0]!);
    expect(drifts[2]).to.be.above(drifts[1]!);
  });

  it('a graph model run closed loop leaves the caller its input, leaks no tensor, and equals dense with exact quantisers', async () => {
    const gfile = writeTinyGraph(dir);
    const json = readGraphModelJson(gfile);
    const { model } = await loadGraphModel(gfile, json);
    try {
      const input = model.inputs[0]!.name;
      const net = graphClosedLoop(model, json, input, [...new Set(findMacNodes(json, gfile).map((m) => m.input))]);
      const x = tf.randomUniform([1, 5, 5, 2], 0, 1, 'float32', 5);
      const dense = net.dense(x);
      const before = tf.memory().numTensors;
      for (let k = 0; k < 2; k++) {
        const loop = net.closedLoop(x, (_t, v) => v);
        // The wave fed past the input used to dispose it: the second run failed on a disposed tensor.
        expect(x.isDisposed).to.equal(false);
        loop.forEach((o, i) => expect(relativeL2(o.values, dense[i]!.values)).to.equal(0));
      }
      expect(tf.memory().numTensors).to.equal(before);
      x.dispose();
    } finally {
      model.dispose();
    }
  });

  it('a graph model with an update mask and key frames: held levels flow downstream; key frames are not counted', async () => {
    const clip = clipOf(5, 3);
    const frames = new Float32Array(5 * 12 * 12 * 2);
    for (let i = 0; i < 5 * 12 * 12; i++) [frames[2 * i], frames[2 * i + 1]] = [clip.frames[3 * i]!, clip.frames[3 * i + 1]!];
    const gfile = writeTinyGraph(dir);
    const src = { ...clip, c: 2, frames };
    const plain = await recordGraphModelTrace({
      model: gfile,
      frames: src,
      threshold: 0.2,
      out: join(dir, 'gm0'),
      drift: { task: 'none' },
    });
    const masked = await recordGraphModelTrace({
      model: gfile,
      frames: src,
      threshold: 0.2,
      out: join(dir, 'gm1'),
      keyFrameEvery: 3,
      updateMask: { tile: 1, dilation: 0 },
      drift: { task: 'none' },
    });
    const r = driftOf(join(dir, 'gm1'));
    expect(r).to.include({ frames: 5, countedFrames: 3, keyFrameEvery: 3 }); // t = 1, 2, 4
    // key frames take the frame's own levels: the same outputs as plain rounding there
    expect(r.relL2[0]).to.equal(driftOf(join(dir, 'gm0')).relL2[0]);
    expect(r.relL2[3]).to.equal(driftOf(join(dir, 'gm0')).relL2[3]);
    expect(masked.model.updateMask).to.deep.equal({ tile: 1, dilation: 0 });
    expect(plain.model.drift).to.not.deep.equal(masked.model.drift);
  });

  it('a Keras model: each layer reads the levels computed from the quantised layer before it (closed loop), drift grows with q', async () => {
    const clip = clipOf(4);
    const drifts: number[] = [];
    for (const q of [1e-4, 0.02, 0.2]) {
      const out = join(dir, `k${q}`);
      await recordKerasModelTrace({ model: loaded, frames: clip, threshold: q, out, drift: { task: 'none' } });
      drifts.push(driftOf(out).relL2Mean!);
    }
    expect(drifts[0]).to.be.below(1e-3);
    expect(drifts[1]).to.be.above(drifts[0]!);
    expect(drifts[2]).to.be.above(drifts[1]!);
    // c3's recorded levels are c2 applied to c2's recorded (quantised) levels, not the float network's
    const q = 0.2;
    const trace = openTrace(join(dir, `k${q}`));
    const names = trace.manifest.layers.map((l) => l.name);
    const lv = (name: string) => readLayer(trace.layers[names.indexOf(name)]!);
    const c2 = lv('c2');
    const c3 = lv('c3');
    const n2 = 12 * 12 * 8;
    const input = imageInput(loaded);
    let openLoopDiffers = 0;
    for (let t = 0; t < clip.t; t++) {
      const held = tf.tensor(
        Float32Array.from(c2.subarray(t * n2, (t + 1) * n2), (l) => l * q),
        [1, 12, 12, 8],
      );
      const y = loaded.model.getLayer('c2').apply(held) as tf.Tensor;
      const expected = Array.from(y.dataSync(), (v) => Math.round(v / q));
      expect(Array.from(c3.subarray(t * n2, (t + 1) * n2))).to.deep.equal(expected);
      // the open-loop levels (from the float network) differ somewhere: the test tells the two apart
      const x = frameToInput(clip.frames.subarray(t * 12 * 12 * 3, (t + 1) * 12 * 12 * 3), clip, input);
      const probe = tf.model({ inputs: loaded.model.inputs, outputs: loaded.model.getLayer('c2').output as tf.SymbolicTensor });
      const open = (probe.predict(x) as tf.Tensor).dataSync();
      for (let i = 0; i < n2; i++) if (Math.round(open[i]! / q) !== expected[i]) openLoopDiffers++;
      tf.dispose([held, y, x]);
    }
    expect(openLoopDiffers).to.be.above(0);
  });

  it('the greedy per-layer search meets its budget with fewer operations than the best common threshold', () => {
    const clip = clipOf(5);
    const input = imageInput(loaded);
    const macs = kerasMacs(loaded.model, loaded.weightBits, file);
    const net = kerasClosedLoop(loaded.model, macs, file);
    const n = 12 * 12 * 3;
    const inputs = Array.from({ length: clip.t }, (_, t) => frameToInput(clip.frames.subarray(t * n, (t + 1) * n), clip, input));
    const costs = macsPerElement(
      macs.map((m) => ({ tensor: m.input, layer: { name: m.name, ...m.geometry, weightBits: 8, weightDensity: 1 } })),
    );
    const searchable = macs.filter((m) => !m.fromGraphInput).map((m) => m.input);
    const q0 = 0.002;
    const stepsAt = (q: number) => new Map(macs.map((m) => [m.input, m.fromGraphInput ? 1 / 255 : q] as const));
    const o = { budget: 0.03, on: 'rel-l2' as const, task: 'none' as const, frame: { h: 12, w: 12 }, rounds: 40 };
    try {
      const r = searchThresholds(net, inputs, stepsAt(q0), searchable, costs, o);
      const dense = inputs.map((x) => net.dense(x));
      const again = evaluateSteps(net, inputs, dense, r.steps, costs, o);
      expect(again).to.deep.equal(r.final);
      expect(r.final.drift).to.be.at.most(o.budget);
      expect(r.final.ops).to.be.below(r.start.ops);
      expect(r.evaluations).to.be.at.most(1 + 40 * searchable.length);
      // the largest common q (doubling from q0) within the same budget
      let common = evaluateSteps(net, inputs, dense, stepsAt(q0), costs, o);
      for (let q = 2 * q0; ; q *= 2) {
        const e = evaluateSteps(net, inputs, dense, stepsAt(q), costs, o);
        if (e.drift > o.budget) break;
        common = e;
      }
      expect(r.final.ops).to.be.below(common.ops);
      // per-layer thresholds differ (one q does not suit every layer)
      expect(new Set(searchable.map((t) => r.steps.get(t))).size).to.be.above(1);
    } finally {
      tf.dispose(inputs);
    }
  });

  it('deltasim trace --keras --drift-budget records with the thresholds it found and writes them as a --thresholds file', () => {
    const out = join(dir, 'cli');
    const r = cli(
      'trace',
      '--keras',
      file,
      '--threshold',
      '0.002',
      '--drift-budget',
      '0.03',
      '--search-frames',
      '3',
      '--data',
      'procedural',
      '--frames',
      '4',
      '--out',
      out,
      '--quiet',
    );
    expect(r.code, r.stderr).to.equal(0);
    const m = openTrace(out).manifest;
    const found = JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')) as Record<string, number>;
    // the manifest lists every layer's q: the searched ones, and c1 (image-fed) at its pixel step
    expect(m.model.thresholds).to.deep.equal({ mode: 'per-layer', perLayer: { c1: 1 / 255, ...found } });
    expect(Object.keys(found)).to.deep.equal(['c2', 'c3', 'head']);
    for (const [name, q] of Object.entries(found)) expect(m.layers.find((l) => l.name === name)!.act.scale).to.equal(q);
    // fed back with --thresholds (as the graph recorder's): the same steps, and closed loop over the same frames the same drift
    const again = join(dir, 'cli-again');
    const fed = cli(
      'trace',
      '--keras',
      file,
      '--thresholds',
      join(out, 'thresholds.json'),
      '--drift',
      '--data',
      'procedural',
      '--frames',
      '4',
      '--out',
      again,
      '--quiet',
    );
    expect(fed.code, fed.stderr).to.equal(0);
    const m2 = openTrace(again).manifest;
    expect(m2.layers.map((l) => l.act.scale)).to.deep.equal(m.layers.map((l) => l.act.scale));
    expect(m2.model.thresholds).to.deep.equal(m.model.thresholds);
    expect(driftOf(again).relL2).to.deep.equal(driftOf(out).relL2);
    const drift = m.model.drift as { search: { budget: number; final: { drift: number } } };
    expect(drift.search.budget).to.equal(0.03);
    expect(drift.search.final.drift).to.be.at.most(0.03);
    const inspect = cli('trace', 'inspect', out);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect(inspect.stdout).to.contain('drift (closed loop');
  });

  it('deltasim pareto: drift against energy and latency per frame of the traces, the front marked, byte-identical on re-run', () => {
    const traces = ['k0.0001', 'k0.02', 'k0.2'].map((t) => join(dir, t));
    const run = (out: string) => {
      const r = cli('pareto', ...traces, '--arch', 'delta-32x32', '--out', out);
      expect(r.code, r.stderr).to.equal(0);
      return ['pareto.csv', 'pareto.json', 'charts/drift-energy.png', 'charts/drift-latency.png'].map((f) => readFileSync(join(out, f)));
    };
    const a = run(join(dir, 'pa'));
    const b = run(join(dir, 'pb'));
    a.forEach((buf, i) => expect(buf.equals(b[i]!), `file ${i}`).to.equal(true));
    const rows = (JSON.parse(a[1]!.toString()) as { rows: { drift: number; energyUJ: number; frontEnergy: boolean }[] }).rows;
    expect(rows.map((r) => r.drift)).to.deep.equal(rows.map((r) => r.drift).sort((x, y) => x - y));
    // a larger threshold changes fewer levels: less energy for more drift, every trace on the front
    expect(rows[2]!.energyUJ).to.be.below(rows[0]!.energyUJ);
    for (const r of rows)
      expect(r.frontEnergy, JSON.stringify(r)).to.equal(rows.every((o) => !(o.drift <= r.drift && o.energyUJ < r.energyUJ) || o === r));
    // a trace recorded without --drift has no drift to plot
    const r = cli('trace', '--keras', file, '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--out', join(dir, 'nodrift'));
    expect(r.code, r.stderr).to.equal(0);
    const bad = cli('pareto', join(dir, 'nodrift'), '--arch', 'delta-32x32', '--out', join(dir, 'pc'));
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('the trace has no drift').and.contain('/model/drift');
    expect(existsSync(join(dir, 'pc'))).to.equal(false);
  });

  it('refuses a budget ≤ 0 and --drift on a recorder that cannot run closed loop, exit ≠ 0 and nothing written', () => {
    const out = join(dir, 'bad');
    const base = ['--data', 'procedural', '--frames', '2', '--out', out];
    for (const b of ['0', '-0.1']) {
      const r = cli('trace', '--keras', file, '--threshold', '0.01', '--drift-budget', b, ...base);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('--drift-budget: expected a number > 0');
    }
    let r = cli('trace', '--onnx', join(dir, 'none.onnx'), '--threshold', '0.01', '--drift', ...base);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('--drift is not supported with --onnx');
    r = cli('trace', '--model', join(dir, 'chain'), '--drift', ...base);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('--drift applies to --graph and --keras models');
    r = cli('trace', '--keras', file, '--threshold', '0.01', '--task', 'heatmap', ...base);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('--task applies with --drift');
    r = cli('trace', '--keras', file, '--threshold', '0.01', '--drift', '--task', 'keypoints', ...base);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('--task keypoints: no model output has a fitting shape');
    r = cli('trace', '--keras', file, '--threshold', '0.01', '--drift', '--task', 'heat', ...base);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('--task: expected auto, none, classifier, keypoints or heatmap, optionally as KIND:OUTPUT, got "heat"');
    expect(existsSync(out)).to.equal(false);
  });
});
