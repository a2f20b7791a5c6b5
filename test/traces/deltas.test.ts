/**
 * Compact layer files (.deltas, traces/deltas.ts): a round trip gives the levels of the .npy
 * frame by frame for every dtype, reading reuses its buffers, a damaged file is an error naming
 * the file and byte offset, and npy traces are written byte for byte as before.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import type { ActArray, Dtype } from '../../traces/npy.js';
import { DTYPES } from '../../traces/npy.js';
import { validateManifest, type Encoding } from '../../traces/manifest.js';
import { packTrace } from '../../traces/pack.js';
import { encodeDeltasHeader } from '../../traces/deltas.js';
import { layerFramesWithChanges, openTrace, readFrame, readFrames, readLayer } from '../../traces/reader.js';
import { storageOf } from '../../traces/storage.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import { throwsInput } from '../support/input-error.js';
import { expectInputError, tempDir, validTrace } from './helpers.js';

const SAMPLE = new URL('../../traces/samples/tiny', import.meta.url).pathname;

interface Case {
  dtype: Dtype;
  input: number[];
  frames: number;
  /** Per frame, flat levels. */
  data: number[][];
}

const RANGE: Record<Dtype, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], float32: [-1e6, 1e6] };

/** Random traces: a dtype, a shape, frames whose levels keep most values of the previous frame. */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    dtype: fc.constantFrom<Dtype>('int8', 'uint8', 'int16', 'float32'),
    input: fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 40 })),
      fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 })),
    ),
    frames: fc.integer({ min: 1, max: 6 }),
    change: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
  })
  .chain(({ dtype, input, frames, change }) => {
    const n = input.reduce((a, b) => a * b, 1);
    const [lo, hi] = RANGE[dtype];
    const level =
      dtype === 'float32'
        ? fc.oneof(fc.constant(-0), fc.constant(0), fc.float({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }))
        : fc.integer({ min: lo, max: hi });
    const values = fc.array(level, { minLength: n, maxLength: n });
    const masks = fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }), {
      minLength: frames,
      maxLength: frames,
    });
    return fc.tuple(fc.array(values, { minLength: frames, maxLength: frames }), masks).map(([fresh, mask]): Case => {
      const data: number[][] = [];
      for (let t = 0; t < frames; t++) data.push(fresh[t]!.map((v, i) => (t === 0 || mask[t]![i]! < change ? v : data[t - 1]![i]!)));
      return { dtype, input: input as number[], frames, data };
    });
  });

function draft(c: Case, name = 'fc'): LayerDraft {
  const signed = c.dtype !== 'uint8';
  const base = { name, weightBits: 8, weightDensity: 1, act: { dtype: c.dtype, scale: 1, signed } };
  if (c.input.length === 1) return { ...base, op: 'dense', input: c.input, output: [2] };
  return {
    ...base,
    op: 'conv2d',
    input: c.input,
    output: [c.input[0]!, c.input[1]!, 2],
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
  };
}

const typed = (dtype: Dtype, v: number[]): ActArray => {
  const a = DTYPES[dtype].make(new ArrayBuffer(v.length * DTYPES[dtype].bytes), 0, v.length);
  a.set(v as never);
  return a;
};

async function write(dir: string, c: Case, encoding: Encoding): Promise<void> {
  await writeTrace(dir, { model: { name: 'p' }, frames: c.frames, fps: 15, layers: [draft(c)], encoding }, (w) => {
    for (const f of c.data) w.appendFrame(0, typed(c.dtype, f));
  });
}

const bytesOf = (a: ActArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Where frame b differs from frame a (both as bytes, `size` bytes a level), bit for bit, and the bytes a held there. */
function changesBetween(a: Buffer, b: Buffer, size: number): { changed: number[]; held: Buffer } {
  const level = (f: Buffer, i: number) => f.subarray(i * size, (i + 1) * size);
  const changed = Array.from({ length: a.length / size }, (_, i) => i).filter((i) => !level(a, i).equals(level(b, i)));
  return { changed, held: Buffer.concat(changed.map((i) => level(a, i))) };
}

describe('traces: compact .deltas layer files', () => {
  it('round trip: every frame of every dtype reads back bit for bit as from .npy (readFrames, readFrame, from/to)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const root = tempDir();
        await write(join(root, 'n'), c, 'npy');
        await write(join(root, 'd'), c, 'deltas');
        const [n, d] = [openTrace(join(root, 'n')).layers[0]!, openTrace(join(root, 'd')).layers[0]!];
        expect(d.encoding).to.equal('deltas');
        expect(readdirSync(join(root, 'd')).sort()).to.deep.equal(['fc.deltas', 'manifest.json']);
        const dense = [...readFrames(n)].map((f) => Buffer.from(bytesOf(f)));
        let k = 0;
        for (const f of readFrames(d)) expect(bytesOf(f).equals(dense[k]!), `frame ${k++}`).to.equal(true);
        expect(k).to.equal(c.frames);
        // With changes: where each frame differs (bit for bit) from the one before, and the levels it held there.
        k = 0;
        const size = DTYPES[c.dtype].bytes;
        for (const { changes } of layerFramesWithChanges(openTrace(join(root, 'd')))) {
          const { changed, previous } = changes;
          if (k === 0) expect([changed, previous]).to.deep.equal([null, null]);
          else {
            const want = changesBetween(dense[k - 1]!, dense[k]!, size);
            expect(Array.from(changed!), `frame ${k}`).to.deep.equal(want.changed);
            expect(Buffer.from(bytesOf(previous!)).equals(want.held)).to.equal(true);
          }
          k++;
        }
        expect(Buffer.from(bytesOf(readLayer(d))).equals(Buffer.concat(dense))).to.equal(true);
        const last = c.frames - 1;
        expect(bytesOf(readFrame(d, last)).equals(dense[last]!)).to.equal(true);
        const tail = [...readFrames(d, { from: last, to: c.frames })].map((f) => Buffer.from(bytesOf(f)));
        expect(tail.length).to.equal(1);
        expect(tail[0]!.equals(dense[last]!)).to.equal(true);
      }),
      { numRuns: 60 },
    );
  });

  it('layerFramesWithChanges: layers of different dtypes and sizes, one at a time, each with its own frame and changes', async () => {
    // The .deltas layers share one decode scratch (the levels held before): each item must still be exactly its own
    // layer's, also when a later layer is larger (the shared buffer grows) or of another element width.
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: 2, maxLength: 4 }), async (cases) => {
        const frames = Math.min(...cases.map((c) => c.frames));
        const cs = cases.map((c) => ({ ...c, frames, data: c.data.slice(0, frames) }));
        const root = tempDir();
        const layers = cs.map((c, i) => draft(c, `l${i}`));
        await writeTrace(join(root, 'd'), { model: { name: 'p' }, frames, fps: 15, layers, encoding: 'deltas' }, (w) => {
          for (let t = 0; t < frames; t++) cs.forEach((c, i) => w.appendFrame(i, typed(c.dtype, c.data[t]!)));
        });
        const bytes = (c: Case, t: number) => Buffer.from(bytesOf(typed(c.dtype, c.data[t]!)));
        let n = 0;
        for (const { layer, frame, changes } of layerFramesWithChanges(openTrace(join(root, 'd')))) {
          const t = Math.floor(n / cs.length);
          expect(layer, `item ${n}`).to.equal(n++ % cs.length);
          const c = cs[layer]!;
          const size = DTYPES[c.dtype].bytes;
          expect(bytesOf(frame).equals(bytes(c, t)), `layer ${layer}, frame ${t}`).to.equal(true);
          if (t === 0) {
            expect([changes.changed, changes.previous]).to.deep.equal([null, null]);
            continue;
          }
          const want = changesBetween(bytes(c, t - 1), bytes(c, t), size);
          expect(Array.from(changes.changed!), `layer ${layer}, frame ${t}`).to.deep.equal(want.changed);
          expect(Buffer.from(bytesOf(changes.previous!)).equals(want.held), `layer ${layer}, frame ${t}: previous`).to.equal(true);
        }
        expect(n).to.equal(frames * cs.length);
      }),
      { numRuns: 60 },
    );
  });

  it('version 2 records hold each change as new − old (XOR for float32 bits); version 1 files (new levels) still read', async () => {
    // A v1 file of the same frames, written here the way version 1 wrote them: gaps, then the new levels.
    const v1 = (c: Case): Buffer => {
      const size = DTYPES[c.dtype].bytes;
      const header = Buffer.from(encodeDeltasHeader(c.dtype, [c.frames, ...c.input]));
      header[7] = 1;
      const parts: Buffer[] = [header];
      let prev = Buffer.alloc(c.data[0]!.length * size);
      for (const f of c.data) {
        const cur = Buffer.from(bytesOf(typed(c.dtype, f)));
        const gaps: number[] = [];
        const levels: Buffer[] = [];
        let last = -1;
        for (let i = 0; i < f.length; i++) {
          if (cur.subarray(i * size, (i + 1) * size).equals(prev.subarray(i * size, (i + 1) * size))) continue;
          for (let g = i - last - 1; ; g >>>= 7) {
            gaps.push(g < 0x80 ? g : (g & 0x7f) | 0x80);
            if (g < 0x80) break;
          }
          levels.push(cur.subarray(i * size, (i + 1) * size));
          last = i;
        }
        const z = levels.length ? deflateRawSync(Buffer.concat([Buffer.from(gaps), ...levels])) : Buffer.alloc(0);
        const head = Buffer.alloc(8);
        head.writeUInt32LE(levels.length, 0);
        head.writeUInt32LE(z.length, 4);
        parts.push(head, z);
        prev = cur;
      }
      return Buffer.concat(parts);
    };
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const dir = tempDir();
        await write(dir, c, 'deltas');
        const file = join(dir, 'fc.deltas');
        expect(readFileSync(file)[7]).to.equal(2);
        writeFileSync(file, v1(c));
        const layer = openTrace(dir, { verify: false }).layers[0]!;
        let k = 0;
        for (const f of readFrames(layer)) expect([...f], `frame ${k}`).to.deep.equal(c.data[k++]);
        expect(k).to.equal(c.frames);
      }),
      { numRuns: 40 },
    );
    // What a version-2 record holds: int16 1000 → 1001 and 5 → −3 are stored as +1 and −8; float32 as the XOR of the bits.
    const dir = tempDir();
    await write(
      dir,
      {
        dtype: 'int16',
        input: [2],
        frames: 2,
        data: [
          [1000, 5],
          [1001, -3],
        ],
      },
      'deltas',
    );
    const bytes = readFileSync(join(dir, 'fc.deltas'));
    const at = 12 + bytes.readUInt32LE(8);
    const second = at + 8 + bytes.readUInt32LE(at + 4);
    const body = inflateRawSync(bytes.subarray(second + 8, second + 8 + bytes.readUInt32LE(second + 4)));
    expect([...body.subarray(0, 2)]).to.deep.equal([0, 0]); // gaps: positions 0 and 1
    expect([body.readInt16LE(2), body.readInt16LE(4)]).to.deep.equal([1, -8]);
    const f = tempDir();
    await write(f, { dtype: 'float32', input: [1], frames: 2, data: [[1.5], [-1.5]] }, 'deltas');
    const fb = readFileSync(join(f, 'fc.deltas'));
    const fa = 12 + fb.readUInt32LE(8);
    const fs2 = fa + 8 + fb.readUInt32LE(fa + 4);
    const fbody = inflateRawSync(fb.subarray(fs2 + 8, fs2 + 8 + fb.readUInt32LE(fs2 + 4)));
    expect(fbody.readUInt32LE(1)).to.equal(0x80000000); // only the sign bit differs
  });

  it('reading reuses one frame buffer (memory flat in T) and is smaller than .npy on a slowly changing trace', async () => {
    const root = tempDir();
    await packTrace(SAMPLE, join(root, 'd'), 'deltas');
    const trace = openTrace(join(root, 'd'));
    for (const layer of trace.layers) {
      const buffers = new Set([...readFrames(layer)].map((f) => f.buffer));
      expect(buffers.size, layer.spec.name).to.equal(1);
    }
    const s = storageOf(trace);
    expect(s.layersByEncoding).to.deep.equal({ deltas: 4 });
    const npy = openTrace(SAMPLE);
    expect(s.npyBytes).to.equal(storageOf(npy).fileBytes);
    expect(s.fileBytes).to.be.below(0.5 * s.npyBytes);
  });

  it('npy traces are written byte for byte as before: the committed sample re-encoded to npy is identical, manifest included', async () => {
    const out = join(tempDir(), 'n');
    await packTrace(SAMPLE, out, 'npy');
    for (const f of readdirSync(SAMPLE)) expect(readFileSync(join(out, f)).equals(readFileSync(join(SAMPLE, f))), f).to.equal(true);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).not.to.include('encoding');
  });

  it('deltas → npy → deltas: the same bytes each way (deterministic writer)', async () => {
    const root = tempDir();
    await packTrace(SAMPLE, join(root, 'd1'), 'deltas');
    await packTrace(join(root, 'd1'), join(root, 'n'), 'npy');
    await packTrace(join(root, 'n'), join(root, 'd2'), 'deltas');
    for (const f of readdirSync(join(root, 'd1')))
      expect(readFileSync(join(root, 'd2', f)).equals(readFileSync(join(root, 'd1', f))), f).to.equal(true);
    for (const f of readdirSync(SAMPLE)) expect(readFileSync(join(root, 'n', f)).equals(readFileSync(join(SAMPLE, f))), f).to.equal(true);
  });

  describe('a damaged .deltas file is an error naming the file and the byte offset', () => {
    let dir: string;
    let file: string;
    let good: Buffer;
    const HEAD = () => 12 + good.readUInt32LE(8); // frame 0's record
    beforeEach(async () => {
      dir = join(tempDir(), 'd');
      await packTrace(await validTrace(), dir, 'deltas');
      file = join(dir, 'conv1.deltas');
      good = readFileSync(file);
    });
    const put = (b: Buffer) => writeFileSync(file, b);
    const open = () => openTrace(dir, { verify: false });

    it('truncated: at open, naming where the data ends', () => {
      put(good.subarray(0, good.length - 3));
      expectInputError(open, file, /truncated \.deltas data/, good.length - 3);
    });
    it('trailing bytes: at open, naming where the last frame ends', () => {
      put(Buffer.concat([good, Buffer.from([0, 0])]));
      expectInputError(open, file, /longer than its 8 frames/, good.length);
    });
    it('bad magic and version', () => {
      const b = Buffer.from(good);
      b[2] = 0x58;
      put(b);
      expectInputError(open, file, /bad magic/, 2);
      b[2] = good[2]!;
      b[7] = 9;
      put(b);
      expectInputError(open, file, /version 9/, 7);
    });
    it('a record head claiming more changes than a frame has', () => {
      const b = Buffer.from(good);
      b.writeUInt32LE(1e6, HEAD());
      put(b);
      expectInputError(open, file, /frame 0: 1000000 changed elements, a frame has 64/, HEAD());
    });
    it('a header that disagrees with the manifest', () => {
      const json = JSON.stringify({ dtype: 'int8', shape: [8, 8, 8, 1] });
      const h = Buffer.alloc(12);
      good.copy(h, 0, 0, 8);
      h.writeUInt32LE(json.length, 8);
      put(Buffer.concat([h, Buffer.from(json), good.subarray(HEAD())]));
      expectInputError(open, file, /dtype int8 disagrees with manifest \/layers\/0\/act\/dtype = uint8/, 0);
    });
    it('corrupt compressed data: when read, naming the frame and its record; with verify, the sha256 catches it first', () => {
      const b = Buffer.from(good);
      const z = b.readUInt32LE(HEAD() + 4);
      for (let i = 0; i < z; i++) b[HEAD() + 8 + i] = 0xff;
      put(b);
      const layer = open().layers[0]!;
      expectInputError(() => [...readFrames(layer)], file, /frame 0: corrupt compressed record/, HEAD() + 8);
      expectInputError(() => openTrace(dir), file, /sha256 mismatch/);
    });
  });

  it("records larger than the encoder's first scratch (64 KiB) grow it and read back", async () => {
    const n = 100 * 100 * 8;
    const rand = (t: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 7.1 + t) * 1000));
    const c: Case = {
      dtype: 'float32',
      input: [100, 100, 8],
      frames: 3,
      data: [rand(0), rand(0).map((v, i) => (i % 2 ? v : -v)), rand(2)],
    };
    const dir = join(tempDir(), 'g');
    await write(dir, c, 'deltas');
    let t = 0;
    for (const f of readFrames(openTrace(dir).layers[0]!)) expect([...f]).to.deep.equal(c.data[t++]);
    expect(t).to.equal(3);
  });

  it('float32: a non-finite level in a .deltas record is an error naming the frame, element and record', async () => {
    const c: Case = {
      dtype: 'float32',
      input: [4],
      frames: 2,
      data: [
        [0, 1, 2, 3],
        [0, 1, 2, 3],
      ],
    };
    const dir = join(tempDir(), 'f');
    await write(dir, c, 'deltas');
    const file = join(dir, 'fc.deltas');
    const body = Buffer.concat([Buffer.from([2]), Buffer.from(new Float32Array([Number.NaN]).buffer)]); // position 2 := NaN
    const z = deflateRawSync(body);
    const rec = Buffer.alloc(8);
    rec.writeUInt32LE(1, 0);
    rec.writeUInt32LE(z.length, 4);
    const header = Buffer.from(encodeDeltasHeader('float32', [2, 4]));
    writeFileSync(file, Buffer.concat([header, rec, z, Buffer.alloc(8)]));
    const layer = openTrace(dir, { verify: false }).layers[0]!;
    expectInputError(() => [...readFrames(layer)], file, /frame 0: non-finite value NaN at element 2/, header.length);
  });

  it('int8 / int16: a malformed record body is an error naming the frame, the fault and the record', async () => {
    const body = (gaps: number[], levels: number[], size: number) =>
      Buffer.concat([Buffer.from(gaps), Buffer.from(size === 1 ? Int8Array.from(levels).buffer : Int16Array.from(levels).buffer)]);
    for (const [dtype, size] of [
      ['int8', 1],
      ['int16', 2],
    ] as const) {
      // frame 0 changes 2 of 4 levels: [gaps…] then their differences.
      const cases: [Buffer, RegExp][] = [
        [body([1, 5], [7, 7], size), /frame 0: position 7 outside a frame of 4 elements/], // positions 1, 7
        [body([0, 0x80], [7, 7], size), /frame 0: bad position 1 of 2 in the compressed record/], // varint runs into the levels
        [body([0, 0, 0], [7, 7], size), /frame 0: compressed record has 1 bytes after its 2 positions/], // one gap too many
      ];
      for (const [b, re] of cases) {
        const c: Case = { dtype, input: [4], frames: 1, data: [[0, 1, 2, 3]] };
        const dir = join(tempDir(), `m-${dtype}`);
        await write(dir, c, 'deltas');
        const file = join(dir, 'fc.deltas');
        const z = deflateRawSync(b);
        const rec = Buffer.alloc(8);
        rec.writeUInt32LE(2, 0);
        rec.writeUInt32LE(z.length, 4);
        const header = Buffer.from(encodeDeltasHeader(dtype, [1, 4]));
        writeFileSync(file, Buffer.concat([header, rec, z]));
        const layer = openTrace(dir, { verify: false }).layers[0]!;
        expectInputError(() => [...readFrames(layer)], file, re, header.length + 8); // the record body, after its head
      }
    }
  });

  it('manifest: act.encoding must match the file extension and be a known encoding (errors name the key)', () => {
    const m = JSON.parse(readFileSync(join(SAMPLE, 'manifest.json'), 'utf8'));
    m.layers[0].act.encoding = 'deltas';
    const e = throwsInput(() => validateManifest(m, 'm.json'));
    expect(e.message).to.include('/layers/0/act/file').and.include('does not end in .deltas');
    m.layers[0].act.encoding = 'zip';
    expect(throwsInput(() => validateManifest(m, 'm.json')).message).to.include('/layers/0/act/encoding');
    m.layers[0].act.encoding = 'npy';
    m.layers[0].act.file = 'conv1.deltas';
    expect(throwsInput(() => validateManifest(m, 'm.json')).message).to.include('does not end in .npy');
  });

  it('a .deltas file of a constant trace is a few bytes per frame; a far position (2-byte gap) reads back', async () => {
    const c: Case = { dtype: 'int16', input: [16, 16, 4], frames: 50, data: Array.from({ length: 50 }, () => new Array(1024).fill(7)) };
    c.data[10] = c.data[10]!.map((v, i) => (i === 1000 ? -300 : v));
    const dir = join(tempDir(), 'c');
    await write(dir, c, 'deltas');
    // header + frame 0 (every element) + 10, 11 (one change each) + 47 empty records of 8 bytes
    expect(statSync(join(dir, 'fc.deltas')).size).to.be.below(200 + 49 * 8 + 2 * 16);
    const layer = openTrace(dir).layers[0]!;
    expect([...readFrame(layer, 10)]).to.deep.equal(c.data[10]);
    expect([...readFrame(layer, 11)]).to.deep.equal(c.data[11]);
  });
});
