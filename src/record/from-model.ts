/**
 * Record a trace from a model directory (written by `deltasim train` / saveModel), or from a
 * pretrained tfjs graph model with a delta threshold (graph-model.ts), over a video file or one clip
 * of a dataset: the library side of `deltasim trace record`. All input checks (model dir, video,
 * frame counts, shapes) run before anything is written.
 */
import { existsSync, statSync } from 'node:fs';
import { initBackend } from '../tf/backend.js';
import { loadModel } from '../tf/persist.js';
import { frameShapeOf } from '../tf/evaluate.js';
import { InputError } from '../../lib/errors.js';
import type { Encoding, Manifest } from '../../traces/manifest.js';
import { frameStreamOf, recordGraphModelTrace } from './graph-model.js';
import { recordTrace, type RecordResult } from './record.js';
import { openFrameSource } from './sources.js';
import type { RecorderKnobs } from './knobs.js';
import type { DriftOptions } from './drift/recording.js';

export interface RecordModelOptions {
  modelDir: string;
  /** Exactly one of video / data. */
  video?: string;
  data?: string;
  frames: number;
  out: string;
  /** Dataset clip index and split (data only). */
  clip?: number;
  split?: 'train' | 'test';
  /** Dataset seed (procedural). */
  seed?: number;
  /** Video: first frame; resample rate. Data: frame rate written to the manifest. */
  start?: number;
  fps?: number;
  /** Channels the user asked for (must equal the model's). */
  channels?: number;
  chunkFrames?: number;
  weightBits?: number;
  /** Layer file encoding (traces/README.md; default npy). */
  encoding?: Encoding;
  /** Messages for the user (resizes and the like). */
  onNote?: (note: string) => void;
  onProgress?: (framesDone: number, frames: number) => void;
  /** Key-frame period written to the manifest (model.keyFrameEvery; the simulator restarts deltas there). */
  keyFrameEvery?: number;
}

export async function recordModelTrace(o: RecordModelOptions): Promise<RecordResult> {
  if ((o.video === undefined) === (o.data === undefined)) throw new InputError('give exactly one of --video FILE and --data SPEC');
  if (!existsSync(o.modelDir) || !statSync(o.modelDir).isDirectory()) throw new InputError('no such model directory', { file: o.modelDir });
  await initBackend({ quiet: true });
  const { model, meta } = await loadModel(o.modelDir);
  try {
    const shape = model.inputs[0]!.shape;
    if (shape.length !== 5)
      throw new InputError(
        `input shape ${JSON.stringify(shape)}: a per-image model, not a clip model [N, T, H, W, C] (a pretrained Keras model is recorded with --keras)`,
        { file: o.modelDir },
      );
    const frameShape = frameShapeOf(model);
    const source = await openFrameSource(o, { video: frameShape, dataset: frameShape });
    const modelInfo = {
      name: meta ? `${meta.net}-${meta.variant}` : model.name,
      source: o.modelDir,
      ...(meta ? { net: meta.net, variant: meta.variant, classes: meta.classes } : {}),
      ...(o.keyFrameEvery !== undefined ? { keyFrameEvery: o.keyFrameEvery } : {}),
    };
    return await recordTrace(model, source, o.out, {
      modelInfo,
      chunkFrames: o.chunkFrames,
      weightBits: o.weightBits,
      encoding: o.encoding,
      onProgress: o.onProgress,
    });
  } finally {
    model.dispose();
  }
}

export interface RecordGraphOptions extends Omit<RecordModelOptions, 'modelDir' | 'chunkFrames' | 'onProgress'>, RecorderKnobs {
  /** A graph model.json path or `human:NAME`. */
  graph: string;
  /** Delta threshold: levels = round(a / threshold) (unless `thresholds` says otherwise). */
  threshold?: number;
  /** Dataset frame size (the graph resizes to its own input; default 64). */
  size?: number;
  /** [H, W] for a graph input of free height and width. */
  inputSize?: [number, number];
  /** Closed-loop recording with output drift (drift/recording.ts). */
  drift?: DriftOptions;
}

/** A graph model over a video (decoded at its own size, RGB unless --channels 1) or a dataset clip. */
export async function recordGraphTrace(o: RecordGraphOptions): Promise<Manifest> {
  if ((o.video === undefined) === (o.data === undefined)) throw new InputError('give exactly one of --video FILE and --data SPEC');
  const size = o.size ?? 64;
  const source = await openFrameSource(o, { dataset: [size, size, o.channels ?? 3] });
  return recordGraphModelTrace({
    model: o.graph,
    threshold: o.threshold,
    out: o.out,
    fps: source.fps,
    maxFrames: o.frames,
    weightBits: o.weightBits,
    thresholds: o.thresholds,
    keyFrameEvery: o.keyFrameEvery,
    updateMask: o.updateMask,
    encoding: o.encoding,
    inputSize: o.inputSize,
    drift: o.drift,
    frames: frameStreamOf(source),
  });
}
