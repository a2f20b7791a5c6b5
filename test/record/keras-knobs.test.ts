/**
 * The DeltaCNN knobs of the Keras recorder (issue 16 item 7): the graph / ONNX recorders' relative and
 * per-layer thresholds, periodic key frames and tile-granular update masks, with the same flags and
 * manifest keys, open and closed loop, on the multi-branch toy of test/support/keras-toy.ts.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { frameToInput } from '../../src/record/graph/input.js';
import { imageInput, recordKerasModelTrace } from '../../src/record/keras-model.js';
import { loadKerasModel, type LoadedKerasModel } from '../../src/record/keras/load.js';
import { UpdateMask } from '../../src/record/update-mask.js';
import { recordingText } from '../../src/cli/sim-table.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { saveModel } from '../../src/tf/persist.js';
import { ProceduralDataset } from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';
import { loadHwModel, simulate, traceWorkload } from '../../sim/index.js';
import { recordingOf, type Manifest } from '../../traces/manifest.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { TOY_FRAME, toyKerasModel } from '../support/keras-toy.js';
import { makeClip } from '../video/helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
const META = { net: 'keras-knobs', variant: 'float', classes: [], frameShape: TOY_FRAME, seed: 0 };
const FRAMES = 12;
const PIXELS = TOY_FRAME[0] * TOY_FRAME[1] * TOY_FRAME[2];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('record/keras knobs (multi-branch toy)', function () {
  this.timeout(300_000);
  let dir: string;
  let file: string;
  let loaded: LoadedKerasModel;
  const clip: Clip = new ProceduralDataset({ frames: FRAMES, width: 8, height: 8, channels: 3, seed: 3, noise: 0.03 }, 'test').render(0);
  /** Float values of the model's layers `names` per frame (the probe the recorder's levels are checked against). */
  let floats: (names: string[]) => Float32Array[][];

  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-keras-knobs-'));
    const m = toyKerasModel();
    await saveModel(join(dir, 'toy'), m, META);
    m.dispose();
    file = join(dir, 'toy', 'model.json');
    loaded = await loadKerasModel(file);
    const input = imageInput(loaded);
    floats = (names) => {
      const probe = tf.model({
        inputs: loaded.model.inputs,
        outputs: names.map((n) => loaded.model.getLayer(n).output as tf.SymbolicTensor),
      });
      const out = Array.from({ length: FRAMES }, (_, t) => {
        const x = frameToInput(clip.frames.subarray(t * PIXELS, (t + 1) * PIXELS), clip, input);
        const r = probe.predict(x) as tf.Tensor | tf.Tensor[];
        const list = Array.isArray(r) ? r : [r];
        const v = list.map((o) => o.dataSync() as Float32Array);
        tf.dispose([x, ...list]);
        return v;
      });
      return names.map((_, i) => out.map((f) => f[i]!));
    };
  });
  after(() => {
    loaded?.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const levelsOf = (out: string, layer: string) => {
    const trace = openTrace(out);
    return readLayer(trace.layers[trace.manifest.layers.findIndex((l) => l.name === layer)]!);
  };
  const scaleOf = (m: Manifest, layer: string) => m.layers.find((l) => l.name === layer)!.act.scale;

  it('relative thresholds: q = r × P(|a|) of each tensor over the calibration frames, per layer in the manifest; the image-fed layer keeps the pixel step', async () => {
    const out = join(dir, 'rel');
    const m = await recordKerasModelTrace({
      model: loaded,
      frames: clip,
      thresholds: { mode: 'relative', value: 0.05, percentile: 99, calibrationFrames: 4 },
      out,
    });
    const th = m.model.thresholds as { mode: string; perLayer: Record<string, number> };
    expect(th).to.deep.include({ mode: 'relative', value: 0.05, percentile: 99, calibrationFrames: 4 });
    expect(m.model.threshold).to.equal(undefined);
    for (const l of m.layers) expect(l.act.scale, l.name).to.equal(th.perLayer[l.name]);
    expect(scaleOf(m, 'c1')).to.equal(1 / 255);
    // c2 and c3 read one tensor (the residual add): one step; the layers' ranges differ, so do their steps
    expect(scaleOf(m, 'c2')).to.equal(scaleOf(m, 'c3'));
    expect(new Set(m.layers.filter((l) => l.name !== 'c1').map((l) => l.act.scale)).size).to.be.greaterThan(2);
    // the add's step from its own values: the 99th percentile (nearest rank) of |a| over frames 0..3
    const [add] = floats(['add']);
    const abs = Float32Array.from(add!.slice(0, 4).flatMap((f) => Array.from(f, Math.abs))).sort();
    const p99 = abs[Math.ceil(0.99 * abs.length) - 1]!;
    const q = Number((0.05 * p99).toPrecision(4));
    expect(scaleOf(m, 'c2')).to.equal(q);
    // every frame (the calibration frames too, replayed) is recorded at it
    const lv = levelsOf(out, 'c2');
    const n = add![0]!.length;
    for (const t of [0, 3, 11])
      expect(Array.from(lv.subarray(t * n, (t + 1) * n)), `frame ${t}`).to.deep.equal(Array.from(add![t]!, (a) => Math.round(a / q) + 0));
    expect(m.frames).to.equal(FRAMES);
    expect(recordingText(recordingOf(m))).to.include(
      'recorded by keras with relative delta thresholds q = 0.05 × P99(|a|) per layer over 4 frames',
    );
  });

  it('per-layer thresholds from a file apply to the named tensors (a tensor read by two layers takes its one q), --threshold to the rest', () => {
    const q = join(dir, 'q.json');
    writeFileSync(q, JSON.stringify({ c3: 0.2, fc: 0.01 }));
    const out = join(dir, 'per');
    const r = cli(
      'trace',
      '--keras',
      file,
      '--thresholds',
      q,
      '--threshold',
      '0.05',
      '--data',
      'procedural',
      '--frames',
      '3',
      '--quiet',
      '--out',
      out,
    );
    expect(r.code, r.stderr).to.equal(0);
    const m = openTrace(out).manifest;
    expect(m.model.thresholds).to.deep.include({ mode: 'per-layer', value: 0.05 });
    const steps = Object.fromEntries(m.layers.map((l) => [l.name, l.act.scale]));
    expect(steps).to.deep.equal({ c1: 1 / 255, dw: 0.05, proj: 0.05, c2: 0.2, c3: 0.2, c4: 0.05, d1: 0.05, fc: 0.01 });
    expect((m.model.thresholds as { perLayer: unknown }).perLayer).to.deep.equal(steps);
    expect(recordingText(recordingOf(m))).to.include('per-layer delta thresholds (q = 0.05 for layers not listed)');
  });

  it('key frames every N: in the manifest and the simulate header; the deltas restart there (inspect and simulate alike)', async () => {
    const keyed = join(dir, 'keyed');
    const m = await recordKerasModelTrace({ model: loaded, frames: clip, threshold: 0.05, keyFrameEvery: 5, out: keyed });
    expect(m.model).to.deep.include({ threshold: 0.05, keyFrameEvery: 5 });
    expect(recordingText(recordingOf(m))).to.equal(
      'recorded by keras with delta threshold q = 0.05 (levels = round(a / q)); a key frame every 5 frames',
    );
    const stats = traceStats(openTrace(keyed));
    for (const t of [5, 10]) expect(stats.frames[t]!.nonZeroDeltas, `frame ${t}`).to.equal(stats.frames[t]!.nonZero);
    expect(stats.frames[4]!.nonZeroDeltas).to.be.below(stats.frames[4]!.nonZero);
    // the same levels without the key-frame key: simulate does more work on frames 5 and 10 only
    const plain = join(dir, 'keyed-plain');
    cpSync(keyed, plain, { recursive: true });
    const mf = join(plain, 'manifest.json');
    const j = JSON.parse(readFileSync(mf, 'utf8'));
    delete j.model.keyFrameEvery;
    writeFileSync(mf, JSON.stringify(j));
    const hw = loadHwModel('delta-32x32');
    const perFrame = (d: string) => {
      const macs: number[] = [];
      simulate(traceWorkload(openTrace(d)), hw, {
        mode: 'delta',
        onLayers: (rows) => {
          if (rows[0]?.mode === 'delta') macs[rows[0].frame!] = rows.reduce((s, r) => s + r.actions.effectiveMacs, 0);
        },
      });
      return macs;
    };
    const [k, p] = [perFrame(keyed), perFrame(plain)];
    expect(k.length).to.equal(FRAMES);
    k.forEach((v, t) => {
      if (t === 5 || t === 10) expect(v, `frame ${t}`).to.be.greaterThan(p[t]!);
      else expect(v, `frame ${t}`).to.equal(p[t]);
    });
  });

  it("update masks: each tensor's levels are the plain levels through the shared tile rule (key frames whole), so sub-threshold flips are held back", async () => {
    const o = { tile: 2, dilation: 0 };
    const masked = join(dir, 'masked');
    const m = await recordKerasModelTrace({ model: loaded, frames: clip, threshold: 0.05, keyFrameEvery: 6, updateMask: o, out: masked });
    expect(m.model.updateMask).to.deep.equal(o);
    expect(recordingText(recordingOf(m))).to.include('a key frame every 6 frames; updates in 2×2 tiles, mask dilated by 0');
    // add: read by c2 and c3 (one tensor, one mask, the same levels); flat: d1's rank-1 input (one pixel of 28 channels)
    const [add, flat] = floats(['add', 'flat']);
    const held: number[] = [];
    for (const [tensor, layer, shape] of [
      [add!, 'c2', [4, 4, 4]],
      [flat!, 'd1', [28]],
    ] as const) {
      const mask = new UpdateMask(shape, { ...o, keyFrameEvery: 6 });
      const got = levelsOf(masked, layer);
      const n = tensor[0]!.length;
      for (let t = 0; t < FRAMES; t++) {
        const want = Int16Array.from(tensor[t]!, (a) => Math.round(a / 0.05));
        mask.apply(tensor[t]!, 0.05, want);
        expect(Array.from(got.subarray(t * n, (t + 1) * n)), `${layer} frame ${t}`).to.deep.equal(Array.from(want));
      }
      held.push(mask.heldBack);
    }
    expect(
      held.every((h) => h > 0),
      `level flips held back: ${held}`,
    ).to.equal(true);
    expect(Array.from(levelsOf(masked, 'c3'))).to.deep.equal(Array.from(levelsOf(masked, 'c2')));
    const plain = await recordKerasModelTrace({
      model: loaded,
      frames: clip,
      threshold: 0.05,
      keyFrameEvery: 6,
      out: join(dir, 'unmasked'),
    });
    expect(plain.model.updateMask).to.equal(undefined);
    for (const layer of ['c2', 'd1'])
      expect(Array.from(levelsOf(masked, layer)), layer).to.not.deep.equal(Array.from(levelsOf(join(dir, 'unmasked'), layer)));
  });

  it('closed loop (--drift) with relative thresholds, key frames and an update mask: held levels flow downstream; key frames are not counted', async () => {
    const spec = { mode: 'relative', value: 0.05, percentile: 99, calibrationFrames: 4 } as const;
    const o = { tile: 2, dilation: 0 };
    const rec = (out: string, k: object) =>
      recordKerasModelTrace({ model: loaded, frames: clip, thresholds: spec, keyFrameEvery: 5, drift: { task: 'none' }, out, ...k });
    const open = await recordKerasModelTrace({ model: loaded, frames: clip, thresholds: spec, out: join(dir, 'loop-open') });
    const masked = await rec(join(dir, 'loop-mask'), { updateMask: o });
    await rec(join(dir, 'loop-plain'), {});
    // the ranges are measured open loop on the calibration frames (as the graph recorder): the same steps
    expect(masked.layers.map((l) => l.act.scale)).to.deep.equal(open.layers.map((l) => l.act.scale));
    expect(masked.model).to.deep.include({ keyFrameEvery: 5, updateMask: o });
    expect((masked.model.thresholds as { mode: string }).mode).to.equal('relative');
    const driftOf = (d: string) => JSON.parse(readFileSync(join(d, 'drift.json'), 'utf8')) as { relL2: number[]; countedFrames: number };
    const [dm, dp] = [driftOf(join(dir, 'loop-mask')), driftOf(join(dir, 'loop-plain'))];
    expect(dm).to.deep.include({ countedFrames: FRAMES - 3, keyFrameEvery: 5 }); // t = 0, 5, 10 left out
    // key frames take every tensor's whole frame: the outputs of plain rounding there; between them the mask changes them
    for (const t of [0, 5, 10]) expect(dm.relL2[t], `frame ${t}`).to.equal(dp.relL2[t]);
    expect(dm.relL2).to.not.deep.equal(dp.relL2);
    // dw reads pad(r1(bn1(c1(image)))): closed loop, from c1's recorded (masked) image levels, then through its own mask
    const qdw = scaleOf(masked, 'dw') as number;
    const image = levelsOf(join(dir, 'loop-mask'), 'c1');
    const dw = levelsOf(join(dir, 'loop-mask'), 'dw');
    const mask = new UpdateMask([6, 6, 4], { ...o, keyFrameEvery: 5 });
    const n = 6 * 6 * 4;
    for (let t = 0; t < FRAMES; t++) {
      const x = tf.tensor(
        Float32Array.from(image.subarray(t * PIXELS, (t + 1) * PIXELS), (l) => l * (1 / 255)),
        [1, ...TOY_FRAME],
      );
      const y = tf.tidy(() =>
        ['c1', 'bn1', 'r1', 'pad'].reduce((v, name) => loaded.model.getLayer(name).apply(v) as tf.Tensor, x as tf.Tensor),
      );
      const values = y.dataSync() as Float32Array;
      const want = Int16Array.from(values, (a) => Math.round(a / qdw));
      mask.apply(values, qdw, want);
      expect(Array.from(dw.subarray(t * n, (t + 1) * n)), `dw frame ${t}`).to.deep.equal(Array.from(want));
      tf.dispose([x, y]);
    }
    expect(mask.heldBack).to.be.greaterThan(0);
  });

  it('a drift search starts from relative thresholds and records per layer; it refuses an update mask', async () => {
    const out = join(dir, 'search');
    const m = await recordKerasModelTrace({
      model: loaded,
      frames: clip,
      thresholds: { mode: 'relative', value: 0.005, percentile: 99, calibrationFrames: 4 },
      drift: { task: 'none', search: { budget: 0.05, on: 'rel-l2', frames: 4 } },
      out,
    });
    const found = JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')) as Record<string, number>;
    expect(m.model.thresholds).to.deep.equal({ mode: 'per-layer', perLayer: { c1: 1 / 255, ...found } });
    const search = (m.model.drift as { search: { final: { drift: number; ops: number }; start: { ops: number } } }).search;
    expect(search.final.drift).to.be.at.most(0.05);
    expect(search.final.ops).to.be.below(search.start.ops);
    let err: unknown;
    try {
      await recordKerasModelTrace({
        model: loaded,
        frames: clip,
        threshold: 0.01,
        updateMask: { tile: 2, dilation: 0 },
        drift: { task: 'none', search: { budget: 0.05, on: 'rel-l2', frames: 4 } },
        out: join(dir, 'search-mask'),
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.include('--drift-budget: the threshold search runs without an update mask');
    expect(existsSync(join(dir, 'search-mask'))).to.equal(false);
  });

  it('deltasim trace --keras takes the knobs over a video; simulate prints them; same inputs give a byte-identical trace', () => {
    const video = join(dir, 'clip.avi');
    makeClip(video, 'testsrc2=size=40x30:rate=10', 1);
    const args = (out: string) => [
      'trace',
      '--keras',
      file,
      '--video',
      video,
      '--frames',
      '8',
      '--relative-threshold',
      '0.05',
      '--calibration-frames',
      '3',
      '--key-frame-every',
      '4',
      '--update-tile',
      '2',
      '--mask-dilation',
      '1',
      '--quiet',
      '--out',
      out,
    ];
    const [a, b] = [join(dir, 'cli-a'), join(dir, 'cli-b')];
    for (const out of [a, b]) {
      const r = cli(...args(out));
      expect(r.code, r.stderr).to.equal(0);
    }
    const files = readdirSync(a).sort();
    expect(readdirSync(b).sort()).to.deep.equal(files);
    for (const f of files) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).to.equal(true);
    const m = openTrace(a).manifest;
    expect(m.model).to.deep.include({ recorder: 'keras', keyFrameEvery: 4, updateMask: { tile: 2, dilation: 1 } });
    const s = cli('simulate', '--trace', a, '--arch', 'delta-32x32', '--out', join(dir, 'sim'));
    expect(s.code, s.stderr).to.equal(0);
    const header = s.stdout + s.stderr;
    expect(header).to.include('recorded by keras with relative delta thresholds q = 0.05 × P99.9(|a|) per layer over 3 frames');
    expect(header).to.include('a key frame every 4 frames; updates in 2×2 tiles, mask dilated by 1');
  });

  it('refuses bad knob values naming the flag or the file, exit ≠ 0 and nothing written', () => {
    const out = join(dir, 'bad');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ c2: 0.1, c3: -1 }));
    const clash = join(dir, 'clash.json');
    writeFileSync(clash, JSON.stringify({ c2: 0.1, c3: 0.2 }));
    const base = ['trace', '--keras', file, '--data', 'procedural', '--frames', '3', '--out', out];
    for (const [flags, says] of [
      [['--threshold', '0.05', '--key-frame-every', '0'], '--key-frame-every'],
      [['--threshold', '0.05', '--update-tile', '0'], '--update-tile'],
      [['--threshold', '0.05', '--mask-dilation', '-1'], '--mask-dilation'],
      [['--relative-threshold', '-2'], '--relative-threshold'],
      [['--relative-threshold', '0.1', '--threshold', '0.1'], '--relative-threshold: give it alone'],
      [['--threshold', '0.05', '--percentile', '50'], '--percentile: applies to --relative-threshold only'],
      [['--thresholds', 'nope=0.1', '--threshold', '0.05'], 'no layer "nope"'],
      [['--thresholds', 'c2=0.1'], 'has no threshold (list it, or give --threshold for the rest)'],
      [['--thresholds', bad], 'bad.json'],
      [['--thresholds', clash], 'must share its threshold'],
      [['--thresholds', join(dir, 'missing.json')], 'missing.json'],
      [[], '--keras needs --threshold'],
      [
        ['--threshold', '0.01', '--drift-budget', '0.1', '--update-tile', '2'],
        '--drift-budget: the threshold search runs without an update mask',
      ],
    ] as const) {
      const r = cli(...base, ...flags);
      expect(r.code, flags.join(' ')).to.not.equal(0);
      expect(r.stderr, flags.join(' ')).to.include(says);
      expect(existsSync(out), flags.join(' ')).to.equal(false);
    }
    expect(cli(...base, '--thresholds', bad).stderr).to.include('/c3');
  });

  it('rejects bad knobs in the API before reading a frame', async () => {
    for (const [k, says] of [
      [{ threshold: 0.05, keyFrameEvery: 1.5 }, '--key-frame-every'],
      [{ threshold: 0.05, updateMask: { tile: 2, dilation: -1 } }, '--mask-dilation'],
      [{}, 'threshold must be a number > 0'],
    ] as const) {
      let err: unknown;
      try {
        await recordKerasModelTrace({ model: loaded, frames: clip, out: join(dir, 'bad-api'), ...k });
      } catch (e) {
        err = e;
      }
      expect(err, says).to.be.instanceOf(InputError);
      expect((err as Error).message).to.include(says);
      expect(existsSync(join(dir, 'bad-api'))).to.equal(false);
    }
  });
});
