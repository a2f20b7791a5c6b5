/**
 * Integer levels of one tensor, frame after frame, spilled to a temporary int16 file while the
 * model runs: the trace's dtype (the narrowest that holds every level) and frame count are only
 * known at the end, and memory must not grow with the number of frames.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { ActArray, Dtype } from '../../../traces/npy.js';

const INT16_MIN = -32768;
const INT16_MAX = 32767;

export class LevelSpill {
  private fd: number | undefined;
  private readonly buf: Int16Array;
  frames = 0;
  min = Infinity;
  max = -Infinity;
  /** Values beyond the int16 range, clamped. */
  clamped = 0;

  constructor(
    private readonly path: string,
    readonly elements: number,
  ) {
    this.fd = openSync(path, 'wx+');
    this.buf = new Int16Array(elements);
  }

  /** Quantise one frame: level = round(value / step[c]), step per innermost index (channel). */
  append(values: ArrayLike<number>, step: number | number[]): void {
    const { buf } = this;
    if (values.length !== buf.length) throw new RangeError(`${this.path}: frame of ${values.length} values, expected ${buf.length}`);
    const steps = typeof step === 'number' ? [step] : step;
    const C = steps.length;
    let min = this.min;
    let max = this.max;
    for (let i = 0; i < buf.length; i++) {
      let l = Math.round(values[i]! / steps[i % C]!);
      if (l < INT16_MIN || l > INT16_MAX) {
        l = l < 0 ? INT16_MIN : INT16_MAX;
        this.clamped++;
      }
      buf[i] = l;
      if (l < min) min = l;
      if (l > max) max = l;
    }
    this.min = min;
    this.max = max;
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const pos = this.frames * bytes.length;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done, bytes.length - done, pos + done);
    this.frames++;
  }

  /** The narrowest trace dtype that holds every level seen. */
  dtype(): Dtype {
    if (this.min >= 0 && this.max <= 255) return 'uint8';
    if (this.min >= -128 && this.max <= 127) return 'int8';
    return 'int16';
  }

  /** Frame t converted into `out` (a typed array of the chosen dtype, `elements` long). */
  readFrame(t: number, out: ActArray): ActArray {
    const bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const pos = t * bytes.length;
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(this.fd!, bytes, done, bytes.length - done, pos + done);
      if (n === 0) throw new Error(`${this.path}: short read at frame ${t}`);
      done += n;
    }
    out.set(this.buf);
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
