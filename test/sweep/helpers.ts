/** Shared helpers of the sweep tests: a small job, a float trace, temp dirs, an InputError matcher. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHwModel, loadTopology } from '../../sim/index.js';
import { parseSet, prepareSweep, type SweepJob } from '../../sim/sweep/index.js';
import { throwsInput } from '../support/input-error.js';
export { throwsInput };
import { prng } from '../../lib/prng.js';
import { openTrace, type Trace } from '../../traces/reader.js';
import { writeTrace } from '../../traces/writer.js';

const made: string[] = [];

/** A fresh temp directory, removed by `removeTmp` (each test file's suite calls it in `after`). */
export function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-sweep-'));
  made.push(dir);
  return dir;
}

/** Removes every directory `tmp` made so far. */
export function removeTmp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** tiny × delta-32x32 over rows × cols × stateKiB × deltaDensity: 3·2·2·2 = 24 points, every mode. */
export function smallJob(): SweepJob {
  return prepareSweep({
    topology: loadTopology('tiny'),
    hwModel: loadHwModel('delta-32x32'),
    axes: ['rows=4,8,16', 'cols=8,32', 'memories.state.kiB=1,1024', 'deltaDensity=0.05,0.3'].map(parseSet),
    mode: 'all',
    fps: 30,
  });
}

export async function rejectsInput(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  throwsInput(
    () => {
      if (err) throw err;
    },
    ...parts,
  );
}

/** A float32 trace: a 6×6×2 conv input whose values drift by small seeded steps (so thresholds bite). */
export async function writeFloatTrace(dir: string, seed = 1): Promise<Trace> {
  const rnd = prng(seed);
  const frames = 6;
  await writeTrace(
    dir,
    {
      model: { name: 'float-test' },
      frames,
      fps: 10,
      layers: [
        {
          name: 'c1',
          op: 'conv2d',
          input: [6, 6, 2],
          output: [6, 6, 4],
          kernel: [3, 3],
          stride: [1, 1],
          padding: [1, 1, 1, 1],
          dilation: [1, 1],
          groups: 1,
          weightBits: 8,
          weightDensity: 1,
          act: { dtype: 'float32', scale: 1, signed: true },
        },
        {
          name: 'fc',
          op: 'dense',
          input: [16],
          output: [3],
          weightBits: 8,
          weightDensity: 1,
          act: { dtype: 'float32', scale: 1, signed: true },
        },
      ],
    },
    (w) => {
      const a = Float32Array.from({ length: 72 }, () => (rnd.next() < 0.4 ? 0 : rnd.next()));
      const b = Float32Array.from({ length: 16 }, () => rnd.next());
      for (let t = 0; t < frames; t++) {
        for (const x of [a, b]) for (let i = 0; i < x.length; i++) x[i] = Math.max(0, x[i]! + (rnd.next() - 0.5) * 0.3);
        w.appendFrames([Float32Array.from(a), Float32Array.from(b)]);
      }
    },
  );
  return openTrace(dir);
}
