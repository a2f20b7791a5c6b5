/**
 * Integer levels of one tensor, frame after frame, quantised and spooled as int16 while the model
 * runs (spool.ts); the trace's dtype is the narrowest that holds every level seen.
 */
import { levelDtype, type ActArray, type Dtype } from '../../../traces/npy.js';
import { bytesOf, FrameSpool } from '../spool.js';
import type { UpdateMask } from '../update-mask.js';

const INT16_MIN = -32768;
const INT16_MAX = 32767;

export class LevelSpill {
  private readonly spool: FrameSpool;
  private readonly buf: Int16Array;
  min = Infinity;
  max = -Infinity;
  /** Values beyond the int16 range, clamped. */
  clamped = 0;

  constructor(
    private readonly path: string,
    readonly elements: number,
  ) {
    this.spool = new FrameSpool(path, elements * 2);
    this.buf = new Int16Array(elements);
  }

  get frames(): number {
    return this.spool.frames;
  }

  /** Quantise one frame: level = round(value / step[c]), step per innermost index (channel); then the update mask, if any. */
  append(values: ArrayLike<number>, step: number | number[], mask?: UpdateMask): void {
    const { buf } = this;
    if (values.length !== buf.length) throw new RangeError(`${this.path}: frame of ${values.length} values, expected ${buf.length}`);
    this.clamped += toLevels(values, step, buf);
    if (mask) mask.apply(values, step, buf); // keeps only earlier levels, within the range seen
    let { min, max } = this;
    for (let i = 0; i < buf.length; i++) {
      const l = buf[i]!;
      if (l < min) min = l;
      if (l > max) max = l;
    }
    this.min = min;
    this.max = max;
    this.spool.append(bytesOf(buf));
  }

  /** The last frame appended, as values level · step: what closed-loop delta inference feeds downstream (drift/closed-loop.ts). */
  dequantised(step: number | readonly number[]): Float32Array {
    return fromLevels(this.buf, step);
  }

  /** The narrowest trace dtype that holds every level seen. */
  dtype(): Dtype {
    return levelDtype(this.min, this.max); // int16 at most: levels beyond it were clamped
  }

  /** Frame t converted into `out` (a typed array of the chosen dtype, `elements` long). */
  readFrame(t: number, out: ActArray): ActArray {
    this.spool.read(t, bytesOf(this.buf));
    out.set(this.buf);
    return out;
  }

  close(): void {
    this.spool.close();
  }
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
