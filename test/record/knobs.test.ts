import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { recordOnnxTrace } from '../../src/record/onnx-model.js';
import { parsePerLayer, RangeSampler, resolveThresholds, thresholdSpecOf } from '../../src/record/thresholds.js';
import { UpdateMask } from '../../src/record/update-mask.js';
import { layerActivityCounter } from '../../sim/activity.js';
import { loadHwModel, simulate, traceWorkload } from '../../sim/index.js';
import { recordingText } from '../../src/cli/sim-table.js';
import { layerOf } from '../../traces/layer.js';
import { isKeyFrame, recordingOf } from '../../traces/manifest.js';
import { openTrace } from '../../traces/reader.js';
import { frameStatsCounter, traceStats } from '../../traces/stats.js';
import { makeClip } from '../video/helpers.js';

const SMALL = join(import.meta.dirname, '..', 'fixtures', 'onnx', 'small.onnx');
const throwsNaming = (f: () => unknown, flag: string) => expect(f).to.throw(InputError, flag);

describe('record/thresholds', () => {
  it('parses the flags into one spec; bad values name the flag', () => {
    expect(thresholdSpecOf({ threshold: 0.05 })).to.deep.equal({ mode: 'absolute', value: 0.05 });
    expect(thresholdSpecOf({ relativeThreshold: 0.02 })).to.deep.equal({
      mode: 'relative',
      value: 0.02,
      percentile: 99.9,
      calibrationFrames: 8,
    });
    expect(thresholdSpecOf({ thresholds: 'a=0.1,b/c=0.2', threshold: 0.05 })).to.deep.equal({
      mode: 'per-layer',
      perLayer: { a: 0.1, 'b/c': 0.2 },
      value: 0.05,
    });
    throwsNaming(() => thresholdSpecOf({ threshold: -1 }), '--threshold');
    throwsNaming(() => thresholdSpecOf({ relativeThreshold: 0 }), '--relative-threshold');
    throwsNaming(() => thresholdSpecOf({ relativeThreshold: 0.1, percentile: 101 }), '--percentile');
    throwsNaming(() => thresholdSpecOf({ relativeThreshold: 0.1, calibrationFrames: 0.5 }), '--calibration-frames');
    throwsNaming(() => thresholdSpecOf({ relativeThreshold: 0.1, threshold: 0.1 }), '--relative-threshold');
    throwsNaming(() => thresholdSpecOf({ threshold: 0.1, percentile: 50 }), '--percentile');
    throwsNaming(() => thresholdSpecOf({ thresholds: 'a=x' }), '--thresholds');
    throwsNaming(() => thresholdSpecOf({}, '--onnx'), '--onnx needs --threshold');
  });

  it('reads a per-layer .json file; a bad entry names the file and the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltasim-th-'));
    try {
      const f = join(dir, 'q.json');
      writeFileSync(f, JSON.stringify({ 'c1/Conv': 0.1, 'c2/Conv': 0.3 }));
      expect(parsePerLayer(f)).to.deep.equal({ 'c1/Conv': 0.1, 'c2/Conv': 0.3 });
      writeFileSync(f, JSON.stringify({ 'c1/Conv': -1 }));
      expect(() => parsePerLayer(f))
        .to.throw(InputError, 'q.json')
        .and.match(/c1~1Conv/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves steps per tensor: image-fed keep the pixel step, relative scales the range, unknown or conflicting layers fail', () => {
    const layers = [
      { name: 'a', tensor: 'x' },
      { name: 'b', tensor: 't1' },
      { name: 'c', tensor: 't1' },
      { name: 'd', tensor: 't2' },
    ];
    const image = new Map([['x', 1 / 255]]);
    const abs = resolveThresholds({ mode: 'absolute', value: 0.05 }, layers, image);
    expect([...abs.steps]).to.deep.equal([
      ['x', 1 / 255],
      ['t1', 0.05],
      ['t2', 0.05],
    ]);
    const rel = resolveThresholds(
      { mode: 'relative', value: 0.1 },
      layers,
      image,
      new Map([
        ['t1', 2],
        ['t2', 30],
        ['x', 1],
      ]),
    );
    expect(rel.steps.get('t1')).to.equal(0.2);
    expect(rel.steps.get('t2')).to.equal(3);
    expect(rel.record.perLayer).to.deep.equal({ a: 1 / 255, b: 0.2, c: 0.2, d: 3 });
    const per = resolveThresholds({ mode: 'per-layer', perLayer: { d: 0.5 }, value: 0.05 }, layers, image);
    expect(per.steps.get('t2')).to.equal(0.5);
    expect(per.steps.get('t1')).to.equal(0.05);
    throwsNaming(() => resolveThresholds({ mode: 'per-layer', perLayer: { zz: 1 } }, layers, image), 'no layer "zz"');
    throwsNaming(() => resolveThresholds({ mode: 'per-layer', perLayer: { b: 1, c: 2 } }, layers, image), 'share');
    throwsNaming(() => resolveThresholds({ mode: 'per-layer', perLayer: { d: 1 } }, layers, image), 'layer "b" has no threshold');
  });

  it('takes the percentile of |a| as the range (the maximum for a mostly-zero tensor)', () => {
    const s = new RangeSampler(2, 50);
    s.add('t', Float32Array.from([1, -2, 3, -4]));
    s.add('t', Float32Array.from([5, -6, 7, -8]));
    s.add(
      'z',
      new Float32Array(8).fill(0).map((_, i) => (i === 7 ? 9 : 0)),
    );
    s.add('z', new Float32Array(8));
    expect(s.ranges().get('t')).to.equal(4);
    expect(s.ranges().get('z')).to.equal(9);
  });
});

describe('record/update-mask', () => {
  // 4×4 pixels, 1 channel, step 1
  const frame = (vals: number[]) => Float32Array.from(vals);
  const levels = (vals: Float32Array) => Int16Array.from(vals, (v) => Math.round(v));

  it('holds back sub-threshold flips outside updated tiles and updates whole tiles (dilated) around a change', () => {
    const m = new UpdateMask([4, 4, 1], { tile: 2, dilation: 0 });
    const f0 = frame(new Array(16).fill(0.4));
    m.apply(f0, 1, levels(f0)); // key frame
    const f1 = frame(new Array(16).fill(0.4));
    f1[0] = 2; // a real change in tile (0,0)
    f1[1] = 0.6; // sub-threshold drift in the same tile: flips 0 → 1, taken with the tile
    f1[15] = 0.6; // sub-threshold drift in tile (1,1): held back
    const l1 = levels(f1);
    m.apply(f1, 1, l1);
    expect(l1[0]).to.equal(2);
    expect(l1[1]).to.equal(1);
    expect(l1[15]).to.equal(0);
    expect(m.heldBack).to.equal(1);

    const d = new UpdateMask([4, 4, 1], { tile: 2, dilation: 1 });
    d.apply(f0, 1, levels(f0));
    const g = frame(new Array(16).fill(0.4));
    g[1 * 4 + 1] = 2; // pixel (1,1): dilated by 1 it reaches every tile
    g[15] = 0.6;
    const lg = levels(g);
    d.apply(g, 1, lg);
    expect(lg[15]).to.equal(1);
    expect(d.heldBack).to.equal(0);
  });

  it('takes the whole frame on key frames; bad tile / dilation name the flag', () => {
    const m = new UpdateMask([2, 2, 1], { tile: 2, dilation: 0, keyFrameEvery: 2 });
    const z = frame([0, 0, 0, 0]);
    m.apply(z, 1, levels(z));
    const f = frame([0.6, 0, 0, 0]);
    const l1 = levels(f);
    m.apply(f, 1, l1);
    expect(l1[0]).to.equal(0); // held back on frame 1
    const l2 = levels(f);
    m.apply(f, 1, l2);
    expect(l2[0]).to.equal(1); // frame 2 is a key frame
    throwsNaming(() => new UpdateMask([2, 2, 1], { tile: 0, dilation: 0 }), '--update-tile');
    throwsNaming(() => new UpdateMask([2, 2, 1], { tile: 1, dilation: -1 }), '--mask-dilation');
  });
});

describe('periodic key frames', () => {
  const l = layerOf({ name: 'c', op: 'conv2d', input: [2, 2, 1], output: [2, 2, 1], kernel: [1, 1], weightBits: 8, weightDensity: 1 });
  const still = Int8Array.from([1, 0, 2, 0]);

  it('restart the delta reference from zeros in stats and in the simulator activity alike', () => {
    expect([0, 1, 2, 3, 6].map((t) => isKeyFrame(t, 3))).to.deep.equal([true, false, false, true, true]);
    expect([0, 3].map((t) => isKeyFrame(t, undefined))).to.deep.equal([true, false]);
    const stats = frameStatsCounter(l, { keyFrameEvery: 3 });
    const act = layerActivityCounter(l, { keyFrameEvery: 3, kinds: ['delta'] });
    const deltas = [0, 1, 2, 3, 4].map(() => [stats(still).nonZeroDeltas, act(still).delta!.events[0]]);
    expect(deltas).to.deep.equal([
      [2, 2],
      [0, 0],
      [0, 0],
      [2, 2],
      [0, 0],
    ]);
    const once = frameStatsCounter(l);
    expect([0, 1, 2, 3].map(() => once(still).nonZeroDeltas)).to.deep.equal([2, 0, 0, 0]);
  });
});

describe('record/onnx knobs (small.onnx)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-knobs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const common = { onnx: SMALL, data: 'procedural:noise=0.02', frames: 12, seed: 1 };

  it('records relative thresholds, key frames and the update mask in the manifest; simulate and inspect see them', async () => {
    const abs = await recordOnnxTrace({ ...common, out: join(dir, 'abs'), threshold: 0.05 });
    const rel = await recordOnnxTrace({
      ...common,
      out: join(dir, 'rel'),
      thresholds: { mode: 'relative', value: 0.05, percentile: 99.9, calibrationFrames: 4 },
      keyFrameEvery: 5,
      updateMask: { tile: 2, dilation: 1 },
    });
    const m = rel.manifest;
    const th = m.model.thresholds as { mode: string; perLayer: Record<string, number> };
    expect(th.mode).to.equal('relative');
    expect(m.model.threshold).to.equal(undefined);
    expect(m.model.keyFrameEvery).to.equal(5);
    expect(m.model.updateMask).to.deep.equal({ tile: 2, dilation: 1 });
    // each layer's step is its recorded q; the image-fed layer keeps the pixel step
    for (const l of m.layers) expect(l.act.scale).to.equal(th.perLayer[l.name]);
    expect(m.layers[0]!.act.scale).to.equal(abs.manifest.layers[0]!.act.scale);
    const steps = new Set(m.layers.slice(1).map((l) => l.act.scale));
    expect(steps.size).to.be.greaterThan(1);
    const text = recordingText(recordingOf(m));
    expect(text).to.include('relative delta thresholds q = 0.05 × P99.9(|a|) per layer over 4 frames');
    expect(text).to.include('a key frame every 5 frames');
    expect(text).to.include('updates in 2×2 tiles, mask dilated by 1');
    expect(recordingText(recordingOf(abs.manifest))).to.equal('recorded by onnx with delta threshold q = 0.05 (levels = round(a / q))');
    // the key frame at t = 5 is dense in deltas: as many deltas as non-zero levels
    const frame5 = traceStats(openTrace(join(dir, 'rel'))).frames[5]!;
    expect(frame5.nonZeroDeltas).to.equal(frame5.nonZero);
  });

  it("simulate evaluates every output on the manifest's key frames, and only there", () => {
    const keyed = join(dir, 'keyed');
    const plain = join(dir, 'plain');
    cpSync(join(dir, 'rel'), keyed, { recursive: true });
    cpSync(join(dir, 'rel'), plain, { recursive: true });
    const mf = join(plain, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8'));
    delete m.model.keyFrameEvery;
    writeFileSync(mf, JSON.stringify(m));
    const hw = loadHwModel('delta-32x32');
    const perFrame = (d: string) => {
      const updates: number[] = [];
      simulate(traceWorkload(openTrace(d)), hw, {
        mode: 'delta',
        onLayers: (rows) => {
          if (rows[0]?.mode !== 'delta') return;
          updates[rows[0].frame!] = rows.reduce((s, r) => s + r.actions.effectiveMacs, 0);
        },
      });
      return updates;
    };
    const [k, p] = [perFrame(keyed), perFrame(plain)];
    expect(k.length).to.equal(12);
    k.forEach((v, t) => {
      if (t === 5 || t === 10) expect(v, `frame ${t}`).to.be.greaterThan(p[t]!);
      else expect(v, `frame ${t}`).to.equal(p[t]);
    });
  });

  it('refuses bad knob values naming the flag', async () => {
    for (const [k, flag] of [
      [{ keyFrameEvery: 0 }, '--key-frame-every'],
      [{ updateMask: { tile: 1.5, dilation: 0 } }, '--update-tile'],
      [{ thresholds: { mode: 'per-layer' as const, perLayer: { nope: 1 } } }, 'no layer "nope"'],
    ] as const)
      try {
        await recordOnnxTrace({ ...common, out: join(dir, 'bad'), threshold: 0.05, ...k });
        expect.fail(`accepted ${JSON.stringify(k)}`);
      } catch (e) {
        expect(e).to.be.instanceOf(InputError);
        expect((e as Error).message).to.include(flag);
      }
  });
});

describe('trace CLI: knobs and frame timing', function () {
  this.timeout(120_000);
  const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-knobs-cli-'));
    makeClip(join(dir, 'low.avi'), 'testsrc=size=32x24:rate=2', 4);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('warns about duplicated frames when recording and inspecting, and prints the recording knobs', () => {
    const out = join(dir, 't');
    const args = ['trace', '--onnx', SMALL, '--video', join(dir, 'low.avi'), '--fps', '10', '--frames', '30', '--out', out];
    const r = cli(...args, '--relative-threshold', '0.05', '--key-frame-every', '10', '--quiet');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('warning: 24 of 30 recorded frames are copies');
    const i = cli('trace', 'inspect', out);
    expect(i.code, i.stderr).to.equal(0);
    expect(i.stderr).to.include('warning: 24 of 30');
    expect(i.stdout).to.include('video at 10 fps (native 2 fps), 24 duplicated frames');
    expect(i.stdout).to.include('a key frame every 10 frames');
    expect(i.stdout).to.include('relative delta thresholds');
  });

  it('refuses bad knob flags naming them', () => {
    const base = ['trace', '--onnx', SMALL, '--data', 'procedural', '--frames', '4', '--out', join(dir, 'x')];
    for (const [flags, name] of [
      [['--threshold', '0.05', '--key-frame-every', '0'], '--key-frame-every'],
      [['--threshold', '0.05', '--update-tile', '0'], '--update-tile'],
      [['--threshold', '0.05', '--mask-dilation', '-1'], '--mask-dilation'],
      [['--relative-threshold', '-2'], '--relative-threshold'],
      [['--thresholds', 'nope=0.1'], 'no layer "nope"'],
    ] as const) {
      const r = cli(...base, ...flags);
      expect(r.code, flags.join(' ')).to.not.equal(0);
      expect(r.stderr).to.include(name);
    }
  });
});
