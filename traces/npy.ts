/**
 * NumPy .npy files (format versions 1, 2 and 3), restricted to what traces need: the dtypes int8,
 * uint8, int16 and float32, C order, little endian. Spec:
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Layout: magic "\x93NUMPY", major, minor, header length (uint16 LE in v1, uint32 LE in v2/v3),
 * then a Python dict literal padded with spaces and ended by '\n' so the data starts 64-byte aligned.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { InputError, quote } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/atomic.js';

export type Dtype = 'int8' | 'uint8' | 'int16' | 'float32';

/** The narrowest trace dtype that holds integer levels in [min, max] (float32 beyond int16). */
export function levelDtype(min: number, max: number): Dtype {
  if (min >= 0 && max <= 255) return 'uint8';
  if (min >= -128 && max <= 127) return 'int8';
  if (min >= -32768 && max <= 32767) return 'int16';
  return 'float32';
}
export type ActArray = Int8Array | Uint8Array | Int16Array | Float32Array;

interface DtypeInfo {
  /** The descr numpy writes. */
  descr: string;
  bytes: number;
  make(buffer: ArrayBufferLike, byteOffset: number, length: number): ActArray;
}

export const DTYPES: Readonly<Record<Dtype, DtypeInfo>> = {
  int8: { descr: '|i1', bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  uint8: { descr: '|u1', bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  int16: { descr: '<i2', bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  float32: { descr: '<f4', bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
};

export function isDtype(s: string): s is Dtype {
  return Object.hasOwn(DTYPES, s);
}

/** A typed array of `dtype` viewing `length` elements of `buffer` from `byteOffset` (no copy). */
export function typedView(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): ActArray {
  return DTYPES[dtype].make(buffer, byteOffset, length);
}

// Typed arrays use host byte order; .npy data here is little endian.
if (endianness() !== 'LE') throw new Error('deltasim traces need a little-endian host');

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREFIX_BYTES = 12; // enough for magic, version and a v2/v3 header length

export interface NpyHeader {
  version: 1 | 2 | 3;
  dtype: Dtype;
  shape: number[];
  /** Byte offset of the first data byte (= total header length). */
  dataOffset: number;
  /** Bytes of data the header promises: product(shape) × itemsize. */
  dataBytes: number;
}

/** Magic, version and header length: where the header dict starts and where the data starts. */
function parseNpyPrefix(bytes: Uint8Array, file: string): { version: 1 | 2 | 3; start: number; dataOffset: number } {
  const fail = (msg: string, offset: number): never => {
    throw new InputError(msg, { file, offset });
  };
  const truncated = () => fail(`truncated .npy header: file is ${bytes.length} bytes`, bytes.length);
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= bytes.length) truncated();
    if (bytes[i] !== MAGIC[i]) fail(`not a .npy file (bad magic; expected "\\x93NUMPY")`, i);
  }
  if (bytes.length < 8) truncated();
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]} (1, 2 or 3 expected)`, 6);
  const version = major as 1 | 2 | 3;
  const start = version === 1 ? 10 : 12;
  if (bytes.length < start) truncated();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = version === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  return { version, start, dataOffset: start + headerLen };
}

/**
 * Parse a .npy header from the first bytes of a file (`bytes` may hold the whole file or just
 * the header). `file` names the file in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const { version, start, dataOffset } = parseNpyPrefix(bytes, file);
  const fail = (msg: string, offset: number): never => {
    throw new InputError(msg, { file, offset });
  };
  if (bytes.length < dataOffset) {
    fail(`truncated .npy header: needs ${dataOffset} bytes, file has ${bytes.length}`, bytes.length);
  }
  const text = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataOffset));
  const dict = text.trim();
  if (!dict.startsWith('{') || !dict.endsWith('}')) fail(`.npy header is not a dict literal: ${quote(text)}`, start);

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(dict)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined) fail(`.npy header has no simple 'descr' (structured dtypes are not supported): ${quote(dict)}`, start);
  if (fortran === undefined) fail(`.npy header has no 'fortran_order': ${quote(dict)}`, start);
  if (shapeText === undefined) fail(`.npy header has no 'shape' tuple: ${quote(dict)}`, start);
  if (fortran === 'True') fail(`unsupported .npy layout: fortran_order is True (C order expected)`, start);

  const dtype = dtypeOfDescr(descr!);
  if (dtype === undefined) {
    const bigEndian = descr!.startsWith('>') && /^>[iuf][248]$/.test(descr!);
    const shown = /^[\x20-\x7e]{0,16}$/.test(descr!) ? `'${descr}'` : quote(descr!);
    fail(
      bigEndian
        ? `unsupported .npy dtype ${shown}: big endian (little endian expected)`
        : `unsupported .npy dtype ${shown} (int8 |i1, uint8 |u1, int16 <i2 or float32 <f4 expected)`,
      start,
    );
  }
  const parts = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const shape = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((n) => !Number.isSafeInteger(n))) fail(`bad .npy shape: ${quote(`(${shapeText})`)}`, start);
  const dataBytes = shape.reduce((a, b) => a * b, 1) * DTYPES[dtype!].bytes;
  return { version, dtype: dtype!, shape, dataOffset, dataBytes };
}

function dtypeOfDescr(descr: string): Dtype | undefined {
  const m = /^([|<=>]?)([iuf]\d)$/.exec(descr);
  if (!m) return undefined;
  const [, order, code] = m;
  const oneByte = code === 'i1' || code === 'u1';
  if (order === '>' && !oneByte) return undefined; // byte order only matters for multi-byte types
  return (Object.keys(DTYPES) as Dtype[]).find((d) => DTYPES[d].descr.slice(1) === code);
}

/**
 * Read and check the header of an open .npy file: the data length must equal what the header
 * promises (truncation and trailing bytes are both errors, reported with expected vs actual).
 */
export function readNpyHeader(fd: number, file: string): NpyHeader {
  const size = fstatSync(fd).size;
  const prefix = new Uint8Array(Math.min(size, PREFIX_BYTES));
  readSync(fd, prefix, 0, prefix.length, 0);
  const headerEnd = Math.min(size, parseNpyPrefix(prefix, file).dataOffset);
  const head = new Uint8Array(headerEnd);
  readSync(fd, head, 0, headerEnd, 0);
  const h = parseNpyHeader(head, file);
  const actual = size - h.dataOffset;
  if (actual !== h.dataBytes) {
    const what = actual < h.dataBytes ? 'truncated .npy data' : '.npy data longer than its header says';
    throw new InputError(`${what}: shape (${h.shape.join(', ')}) ${h.dtype} needs ${h.dataBytes} data bytes, file has ${actual}`, {
      file,
      offset: Math.min(size, h.dataOffset + h.dataBytes),
    });
  }
  return h;
}

/** The header np.save writes for this array (v1 unless it needs more than 65535 bytes). */
export function encodeNpyHeader(dtype: Dtype, shape: readonly number[], version?: 1 | 2 | 3): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  // numpy ≥ 1.24 leaves room for the first axis to grow to 21 digits; do the same so our files
  // are byte-identical to np.save's.
  const growth = shape.length > 0 ? ' '.repeat(Math.max(0, 21 - String(shape[0]).length)) : '';
  const dict = `{'descr': '${DTYPES[dtype].descr}', 'fortran_order': False, 'shape': ${shapeText}, }${growth}`;
  const encode = (v: 1 | 2 | 3) => {
    const start = v === 1 ? 10 : 12;
    const total = Math.ceil((start + dict.length + 1) / 64) * 64;
    const out = new Uint8Array(total);
    out.set(MAGIC, 0);
    out[6] = v;
    out[7] = 0;
    const dv = new DataView(out.buffer);
    if (v === 1) dv.setUint16(8, total - start, true);
    else dv.setUint32(8, total - start, true);
    out.fill(0x20, start, total - 1);
    for (let i = 0; i < dict.length; i++) out[start + i] = dict.charCodeAt(i);
    out[total - 1] = 0x0a;
    return out;
  };
  if (version !== undefined) return encode(version);
  const v1 = encode(1);
  return v1.length - 10 <= 0xffff ? v1 : encode(2);
}

/** A whole .npy file in memory. */
export function encodeNpy(dtype: Dtype, shape: readonly number[], data: ActArray, version?: 1 | 2 | 3): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`encodeNpy: ${data.length} values for shape (${shape.join(', ')})`);
  if (DTYPES[dtype].make(new ArrayBuffer(0), 0, 0).constructor !== data.constructor) {
    throw new Error(`encodeNpy: data is a ${data.constructor.name}, dtype ${dtype} expected`);
  }
  const header = encodeNpyHeader(dtype, shape, version);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

export function writeNpy(path: string, dtype: Dtype, shape: readonly number[], data: ActArray): void {
  writeFileAtomic(path, encodeNpy(dtype, shape, data));
}

/** Read a whole .npy file into memory (small files; traces stream with reader.ts instead). */
export function readNpy(path: string): { header: NpyHeader; data: ActArray } {
  const fd = openNpy(path);
  try {
    const header = readNpyHeader(fd, path);
    const buf = new ArrayBuffer(header.dataBytes);
    readSync(fd, new Uint8Array(buf), 0, header.dataBytes, header.dataOffset);
    return { header, data: typedView(header.dtype, buf, 0, header.dataBytes / DTYPES[header.dtype].bytes) };
  } finally {
    closeSync(fd);
  }
}

/** Why opening a path the user named failed, as bad input (other failures, e.g. EMFILE or EIO, stay crashes). */
const BAD_PATH: Record<string, string> = {
  ENOENT: 'file not found',
  ENOTDIR: 'file not found (a part of the path is not a directory)',
  EISDIR: 'cannot read (EISDIR: a directory)',
  EACCES: 'cannot read (EACCES)',
  EPERM: 'cannot read (EPERM)',
  ELOOP: 'cannot read (ELOOP: too many symbolic links)',
  ENAMETOOLONG: 'cannot read (ENAMETOOLONG: the name is too long)',
  ERR_INVALID_ARG_VALUE: 'not a usable path (it holds a NUL byte)',
};

/** open(2) for reading, with a missing, unreadable or impossible path reported as bad input. */
export function openNpy(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    const what = BAD_PATH[(e as NodeJS.ErrnoException).code ?? ''];
    if (what) throw new InputError(what, { file: path });
    throw e;
  }
}
