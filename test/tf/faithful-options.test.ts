/**
 * Issue 18, item 1: the options that make our training faithful to the authors' code: the input Delta
 * Activation Layer on the frames, the authors' fan-out convention (the default) beside the old per-stride
 * one, and what old saved models keep. Recording: with the input layer, the first conv's recorded input
 * is that layer's levels (scale q), not the 8-bit pixels.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { DeltaActivation } from '../../src/tf/layers/index.js';
import {
  activationLayers,
  buildModel,
  conv,
  fanOut,
  INPUT_DELTA,
  inputDeltaOf,
  macLayers,
  maxpool,
  type ModelSpec,
} from '../../src/tf/models.js';
import { loadModel } from '../../src/tf/persist.js';
import { datasetSource, PIXEL_LEVELS, recordTrace } from '../../src/record/index.js';
import { openTrace, readLayer } from '../../traces/reader.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'deltasim.js');
/** The bundled delta model as it was before issue 18 (no input layer, per-stride fan-outs): a model saved before the options. */
const LEGACY_DELTA = join(import.meta.dirname, '..', 'support', 'legacy-delta-model');
const TINY = ['--data', 'procedural:train=4,test=2,classes=left+right', '--frames', '3', '--epochs', '1', '--batch', '2', '--quiet'];
/** The bundled models' four classes. */
const TINY4 = ['--data', 'procedural:train=4,test=2,classes=left+right+up+down', ...TINY.slice(2)];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('tf: faithful options (input delta layer, fan-out convention)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-faithful-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records the first conv input as the input layer levels round(pixel/q), scale q (with motion input too)', async () => {
    for (const motionInput of [false, true]) {
      const spec: ModelSpec = { net: 'plain', variant: 'delta', classes: 2, frameShape: [16, 16, 1], seed: 4, motionInput };
      const model = buildModel(spec);
      const inp = inputDeltaOf(model)!;
      const q = 0.02;
      inp.setWeights([tf.tensor1d([q])]);
      const source = await datasetSource('procedural:classes=left+cw,noise=0.05', { frameShape: [16, 16, 1], frames: 5, seed: 3 });
      const out = join(dir, `rec-${motionInput}`);
      await recordTrace(model, source, out, { modelInfo: { name: 'm' }, chunkFrames: 2 });
      const trace = openTrace(out, { verify: true });
      const first = trace.layers[0]!;
      expect(first.spec.name).to.equal('conv1');
      expect(first.spec.act.scale).to.be.closeTo(q, 1e-9);
      const levels = readLayer(first);
      const pixels: number[] = [];
      for await (const f of source.read()) for (const v of f) pixels.push(Math.round(v * PIXEL_LEVELS) / PIXEL_LEVELS);
      const l = pixels.map((p) => Math.round(p / q));
      const n = 16 * 16;
      // Without motion input the trace holds L; with it [L, L_t − L_{t−1}] per pixel.
      const expected = motionInput ? l.flatMap((v, k) => [v, k < n ? 0 : v - l[k - n]!]) : l;
      expect(Array.from(levels)).to.deep.equal(expected);
      model.dispose();
    }
  });

  it('records through a max-pool block: the conv behind it reads the pooled levels of the activation before', async () => {
    const model = buildModel({
      net: 'plain',
      variant: 'delta',
      classes: 2,
      frameShape: [16, 16, 1],
      seed: 2,
      blocks: [conv(4, 3, 1), maxpool(2), conv(8, 3, 2)],
    });
    const act1 = model.getLayer('act1') as DeltaActivation;
    act1.setWeights([tf.tensor1d([0.03, 0.05, 0.07, 0.09])]);
    const source = await datasetSource('procedural:classes=left+cw', { frameShape: [16, 16, 1], frames: 3, seed: 1 });
    await recordTrace(model, source, join(dir, 'pool'), { modelInfo: { name: 'pool' } }); // refuses off-grid levels
    const layer = openTrace(join(dir, 'pool'), { verify: true }).manifest.layers[1]!;
    expect(layer).to.deep.include({ name: 'conv3', input: [8, 8, 4] });
    expect((layer.act.scale as number[]).map((v) => Number(v.toFixed(6)))).to.deep.equal([0.03, 0.05, 0.07, 0.09]);
    model.dispose();
  });

  it('an old saved model (the pre-issue-18 bundled delta) loads with its old behaviour: no input layer, per-stride fan-outs, pixel trace', async () => {
    const { model, meta } = await loadModel(LEGACY_DELTA);
    expect(meta!.training).to.not.have.property('fanOut');
    expect(inputDeltaOf(model)).to.equal(null);
    const byName = new Map(activationLayers(model).map((l) => [l.name, l.nOutputs]));
    for (const mac of macLayers(model)) if (mac.quantiser) expect(byName.get(mac.quantiser), mac.name).to.equal(fanOut(mac, 'per-stride'));
    expect(byName.get('act1')).to.equal((9 * 16) / 4);
    const source = await datasetSource('procedural:classes=left+right', { frameShape: [64, 64, 1], frames: 3, seed: 1 });
    await recordTrace(model, source, join(dir, 'old'), { modelInfo: { name: 'old' } });
    expect(openTrace(join(dir, 'old')).manifest.layers[0]!.act.scale).to.equal(1 / 255);
    model.dispose();
  });

  it('deltasim train: defaults (input layer on, authors), the opt-outs, --from an old model keeps per-stride; all in meta.json and the summary', async () => {
    const fresh = join(dir, 'fresh');
    const r1 = cli('train', ...TINY, '--size', '16', '--out', fresh);
    expect(r1.code, r1.stderr).to.equal(0);
    expect(r1.stdout).to.include(
      'penalty fan-out: authors (kh·kw·filters, summed over consumers); input delta layer: on (threshold init 0.01176 = 3.00/255)',
    );
    expect(r1.stdout).to.match(/^inp_delta\s/m);
    expect(readJson(join(fresh, 'meta.json')).training).to.include({ fanOut: 'authors', inputDelta: true, inputThreshold: 3 / 255 });
    const f = await loadModel(fresh);
    expect(activationLayers(f.model).map((l) => l.nOutputs)).to.deep.equal([9 * 8, 9 * 16, 9 * 32, 9 * 32, 2]);
    f.model.dispose();

    const opted = join(dir, 'opted');
    const r2 = cli('train', ...TINY, '--size', '16', '--no-input-delta', '--fan-out', 'per-stride', '--out', opted);
    expect(r2.code, r2.stderr).to.equal(0);
    expect(r2.stdout).to.include('penalty fan-out: per-stride (kh·kw·filters / stride², summed over consumers); input delta layer: off');
    expect(readJson(join(opted, 'meta.json')).training).to.include({ fanOut: 'per-stride', inputDelta: false });
    const o = await loadModel(opted);
    expect(o.model.layers.some((l) => l.name === INPUT_DELTA)).to.equal(false);
    expect(activationLayers(o.model)[0]!.nOutputs).to.equal((9 * 16) / 4);
    o.model.dispose();

    const refined = join(dir, 'refined');
    const r3 = cli('train', ...TINY4, '--from', LEGACY_DELTA, '--out', refined);
    expect(r3.code, r3.stderr).to.equal(0);
    expect(readJson(join(refined, 'meta.json')).training).to.include({ fanOut: 'per-stride', inputDelta: false });
    const r = await loadModel(refined);
    expect(r.model.layers.filter((l) => l instanceof DeltaActivation)).to.have.length(4);
    expect(activationLayers(r.model)[0]!.nOutputs).to.equal((9 * 16) / 4);
    r.model.dispose();

    const bad = join(dir, 'bad');
    const r4 = cli('train', ...TINY4, '--from', LEGACY_DELTA, '--input-delta', '--out', bad);
    expect(r4.code).to.equal(1);
    expect(r4.stderr).to.match(/--input-delta: the --from model has no input delta layer/);
    const r5 = cli('train', ...TINY, '--size', '16', '--input-threshold', '0', '--out', bad);
    expect(r5.code).to.equal(1);
    expect(r5.stderr).to.match(/--input-threshold: expected a number in \(0, 1\]/);
    const r6 = cli('train', ...TINY, '--size', '16', '--variant', 'l1', '--input-delta', '--out', bad);
    expect(r6.code).to.equal(1);
    expect(r6.stderr).to.match(/input delta layer is for delta models, not l1/);
  });
});
