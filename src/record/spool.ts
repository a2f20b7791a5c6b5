/**
 * A temporary file of fixed-size frames: recorders spool a tensor's levels frame after frame while the
 * model runs (the trace's dtype and frame count are known only at the end, and memory must not grow
 * with the number of frames), then read them back frame by frame into the trace writer.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export class FrameSpool {
  private fd: number | undefined;
  frames = 0;

  constructor(
    private readonly path: string,
    /** Bytes per frame. */
    readonly frameBytes: number,
  ) {
    this.fd = openSync(path, 'wx+');
  }

  /** Appends one frame (exactly frameBytes long). */
  append(bytes: Uint8Array): void {
    if (bytes.length !== this.frameBytes) throw new RangeError(`${this.path}: frame of ${bytes.length} bytes, expected ${this.frameBytes}`);
    const pos = this.frames * this.frameBytes;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done, bytes.length - done, pos + done);
    this.frames++;
  }

  /** Frame t into `out` (frameBytes long). */
  read(t: number, out: Uint8Array): Uint8Array {
    const pos = t * this.frameBytes;
    for (let done = 0; done < out.length; ) {
      const n = readSync(this.fd!, out, done, out.length - done, pos + done);
      if (n === 0) throw new Error(`${this.path}: short read at frame ${t}`);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The bytes of a typed array's view. */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
