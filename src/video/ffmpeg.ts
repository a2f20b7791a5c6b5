/**
 * Video files through the ffmpeg binary of @ffmpeg-installer/ffmpeg: ffmpeg decodes, resamples the
 * frame rate, scales to W×H and writes raw gray or rgb24 bytes to a pipe; we cut the byte stream
 * into frames. Every spawned process is killed (if still running) and awaited before a call
 * returns or throws, so none outlives its caller and none is left unreaped.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { InputError } from '../../lib/errors.js';
import type { Clip, ClipDataset } from './types.js';

export const FFMPEG_PATH: string = ffmpegInstaller.path;

/**
 * Every decoded frame exactly once: without it the rawvideo muxer's constant-rate output invents
 * copies to fill gaps in the timestamps (tree.avi: 68 decoded frames come out as 449).
 */
const PASSTHROUGH = ['-vsync', 'passthrough'];

export interface FrameFormat {
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB. */
  channels: 1 | 3;
  /** Resample to this frame rate (ffmpeg's fps filter, which duplicates frames to reach a higher one); omitted = every decoded frame once. */
  fps?: number;
}

export interface FrameRange {
  /** First frame (after fps resampling) to return (default 0). */
  start?: number;
  /** At most this many frames (default: to the end). */
  count?: number;
}

export interface VideoInfo {
  /** Frames ffmpeg actually decodes (after fps resampling when given): exact, not estimated from the duration. */
  frames: number;
  /** The stream's own size and frame rate, from ffmpeg's stream description. */
  width: number;
  height: number;
  fps: number;
  /** The container's duration in seconds (NaN when it gives none). */
  duration: number;
}

/** Clip starts of a sliding window of `t` frames with stride ⌈t/2⌉ (the authors' choice). */
export function slidingWindows(frameCount: number, t: number, stride = Math.ceil(t / 2)): number[] {
  const starts: number[] = [];
  for (let s = 0; s + t <= frameCount; s += stride) starts.push(s);
  return starts;
}

/**
 * Streams decoded frames of `file` as Float32Arrays of H·W·C values in [0, 1] (layout [y][x][c]).
 * Breaking out of the loop (or calling `return()`) stops ffmpeg; a generator that is neither
 * finished nor returned leaves ffmpeg blocked on its pipe, so always consume it with for-await.
 */
export async function* decodeFrames(file: string, fmt: FrameFormat, range: FrameRange = {}): AsyncGenerator<Float32Array> {
  checkFormat(fmt);
  await checkReadable(file);
  const frameBytes = fmt.width * fmt.height * fmt.channels;
  const start = range.start ?? 0;
  const filters = [
    ...(fmt.fps !== undefined ? [`fps=${fmt.fps}`] : []),
    ...(start > 0 ? [`trim=start_frame=${start}`] : []),
    `scale=${fmt.width}:${fmt.height}:flags=area`,
  ];
  const args = [
    '-map',
    '0:v:0',
    '-vf',
    filters.join(','),
    '-an',
    ...PASSTHROUGH,
    '-f',
    'rawvideo',
    '-pix_fmt',
    fmt.channels === 1 ? 'gray' : 'rgb24',
  ];
  if (range.count !== undefined) args.push('-frames:v', String(range.count));
  const proc = startFfmpeg(file, args, 'error');
  let pending: Buffer = Buffer.alloc(0);
  let finished = false;
  try {
    for await (const chunk of proc.stdout) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      let off = 0;
      for (; off + frameBytes <= pending.length; off += frameBytes) yield toFloat(pending.subarray(off, off + frameBytes));
      pending = pending.subarray(off);
    }
    await proc.done();
    finished = true;
  } finally {
    if (!finished) await proc.stop();
  }
}

/** Decodes a range of frames into one buffer of count·H·W·C values. */
export async function readFrames(file: string, fmt: FrameFormat, range: FrameRange = {}): Promise<{ frames: Float32Array; count: number }> {
  const parts: Float32Array[] = [];
  for await (const f of decodeFrames(file, fmt, range)) parts.push(f);
  const frameSize = fmt.width * fmt.height * fmt.channels;
  const frames = new Float32Array(parts.length * frameSize);
  parts.forEach((p, i) => frames.set(p, i * frameSize));
  return { frames, count: parts.length };
}

/**
 * Size and frame rate from ffmpeg's stream description, and the exact frame count from a full
 * decode at 1×1 pixel (container durations and frame counts are often missing or wrong).
 */
export async function probeVideo(file: string, opts: { fps?: number } = {}): Promise<VideoInfo> {
  await checkReadable(file);
  const filters = [...(opts.fps !== undefined ? [`fps=${opts.fps}`] : []), 'scale=1:1'];
  const proc = startFfmpeg(
    file,
    ['-map', '0:v:0', '-vf', filters.join(','), '-an', ...PASSTHROUGH, '-f', 'rawvideo', '-pix_fmt', 'gray'],
    'info',
  );
  let frames = 0;
  try {
    for await (const chunk of proc.stdout) frames += (chunk as Buffer).length;
    await proc.done();
  } finally {
    await proc.stop();
  }
  const stream = /Stream #\d+:\d+.*?: Video: (.*)/.exec(proc.stderr())?.[1] ?? '';
  const size = /\b(\d{1,5})x(\d{1,5})\b/.exec(stream);
  const rate = /([\d.]+) (?:fps|tbr)\b/.exec(stream);
  const dur = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(proc.stderr());
  if (!size) throw new InputError('ffmpeg reported no video stream size', { file });
  const duration = dur ? 3600 * Number(dur[1]) + 60 * Number(dur[2]) + Number(dur[3]) : NaN;
  return { frames, width: Number(size[1]), height: Number(size[2]), fps: rate ? Number(rate[1]) : NaN, duration };
}

/**
 * The rate at which a file's decoded frames come (`info` probed without resampling): its stream's
 * declared rate when frames / duration agrees with it within 2 %, else frames / duration (a file
 * that declares 15 fps but holds 68 frames over 29.6 s runs at 2.3), else the declared rate.
 */
export function nativeFps(info: VideoInfo): number {
  const measured = info.duration > 0 ? info.frames / info.duration : NaN;
  if (!(measured > 0)) return info.fps > 0 ? info.fps : NaN;
  return info.fps > 0 && Math.abs(measured - info.fps) <= 0.02 * info.fps ? info.fps : measured;
}

export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

/**
 * Whole decoded videos in one frame format, least recently used evicted beyond a byte budget:
 * training reads many clips of the same video, and one decode of the whole (small, scaled) video
 * costs about what one ranged decode does. Failed decodes are not kept.
 */
export class DecodedVideoCache {
  private readonly entries = new Map<string, { decoded: Promise<{ frames: Float32Array; count: number }>; bytes: number }>();

  constructor(
    private readonly fmt: FrameFormat,
    readonly budgetBytes = DEFAULT_CACHE_BYTES,
  ) {}

  read(file: string): Promise<{ frames: Float32Array; count: number }> {
    let entry = this.entries.get(file);
    if (entry)
      this.entries.delete(file); // re-inserted below as the most recent
    else {
      const decoded = readFrames(file, this.fmt);
      entry = { decoded, bytes: 0 };
      const mine = entry;
      decoded.then(
        (r) => {
          mine.bytes = r.frames.byteLength;
          this.evict();
        },
        () => {
          if (this.entries.get(file) === mine) this.entries.delete(file);
        },
      );
    }
    this.entries.set(file, entry);
    return entry.decoded;
  }

  private evict(): void {
    let total = 0;
    for (const e of this.entries.values()) total += e.bytes;
    for (const [file, e] of this.entries) {
      if (total <= this.budgetBytes || this.entries.size <= 1) break;
      this.entries.delete(file);
      total -= e.bytes;
    }
  }
}

export interface VideoFilesOptions extends FrameFormat {
  /** Frames per clip. */
  frames: number;
  /** Budget for whole decoded videos kept in memory (default 256 MiB); larger videos are read clip by clip. */
  cacheBytes?: number;
  /** Class names in label order; default: the sorted distinct values of `classOf`. */
  classes?: readonly string[];
  /** Class name per file (keyed by the path as given); files not listed are unlabelled (-1). */
  classOf?: Readonly<Record<string, string>>;
}

interface Window {
  file: string;
  label: number;
  start: number;
  /** Whether the whole decoded video fits the cache budget. */
  cacheable: boolean;
}

/** Sliding-window clips over one or more video files, in file order then start order. */
export class VideoFileDataset implements ClipDataset {
  readonly size: number;
  private readonly cache: DecodedVideoCache;

  private constructor(
    readonly classes: readonly string[],
    private readonly windows: readonly Window[],
    private readonly fmt: FrameFormat,
    private readonly t: number,
    cacheBytes: number,
  ) {
    this.size = windows.length;
    this.cache = new DecodedVideoCache(fmt, cacheBytes);
  }

  /** Probes every file (a full decode each, at 1×1) to lay out the windows. */
  static async open(files: readonly string[], opts: VideoFilesOptions): Promise<VideoFileDataset> {
    checkFormat(opts);
    if (!Number.isInteger(opts.frames) || opts.frames < 1)
      throw new InputError(`frames per clip must be a positive integer, got ${opts.frames}`);
    if (files.length === 0) throw new InputError('no video files given');
    const classOf = opts.classOf ?? {};
    const cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
    const frameBytes = opts.width * opts.height * opts.channels * Float32Array.BYTES_PER_ELEMENT;
    const classes = opts.classes ?? [...new Set(Object.values(classOf))].sort();
    const windows: Window[] = [];
    for (const file of files) {
      const name = classOf[file];
      const label = name === undefined ? -1 : classes.indexOf(name);
      if (name !== undefined && label < 0)
        throw new InputError(`class "${name}" is not among the classes [${classes.join(', ')}]`, { file });
      const info = await probeVideo(file, { fps: opts.fps });
      const starts = slidingWindows(info.frames, opts.frames);
      if (starts.length === 0) throw new InputError(`has ${info.frames} frames, fewer than the ${opts.frames} of one clip`, { file });
      const cacheable = info.frames * frameBytes <= cacheBytes;
      for (const start of starts) windows.push({ file, label, start, cacheable });
    }
    const fmt = { width: opts.width, height: opts.height, channels: opts.channels, fps: opts.fps };
    return new VideoFileDataset(classes, windows, fmt, opts.frames, cacheBytes);
  }

  async get(index: number): Promise<Clip> {
    const w = this.windows[index];
    if (!w) throw new RangeError(`clip index ${index} out of range [0, ${this.size})`);
    const frameSize = this.fmt.width * this.fmt.height * this.fmt.channels;
    const whole = w.cacheable ? await this.cache.read(w.file) : undefined;
    const { frames, count } = whole
      ? { frames: whole.frames.slice(w.start * frameSize, (w.start + this.t) * frameSize), count: Math.min(this.t, whole.count - w.start) }
      : await readFrames(w.file, this.fmt, { start: w.start, count: this.t });
    if (count < this.t)
      throw new InputError(`decoded ${count} frames from frame ${w.start}, expected ${this.t} (file changed since it was probed?)`, {
        file: w.file,
      });
    return {
      frames,
      t: this.t,
      h: this.fmt.height,
      w: this.fmt.width,
      c: this.fmt.channels,
      label: w.label,
      source: `file:${w.file}@${w.start}`,
      firstFrame: w.start,
    };
  }
}

function toFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

function checkFormat(fmt: FrameFormat): void {
  for (const k of ['width', 'height'] as const) {
    if (!Number.isInteger(fmt[k]) || fmt[k] < 1) throw new InputError(`${k} must be a positive integer, got ${fmt[k]}`);
  }
  if (fmt.channels !== 1 && fmt.channels !== 3) throw new InputError(`channels must be 1 or 3, got ${fmt.channels}`);
  if (fmt.fps !== undefined && !(fmt.fps > 0 && Number.isFinite(fmt.fps)))
    throw new InputError(`fps must be a positive number, got ${fmt.fps}`);
}

async function checkReadable(file: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch {
    throw new InputError('no such video file', { file });
  }
  if (!isFile) throw new InputError('not a regular file', { file });
}

interface FfmpegProcess {
  stdout: NodeJS.ReadableStream;
  /** Resolves when ffmpeg exited successfully; otherwise rejects with an InputError naming the file. */
  done(): Promise<void>;
  /** Kills ffmpeg if it still runs and waits until it is reaped. */
  stop(): Promise<void>;
  stderr(): string;
}

const STDERR_KEEP = 64 * 1024;

function startFfmpeg(file: string, outputArgs: string[], logLevel: 'error' | 'info'): FfmpegProcess {
  const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', logLevel, '-i', file, ...outputArgs, '-'];
  const child = spawn(FFMPEG_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    stdout: child.stdout,
    stderr: () => stderr,
    async done() {
      const { code, signal, error } = await exited;
      if (error) throw new Error(`cannot run ffmpeg at ${FFMPEG_PATH}: ${error.message}`);
      if (code !== 0) throw new InputError(`ffmpeg cannot decode it (${signal ?? `exit ${code}`}): ${summarise(stderr, file)}`, { file });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The last few meaningful lines of ffmpeg's stderr, without the repeated file name. */
function summarise(stderr: string, file: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) =>
      l
        .split(file)
        .join('')
        .replace(/^\[[^\]]*\]/, '')
        .replace(/^[:\s]+/, '')
        .trim(),
    )
    .filter((l) => l.length > 0 && !/^(Input|Output|Stream|Metadata|Duration|encoder|Press)\b/.test(l));
  return lines.slice(-3).join('; ') || 'no error message';
}
