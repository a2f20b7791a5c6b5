import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy, readNpy } from '../../traces/npy.js';
import { frameReader, openTrace, readFrame, readFrames, readLayer, sha256File } from '../../traces/reader.js';
import { writeTrace, type TraceHeader } from '../../traces/writer.js';
import { expectInputError, tempDir, validTrace } from './helpers.js';

const editManifest = (dir: string, edit: (m: any) => void) => {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
};

/** Rewrite a layer's .npy and fix its sha256 in the manifest, so only the intended defect remains. */
const replaceNpy = (dir: string, layer: number, bytes: Uint8Array) => {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const path = join(dir, m.layers[layer].act.file);
  writeFileSync(path, bytes);
  m.layers[layer].sha256 = sha256File(path);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return path;
};

describe('traces/reader', () => {
  it('streams the same data as a whole-file read, for any chunk size and frame range', async () => {
    const trace = openTrace(await validTrace());
    for (const layer of trace.layers) {
      const whole = readNpy(layer.path).data;
      expect(Array.from(readLayer(layer))).to.deep.equal(Array.from(whole));
      for (const chunkBytes of [1, layer.frameBytes, 3 * layer.frameBytes + 1, 1 << 20]) {
        const got: number[] = [];
        for (const f of readFrames(layer, { from: 2, to: 7, chunkBytes })) {
          expect(f.length).to.equal(layer.frameElements);
          got.push(...f);
        }
        expect(got).to.deep.equal(Array.from(whole.subarray(2 * layer.frameElements, 7 * layer.frameElements)));
      }
      const t5 = readFrame(layer, 5);
      expect(Array.from(t5)).to.deep.equal(Array.from(whole.subarray(5 * layer.frameElements, 6 * layer.frameElements)));
    }
  });

  it('reuses one buffer per layer (memory independent of T)', async () => {
    const layer = openTrace(await validTrace()).layers[0]!;
    const buffers = new Set([...readFrames(layer, { chunkBytes: 2 * layer.frameBytes })].map((f) => f.buffer));
    expect(buffers.size).to.equal(1);
    expect([...buffers][0]!.byteLength).to.equal(2 * layer.frameBytes);
  });

  it('frameReader walks all layers frame by frame', async () => {
    const trace = openTrace(await validTrace());
    let t = 0;
    for (const frames of frameReader(trace)) {
      expect(frames).to.have.length(trace.layers.length);
      frames.forEach((f, i) => expect(Array.from(f)).to.deep.equal(Array.from(readFrame(trace.layers[i]!, t))));
      t++;
    }
    expect(t).to.equal(trace.manifest.frames);
  });

  describe('bad traces: InputError naming the file (and byte offset where it applies)', () => {
    it('missing .npy', async () => {
      const dir = await validTrace();
      rmSync(join(dir, 'dw2.npy'));
      expectInputError(() => openTrace(dir), join(dir, 'dw2.npy'), /not found/);
    });
    it('missing manifest / directory', async () => {
      const dir = join(tempDir(), 'none');
      expectInputError(() => openTrace(dir), join(dir, 'manifest.json'), /not found/);
    });
    it('truncated .npy', async () => {
      const dir = await validTrace();
      const path = join(dir, 'pw3.npy');
      const bytes = readFileSync(path);
      const p = replaceNpy(dir, 2, bytes.subarray(0, bytes.length - 10));
      expectInputError(() => openTrace(dir), p, /truncated .npy data: .*needs 512 data bytes, file has 502/, bytes.length - 10);
    });
    it('corrupt magic', async () => {
      const dir = await validTrace();
      const bytes = readFileSync(join(dir, 'conv1.npy'));
      bytes[0] = 0x50;
      const p = replaceNpy(dir, 0, bytes);
      expectInputError(() => openTrace(dir), p, /bad magic/, 0);
    });
    it('header shape disagreeing with the manifest', async () => {
      const dir = await validTrace();
      const p = replaceNpy(dir, 0, encodeNpy('uint8', [8, 8, 1, 8], new Uint8Array(512)));
      expectInputError(() => openTrace(dir), p, /shape \(8, 8, 1, 8\) disagrees with manifest \/layers\/0: .* \(8, 8, 8, 1\)/);
    });
    it('frame count disagreeing with the manifest', async () => {
      const dir = await validTrace();
      editManifest(dir, (m) => (m.frames = 9));
      expectInputError(() => openTrace(dir), join(dir, 'conv1.npy'), /\(9, 8, 8, 1\)/);
    });
    it('header dtype disagreeing with the manifest', async () => {
      const dir = await validTrace();
      const p = replaceNpy(dir, 0, encodeNpy('int8', [8, 8, 8, 1], new Int8Array(512)));
      expectInputError(() => openTrace(dir), p, /dtype int8 disagrees with manifest \/layers\/0\/act\/dtype = uint8/);
    });
    it('sha256 mismatch (and --no-verify skips the check)', async () => {
      const dir = await validTrace();
      const path = join(dir, 'dw2.npy');
      const bytes = readFileSync(path);
      bytes[bytes.length - 1] ^= 1;
      writeFileSync(path, bytes);
      expectInputError(() => openTrace(dir), path, /sha256 mismatch/);
      expect(openTrace(dir, { verify: false }).layers).to.have.length(4);
    });
    it('schema violation in the manifest', async () => {
      const dir = await validTrace();
      editManifest(dir, (m) => (m.layers[0].kernel = [3]));
      const e = expectInputError(() => openTrace(dir), join(dir, 'manifest.json'), /fewer than 2/);
      expect(e.where.pointer).to.equal('/layers/0/kernel');
    });
    it('non-finite float, with its byte offset', async () => {
      const dir = join(tempDir(), 'f');
      const header: TraceHeader = {
        model: { name: 'f' },
        frames: 3,
        fps: 10,
        layers: [
          {
            name: 'fc',
            op: 'dense',
            input: [4],
            output: [2],
            weightBits: 8,
            weightDensity: 1,
            act: { dtype: 'float32', scale: 1, signed: true },
          },
        ],
      };
      await writeTrace(dir, header, (w) => {
        for (let t = 0; t < 3; t++) w.appendFrame('fc', Float32Array.of(t, 1, 2, 3));
      });
      const path = join(dir, 'fc.npy');
      const bytes = readFileSync(path);
      const offset = 128 + (2 * 4 + 1) * 4; // frame 2, element 1
      new DataView(bytes.buffer, bytes.byteOffset).setFloat32(offset, NaN, true);
      replaceNpy(dir, 0, bytes);
      const layer = openTrace(dir).layers[0]!;
      expect(Array.from(readFrame(layer, 1))).to.deep.equal([1, 1, 2, 3]);
      expectInputError(() => [...readFrames(layer)], path, /non-finite value NaN in frame 2, element 1/, offset);
      expectInputError(() => readFrame(layer, 2), path, /non-finite/, offset);
    });
  });
});
