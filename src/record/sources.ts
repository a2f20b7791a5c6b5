/**
 * Where the frames of a recording come from: one video file (streamed through ffmpeg, never held
 * whole) or one clip of a dataset spec (`procedural:…`, `file:…`, `ucf101:…`, see src/video).
 * Frames are decoded at the model's frame size; a video of another size is resized (and the
 * source says so in `notes`), a different channel count asked for explicitly is an error.
 * Every check happens here, before anything is written.
 */
import { InputError } from '../../lib/errors.js';
import { decodeFrames, nativeFps, openDataset, probeVideo } from '../video/index.js';

export type FrameShape = readonly [number, number, number];

export interface FrameSource {
  /** [H, W, C] of every frame (pixels in [0, 1], layout [y][x][c]). */
  frameShape: FrameShape;
  frames: number;
  fps: number;
  /**
   * The manifest's `clip`. A video adds nativeFps (the file's own rate, ffmpeg.ts nativeFps) and
   * duplicatedFrames: recorded frames identical to the one before them, counted while read() runs
   * (copies the --fps resampling made, or that the file holds); read it after the frames.
   */
  clip: { source: string; firstFrame: number; nativeFps?: number; duplicatedFrames?: number };
  /** What was adapted to fit the model (e.g. a resize), for the user. */
  notes: string[];
  /** Yields exactly `frames` frames; consume with for-await (breaking out stops the decoder). */
  read(): AsyncIterable<Float32Array>;
}

export interface SourceOptions {
  /** The model's frame shape. */
  frameShape: FrameShape;
  frames: number;
  /** Channels the user asked for; must equal the model's when given. */
  channels?: number;
}

function checkCommon(o: SourceOptions): void {
  if (!(Number.isInteger(o.frames) && o.frames >= 1)) throw new InputError(`--frames must be an integer >= 1, got ${o.frames}`);
  const c = o.frameShape[2];
  if (c !== 1 && c !== 3) throw new InputError(`the model takes ${c}-channel frames; video sources give 1 (gray) or 3 (RGB)`);
  if (o.channels !== undefined && o.channels !== c) {
    throw new InputError(`the clip has ${o.channels} channel(s), the model takes ${c} (frames ${o.frameShape.join('×')})`);
  }
}

export interface VideoSourceOptions extends Omit<SourceOptions, 'frameShape'> {
  /** Decode at this [H, W, C] (resizing); default the video's own size, `channels` (default 3) channels. */
  frameShape?: FrameShape;
  /** First frame to record (after fps resampling). */
  start?: number;
  /** Resample to this frame rate (default: the file's own). */
  fps?: number;
}

/** Frames `start … start+frames−1` of a video file. */
export async function videoSource(file: string, o: VideoSourceOptions): Promise<FrameSource> {
  if (o.frameShape) checkCommon({ ...o, frameShape: o.frameShape });
  const start = o.start ?? 0;
  if (!(Number.isInteger(start) && start >= 0)) throw new InputError(`--start must be an integer >= 0, got ${start}`);
  const native = await probeVideo(file);
  const info = o.fps === undefined ? native : await probeVideo(file, { fps: o.fps });
  if (start + o.frames > info.frames) {
    throw new InputError(`has ${info.frames} frames; frames ${start}..${start + o.frames - 1} were asked for`, { file });
  }
  const frameShape = o.frameShape ?? [info.height, info.width, o.channels ?? 3];
  if (!o.frameShape) checkCommon({ ...o, frameShape });
  const [h, w, c] = frameShape;
  const notes =
    info.width !== w || info.height !== h ? [`resizing ${info.width}×${info.height} video frames to the model's ${w}×${h}`] : [];
  const ownFps = nativeFps(native);
  const fps = o.fps ?? (ownFps > 0 ? ownFps : 25);
  const fmt = { width: w, height: h, channels: c as 1 | 3, ...(o.fps === undefined ? {} : { fps: o.fps }) };
  const clip = { source: `file:${file}`, firstFrame: start, ...(ownFps > 0 ? { nativeFps: round4(ownFps) } : {}), duplicatedFrames: 0 };
  return {
    frameShape,
    frames: o.frames,
    fps,
    notes,
    clip,
    read: () => countingCopies(decodeFrames(file, fmt, { start, count: o.frames }), clip),
  };
}

const round4 = (x: number) => Number(x.toPrecision(4));

/** Passes frames on, counting in clip.duplicatedFrames those equal to the frame before (one kept copy, no allocation per frame). */
async function* countingCopies(frames: AsyncIterable<Float32Array>, clip: { duplicatedFrames: number }): AsyncGenerator<Float32Array> {
  let prev: Float32Array | null = null;
  clip.duplicatedFrames = 0;
  for await (const f of frames) {
    if (prev && prev.length === f.length && sameValues(prev, f)) clip.duplicatedFrames++;
    prev ??= new Float32Array(f.length);
    prev.set(f);
    yield f;
  }
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface DatasetSourceOptions extends SourceOptions {
  /** Clip index in the split (default 0). */
  clip?: number;
  /** Split to take the clip from (default test where the dataset has one, else train). */
  split?: 'train' | 'test';
  seed?: number;
  /** Frame rate written to the manifest (datasets have none of their own; default 15). */
  fps?: number;
}

/** One clip of `frames` frames from a dataset spec, rendered / decoded at the model's frame size. */
export async function datasetSource(spec: string, o: DatasetSourceOptions): Promise<FrameSource> {
  checkCommon(o);
  const [h, w, c] = o.frameShape;
  const ds = await openDataset(spec, { frames: o.frames, width: w, height: h, channels: c as 1 | 3, seed: o.seed ?? 0 });
  const split = o.split ?? (ds.test ? 'test' : 'train');
  const data = split === 'test' ? ds.test : ds.train;
  if (!data) throw new InputError(`dataset "${spec}" has no ${split} split`);
  const index = o.clip ?? 0;
  if (!(Number.isInteger(index) && index >= 0 && index < data.size)) {
    throw new InputError(`--clip ${index}: the ${split} split of "${spec}" has clips 0..${data.size - 1}`);
  }
  const clip = await data.get(index);
  if (clip.t < o.frames) throw new InputError(`clip ${clip.source} has ${clip.t} frames, ${o.frames} were asked for`);
  const size = h * w * c;
  return {
    frameShape: o.frameShape,
    frames: o.frames,
    fps: o.fps ?? 15,
    notes: [],
    clip: { source: clip.source, firstFrame: clip.firstFrame },
    async *read() {
      for (let t = 0; t < o.frames; t++) yield clip.frames.subarray(t * size, (t + 1) * size);
    },
  };
}

/** What a recording asks of its frames (the trace commands' options): a video file or a dataset spec. */
export interface FramesFrom {
  video?: string;
  data?: string;
  frames: number;
  channels?: number;
  start?: number;
  fps?: number;
  clip?: number;
  split?: 'train' | 'test';
  seed?: number;
  onNote?: (note: string) => void;
}

/**
 * The video (o.video) or dataset clip (o.data) of a recording, the caller having checked that exactly
 * one is given: a video decoded at `shapes.video` (absent: its own size, `shapes.videoChannels` or
 * --channels), a dataset clip rendered at `shapes.dataset`. What was adapted goes to onNote.
 */
export async function openFrameSource(
  o: FramesFrom,
  shapes: { video?: FrameShape; videoChannels?: number; dataset: FrameShape },
): Promise<FrameSource> {
  const common = { frames: o.frames, fps: o.fps };
  const source =
    o.video !== undefined
      ? await videoSource(o.video, {
          ...common,
          frameShape: shapes.video,
          channels: shapes.video ? o.channels : (shapes.videoChannels ?? o.channels),
          start: o.start,
        })
      : await datasetSource(o.data!, {
          ...common,
          frameShape: shapes.dataset,
          channels: o.channels,
          clip: o.clip,
          split: o.split,
          seed: o.seed,
        });
  for (const n of source.notes) o.onNote?.(n);
  return source;
}
