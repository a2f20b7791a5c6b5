/**
 * Evaluation of a trained model on a ClipDataset: clip accuracy and, for every quantised activation
 * layer, spatial sparsity (zero levels), temporal sparsity (zero deltas between consecutive frames;
 * frame 0 has no predecessor and is left out, as in the paper) and the fan-out-weighted operation
 * sparsity that delta inference would see (1 − Σ non-zero deltas·fan-out / Σ deltas·fan-out).
 *
 * The frames count too, whatever the variant: a delta model measures them with its input Delta
 * Activation Layer; a model without one (baseline, L1) gets an `input` entry tallied from the frames
 * themselves (non-zero pixels, changed pixels), weighted by the fan-out of the MAC layers reading them.
 * Without it the baseline's first conv would cost nothing while the delta model's would be counted.
 */
import { tf } from './backend.js';
import { InputError } from '../../lib/errors.js';
import type { Clip, ClipDataset } from '../video/types.js';
import { activityCounts } from './layers/index.js';
import { activationLayers, unmeasuredInputFanOut } from './models.js';

export interface LayerSparsity {
  name: string;
  /** Fan-out used to weight operations. */
  nOutputs: number;
  /** Activations per frame. */
  neurons: number;
  spatialSparsity: number;
  temporalSparsity: number;
}

export interface Evaluation {
  clips: number;
  frames: number;
  /** Over labelled clips; NaN when none is labelled. */
  accuracy: number;
  layers: LayerSparsity[];
  /** All layers together, weighted by activation count. */
  spatialSparsity: number;
  temporalSparsity: number;
  /** Fan-out weighted: operations skipped by delta inference (temporal) and by zero skipping (spatial). */
  operationSparsity: number;
  spatialOperationSparsity: number;
}

export interface EvaluateOptions {
  /** Frames per clip (from frame 0); default: each clip's full length (all clips must then be equally long). */
  clipLength?: number;
  batchSize?: number;
  /** Evaluate only the first N clips. */
  maxClips?: number;
  /** Called with each batch's model output (disposed once it returns) and its clips: e.g. to compare it with a teacher's. */
  onOutput?: (p: tf.Tensor, clips: Clip[]) => void | Promise<void>;
}

/** Clips cut to a window and stacked into one (batch, time, H, W, C) tensor, checked against the model's frame shape. */
export interface ClipBatch {
  x: tf.Tensor5D;
  labels: number[];
  frames: number;
}

/** `clips` cut to `length` frames starting at `offsets[i]` (default 0), stacked into one batch tensor. */
export function clipBatch(clips: Clip[], frameShape: readonly [number, number, number], length: number, offsets?: number[]): ClipBatch {
  const [h, w, c] = frameShape;
  const frameSize = h * w * c;
  const data = new Float32Array(clips.length * length * frameSize);
  clips.forEach((clip, i) => {
    if (clip.h !== h || clip.w !== w || clip.c !== c) {
      throw new InputError(`clip ${clip.source} has frames ${clip.h}×${clip.w}×${clip.c}, the model takes ${h}×${w}×${c}`);
    }
    if (clip.t < length) throw new InputError(`clip ${clip.source} has ${clip.t} frames, ${length} are needed`);
    const start = (offsets?.[i] ?? 0) * frameSize;
    data.set(clip.frames.subarray(start, start + length * frameSize), i * length * frameSize);
  });
  return { x: tf.tensor5d(data, [clips.length, length, h, w, c]), labels: clips.map((c) => c.label), frames: clips.length * length };
}

/** What ActivityTally needs of a tallied tensor: an activation layer, or the model's unmeasured input. */
export interface TalliedTensor {
  readonly name: string;
  /** Fan-out weighting its operations. */
  readonly nOutputs: number;
  /** (batch, time, …) */
  readonly outputShape: tf.Shape | tf.Shape[];
}

/** Name of the evaluation's entry for the frames of a model whose input no activation layer measures. */
export const UNMEASURED_INPUT = 'input';

/** Running sums of [non-zero levels, levels, non-zero deltas, deltas] per activation layer. */
export class ActivityTally {
  readonly sums: Float64Array[];
  constructor(readonly layers: readonly TalliedTensor[]) {
    this.sums = layers.map(() => new Float64Array(4));
  }

  add(counts: ArrayLike<number>[]): void {
    counts.forEach((c, i) => {
      for (let k = 0; k < 4; k++) this.sums[i]![k]! += c[k]!;
    });
  }

  summary(): Pick<Evaluation, 'layers' | 'spatialSparsity' | 'temporalSparsity' | 'operationSparsity' | 'spatialOperationSparsity'> {
    const ratio = (a: number, b: number) => (b > 0 ? 1 - a / b : NaN);
    let nz = 0,
      n = 0,
      nzd = 0,
      nd = 0,
      opsNz = 0,
      ops = 0,
      opsNzd = 0,
      opsD = 0;
    const layers = this.layers.map((l, i) => {
      const [a, b, c, d] = this.sums[i]!;
      const f = l.nOutputs;
      nz += a!;
      n += b!;
      nzd += c!;
      nd += d!;
      opsNz += a! * f;
      ops += b! * f;
      opsNzd += c! * f;
      opsD += d! * f;
      const shape = l.outputShape as number[];
      return {
        name: l.name,
        nOutputs: f,
        neurons: shape.slice(2).reduce((x, y) => x * y, 1),
        spatialSparsity: ratio(a!, b!),
        temporalSparsity: ratio(c!, d!),
      };
    });
    return {
      layers,
      spatialSparsity: ratio(nz, n),
      temporalSparsity: ratio(nzd, nd),
      operationSparsity: ratio(opsNzd, opsD),
      spatialOperationSparsity: ratio(opsNz, ops),
    };
  }
}

/** The operation sparsity the paper reports for a variant: temporal for delta, spatial for baseline and L1. */
export const paperOperationSparsity = (variant: string, e: Pick<Evaluation, 'operationSparsity' | 'spatialOperationSparsity'>): number =>
  variant === 'delta' ? e.operationSparsity : e.spatialOperationSparsity;

/** Frame shape [H, W, C] a model built by models.ts takes. */
export function frameShapeOf(model: tf.LayersModel): [number, number, number] {
  const s = model.inputs[0]!.shape;
  return [s[2]!, s[3]!, s[4]!];
}

export async function evaluate(model: tf.LayersModel, data: ClipDataset, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const layers = activationLayers(model);
  // The layers' inputs, so that Y is recomputed with `activate` whatever the layer emits (Y or deltas).
  const probe = tf.model({ inputs: model.inputs, outputs: [model.outputs[0]!, ...layers.map((l) => l.input as tf.SymbolicTensor)] });
  const inputFanOut = unmeasuredInputFanOut(model);
  const unmeasured: TalliedTensor[] =
    inputFanOut > 0 ? [{ name: UNMEASURED_INPUT, nOutputs: inputFanOut, outputShape: model.inputs[0]!.shape }] : [];
  const tally = new ActivityTally([...unmeasured, ...layers]);
  const frameShape = frameShapeOf(model);
  const total = Math.min(data.size, opts.maxClips ?? Infinity);
  const batchSize = opts.batchSize ?? 8;
  let correct = 0,
    labelled = 0,
    frames = 0;
  for (let start = 0; start < total; start += batchSize) {
    const clips = await Promise.all([...Array(Math.min(batchSize, total - start)).keys()].map((k) => data.get(start + k)));
    const length = opts.clipLength ?? clips[0]!.t;
    const batch = clipBatch(clips, frameShape, length);
    const [out, pred, counts] = tf.tidy(() => {
      const [p, ...inputs] = probe.predict(batch.x) as tf.Tensor[];
      const counts = inputs.map((x, i) => activityCounts(layers[i]!.activate(x)));
      if (unmeasured.length > 0) counts.unshift(activityCounts(batch.x));
      return [p!, tf.argMax(p!, -1), tf.stack(counts)];
    });
    const predicted = await pred.data();
    const c = (await counts.array()) as number[][];
    try {
      await opts.onOutput?.(out, clips);
    } finally {
      tf.dispose([out, pred, counts, batch.x]);
    }
    tally.add(c);
    batch.labels.forEach((label, i) => {
      if (label < 0) return;
      labelled++;
      if (predicted[i] === label) correct++;
    });
    frames += batch.frames;
  }
  return { clips: total, frames, accuracy: labelled > 0 ? correct / labelled : NaN, ...tally.summary() };
}
