import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPES, encodeNpy, encodeNpyHeader, parseNpyHeader, readNpy, writeNpy, type Dtype } from '../../traces/npy.js';
import { expectInputError, tempDir } from './helpers.js';

const ascii = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** A v1 file's bytes exactly as the format spec lays them out, padded with `pad` spaces before '\n'. */
function handBuilt(dict: string, align: number): Uint8Array {
  const total = Math.ceil((10 + dict.length + 1) / align) * align;
  const header = `${dict + ' '.repeat(total - 10 - dict.length - 1)}\n`;
  const out = new Uint8Array(total);
  out.set([0x93, ...ascii('NUMPY'), 1, 0, (total - 10) & 0xff, (total - 10) >> 8], 0);
  out.set(ascii(header), 10);
  return out;
}

const samples: Record<Dtype, number[]> = {
  int8: [-128, -1, 0, 1, 127, 5],
  uint8: [0, 1, 128, 255, 7, 9],
  int16: [-32768, -1, 0, 1, 32767, 300],
  float32: [-1.5, 0, 0.25, 3.4e38, -1e-30, 7],
};

describe('traces/npy', () => {
  it('parses a v1 header built by hand as older numpy wrote it (64-byte aligned)', () => {
    const bytes = handBuilt("{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4, 4, 2), }", 64);
    expect(bytes.length % 64).to.equal(0);
    const h = parseNpyHeader(bytes, 'x.npy');
    expect(h).to.deep.equal({ version: 1, dtype: 'int8', shape: [3, 4, 4, 2], dataOffset: bytes.length, dataBytes: 96 });
  });

  it('writes the header np.save writes (numpy ≥ 1.24, 21 growth spaces), byte for byte', () => {
    // np.save(f, np.zeros((3, 4, 4, 2), 'i1')) header, captured from numpy 2.4.6
    const numpy = `\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4, 4, 2), }${' '.repeat(52)}\n`;
    expect(Array.from(encodeNpyHeader('int8', [3, 4, 4, 2]))).to.deep.equal(Array.from(ascii(numpy)));
    expect(new TextDecoder().decode(encodeNpyHeader('uint8', [5]))).to.include("'shape': (5,), }");
  });

  for (const dtype of Object.keys(DTYPES) as Dtype[]) {
    for (const version of [1, 2, 3] as const) {
      it(`round-trips ${dtype} through a v${version} file`, () => {
        const data = DTYPES[dtype].make(new ArrayBuffer(24), 0, 24 / DTYPES[dtype].bytes);
        for (let i = 0; i < data.length; i++) data[i] = samples[dtype][i % 6]!;
        const shape = [data.length / 2, 2];
        const bytes = encodeNpy(dtype, shape, data, version);
        expect(bytes[6]).to.equal(version);
        expect((bytes.length - data.byteLength) % 64).to.equal(0);
        const h = parseNpyHeader(bytes, 'a.npy');
        expect(h).to.include({ version, dtype, dataBytes: data.byteLength });
        expect(h.shape).to.deep.equal(shape);
        const path = join(tempDir(), `${dtype}.npy`);
        writeFileSync(path, bytes);
        const back = readNpy(path);
        expect(back.header.dtype).to.equal(dtype);
        expect(Array.from(back.data)).to.deep.equal(Array.from(data));
      });
    }
  }

  it('writes atomically with writeNpy and reads a 0-d / 1-d shape', () => {
    const path = join(tempDir(), 'v.npy');
    writeNpy(path, 'int16', [3], Int16Array.of(1, -2, 3));
    expect(Array.from(readNpy(path).data)).to.deep.equal([1, -2, 3]);
  });

  describe('bad files name the file and byte offset', () => {
    const good = () => encodeNpy('int16', [2, 3], new Int16Array(6));
    it('bad magic', () => {
      const b = good();
      b[3] = 0x58;
      expectInputError(() => parseNpyHeader(b, 'f.npy'), 'f.npy', /bad magic/, 3);
    });
    it('unsupported version', () => {
      const b = good();
      b[6] = 4;
      expectInputError(() => parseNpyHeader(b, 'f.npy'), 'f.npy', /version 4/, 6);
    });
    it('big endian, other dtypes, fortran order', () => {
      const dict = (descr: string, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (2,), }`;
      expectInputError(() => parseNpyHeader(handBuilt(dict('>i2'), 64), 'f.npy'), 'f.npy', /big endian/, 10);
      expectInputError(() => parseNpyHeader(handBuilt(dict('<f8'), 64), 'f.npy'), 'f.npy', /unsupported .npy dtype '<f8'/, 10);
      expectInputError(() => parseNpyHeader(handBuilt(dict('<f4', 'True'), 64), 'f.npy'), 'f.npy', /fortran_order/, 10);
      expect(parseNpyHeader(handBuilt(dict('>u1'), 64), 'f.npy').dtype).to.equal('uint8'); // byte order is moot for 1 byte
    });
    it('truncated header', () => {
      expectInputError(() => parseNpyHeader(good().subarray(0, 40), 'f.npy'), 'f.npy', /truncated .npy header: needs 128 bytes/, 40);
      expectInputError(() => parseNpyHeader(good().subarray(0, 4), 'f.npy'), 'f.npy', /truncated/, 4);
    });
    it('truncated or overlong data, with expected vs actual bytes', () => {
      const dir = tempDir();
      const b = good();
      writeFileSync(join(dir, 't.npy'), b.subarray(0, b.length - 5));
      expectInputError(
        () => readNpy(join(dir, 't.npy')),
        join(dir, 't.npy'),
        /truncated .npy data: .*needs 12 data bytes, file has 7/,
        b.length - 5,
      );
      writeFileSync(join(dir, 'l.npy'), Uint8Array.of(...b, 0));
      expectInputError(() => readNpy(join(dir, 'l.npy')), join(dir, 'l.npy'), /longer than its header says/);
      expect(readFileSync(join(dir, 'l.npy')).length).to.equal(b.length + 1); // never modified
    });
    it('missing file', () => {
      const p = join(tempDir(), 'nope.npy');
      expectInputError(() => readNpy(p), p, /not found/);
    });
  });
});
