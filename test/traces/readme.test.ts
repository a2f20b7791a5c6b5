import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTrace } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { packTrace } from '../../traces/pack.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../../traces/synthetic.js';
import { statePlanOf } from '../../sim/state-graph.js';
import { writeTrace } from '../../traces/writer.js';
import { DTYPES } from '../../traces/npy.js';
import { tempDir } from './helpers.js';

const README = new URL('../../traces/README.md', import.meta.url);

describe('traces/README', () => {
  it('the numpy example writes a trace the reader accepts (needs python3 + numpy)', function () {
    if (spawnSync('python3', ['-c', 'import numpy'], { cwd: tempDir() }).status !== 0) this.skip();
    // the first block defines write_trace and writes my-trace; the second writes res-trace with a graph
    const blocks = [...readFileSync(README, 'utf8').matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const code = blocks.slice(0, 2).join('\n');
    const cwd = tempDir();
    const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const trace = openTrace(join(cwd, 'my-trace'));
    expect(trace.layers[0]!.spec).to.deep.include({ name: 'conv1', output: [8, 8, 8] });
    // levels 0..3 uniformly: about a quarter are zero
    expect(traceStats(trace).overall.spatial).to.be.closeTo(0.25, 0.05);
    // the residual block: version 2, x held once (booked with the first layer that reads it)
    const res = openTrace(join(cwd, 'res-trace'));
    expect(res.manifest.version).to.equal(2);
    const plan = statePlanOf(
      res.layers.map((l) => l.layer),
      res.manifest.graph,
    );
    expect(plan.layers.map((p) => p.inputShare)).to.deep.equal([1, 0, 1]);
  });

  it('the numpy .deltas reader reads what trace pack writes, frame for frame as the .npy (needs python3 + numpy)', async function () {
    if (spawnSync('python3', ['-c', 'import numpy'], { cwd: tempDir() }).status !== 0) this.skip();
    const blocks = [...readFileSync(README, 'utf8').matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const reader = blocks.find((b) => b.includes('def read_deltas'));
    expect(reader, 'the README has a read_deltas example').to.be.a('string');
    const cwd = tempDir();
    // my-trace with few changes per frame, so that gaps between changed positions take several LEB128 bytes
    await writeSyntheticTrace(join(cwd, 'my-trace'), SYNTH_PRESETS.cnn64!, {
      seed: 3,
      frames: 12,
      density: 0.4,
      changeRate: 0.002,
      blobs: 0,
    });
    await packTrace(join(cwd, 'my-trace'), join(cwd, 'my-trace-packed'), 'deltas');
    const r = spawnSync('python3', ['-c', `${reader}\nprint(t + 1)`], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('12');
    // and the reader's own check fails on a frame that differs
    const bad = spawnSync('python3', ['-c', reader!.replace('dense[t])', 'dense[t] + (t == 5))')], { cwd, encoding: 'utf8' });
    expect(bad.status).to.not.equal(0);
    // Every dtype, with changes that wrap (int8 127 → −128, int16 −32768 → 32767) and float32 sign flips.
    for (const dtype of ['int8', 'uint8', 'int16', 'float32'] as const) {
      const dir = tempDir();
      const wide: Record<typeof dtype, number[]> = {
        int8: [127, -128, 3, -7],
        uint8: [255, 0, 3, 200],
        int16: [-32768, 32767, 1000, -999],
        float32: [1.5, -1.5, -0, 3.25e7],
      };
      const v = wide[dtype];
      const frames = [0, 1, 2, 3, 4, 5].map((t) => Array.from({ length: 24 }, (_, i) => v[(i * 7 + t * (i % 3)) % 4]!));
      await writeTrace(
        join(dir, 'my-trace'),
        {
          model: { name: 'wrap' },
          frames: frames.length,
          fps: 10,
          encoding: 'npy',
          layers: [
            {
              name: 'conv1',
              op: 'dense',
              input: [24],
              output: [2],
              weightBits: 8,
              weightDensity: 1,
              act: { dtype, scale: 1, signed: dtype !== 'uint8' },
            },
          ],
        },
        (w) => {
          for (const f of frames) {
            const a = DTYPES[dtype].make(new ArrayBuffer(24 * DTYPES[dtype].bytes), 0, 24);
            a.set(f as never);
            w.appendFrame(0, a);
          }
        },
      );
      await packTrace(join(dir, 'my-trace'), join(dir, 'my-trace-packed'), 'deltas');
      const w = spawnSync('python3', ['-c', `${reader}\nprint(t + 1)`], { cwd: dir, encoding: 'utf8' });
      expect(w.status, `${dtype}: ${w.stderr}`).to.equal(0);
      expect(w.stdout.trim()).to.equal('6');
    }
  });
});
