/**
 * `trace --model` on a delta-ised Keras model (src/tf/deltaise-graph.ts): a multi-branch DAG (an add, a
 * concatenation behind per-channel thresholds, an average pool, a flatten) saved and recorded through
 * recordModelTrace, the library side of the CLI. Levels × scale equal the model's own values frame by frame;
 * the graph's consumers are checked by hand against the toy (test/support/keras-toy.ts); the simulator runs on it;
 * everything is byte-identical across two recordings.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { deltaiseKeras } from '../../src/tf/deltaise-graph.js';
import { DeltaActivation } from '../../src/tf/layers/index.js';
import { INPUT_DELTA, macLayers } from '../../src/tf/models.js';
import { loadModel, saveModel } from '../../src/tf/persist.js';
import { datasetSource, PIXEL_LEVELS, recordModelTrace } from '../../src/record/index.js';
import { openTrace, readLayer } from '../../traces/reader.js';
import { loadHwModel, simulate, traceWorkload } from '../../sim/index.js';
import { TOY_FRAME, toyKerasModel } from '../support/keras-toy.js';

const FRAMES = 5;
const DATA = 'procedural:classes=left+cw';

describe('record: a delta-ised Keras model (a DAG) through trace --model', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'deltasim-record-dag-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const variant of ['delta', 'baseline'] as const) {
    it(`${variant}: levels × scale are the model's own values, frame by frame; the graph is the DAG; simulate runs; byte-identical`, async () => {
      const model = deltaiseKeras(toyKerasModel(), { variant, thresholdInit: 0.05 });
      // Distinct per-channel thresholds: a concatenation of branches with different steps needs per-channel scales.
      for (const l of model.layers) {
        if (!(l instanceof DeltaActivation)) continue;
        const c = l.getWeights()[0]!.shape[0]!;
        l.setWeights([tf.tensor1d(Array.from({ length: c }, (_, i) => (l.name === INPUT_DELTA ? 0.02 : 0.03) + 0.01 * (i % 3)))]);
      }
      const modelDir = join(dir, `m-${variant}`);
      await saveModel(modelDir, model, { net: 'toy', variant, classes: ['a', 'b', 'c'], frameShape: TOY_FRAME, seed: 1 });
      model.dispose();
      const record = (out: string) => recordModelTrace({ modelDir, data: DATA, frames: FRAMES, out, chunkFrames: 2 });
      const out = join(dir, `t-${variant}`);
      await record(out);
      const trace = openTrace(out, { verify: true });
      const { model: loaded } = await loadModel(modelDir);
      const macs = macLayers(loaded);
      expect(trace.layers.map((l) => l.spec.name)).to.deep.equal(['c1', 'dw', 'proj', 'c2', 'c3', 'c4', 'd1', 'fc']);
      expect(macs.map((m) => m.name)).to.deep.equal(trace.layers.map((l) => l.spec.name));

      // The model's own values: each MAC layer's input tensor, over the whole clip in one call, fed the recorder's 8-bit pixels.
      const source = await datasetSource(DATA, { frameShape: TOY_FRAME, frames: FRAMES });
      const frames: number[] = [];
      for await (const f of source.read())
        for (const v of f) frames.push(Math.round(Math.min(Math.max(v, 0), 1) * PIXEL_LEVELS) / PIXEL_LEVELS);
      const x = tf.tensor5d(frames, [1, FRAMES, ...TOY_FRAME]);
      const read = [...new Set(macs.map((m) => m.inputLayer))]; // (c2 and c3 read one tensor)
      const probe = tf.model({ inputs: loaded.inputs, outputs: read.map((n) => loaded.getLayer(n).output as tf.SymbolicTensor) });
      const outs = probe.predict(x) as tf.Tensor[];
      const expected = macs.map((m) => outs[read.indexOf(m.inputLayer)]!.dataSync() as Float32Array);
      tf.dispose([x, ...outs]);
      loaded.dispose();

      trace.layers.forEach((layer, i) => {
        const { name } = layer.spec;
        const levels = readLayer(layer);
        const { scale } = layer.spec.act;
        const c = layer.spec.input.at(-1)!;
        const a = expected[i]!;
        expect(levels.length, name).to.equal(a.length);
        // c4 reads a 3×3 'same' average pool: its edge windows divide by fewer cells, so no one scale holds: float32 values.
        expect(layer.dtype, name).to.equal(name === 'c4' ? 'float32' : layer.dtype === 'float32' ? 'not float32' : layer.dtype);
        let worst = 0;
        for (let k = 0; k < a.length; k++) {
          const q = typeof scale === 'number' ? scale : scale[k % c]!;
          if (layer.dtype !== 'float32') expect(Number.isInteger(levels[k]), `${name}: integer levels`).to.equal(true);
          worst = Math.max(worst, Math.abs(levels[k]! * q - a[k]!));
        }
        expect(worst, `${name}: max |level·scale − value|`).to.be.below(1e-5);
      });
      const act = (n: string) => trace.manifest.layers.find((l) => l.name === n)!.act;
      if (variant === 'delta') {
        expect(act('c1').scale).to.deep.equal([0.02, 0.03, 0.04].map(Math.fround)); // inp_delta's steps
        // d1 reads flatten(maxpool(concat(c2, c3, c4))): 2×2 cells of 2 + 3 + 2 channels, each its branch's step.
        const cat = [0.03, 0.04, 0.03, 0.04, 0.05, 0.03, 0.04].map(Math.fround);
        expect(act('d1').scale).to.deep.equal([...cat, ...cat, ...cat, ...cat]);
      } else {
        expect(act('c1')).to.include({ scale: 1 / PIXEL_LEVELS, dtype: 'uint8' });
        expect(act('d1').scale).to.equal(Math.fround(0.05));
      }

      // The graph, by hand: who reads what.
      const g = trace.manifest.graph!;
      const readers = (tensor: string) =>
        g.nodes
          .filter((n) => n.inputs.includes(tensor))
          .map((n) => n.name)
          .sort();
      const m = variant === 'delta' ? 'delta' : 'baseline';
      expect(g.inputs).to.deep.equal([{ name: 'frame:0', shape: TOY_FRAME }]);
      const first = variant === 'delta' ? `${INPUT_DELTA}:0` : 'frame:0';
      if (variant === 'delta') expect(readers('frame:0')).to.deep.equal([INPUT_DELTA]);
      expect(readers(first)).to.deep.equal(['c1']);
      expect(readers(`r1_${m}:0`)).to.deep.equal(['add', 'pad']);
      expect(readers('pad:0')).to.deep.equal(['dw']);
      expect(g.nodes.find((n) => n.name === 'add')).to.deep.include({ op: 'add', inputs: ['bn2:0', `r1_${m}:0`] });
      expect(readers(`add_${m}:0`)).to.deep.equal(['avg', 'c2', 'c3']);
      expect(readers('avg:0')).to.deep.equal(['c4']);
      expect(g.nodes.find((n) => n.name === 'cat')).to.deep.include({ op: 'concat', inputs: [`c2_${m}:0`, `c3_${m}:0`, `c4_${m}:0`] });
      expect(g.nodes.find((n) => n.name === 'avg')).to.deep.include({
        op: 'avgpool',
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1, 1, 1],
      });
      expect(readers('cat:0')).to.deep.equal(['pool']);
      expect(readers('flat:0')).to.deep.equal(['d1']);
      expect(readers('drop:0')).to.deep.equal(['fc']);
      expect(g.nodes.filter((n) => n.op === 'mac').map((n) => n.name)).to.deep.equal(trace.layers.map((l) => l.spec.name));
      expect(g.nodes.some((n) => n.name === 'clip_mean')).to.equal(false);

      // The simulator runs on it (c4's float32 values need a delta threshold), and twice gives the same.
      const hw = loadHwModel('delta-32x32');
      const run = () => simulate(traceWorkload(openTrace(out), { threshold: 0 }), hw, { mode: 'all', frameRows: false });
      const r = run();
      expect(r.modes.map((x) => x.mode)).to.deep.equal(['dense', 'sparse', 'delta']);
      for (const mode of r.modes) expect(mode.latencyUs.mean, mode.mode).to.be.above(0);
      expect(JSON.stringify(run())).to.equal(JSON.stringify(r));

      const again = join(dir, `t2-${variant}`);
      await record(again);
      const files = (d: string) => trace.manifest.layers.map((l) => readFileSync(join(d, l.act.file)).toString('base64'));
      expect(readFileSync(join(again, 'manifest.json'), 'utf8')).to.equal(readFileSync(join(out, 'manifest.json'), 'utf8'));
      expect(files(again)).to.deep.equal(files(out));
    });
  }
});
