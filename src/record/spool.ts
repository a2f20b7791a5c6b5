/**
 * A temporary file of fixed-size frames: recorders spool a tensor's levels frame after frame while the
 * model runs (the trace's dtype and frame count are known only at the end, and memory must not grow
 * with the number of frames), then read them back frame by frame into the trace writer.
 */
import { closeSync, openSync, readSync, writeSync, writevSync } from 'node:fs';

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

/**
 * A temporary file of variable-length records, written and then read back in order: a recorder's per-frame
 * changes (graph/spill.ts), whose size is known only once the frame is scanned. Each record is two uint32 the
 * caller gives meaning to, then its bytes.
 */
export class RecordSpool {
  private fd: number | undefined;
  private end = 0;
  private pos = 0;
  private readonly head = new Uint8Array(12);
  private readonly headView = new DataView(this.head.buffer);
  private scratch = new Uint8Array(1 << 12);
  records = 0;
  /** The two numbers of the record last read. */
  a = 0;
  b = 0;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'wx+');
  }

  /** Appends a record: a, b and the bytes of `parts`, one after the other. */
  append(a: number, b: number, parts: readonly Uint8Array[]): void {
    const len = parts.reduce((s, p) => s + p.length, 0);
    this.headView.setUint32(0, len, true);
    this.headView.setUint32(4, a, true);
    this.headView.setUint32(8, b, true);
    const all = [this.head, ...parts];
    const total = len + this.head.length;
    let done = writevSync(this.fd!, all, this.end);
    if (done < total) {
      // A short write (rare on a regular file): the rest from one copy.
      const rest = Buffer.concat(all).subarray(done);
      for (let k = 0; k < rest.length; ) k += writeSync(this.fd!, rest, k, rest.length - k, this.end + done + k);
      done = total;
    }
    this.end += total;
    this.records++;
  }

  /** The next record's bytes (a view valid until the next call; a and b set), from the first on. */
  next(): Uint8Array {
    this.readAt(this.head, this.pos);
    const len = this.headView.getUint32(0, true);
    this.a = this.headView.getUint32(4, true);
    this.b = this.headView.getUint32(8, true);
    if (this.scratch.length < len) this.scratch = new Uint8Array(Math.max(len, 2 * this.scratch.length));
    const out = this.scratch.subarray(0, len);
    this.readAt(out, this.pos + this.head.length);
    this.pos += this.head.length + len;
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private readAt(out: Uint8Array, pos: number): void {
    for (let done = 0; done < out.length; ) {
      const n = readSync(this.fd!, out, done, out.length - done, pos + done);
      if (n === 0) throw new Error(`${this.path}: short read at byte ${pos + done}`);
      done += n;
    }
  }
}
