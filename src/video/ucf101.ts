/**
 * The UCF101 folder layout as distributed: the videos (UCF101.rar → `UCF-101/<Class>/v_*.avi`) and
 * the recognition split lists (UCF101TrainTestSplits-RecognitionTask.zip → `ucfTrainTestlist/`):
 *   classInd.txt       "1 ApplyEyeMakeup"                       (1-based class indices)
 *   trainlist0S.txt    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
 *   testlist0S.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"   (label from the folder)
 * The lists and the class folders may sit directly in ROOT or in ROOT/ucfTrainTestlist and
 * ROOT/UCF-101. Folder and file names are matched case-insensitively when the exact name is
 * missing, because the official lists and archive disagree in case (HandstandPushups vs HandStand…).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { DEFAULT_CACHE_BYTES, DecodedVideoCache, slidingWindows, type FrameFormat } from './ffmpeg.js';
import type { Clip, ClipDataset } from './types.js';

export interface Ucf101Options extends FrameFormat {
  /** Frames per clip. */
  frames: number;
  /** Official split 1, 2 or 3 (default 1). */
  split?: number;
  /**
   * Clips per video (default 1): windows of the video's sliding-window layout (stride ⌈T/2⌉),
   * evenly spread; with 1 the middle window.
   */
  clipsPerVideo?: number;
  /** Budget for whole decoded videos kept in memory (default 256 MiB, about 300 UCF101 videos at 64×64 gray). */
  cacheBytes?: number;
}

interface Video {
  file: string;
  label: number;
}

export class Ucf101Dataset implements ClipDataset {
  readonly size: number;
  private readonly cache: DecodedVideoCache;

  constructor(
    readonly classes: readonly string[],
    private readonly videos: readonly Video[],
    private readonly opts: Readonly<Required<Omit<Ucf101Options, 'fps' | 'split'>> & Pick<Ucf101Options, 'fps'>>,
  ) {
    this.size = videos.length * opts.clipsPerVideo;
    this.cache = new DecodedVideoCache({ width: opts.width, height: opts.height, channels: opts.channels, fps: opts.fps }, opts.cacheBytes);
  }

  async get(index: number): Promise<Clip> {
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`clip index ${index} out of range [0, ${this.size})`);
    const { clipsPerVideo: k, frames: t, width, height, channels } = this.opts;
    const video = this.videos[Math.floor(index / k)]!;
    const { frames, count } = await this.cache.read(video.file);
    const starts = slidingWindows(count, t);
    if (starts.length === 0) throw new InputError(`has ${count} frames, fewer than the ${t} of one clip`, { file: video.file });
    const j = index % k;
    const start = starts[k === 1 ? Math.floor((starts.length - 1) / 2) : Math.round((j * (starts.length - 1)) / (k - 1))]!;
    const frameSize = width * height * channels;
    return {
      frames: frames.slice(start * frameSize, (start + t) * frameSize),
      t,
      h: height,
      w: width,
      c: channels,
      label: video.label,
      source: `file:${video.file}@${start}`,
      firstFrame: start,
    };
  }
}

/** Opens the train and test lists of one official split. Checks that every listed video exists. */
export async function openUcf101(root: string, opts: Ucf101Options): Promise<{ train: Ucf101Dataset; test: Ucf101Dataset }> {
  const split = opts.split ?? 1;
  const clipsPerVideo = opts.clipsPerVideo ?? 1;
  if (![1, 2, 3].includes(split)) throw new InputError(`UCF101 split must be 1, 2 or 3, got ${split}`);
  if (!Number.isInteger(clipsPerVideo) || clipsPerVideo < 1)
    throw new InputError(`clipsPerVideo must be a positive integer, got ${clipsPerVideo}`);
  if (!Number.isInteger(opts.frames) || opts.frames < 1)
    throw new InputError(`frames per clip must be a positive integer, got ${opts.frames}`);
  root = resolve(root);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new InputError('UCF101 root is not a directory', { file: root });
  const listDir = [join(root, 'ucfTrainTestlist'), root].find((d) => existsSync(join(d, 'classInd.txt')));
  if (listDir === undefined) {
    throw new InputError(`UCF101 class index not found (also looked for ${join(root, 'ucfTrainTestlist', 'classInd.txt')})`, {
      file: join(root, 'classInd.txt'),
    });
  }
  const videoDir = existsSync(join(root, 'UCF-101')) ? join(root, 'UCF-101') : root;
  const classes = parseClassInd(join(listDir, 'classInd.txt'));
  const finder = new CaseInsensitiveFinder(videoDir);
  const cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const settings = {
    frames: opts.frames,
    width: opts.width,
    height: opts.height,
    channels: opts.channels,
    fps: opts.fps,
    clipsPerVideo,
    cacheBytes,
  };
  const open = (kind: 'train' | 'test') => {
    const list = join(listDir, `${kind}list0${split}.txt`);
    return new Ucf101Dataset(classes, parseVideoList(list, classes, kind === 'train', finder), settings);
  };
  return { train: open('train'), test: open('test') };
}

function readLines(file: string): string[] {
  if (!existsSync(file)) throw new InputError('UCF101 index file not found', { file });
  return readFileSync(file, 'utf8').split(/\r?\n/);
}

function parseClassInd(file: string): string[] {
  const classes: string[] = [];
  readLines(file).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(\d+)\s+(\S+)$/.exec(line);
    if (!m) throw new InputError(`expected "<index> <ClassName>", got "${line}"`, { file, line: i + 1 });
    if (Number(m[1]) !== classes.length + 1)
      throw new InputError(`class indices must run 1, 2, 3, …; expected ${classes.length + 1}, got ${m[1]}`, { file, line: i + 1 });
    classes.push(m[2]!);
  });
  if (classes.length === 0) throw new InputError('no classes listed', { file });
  return classes;
}

function parseVideoList(file: string, classes: readonly string[], labelled: boolean, finder: CaseInsensitiveFinder): Video[] {
  const lower = classes.map((c) => c.toLowerCase());
  const videos: Video[] = [];
  const missing: { path: string; line: number }[] = [];
  readLines(file).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = { file, line: i + 1 };
    const m = /^(\S+?)(?:\s+(\d+))?$/.exec(line);
    if (!m || (labelled && m[2] === undefined))
      throw new InputError(`expected "<Class>/<video>.avi${labelled ? ' <index>' : ''}", got "${line}"`, where);
    const rel = m[1]!;
    const folder = rel.split('/')[0]!;
    const label = lower.indexOf(folder.toLowerCase());
    if (label < 0 || !rel.includes('/')) throw new InputError(`video "${rel}" is not under a class folder listed in classInd.txt`, where);
    if (m[2] !== undefined && Number(m[2]) !== label + 1)
      throw new InputError(`class index ${m[2]} disagrees with folder "${folder}" (class ${label + 1} in classInd.txt)`, where);
    const path = finder.find(rel);
    if (path === undefined) missing.push({ path: join(finder.root, rel), line: i + 1 });
    else videos.push({ file: path, label });
  });
  if (missing.length > 0) {
    const first = missing[0]!;
    throw new InputError(`video ${first.path} not found (${missing.length} of ${missing.length + videos.length} listed videos missing)`, {
      file,
      line: first.line,
    });
  }
  if (videos.length === 0) throw new InputError('no videos listed', { file });
  return videos;
}

/** Resolves "Class/file.avi" under root, exactly or, failing that, ignoring case (directory listings cached). */
class CaseInsensitiveFinder {
  private listings = new Map<string, Map<string, string> | null>();
  constructor(readonly root: string) {}

  find(rel: string): string | undefined {
    const exact = join(this.root, rel);
    if (existsSync(exact)) return exact;
    let dir = this.root;
    for (const part of rel.split('/')) {
      const name = this.list(dir)?.get(part.toLowerCase());
      if (name === undefined) return undefined;
      dir = join(dir, name);
    }
    return dir;
  }

  private list(dir: string): Map<string, string> | null {
    if (!this.listings.has(dir)) {
      let names: string[] | null = null;
      try {
        names = readdirSync(dir);
      } catch {
        names = null;
      }
      this.listings.set(dir, names && new Map(names.map((n) => [n.toLowerCase(), n])));
    }
    return this.listings.get(dir)!;
  }
}
