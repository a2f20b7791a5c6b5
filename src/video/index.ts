/**
 * Video sources behind one string, the `--data` argument of `deltasim train` / `trace`.
 *
 * Spec grammar:
 *   spec       := procedural | files | ucf101 | PATH
 *   procedural := "procedural" [ ":" kv { "," kv } ]
 *                 keys: classes=NAME+NAME… (left right up down cw ccw grow shrink wave; default all),
 *                       shapes=NAME+NAME… (disc square triangle bar), objects=N, train=N, test=N (clips per split),
 *                       radius=R, speed=R (px/frame), angular=R (rad/frame), scale=R (per frame),
 *                       period=R (wave, frames), background=X (texture contrast), noise=σ, flicker=f,
 *                       antialias=0|1           where R is "LO-HI" or a single number
 *   files      := "file:" PATH { "," PATH }   video files, sliding-window clips (stride ⌈T/2⌉), unlabelled
 *   ucf101     := "ucf101:" ROOT [ ":" kv { "," kv } ]    keys: split=1|2|3, clips=N (clips per video)
 *   PATH       := a video file path that does not start with a scheme above
 * Frames per clip, frame size, channels, fps and seed come from `OpenOptions` (the CLI flags), not the spec.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../../lib/errors.js';
import { VideoFileDataset } from './ffmpeg.js';
import {
  MOTION_CLASSES,
  SHAPES,
  proceduralSplits,
  type MotionClass,
  type ProceduralOptions,
  type Range,
  type Shape,
} from './procedural.js';
import { openUcf101 } from './ucf101.js';
import type { ClipDataset } from './types.js';

export type { Clip, ClipDataset } from './types.js';
export { MOTION_CLASSES, SHAPES, ProceduralDataset, proceduralSplits } from './procedural.js';
export type { MotionClass, ProceduralOptions, Range, Shape } from './procedural.js';
export {
  DEFAULT_CACHE_BYTES,
  DecodedVideoCache,
  FFMPEG_PATH,
  VideoFileDataset,
  decodeFrames,
  nativeFps,
  probeVideo,
  readFrames,
  slidingWindows,
} from './ffmpeg.js';
export type { FrameFormat, FrameRange, VideoFilesOptions, VideoInfo } from './ffmpeg.js';
export { Ucf101Dataset, openUcf101 } from './ucf101.js';
export type { Ucf101Options } from './ucf101.js';

export interface OpenOptions {
  /** Frames per clip (default 8). */
  frames?: number;
  /** Frame size in pixels (default 64 × 64). */
  width?: number;
  height?: number;
  /** 1 = gray, 3 = RGB (default 1). */
  channels?: 1 | 3;
  /** Seed of the procedural dataset (default 0). */
  seed?: number;
  /** Resample video files to this frame rate (default: every decoded frame once). */
  fps?: number;
}

export interface OpenedDataset {
  kind: 'procedural' | 'file' | 'ucf101';
  /** All clips for `file` specs. */
  train: ClipDataset;
  /** Absent for `file` specs, which have no split. */
  test?: ClipDataset;
}

export async function openDataset(spec: string, opts: OpenOptions = {}): Promise<OpenedDataset> {
  const frames = opts.frames ?? 8;
  const fmt = { width: opts.width ?? 64, height: opts.height ?? 64, channels: opts.channels ?? 1, fps: opts.fps } as const;
  if (spec === 'procedural' || spec.startsWith('procedural:')) {
    const keys = parseKeyValues(spec.slice('procedural:'.length), spec);
    const { train, test } = proceduralSplits({
      ...proceduralKeys(keys, spec),
      frames,
      width: fmt.width,
      height: fmt.height,
      channels: fmt.channels,
      seed: opts.seed ?? 0,
    });
    return { kind: 'procedural', train, test };
  }
  if (spec.startsWith('ucf101:')) {
    const m = /^ucf101:(.*?)(?::([a-z]+=[^,:]*(?:,[a-z]+=[^,:]*)*))?$/.exec(spec)!;
    const keys = parseKeyValues(m[2] ?? '', spec);
    const split = takeNumber(keys, 'split', spec);
    const clipsPerVideo = takeNumber(keys, 'clips', spec);
    rejectUnknown(keys, ['split', 'clips'], spec);
    const { train, test } = await openUcf101(m[1]!, { ...fmt, frames, split, clipsPerVideo });
    return { kind: 'ucf101', train, test };
  }
  const files = spec.startsWith('file:') ? spec.slice('file:'.length).split(',') : [spec];
  if (!spec.startsWith('file:') && /^[a-z0-9]+:/i.test(spec) && !existsSync(spec))
    throw new InputError(
      `unknown dataset "${spec}": expected procedural[:k=v,…], file:PATH[,PATH…], ucf101:ROOT[:k=v,…] or a video file path`,
    );
  return { kind: 'file', train: await VideoFileDataset.open(files, { ...fmt, frames }) };
}

function parseKeyValues(text: string, spec: string): Map<string, string> {
  const keys = new Map<string, string>();
  if (text === '') return keys;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InputError(`dataset spec "${spec}": expected key=value, got "${part}"`);
    const key = part.slice(0, eq);
    if (keys.has(key)) throw new InputError(`dataset spec "${spec}": key "${key}" given twice`);
    keys.set(key, part.slice(eq + 1));
  }
  return keys;
}

function takeNumber(keys: Map<string, string>, key: string, spec: string): number | undefined {
  const text = keys.get(key);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new InputError(`dataset spec "${spec}": ${key} must be a number, got "${text}"`);
  return v;
}

function takeRange(keys: Map<string, string>, key: string, spec: string): Range | undefined {
  const text = keys.get(key);
  if (text === undefined) return undefined;
  const m = /^([\d.eE+]+)(?:-([\d.eE+]+))?$/.exec(text);
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || !Number.isFinite(lo) || !Number.isFinite(hi))
    throw new InputError(`dataset spec "${spec}": ${key} must be LO-HI or a number, got "${text}"`);
  return [lo, hi];
}

function takeList<T extends string>(keys: Map<string, string>, key: string, known: readonly T[], spec: string): T[] | undefined {
  const text = keys.get(key);
  if (text === undefined) return undefined;
  const names = text.split('+');
  for (const n of names)
    if (!known.includes(n as T)) throw new InputError(`dataset spec "${spec}": unknown ${key} value "${n}" (known: ${known.join(', ')})`);
  return names as T[];
}

function rejectUnknown(keys: Map<string, string>, known: readonly string[], spec: string): void {
  for (const k of keys.keys())
    if (!known.includes(k)) throw new InputError(`dataset spec "${spec}": unknown key "${k}" (known: ${known.join(', ')})`);
}

function proceduralKeys(keys: Map<string, string>, spec: string): ProceduralOptions {
  const antialias = takeNumber(keys, 'antialias', spec);
  const out: ProceduralOptions = {
    classes: takeList<MotionClass>(keys, 'classes', MOTION_CLASSES, spec),
    shapes: takeList<Shape>(keys, 'shapes', SHAPES, spec),
    objects: takeNumber(keys, 'objects', spec),
    trainClips: takeNumber(keys, 'train', spec),
    testClips: takeNumber(keys, 'test', spec),
    radius: takeRange(keys, 'radius', spec),
    speed: takeRange(keys, 'speed', spec),
    angularSpeed: takeRange(keys, 'angular', spec),
    scaleRate: takeRange(keys, 'scale', spec),
    wavePeriod: takeRange(keys, 'period', spec),
    backgroundContrast: takeNumber(keys, 'background', spec),
    noise: takeNumber(keys, 'noise', spec),
    flicker: takeNumber(keys, 'flicker', spec),
    antialias: antialias === undefined ? undefined : antialias !== 0,
  };
  rejectUnknown(
    keys,
    [
      'classes',
      'shapes',
      'objects',
      'train',
      'test',
      'radius',
      'speed',
      'angular',
      'scale',
      'period',
      'background',
      'noise',
      'flicker',
      'antialias',
    ],
    spec,
  );
  return out; // undefined entries take the defaults
}
