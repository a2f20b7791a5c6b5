import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseSynthLayers,
  SYNTH_PRESETS,
  synthFrames,
  synthHeader,
  writeSyntheticTrace,
  type SynthOptions,
} from '../../traces/synthetic.js';
import { openTrace } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { prng } from '../../lib/prng.js';
import { InputError } from '../../lib/errors.js';
import { SAMPLE_OPTIONS, expectInputError, tempDir } from './helpers.js';

const SAMPLE_DIR = fileURLToPath(new URL('../../traces/samples/tiny', import.meta.url));
const files = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f)).toString('hex')]),
  );
const one = [{ name: 'c', op: 'conv2d' as const, input: [32, 32, 4], outChannels: 4 }];
const opts = (o: Partial<SynthOptions>): SynthOptions => ({ seed: 3, frames: 6, density: 0.5, changeRate: 0.1, blobs: 0, ...o });
const statsOf = async (o: SynthOptions) => {
  const dir = join(tempDir(), 's');
  await writeSyntheticTrace(dir, one, o);
  return traceStats(openTrace(dir));
};

describe('traces/synthetic', () => {
  it('the committed sample regenerates byte-identically from its seed', async () => {
    const dir = join(tempDir(), 'tiny');
    await writeSyntheticTrace(dir, SYNTH_PRESETS.tiny!, SAMPLE_OPTIONS);
    expect(files(dir)).to.deep.equal(files(SAMPLE_DIR));
    expect(openTrace(SAMPLE_DIR).layers).to.have.length(4);
  });

  it('same seed ⇒ same bytes; another seed ⇒ other bytes', async () => {
    const o = opts({ blobs: 2 });
    const [a, b, c] = [tempDir(), tempDir(), tempDir()].map((d) => join(d, 't'));
    await writeSyntheticTrace(a!, SYNTH_PRESETS.tiny!, o);
    await writeSyntheticTrace(b!, SYNTH_PRESETS.tiny!, o);
    await writeSyntheticTrace(c!, SYNTH_PRESETS.tiny!, { ...o, seed: 4 });
    expect(files(a!)).to.deep.equal(files(b!));
    expect(files(a!)['conv1.npy']).to.not.equal(files(c!)['conv1.npy']);
  });

  it('the PRNG is deterministic and roughly uniform', () => {
    const r = prng(9);
    const xs = Array.from({ length: 10000 }, () => r.next());
    expect(xs.slice(0, 3)).to.deep.equal(
      [0, 1, 2].map(
        (
          (s) => () =>
            s.next()
        )(prng(9)),
      ),
    );
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).to.be.closeTo(0.5, 0.02);
    expect(Math.min(...xs)).to.be.at.least(0);
    expect(Math.max(...xs)).to.be.below(1);
  });

  it('density sets spatial sparsity; change rate sets temporal sparsity', async () => {
    const s = await statsOf(opts({ frames: 10, density: 0.4, changeRate: 0.2 }));
    expect(s.overall.spatial).to.be.closeTo(0.6, 0.03);
    // a redrawn level changes unless it is zero again or the same level: P ≈ 0.2·(1 − 0.6² − 0.4²/255)
    expect(1 - s.overall.temporalNoKey).to.be.closeTo(0.2 * (1 - 0.36), 0.02);
  });

  it('identical frames (no change, no motion) ⇒ zero deltas after frame 0; density 0 ⇒ all zero', async () => {
    const still = await statsOf(opts({ changeRate: 0, blobs: 3, blobSpeed: 0 }));
    expect(still.frames.slice(1).every((f) => f.nonZeroDeltas === 0)).to.equal(true);
    expect(still.frames[0]!.nonZeroDeltas).to.be.greaterThan(0);
    const empty = await statsOf(opts({ density: 0, changeRate: 1 }));
    expect(empty.overall.spatial).to.equal(1);
  });

  it('moving blobs give spatially clustered changes; background changes are scattered', () => {
    const clustering = (o: SynthOptions) => {
      const layers = synthHeader(one, o).layers;
      let prev: Uint8Array | undefined,
        withNeighbour = 0,
        changed = 0;
      for (const [f] of synthFrames(layers, o)) {
        const cur = Uint8Array.from(f!);
        if (prev) {
          const diff = (y: number, x: number) => y >= 0 && y < 32 && x >= 0 && x < 32 && cur[(y * 32 + x) * 4] !== prev![(y * 32 + x) * 4];
          for (let y = 0; y < 32; y++)
            for (let x = 0; x < 32; x++) {
              if (!diff(y, x)) continue;
              changed++;
              if (diff(y - 1, x) || diff(y + 1, x) || diff(y, x - 1) || diff(y, x + 1)) withNeighbour++;
            }
        }
        prev = cur;
      }
      return withNeighbour / changed;
    };
    expect(clustering(opts({ density: 0, changeRate: 0, blobs: 2, blobSpeed: 0.1 }))).to.be.above(0.8);
    expect(clustering(opts({ density: 0.5, changeRate: 0.05, blobs: 0 }))).to.be.below(0.3);
  });

  it('parses presets and JSON layer lists; rejects bad ones as InputError', () => {
    expect(parseSynthLayers('cnn64', '--layers')).to.have.length(5);
    expect(parseSynthLayers('[{"name":"a","op":"dense","input":[8],"outChannels":3}]', 'x')[0]).to.include({ name: 'a' });
    expectInputError(() => parseSynthLayers('nope', '--layers'), '--layers', /neither a preset/);
    const e = expectInputError(() => parseSynthLayers('[{"name":"a","op":"pool","input":[8]}]', 'l.json'), 'l.json');
    expect(e.where.pointer).to.equal('/0/op');
    expect(() => [...synthFrames([], opts({ density: 2 }))]).to.throw(InputError, /--density/);
  });
});
