/**
 * Whole video files decoded for self-distillation (src/tf/distill.ts), each split by time: its first
 * (1 − heldOut) of frames train, the rest are held out for evaluation only, so no held-out frame (nor
 * its near-duplicate neighbour) is ever trained on.
 * Frames come at the file's native rate (every decoded frame once: ffmpeg's passthrough, no frame
 * invented or dropped) and are scaled to the model's W×H by ffmpeg's area filter without keeping the
 * aspect ratio (vtest.avi's 768×576 is squeezed to 224×224, as nsfwjs squeezes its images). They are
 * kept as bytes, a quarter of float32's memory (vtest.avi at 224²×3: 120 MB).
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { decodeFrames, type FrameFormat } from './ffmpeg.js';

export interface SplitVideo {
  file: string;
  /** Decoded frames kept (at most maxFrames). */
  count: number;
  /** Frames [0, trainFrames) train; [trainFrames, count) are held out. */
  trainFrames: number;
  /** count·H·W·C bytes, [t][y][x][c]. */
  bytes: Uint8Array;
  fmt: FrameFormat;
}

export interface SplitOptions {
  /** Fraction of each file's frames held out at its end, in (0, 1) (default 0.3). */
  heldOut?: number;
  /** Decode at most the first N frames of each file. */
  maxFrames?: number;
  /** Frames each part needs at least (a training clip's and an evaluation clip's length). */
  minTrain: number;
  minHeldOut: number;
}

export const DEFAULT_HELD_OUT = 0.3;

/** Extensions taken from a folder (other files there are skipped; a file named directly is always taken). */
export const VIDEO_EXTENSIONS = ['.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg', '.m4v', '.wmv', '.flv', '.ogv', '.y4m'];

/** A comma-separated list of video files and folders (a folder: its video files, sorted by name, not recursive). */
export function videoFiles(spec: string): string[] {
  const files: string[] = [];
  for (const path of spec.split(',').filter((p) => p !== '')) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new InputError('no such video file or folder', { file: path });
    }
    if (!isDir) {
      files.push(path);
      continue;
    }
    const inside = readdirSync(path)
      .filter((n) => VIDEO_EXTENSIONS.includes(extname(n).toLowerCase()))
      .sort()
      .map((n) => join(path, n))
      .filter((f) => statSync(f).isFile());
    if (inside.length === 0) throw new InputError(`no video files (${VIDEO_EXTENSIONS.join(' ')}) in this folder`, { file: path });
    files.push(...inside);
  }
  if (files.length === 0) throw new InputError('no video given');
  return files;
}

/** Decode and split every file (in order). A file too short for both parts is an InputError naming it. */
export async function loadSplitVideos(files: readonly string[], fmt: FrameFormat, opts: SplitOptions): Promise<SplitVideo[]> {
  const heldOut = opts.heldOut ?? DEFAULT_HELD_OUT;
  if (!(heldOut > 0 && heldOut < 1)) throw new InputError(`held-out fraction must be in (0, 1), got ${heldOut}`);
  if (opts.maxFrames !== undefined && !(Number.isInteger(opts.maxFrames) && opts.maxFrames >= 2))
    throw new InputError(`max frames must be an integer >= 2, got ${opts.maxFrames}`);
  const frameBytes = fmt.width * fmt.height * fmt.channels;
  const out: SplitVideo[] = [];
  for (const file of files) {
    const parts: Uint8Array[] = [];
    for await (const f of decodeFrames(file, { ...fmt, fps: undefined }, { count: opts.maxFrames })) {
      const b = new Uint8Array(frameBytes);
      for (let i = 0; i < frameBytes; i++) b[i] = Math.round(f[i]! * 255); // exact: f = byte / 255
      parts.push(b);
    }
    const count = parts.length;
    const trainFrames = count - Math.round(count * heldOut);
    if (trainFrames < opts.minTrain || count - trainFrames < opts.minHeldOut)
      throw new InputError(
        `has ${count} frames: ${trainFrames} to train and ${count - trainFrames} held out, ` +
          `at least ${opts.minTrain} and ${opts.minHeldOut} are needed`,
        { file },
      );
    const bytes = new Uint8Array(count * frameBytes);
    parts.forEach((p, i) => bytes.set(p, i * frameBytes));
    out.push({ file, count, trainFrames, bytes, fmt });
  }
  return out;
}

/** Frames [start, start + n) of a video as floats in [0, 1] (a model's input). */
export function framesOf(v: SplitVideo, start: number, n: number): Float32Array {
  const size = v.fmt.width * v.fmt.height * v.fmt.channels;
  const src = v.bytes.subarray(start * size, (start + n) * size);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
  return out;
}
