import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTrace, type TraceHeader } from '../../traces/writer.js';
import { openTrace, readLayer, sha256File } from '../../traces/reader.js';
import { InputError } from '../../lib/errors.js';

import { tempDir } from './helpers.js';

const header = (): TraceHeader => ({
  model: { name: 'w' },
  frames: 2,
  fps: 30,
  layers: [
    {
      name: 'c/1',
      op: 'conv2d',
      input: [4, 4, 2],
      output: [2, 2, 3],
      kernel: [3, 3],
      stride: [2, 2],
      padding: [1, 1, 1, 1],
      dilation: [1, 1],
      groups: 1,
      weightBits: 4,
      weightDensity: 0.5,
      act: { dtype: 'int16', scale: [0.5, 0.25], signed: true },
    },
    {
      name: 'fc',
      op: 'dense',
      input: [12],
      output: [2],
      weightBits: 8,
      weightDensity: 1,
      act: { dtype: 'float32', scale: 1, signed: true },
    },
  ],
});

describe('traces/writer', () => {
  it('writes a trace that reads back: data, sha256, default file names, stable manifest', async () => {
    const dir = join(tempDir(), 't');
    const m = await writeTrace(dir, header(), (w) => {
      for (let t = 0; t < 2; t++) {
        w.appendFrame(
          'c/1',
          Int16Array.from({ length: 32 }, (_, i) => i * (t + 1) - 9),
        );
        w.appendFrame(
          1,
          Float32Array.from({ length: 12 }, (_, i) => i / 4 - t),
        );
      }
    });
    expect(readdirSync(dir).sort()).to.deep.equal(['c_1.npy', 'fc.npy', 'manifest.json']);
    const trace = openTrace(dir);
    expect(trace.manifest).to.deep.equal(m);
    expect(m.layers[0]!.sha256).to.equal(sha256File(join(dir, 'c_1.npy')));
    expect(Array.from(readLayer(trace.layers[0]!)).slice(30, 34)).to.deep.equal([21, 22, -9, -7]);
    expect(readLayer(trace.layers[1]!)[13]).to.equal(-0.75);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).to.include('"input": [4, 4, 2],');
  });

  const failures: [string, (w: any) => void, RegExp][] = [
    ['too few frames', (w) => w.appendFrames([new Int16Array(32), new Float32Array(12)]), /1 frames written, 2 announced/],
    ['the wrong dtype', (w) => w.appendFrame(0, new Int8Array(32)), /Int8Array given, dtype is int16/],
    ['the wrong length', (w) => w.appendFrame(1, new Float32Array(11)), /11 values, expected 12/],
    ['a non-finite float', (w) => w.appendFrame('fc', new Float32Array(12).fill(Infinity)), /non-finite/],
    ['an unknown layer', (w) => w.appendFrame('x', new Float32Array(12)), /no layer "x"/],
  ];
  for (const [what, fill, message] of failures) {
    it(`fails on ${what} and leaves an existing directory untouched`, async () => {
      const dir = join(tempDir(), 't');
      mkdirSync(dir);
      writeFileSync(join(dir, 'keep'), 'x');
      let err: unknown;
      await writeTrace(dir, header(), fill).catch((e) => {
        err = e;
      });
      expect(String(err)).to.match(message);
      expect(readdirSync(dir)).to.deep.equal(['keep']);
      expect(readdirSync(join(dir, '..'))).to.deep.equal(['t']); // no temp dir left behind
    });
  }

  it('rejects an invalid header before writing anything', async () => {
    const dir = join(tempDir(), 't');
    const h = header();
    h.layers[0]!.output = [3, 3, 3];
    let called = false;
    const err = await writeTrace(dir, h, () => {
      called = true;
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
    expect((err as InputError).where.pointer).to.equal('/layers/0/output');
    expect(called).to.equal(false);
    expect(existsSync(dir)).to.equal(false);
  });
});
