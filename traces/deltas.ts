/**
 * The compact layer file, `.deltas` (act.encoding "deltas"; layout in traces/README.md): per frame,
 * only the elements whose level changed since the previous frame (frame 0: since all-zero), as
 * LEB128 position gaps then their changes, raw-DEFLATE compressed. Activations of video change
 * little from frame to frame, so this is a small fraction of the dense .npy; it streams (one
 * record after another) with memory flat in T: the reader keeps one frame of levels per layer.
 *
 *   "\x93DELTAS" version | uint32 LE L | L bytes of JSON {"dtype", "shape": [T, ...input]}
 *   then T records: uint32 LE n (changed elements) | uint32 LE z | z bytes deflateRaw(gaps ‖ changes)
 *
 * A change is, in version 2 (written), the level's difference from the previous one: new − old modulo 2^bits for
 * the integer dtypes, new XOR old of the bit patterns for float32. Small steps of large levels make few distinct
 * bytes, which DEFLATE packs about a fifth smaller than the new levels themselves (bench/deltas-layout-size.py).
 * Version 1 (read) stores the new levels. "Changed" compares bit patterns, so every value (float32 −0 included)
 * round-trips exactly.
 */
import { readSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { InputError, quote } from '../lib/errors.js';
import { DTYPES, isDtype, type ActArray, type Dtype } from './npy.js';

/** The version the writer writes (the magic's last byte); readers take 1 and 2. */
export const DELTAS_VERSION = 2;
export const DELTAS_MAGIC = Uint8Array.from([0x93, 0x44, 0x45, 0x4c, 0x54, 0x41, 0x53, DELTAS_VERSION]); // \x93DELTAS, version
const PREFIX = 12; // magic + header length
const RECORD_HEAD = 8; // n, z
/** Longest LEB128 encoding of a uint32 gap. */
const MAX_VARINT = 5;
/**
 * zlib level 1: on centernet over vtest.avi (30 frames) 5.44 % of the raw levels against 5.10 % at level 6 (zlib's
 * default), at 0.18 against 0.34 CPU s a frame: deflating was the recorders' largest cost after the model itself
 * (reports/bench-record-overhead.md). Readers do not depend on it.
 */
const LEVEL = 1;

type Bits = Uint8Array | Uint16Array | Uint32Array;

/** The same memory as an unsigned array of the element width: change tests and copies on bit patterns. */
function bitsOf(a: ActArray): Bits {
  const n = a.length;
  if (a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, n);
  if (a.BYTES_PER_ELEMENT === 2) return new Uint16Array(a.buffer, a.byteOffset, n);
  return new Uint32Array(a.buffer, a.byteOffset, n);
}

function makeBits(bytes: number, n: number): Bits {
  return bytes === 1 ? new Uint8Array(n) : bytes === 2 ? new Uint16Array(n) : new Uint32Array(n);
}

/** Most bytes one gap takes (putGap). */
export const MAX_GAP_BYTES = MAX_VARINT;

/** Writes `gap` (positions skipped before a changed element) as LEB128 at body[p]; returns the position after it. Needs MAX_GAP_BYTES of room. */
export function putGap(body: Uint8Array, p: number, gap: number): number {
  for (; ; gap >>>= 7) {
    if (gap < 0x80) {
      body[p++] = gap;
      return p;
    }
    body[p++] = (gap & 0x7f) | 0x80;
  }
}

/**
 * A record body whose changes are int16 (little-endian, after `gapBytes` of gaps) as the body of 8-bit ones, in place:
 * the low byte of each, which is the 8-bit change (new − old modulo 256) whenever the levels fit an 8-bit dtype.
 * Returns the shorter body.
 */
export function narrowLevels(body: Uint8Array, gapBytes: number, n: number): Uint8Array {
  for (let k = 0, from = gapBytes; k < n; k++, from += 2) body[gapBytes + k] = body[from]!;
  return body.subarray(0, gapBytes + n);
}

/** The file header: magic, length, JSON (dtype and [T, ...input]). */
export function encodeDeltasHeader(dtype: Dtype, shape: readonly number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ dtype, shape }));
  const out = new Uint8Array(PREFIX + json.length);
  out.set(DELTAS_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, PREFIX);
  return out;
}

/**
 * Turns frames into records. Holds the previous frame's levels and scratch that grows to the
 * largest record so far (not to the worst case: a large layer's worst case is several frames);
 * each call returns views valid until the next call.
 */
export class DeltaEncoder {
  private readonly prev: Bits;
  /** prev as 32-bit words (the change scan's fast skip). */
  private readonly prevWords: Uint32Array;
  private curWords: Uint32Array | undefined;
  private readonly vals: Bits;
  private body: Uint8Array;
  private readonly record: Uint8Array;
  private readonly head: DataView;
  /** Bytes of all records so far. */
  bytes = 0;

  constructor(dtype: Dtype, elements: number) {
    const size = DTYPES[dtype].bytes;
    this.prev = makeBits(size, elements);
    this.prevWords = new Uint32Array(this.prev.buffer, 0, Math.floor(this.prev.byteLength / 4));
    this.vals = makeBits(size, elements);
    this.body = new Uint8Array(Math.min(elements * (MAX_VARINT + size), 1 << 16));
    this.record = new Uint8Array(RECORD_HEAD);
    this.head = new DataView(this.record.buffer);
  }

  /** The record of the next frame: [head (n, z), compressed body]. */
  encode(frame: ActArray): [Uint8Array, Uint8Array] {
    const cur = bitsOf(frame);
    const { prev, vals } = this;
    let body = this.body;
    let n = 0;
    let p = 0;
    let last = -1;
    // Levels narrower than 32 bits are skipped a 32-bit word (2 or 4 levels) at a time while unchanged (most of
    // a video frame), then scanned one by one within a changed word and in the tail after the last whole word.
    const cw = this.wordsOf(frame);
    const pw = this.prevWords;
    const per = 4 / vals.BYTES_PER_ELEMENT;
    const words = cw ? cw.length : 0;
    const N = cur.length;
    const wide = vals.BYTES_PER_ELEMENT === 4;
    let i = 0;
    while (i < N) {
      let hi = N;
      if (i < words * per) {
        let k = i / per;
        while (k < words && cw![k] === pw[k]) k++;
        i = k * per;
        if (k < words) hi = i + per;
      }
      for (; i < hi; i++) {
        const v = cur[i]!;
        if (v === prev[i]) continue;
        // The difference (wrapping in the unsigned element type; XOR for float32's 32-bit patterns).
        vals[n++] = wide ? v ^ prev[i]! : v - prev[i]!;
        prev[i] = v;
        if (p + MAX_VARINT > body.length) body = this.grow(p + MAX_VARINT);
        p = putGap(body, p, i - last - 1);
        last = i;
      }
    }
    const valBytes = n * vals.BYTES_PER_ELEMENT;
    if (p + valBytes > body.length) body = this.grow(p + valBytes);
    body.set(new Uint8Array(vals.buffer, 0, valBytes), p);
    return this.encodeChanges(n, body.subarray(0, p + valBytes));
  }

  /**
   * The record of a frame whose changes were found elsewhere (a recorder's spill, src/record/graph/spill.ts): `body`
   * is the LEB128 gaps (putGap) of the n changed elements, then their changes (new − old level) in this encoder's dtype
   * (narrowLevels).
   * The frames seen by `encode` are not updated: a layer is written one way or the other.
   */
  encodeChanges(n: number, body: Uint8Array): [Uint8Array, Uint8Array] {
    const z = n === 0 ? new Uint8Array(0) : deflateRawSync(body, { level: LEVEL });
    this.head.setUint32(0, n, true);
    this.head.setUint32(4, z.length, true);
    this.bytes += RECORD_HEAD + z.length;
    return [this.record, z];
  }

  /** The frame's whole 32-bit words when its levels are narrower and it is 4-byte aligned (a view kept while the frame's buffer is). */
  private wordsOf(frame: ActArray): Uint32Array | undefined {
    if (frame.BYTES_PER_ELEMENT === 4 || frame.byteOffset % 4 !== 0) return undefined;
    const count = Math.floor(frame.byteLength / 4);
    const w = this.curWords;
    if (w && w.buffer === frame.buffer && w.byteOffset === frame.byteOffset && w.length === count) return w;
    this.curWords = new Uint32Array(frame.buffer, frame.byteOffset, count);
    return this.curWords;
  }

  /** A body of at least `bytes` (doubling, so growth is amortised), its first bytes kept. */
  private grow(bytes: number): Uint8Array {
    const next = new Uint8Array(Math.max(bytes, 2 * this.body.length));
    next.set(this.body);
    this.body = next;
    return next;
  }
}

export interface DeltasHeader {
  /** 1: records hold the new levels; 2: their differences from the previous ones. */
  version: 1 | 2;
  dtype: Dtype;
  shape: number[];
  /** Byte offset of frame 0's record. */
  dataOffset: number;
  /** Largest compressed body (the reader's buffer size). */
  maxRecord: number;
}

/**
 * Read and check a .deltas file's header and its chain of record heads: exactly `shape[0]` records
 * ending at the end of the file, each with n ≤ elements. A file cut short, with bytes after its
 * last frame, or with a bad head is an error naming the file and byte offset.
 */
export function readDeltasHeader(fd: number, file: string, size: number): DeltasHeader {
  const fail = (msg: string, offset: number): never => {
    throw new InputError(msg, { file, offset });
  };
  const prefix = new Uint8Array(PREFIX);
  const got = readSync(fd, prefix, 0, PREFIX, 0);
  for (let i = 0; i < DELTAS_MAGIC.length - 1; i++) {
    if (i >= got) fail(`truncated .deltas header: file is ${size} bytes`, got);
    if (prefix[i] !== DELTAS_MAGIC[i]) fail('not a .deltas file (bad magic; expected "\\x93DELTAS")', i);
  }
  if (got < PREFIX) fail(`truncated .deltas header: file is ${size} bytes`, got);
  const version = prefix[7]!;
  if (version !== 1 && version !== 2) fail(`unsupported .deltas version ${version} (1 or 2 expected)`, 7);
  const len = new DataView(prefix.buffer).getUint32(8, true);
  if (PREFIX + len > size) fail(`truncated .deltas header: needs ${PREFIX + len} bytes, file has ${size}`, size);
  const text = new Uint8Array(len);
  readSync(fd, text, 0, len, PREFIX);
  let head: unknown;
  try {
    head = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch {
    fail('.deltas header is not JSON', PREFIX);
  }
  const h = head as { dtype?: unknown; shape?: unknown };
  if (typeof h !== 'object' || h === null || typeof h.dtype !== 'string' || !isDtype(h.dtype))
    fail(`.deltas header has no dtype int8, uint8, int16 or float32: ${quote(JSON.stringify(head))}`, PREFIX);
  if (!Array.isArray(h.shape) || h.shape.length < 2 || !h.shape.every((v) => Number.isSafeInteger(v) && v >= 1))
    fail(`.deltas header has no shape [frames, ...input]: ${quote(JSON.stringify(head))}`, PREFIX);
  const dtype = h.dtype as Dtype;
  const shape = h.shape as number[];
  const elements = shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = elements * (MAX_VARINT + DTYPES[dtype].bytes) + 1024;
  const rec = new Uint8Array(RECORD_HEAD);
  const dv = new DataView(rec.buffer);
  let pos = PREFIX + len;
  let maxRecord = 0;
  for (let t = 0; t < shape[0]!; t++) {
    if (readSync(fd, rec, 0, RECORD_HEAD, pos) < RECORD_HEAD || pos + RECORD_HEAD > size)
      fail(`truncated .deltas data: ${shape[0]} frames announced, frame ${t}'s record head is cut off`, Math.min(pos, size));
    const n = dv.getUint32(0, true);
    const z = dv.getUint32(4, true);
    if (n > elements) fail(`frame ${t}: ${n} changed elements, a frame has ${elements}`, pos);
    if ((n === 0) !== (z === 0) || z > bound) fail(`frame ${t}: bad compressed length ${z} for ${n} changed elements`, pos + 4);
    if (pos + RECORD_HEAD + z > size)
      fail(`truncated .deltas data: frame ${t} needs ${z} bytes, file has ${size - pos - RECORD_HEAD}`, size);
    maxRecord = Math.max(maxRecord, z);
    pos += RECORD_HEAD + z;
  }
  if (pos !== size) fail(`.deltas data longer than its ${shape[0]} frames: ${size - pos} bytes after the last frame`, pos);
  return { version: version as 1 | 2, dtype, shape, dataOffset: PREFIX + len, maxRecord };
}

/**
 * What a DeltaDecoder needs only while it decodes a frame and its consumer reads it: the compressed record and the
 * levels the changed elements held before. Decoders stepped one at a time, each frame read before the next decoder
 * steps (reader.ts layerFramesWithChanges), share one: the largest layer's buffers instead of the sum over layers
 * (on centernet, 89 layers: ~65 MB).
 */
export class DecodeScratch {
  zbuf = new Uint8Array(0);
  previous = new ArrayBuffer(0);
  /** zbuf with room for `bytes`. */
  record(bytes: number): Uint8Array {
    if (this.zbuf.length < bytes) this.zbuf = new Uint8Array(bytes);
    return this.zbuf;
  }
  /** previous with room for `bytes`, grown by half again so that growth is amortised. */
  previousBytes(bytes: number): ArrayBuffer {
    if (this.previous.byteLength < bytes) this.previous = new ArrayBuffer(Math.max(bytes, Math.ceil(1.5 * this.previous.byteLength)));
    return this.previous;
  }
}

/**
 * A version-2 record's changes applied to 1- or 2-byte integer levels (old + difference, wrapping as the element type
 * does), listing the positions and old levels when `changed` is given: the general loop of DeltaDecoder.next, less its
 * per-change branches on the version and level size, with one-byte gaps (most of them) read without the varint loop.
 * False, with the levels partly updated, at the first malformed position.
 */
function applyChanges(
  body: Uint8Array,
  end: number,
  n: number,
  size: number,
  levels: Uint8Array | Uint16Array,
  elements: number,
  changed: Uint32Array | null,
  previous: Bits,
): boolean {
  let p = 0;
  let q = end;
  let last = -1;
  for (let k = 0; k < n; k++) {
    if (p >= end) return false;
    let gap = body[p++]!;
    if (gap >= 0x80) {
      gap &= 0x7f;
      for (let shift = 7; ; shift += 7) {
        if (p >= end || shift > 28) return false;
        const b = body[p++]!;
        gap += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
      }
    }
    last += gap + 1;
    if (last >= elements) return false;
    const old = levels[last]!;
    if (changed) {
      changed[k] = last;
      previous[k] = old;
    }
    levels[last] = old + (size === 1 ? body[q]! : body[q]! | (body[q + 1]! << 8));
    q += size;
  }
  return p === end;
}

/**
 * Reads records in order into one frame of levels (`frame`, a view of a buffer it owns); `count`
 * is how many elements the last frame changed.
 */
export class DeltaDecoder {
  readonly frame: ActArray;
  private readonly finite: Float32Array | undefined;
  count = 0;
  /** Frames decoded so far. */
  t = 0;
  /**
   * Also list where each frame after frame 0 changed: its first `count` entries, in increasing order (frame 0 lists
   * nothing: it is every non-zero level, and the longest list of all). Grown as a frame needs.
   */
  collect = false;
  changed = new Uint32Array(0);
  /** With `collect`: the level each changed element held before this frame (previous[k] at changed[k]), so a consumer
   *  can update a statistic of the levels by the changes alone. In the scratch's buffer: valid until a decoder sharing
   *  it decodes again. */
  previous: ActArray;
  private previousBits: Bits;
  private readonly dtype: Dtype;
  private pos: number;
  private readonly levels: Bits;
  /** Bytes per level. */
  private readonly size: number;
  private readonly head = new Uint8Array(RECORD_HEAD);
  private readonly headView = new DataView(this.head.buffer);

  constructor(
    private readonly fd: number,
    private readonly file: string,
    dtype: Dtype,
    private readonly elements: number,
    dataOffset: number,
    private readonly maxRecord: number,
    private readonly version: 1 | 2 = DELTAS_VERSION,
    private readonly scratch = new DecodeScratch(),
  ) {
    const size = DTYPES[dtype].bytes;
    this.frame = DTYPES[dtype].make(new ArrayBuffer(elements * size), 0, elements);
    this.levels = bitsOf(this.frame);
    this.dtype = dtype;
    this.previous = DTYPES[dtype].make(new ArrayBuffer(0), 0, 0);
    this.previousBits = bitsOf(this.previous);
    this.size = size;
    this.finite = dtype === 'float32' ? (this.frame as Float32Array) : undefined;
    scratch.record(maxRecord);
    this.pos = dataOffset;
  }

  /** Decode the next frame into `frame` (and `changed`). */
  next(): ActArray {
    const { file, head, headView, levels, size, finite } = this;
    const at = this.pos;
    const t = this.t;
    const fail = (msg: string, offset = at): never => {
      throw new InputError(`frame ${t}: ${msg}`, { file, offset });
    };
    if (readSync(this.fd, head, 0, RECORD_HEAD, at) !== RECORD_HEAD) fail('truncated .deltas data (file shrank while reading)');
    const n = headView.getUint32(0, true);
    const z = headView.getUint32(4, true);
    if (n > this.elements || z > this.maxRecord) fail(`record head (n ${n}, z ${z}) changed since the file was opened`);
    const zbuf = this.scratch.record(z);
    if (readSync(this.fd, zbuf, 0, z, at + RECORD_HEAD) !== z) fail('truncated .deltas data (file shrank while reading)');
    this.pos = at + RECORD_HEAD + z;
    this.count = n;
    this.t++;
    if (n === 0) return this.frame;
    let body: Uint8Array;
    try {
      body = inflateRawSync(zbuf.subarray(0, z), { maxOutputLength: n * (MAX_VARINT + size) });
    } catch (e) {
      return fail(`corrupt compressed record (${(e as Error).message})`, at + RECORD_HEAD);
    }
    const end = body.length - n * size;
    if (end < n) fail(`compressed record holds ${body.length} bytes, too few for ${n} changes of ${size}-byte levels`, at + RECORD_HEAD);
    // The levels are read straight from the inflated body, little endian (no copy: a frame-sized copy buffer would
    // cost as much memory as the frame itself).
    let p = 0;
    let q = end;
    let last = -1;
    if (this.collect && t > 0) {
      if (this.changed.length < n) this.changed = new Uint32Array(Math.max(n, Math.ceil(1.125 * this.changed.length)));
      // The shared buffer may have grown (or been written by another decoder) since this one's last frame: a new view.
      const buf = this.scratch.previousBytes(n * size);
      this.previous = DTYPES[this.dtype].make(buf, 0, Math.floor(buf.byteLength / size));
      this.previousBits = bitsOf(this.previous);
    }
    const changed = this.collect && t > 0 ? this.changed : null;
    const previous = this.previousBits;
    const diff = this.version === 2;
    // The usual record (version 2, 1- or 2-byte integer levels) through a loop of its own; a malformed one falls
    // through to the general loop below, which finds the same fault at the same position and names it.
    if (diff && size <= 2 && applyChanges(body, end, n, size, levels as Uint8Array | Uint16Array, this.elements, changed, previous))
      return this.frame;
    p = 0;
    q = end;
    last = -1;
    for (let k = 0; k < n; k++) {
      let gap = 0;
      for (let shift = 0; ; shift += 7) {
        if (p >= end || shift > 28) fail(`bad position ${k} of ${n} in the compressed record`, at + RECORD_HEAD);
        const b = body[p++]!;
        gap += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
      }
      last += gap + 1;
      if (last >= this.elements) fail(`position ${last} outside a frame of ${this.elements} elements`, at + RECORD_HEAD);
      const old = levels[last]!;
      if (changed) {
        changed[k] = last;
        previous[k] = old;
      }
      const c =
        size === 1
          ? body[q]!
          : size === 2
            ? body[q]! | (body[q + 1]! << 8)
            : (body[q]! | (body[q + 1]! << 8) | (body[q + 2]! << 16) | (body[q + 3]! << 24)) >>> 0;
      // Version 2: old + difference (the unsigned element type wraps it), or old XOR the change of float32 bits.
      levels[last] = !diff ? c : size === 4 ? old ^ c : old + c;
      q += size;
      if (finite && !Number.isFinite(finite[last]!)) fail(`non-finite value ${finite[last]} at element ${last}`);
    }
    if (p !== end) fail(`compressed record has ${end - p} bytes after its ${n} positions`, at + RECORD_HEAD);
    return this.frame;
  }
}
