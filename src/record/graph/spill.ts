/**
 * Integer levels of one tensor, frame after frame, quantised and spooled while the model runs (spool.ts); the trace's
 * dtype is the narrowest that holds every level seen, known only at the end.
 *
 * Two ways to spool: every frame's int16 levels, read back whole (an .npy trace, or any caller of readFrame); or, for
 * a .deltas trace (`changes`), only what changed since the frame before, found while quantising, in one pass: the
 * LEB128 gaps and int16 levels of the record body (traces/deltas.ts), which writeSpills narrows to the trace's dtype
 * and hands to the writer to deflate. The change positions do not depend on the dtype (every dtype holds every level
 * seen), so the records are those the writer's own change scan would make of the narrowed frames, byte for byte;
 * and the spool holds a fraction of the levels, with no second pass over them at the end.
 */
import { DTYPES, levelDtype, type ActArray, type Dtype } from '../../../traces/npy.js';
import { MAX_GAP_BYTES, narrowLevels, putGap } from '../../../traces/deltas.js';
import type { TraceWriter } from '../../../traces/writer.js';
import { bytesOf, FrameSpool, RecordSpool } from '../spool.js';
import type { UpdateMask } from '../update-mask.js';

const INT16_MIN = -32768;
const INT16_MAX = 32767;

export interface LevelSpillOptions {
  /** Spool each frame's changes (a .deltas trace, written with writeSpills) rather than its levels. */
  changes?: boolean;
}

export class LevelSpill {
  private readonly spool: FrameSpool | undefined;
  private readonly records: RecordSpool | undefined;
  /** The last frame's levels (after the mask, if any). */
  private readonly buf: Int16Array;
  /** changes, with a mask: a frame's levels before the mask. */
  private raw: Int16Array | undefined;
  /** changes: the frame's gaps (grown as needed) and the changes of its changed levels. */
  private gaps: Uint8Array;
  private readonly vals: Int16Array | undefined;
  min = Infinity;
  max = -Infinity;
  /** Values beyond the int16 range, clamped. */
  clamped = 0;
  /** Changed levels of the record last read (readChanges). */
  changed = 0;

  constructor(
    private readonly path: string,
    readonly elements: number,
    opts: LevelSpillOptions = {},
  ) {
    this.buf = new Int16Array(elements);
    if (opts.changes) {
      this.records = new RecordSpool(path);
      this.vals = new Int16Array(elements);
      this.gaps = new Uint8Array(Math.min(elements * MAX_GAP_BYTES, 1 << 16));
    } else {
      this.spool = new FrameSpool(path, elements * 2);
      this.gaps = new Uint8Array(0);
    }
  }

  get frames(): number {
    return this.spool ? this.spool.frames : this.records!.records;
  }

  /** Spools changes (readChanges), not levels (readFrame). */
  get changes(): boolean {
    return this.records !== undefined;
  }

  /** Quantise one frame: level = round(value / step[c]), step per innermost index (channel); then the update mask, if any. */
  append(values: ArrayLike<number>, step: number | number[], mask?: UpdateMask): void {
    const { buf } = this;
    if (values.length !== buf.length) throw new RangeError(`${this.path}: frame of ${values.length} values, expected ${buf.length}`);
    if (this.records && !mask) {
      this.quantiseChanges(values, step);
      return;
    }
    const levels = this.records ? (this.raw ??= new Int16Array(buf.length)) : buf;
    this.clamped += toLevels(values, step, levels);
    if (mask) mask.apply(values, step, levels); // keeps only earlier levels, within the range seen
    let { min, max } = this;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l < min) min = l;
      if (l > max) max = l;
    }
    this.min = min;
    this.max = max;
    if (this.records) this.scanChanges(levels);
    else this.spool!.append(bytesOf(buf));
  }

  /**
   * append of a [C, H, W] tensor (values[c·H·W + p]) whose trace layout is channels-last [H, W, C]: quantised in that
   * order straight from where the values lie, without a channels-last copy (an ONNX recording's NCHW tensors). One
   * step, no update mask, a spill of changes; otherwise false, and the caller transposes and calls append.
   */
  appendChannelsFirst(values: Float32Array, channels: number, step: number | number[], mask?: UpdateMask): boolean {
    if (!this.records || mask || typeof step !== 'number') return false;
    if (values.length !== this.buf.length || values.length % channels !== 0)
      throw new RangeError(`${this.path}: frame of ${values.length} values in ${channels} channels, expected ${this.buf.length}`);
    this.quantiseChanges(values, step, channels);
    return true;
  }

  /** The last frame appended, as values level · step: what closed-loop delta inference feeds downstream (drift/closed-loop.ts). */
  dequantised(step: number | readonly number[]): Float32Array {
    return fromLevels(this.buf, step);
  }

  /** The narrowest trace dtype that holds every level seen. */
  dtype(): Dtype {
    return levelDtype(this.min, this.max); // int16 at most: levels beyond it were clamped
  }

  /** Frame t converted into `out` (a typed array of the chosen dtype, `elements` long). Levels spools only. */
  readFrame(t: number, out: ActArray): ActArray {
    if (!this.spool) throw new Error(`${this.path}: a spool of changes has no frames to read (readChanges)`);
    this.spool.read(t, bytesOf(this.buf));
    out.set(this.buf);
    return out;
  }

  /**
   * The next frame's record body (from the first on): gaps, then the `changed` elements' changes (new − old level,
   * the .deltas version-2 record) in `dtype` (the spill's dtype()).
   * A view valid until the next call. Changes spools only.
   */
  readChanges(dtype: Dtype): Uint8Array {
    if (!this.records) throw new Error(`${this.path}: a spool of levels has no changes to read (readFrame)`);
    const body = this.records.next();
    const n = this.records.a;
    this.changed = n;
    const bytes = DTYPES[dtype].bytes;
    if (bytes === 2) return body;
    if (bytes !== 1) throw new TypeError(`${this.path}: levels cannot be written as ${dtype}`);
    return narrowLevels(body, this.records.b, n);
  }

  close(): void {
    this.spool?.close();
    this.records?.close();
  }

  /**
   * toLevels, the range of the levels and the change scan against the frame before, in one pass (no update mask):
   * the changed levels overwrite buf and are spooled with their gaps.
   */
  private quantiseChanges(values: ArrayLike<number>, step: number | readonly number[], channelsFirst = 1): void {
    const { buf } = this;
    const vals = this.vals!;
    let gaps = this.gaps;
    let { min, max } = this;
    let clamped = 0;
    let n = 0;
    let p = 0;
    let last = -1;
    if (typeof step === 'number' && values instanceof Float32Array) {
      // The usual case, in a loop of its own: one step, float32 values (monomorphic).
      const q = +step; // a float local: `step` may be an array as far as the compiler knows
      const f32: Float32Array = values;
      const N = buf.length;
      // Element i of the frame (channels-last) is at f32[at]: at = c·plane + p for pixel p, channel c of C (C = 1 and
      // at = i when the values are in the frame's order already).
      const C = channelsFirst;
      const plane = N / C;
      let lo = INT16_MAX; // small-integer locals (min and max start infinite)
      let hi = INT16_MIN;
      for (let i = 0, c = 0, px = 0, at = 0; i < N; i++) {
        let l = Math.round(f32[at]! / q);
        if (++c === C) {
          c = 0;
          at = ++px;
        } else at += plane;
        if (l < INT16_MIN || l > INT16_MAX) {
          l = l < 0 ? INT16_MIN : INT16_MAX;
          clamped++;
        }
        const v = l | 0; // what an Int16Array stores (NaN as 0)
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (v === buf[i]) continue;
        vals[n++] = v - buf[i]!; // the change (.deltas version 2), wrapped into int16
        buf[i] = v;
        if (p + MAX_GAP_BYTES > gaps.length) gaps = this.growGaps(p + MAX_GAP_BYTES);
        p = putGap(gaps, p, i - last - 1);
        last = i;
      }
      if (N > 0) {
        this.min = Math.min(min, lo);
        this.max = Math.max(max, hi);
      }
      this.clamped += clamped;
      this.records!.append(n, p, [gaps.subarray(0, p), bytesOf(vals.subarray(0, n))]);
      return;
    }
    if (channelsFirst !== 1) throw new Error(`${this.path}: channels-first values quantised at one step only`);
    const steps = typeof step === 'number' ? undefined : step;
    const one = typeof step === 'number' ? step : 0;
    const C = steps ? steps.length : 1;
    for (let i = 0, c = 0; i < buf.length; i++) {
      let l = Math.round(values[i]! / (steps ? steps[c]! : one));
      if (steps && ++c === C) c = 0;
      if (l < INT16_MIN || l > INT16_MAX) {
        l = l < 0 ? INT16_MIN : INT16_MAX;
        clamped++;
      }
      const v = l | 0; // what an Int16Array stores (NaN as 0)
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === buf[i]) continue;
      vals[n++] = v - buf[i]!; // the change, as above
      buf[i] = v;
      if (p + MAX_GAP_BYTES > gaps.length) gaps = this.growGaps(p + MAX_GAP_BYTES);
      p = putGap(gaps, p, i - last - 1);
      last = i;
    }
    this.min = min;
    this.max = max;
    this.clamped += clamped;
    this.records!.append(n, p, [gaps.subarray(0, p), bytesOf(vals.subarray(0, n))]);
  }

  /** The change scan of a frame's (masked) levels against the frame before: changed levels overwrite buf and are spooled. */
  private scanChanges(levels: Int16Array): void {
    const { buf } = this;
    const vals = this.vals!;
    let gaps = this.gaps;
    let n = 0;
    let p = 0;
    let last = -1;
    for (let i = 0; i < levels.length; i++) {
      const v = levels[i]!;
      if (v === buf[i]) continue;
      vals[n++] = v - buf[i]!; // the change, as above
      buf[i] = v;
      if (p + MAX_GAP_BYTES > gaps.length) gaps = this.growGaps(p + MAX_GAP_BYTES);
      p = putGap(gaps, p, i - last - 1);
      last = i;
    }
    this.records!.append(n, p, [gaps.subarray(0, p), bytesOf(vals.subarray(0, n))]);
  }

  /** Room for at least `bytes` of gaps (doubling), the first ones kept. */
  private growGaps(bytes: number): Uint8Array {
    const next = new Uint8Array(Math.max(bytes, 2 * this.gaps.length));
    next.set(this.gaps);
    this.gaps = next;
    return next;
  }
}

/**
 * Every frame of every layer's spill into a trace being written: layer i from spills[i], in its manifest dtype (a spill
 * read by several layers is read once a frame, and its changes deflated once).
 */
export function writeSpills(w: TraceWriter, spills: readonly LevelSpill[]): void {
  const unique = [...new Set(spills)];
  const layersOf = unique.map((s) => spills.flatMap((x, i) => (x === s ? [i] : [])));
  const dtypes = layersOf.map((ls) => w.manifest.layers[ls[0]!]!.act.dtype);
  const outs = unique.map((s, k) =>
    s.changes ? undefined : DTYPES[dtypes[k]!].make(new ArrayBuffer(s.elements * DTYPES[dtypes[k]!].bytes), 0, s.elements),
  );
  for (let t = 0; t < w.manifest.frames; t++)
    unique.forEach((s, k) => {
      if (s.changes) {
        const body = s.readChanges(dtypes[k]!);
        w.appendChanges(layersOf[k]!, s.changed, body);
      } else {
        const frame = s.readFrame(t, outs[k]!);
        for (const i of layersOf[k]!) w.appendFrame(i, frame);
      }
    });
}

/** levels[i] = round(values[i] / step[i mod C]), clamped to int16; returns how many were clamped. */
export function toLevels(values: ArrayLike<number>, step: number | readonly number[], levels: Int16Array): number {
  const steps = typeof step === 'number' ? [step] : step;
  const C = steps.length;
  const one = steps[0]!; // one step for all (the usual case): no per-element index arithmetic
  let clamped = 0;
  for (let i = 0; i < levels.length; i++) {
    let l = Math.round(values[i]! / (C === 1 ? one : steps[i % C]!));
    if (l < INT16_MIN || l > INT16_MAX) {
      l = l < 0 ? INT16_MIN : INT16_MAX;
      clamped++;
    }
    levels[i] = l;
  }
  return clamped;
}

/** The values level · step[i mod C] of `levels`. */
export function fromLevels(levels: Int16Array, step: number | readonly number[]): Float32Array {
  const out = new Float32Array(levels.length);
  const steps = typeof step === 'number' ? [step] : step;
  const C = steps.length;
  for (let i = 0; i < levels.length; i++) out[i] = levels[i]! * (C === 1 ? steps[0]! : steps[i % C]!);
  return out;
}
