/**
 * Trace recording from a trained layers model (built by src/tf/models.ts, a pretrained Keras network
 * delta-ised by src/tf/deltaise-graph.ts — any DAG: branches, adds, concatenations — or any graph of
 * FrameWise conv / depthwise / dense layers behind quantised activation layers): run the model over
 * a clip in chunks of frames and write every MAC layer's INPUT, frame by frame, as trace format v2
 * with the model's graph (layers-graph.ts; traces/README.md).
 *
 * What each layer's levels are:
 *  - behind a quantised activation with step q: level = round(a / q), scale = q (per channel when the
 *    thresholds are per channel); layers in between that keep levels integer adjust the scale
 *    (a global average pool over H·W divides it by H·W — its levels are the sum of its input's levels,
 *    summed exactly rather than read off the float32 mean, as is an average pool with one window over its whole
 *    input; MotionInput repeats it for its 2·C channels; zero padding, cropping, max-pools, dropout keep it;
 *    a flatten / reshape repeats a per-channel scale along the new last axis; a concatenation of levels
 *    concatenates its inputs' per-channel scales, so a MAC layer behind several measuring layers reads levels);
 *  - the model input: the video pixels quantised to 8 bits, level = round(255·x), scale = 1/255. The
 *    model is fed those quantised pixels, so what is recorded is what it computes;
 *  - anything else (per-neuron thresholds, unknown layers in between, an add, an average pool of several
 *    windows — 'same' padding divides its edge windows by fewer cells, so no one scale holds): float32 values
 *    with scale 1 (`simulate` then takes a delta --threshold).
 * Levels are checked to be integers (|a/scale − level| small) — a trace that disagrees with the model
 * is a bug, not a rounding choice. The dtype is the smallest of uint8 / int8 / int16 that holds the
 * recorded range (float32 beyond), so levels are first spooled to a temp file: memory does not grow
 * with the number of frames.
 *
 * Chunks overlap by one frame (its outputs are dropped), so layers that look one frame back
 * (MotionInput's temporal difference) see the same predecessor as in a whole-clip run. Delta layers
 * that integrate over time (sigma) or emit deltas instead of levels are refused.
 */
import { join } from 'node:path';
import { tf } from '../tf/backend.js';
import { DeltaActivation, FrameWise, QuantisedActivation } from '../tf/layers/index.js';
import { macLayers, type MacLayer } from '../tf/models.js';
import { InputError } from '../../lib/errors.js';
import { writeTrace, type LayerDraft } from '../../traces/writer.js';
import { levelDtype } from '../../traces/npy.js';
import type { Encoding, Manifest } from '../../traces/manifest.js';
import type { FrameSource } from './sources.js';
import { bytesOf, FrameSpool } from './spool.js';
import { makeTempDir } from './temp-dir.js';
import { layersGraphOf } from './layers-graph.js';

/** Pixels are recorded (and fed to the model) as 8-bit levels. */
export const PIXEL_LEVELS = 255;

export interface RecordOptions {
  /** Manifest `model`: name (required), source and any provenance keys. */
  modelInfo: Manifest['model'];
  /** Frames per model call (default 64). */
  chunkFrames?: number;
  /** Weight precision the accelerator is assumed to store (the tfjs weights are float32; default 8). */
  weightBits?: number;
  /** Layer file encoding (traces/README.md; default npy). */
  encoding?: Encoding;
  onProgress?: (framesDone: number, frames: number) => void;
}

export interface RecordResult {
  manifest: Manifest;
  /** Per layer: the recorded level range and largest |a/scale − level| (0 for float32 values). */
  layers: Array<{ name: string; min: number; max: number; maxDeviation: number }>;
  seconds: number;
}

/** How one MAC layer's input is turned into levels. */
interface LayerPlan {
  mac: MacLayer;
  /** Index among the probe model's outputs. */
  output: number;
  /** Per-channel (length C) or single scale; null = record float32 values (scale 1). */
  scale: number[] | null;
  /** >1: `output` is a global average pool's input, levelled at `scale`·cells and summed over its cells. */
  cells: number;
  weightDensity: number;
}

/**
 * Largest accepted |a/scale − round(a/scale)|: float32 rounding only, far below half a level. A float32
 * value is exact to ~2^-24 of itself, so a large level |k| may be off by a further |k|·2^-22 (the value, then the division).
 */
const MAX_DEVIATION = 1e-2;
const FLOAT32_RELATIVE = 2 ** -22;

const inputsOf = (layer: tf.layers.Layer): tf.SymbolicTensor[] => (Array.isArray(layer.input) ? layer.input : [layer.input]);
const producer = (layer: tf.layers.Layer): tf.layers.Layer => inputsOf(layer)[0]!.sourceLayer as tf.layers.Layer;
/** A tensor's per-frame shape (without the batch and time axes). */
const frameDims = (t: tf.SymbolicTensor): number[] => (t.shape as number[]).slice(2);

/** The quantiser step as one number or one per channel; null for per-neuron steps. */
function stepOf(layer: QuantisedActivation): number[] | null {
  const q = layer.quantiserStep();
  const values = Array.from(q.dataSync());
  const rank = q.rank;
  q.dispose();
  return rank <= 1 ? values : null;
}

function refuseTemporalLayers(model: tf.LayersModel): void {
  for (const l of model.layers) {
    if (l instanceof DeltaActivation && (l.sigma || l.deltaLevel !== 0)) {
      throw new InputError(
        `layer ${l.name} ${l.sigma ? 'integrates its input over time (sigma)' : `emits deltas (deltaLevel ${l.deltaLevel})`}; ` +
          'record from the same model with deltaLevel 0 and sigma off (the trace holds levels; the simulator takes the deltas)',
      );
    }
  }
}

/** A tensor's levels: their scale (one, or one per channel; null = not levels) and, behind a global pool, where to read them. */
interface Levels {
  scale: number[] | null;
  pooled: { probe: string; cells: number } | null;
}
const NOT_LEVELS: Levels = { scale: null, pooled: null };

/**
 * The levels of `layer`'s output, following the layers between it and its quantisers (or the model input).
 * A global average pool's mean of H·W levels is on a grid H·W times finer, but in float32 it is only as exact
 * as the mean's magnitude allows (a mean of 16 levels of 40 000 is off the finer grid by ~0.06 of its step):
 * so the pool's input is read and levelled instead, and its levels summed over the H·W cells (exact integers)
 * — the same values, at scale step / (H·W). An average pool whose one window is its whole input (MobileNetV2's
 * 7×7 'valid' pool) is such a pool. On a graph (a delta-ised Keras model): a concatenation's levels are its
 * inputs' (per-channel scales concatenated); any other merge (add, …) is not levels, nor is an average pool
 * with several windows ('same' padding divides the edge windows by fewer cells: no one scale holds).
 */
function levelsAt(layer: tf.layers.Layer): Levels {
  if (layer instanceof QuantisedActivation) return { scale: stepOf(layer), pooled: null };
  if (layer.getClassName() === 'InputLayer') return { scale: [1 / PIXEL_LEVELS], pooled: null };
  const inner = layer instanceof FrameWise ? layer.layer : layer;
  const ins = inputsOf(layer);
  if (inner.getClassName() === 'Concatenate') return concatenated(layer, ins);
  if (ins.length !== 1) return NOT_LEVELS;
  const up = levelsAt(producer(layer));
  const { scale } = up;
  let { pooled } = up;
  if (scale === null) return NOT_LEVELS;
  switch (inner.getClassName()) {
    case 'MotionInput': // [x, x_t − x_{t−1}]: differences of levels are levels
      return { scale: scale.length === 1 ? scale : [...scale, ...scale], pooled: null };
    case 'AveragePooling2D': // one window over the whole input is a global pool
    case 'GlobalAveragePooling2D': {
      const [h, w] = frameDims(ins[0]!);
      const cfg = inner.getConfig();
      const [kh, kw] = [cfg.poolSize].flat().map(Number);
      if (inner.getClassName() === 'AveragePooling2D' && !(cfg.padding === 'valid' && kh === h && (kw ?? kh) === w)) return NOT_LEVELS;
      pooled = pooled ? null : { probe: producer(layer).name, cells: h! * w! }; // (a second pool: read its own output)
      return { scale: scale.map((s) => s / (h! * w!)), pooled };
    }
    case 'MaxPooling2D':
    case 'GlobalMaxPooling2D':
    case 'ZeroPadding2D': // its zeros are level 0
    case 'Cropping2D':
      return { scale, pooled: null };
    case 'Dropout':
    case 'SpatialDropout2D':
      return up;
    case 'Flatten':
    case 'Reshape': {
      // The values keep their (row-major) order: value j is channel j mod C, so a per-channel scale holds
      // for the new last axis when C divides its length.
      const C = frameDims(ins[0]!).at(-1)!;
      const L = (layer.outputShape as number[]).at(-1)!;
      if (scale.length === 1) return up;
      return L % C === 0 ? { scale: Array.from({ length: L }, (_, l) => scale![l % C]!), pooled } : NOT_LEVELS;
    }
    default:
      return NOT_LEVELS;
  }
}

/** A concatenation's levels: per channel, its inputs' (on the channel axis only); not levels if any input is not. */
function concatenated(layer: tf.layers.Layer, ins: tf.SymbolicTensor[]): Levels {
  const rank = (layer.outputShape as number[]).length;
  const axis = Number((layer instanceof FrameWise ? layer.layer : layer).getConfig().axis ?? -1);
  if (axis !== -1 && axis !== rank - 1) return NOT_LEVELS;
  const parts = ins.map((t) => levelsAt(t.sourceLayer as tf.layers.Layer).scale);
  if (parts.some((p) => p === null)) return NOT_LEVELS;
  const first = parts[0]![0]!;
  if (parts.every((p) => p!.length === 1 && p![0] === first)) return { scale: [first], pooled: null };
  const scale = parts.flatMap((p, i) => {
    const C = frameDims(ins[i]!).at(-1)!;
    return p!.length === 1 ? new Array<number>(C).fill(p![0]!) : p!;
  });
  return { scale, pooled: null };
}

/** Scale of a MAC layer's input levels and where to read them (levelsAt). */
function levelsOf(model: tf.LayersModel, mac: MacLayer): { scale: number[] | null; probe: string; cells: number } {
  const { scale, pooled } = levelsAt(model.getLayer(mac.inputLayer));
  return scale === null ? { scale, probe: mac.inputLayer, cells: 1 } : { scale, ...(pooled ?? { probe: mac.inputLayer, cells: 1 }) };
}

function weightDensity(model: tf.LayersModel, mac: MacLayer): number {
  const kernel = model.getLayer(mac.name).getWeights()[0];
  if (!kernel) return 1;
  const v = kernel.dataSync();
  let nz = 0;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) nz++;
  return nz / v.length;
}

const ARRAYS = { uint8: Uint8Array, int8: Int8Array, int16: Int16Array, float32: Float32Array } as const;

/** Record `source` through `model` into the trace directory `out` (written atomically). */
export async function recordTrace(model: tf.LayersModel, source: FrameSource, out: string, opts: RecordOptions): Promise<RecordResult> {
  const started = performance.now();
  const inShape = (model.inputs[0]!.shape as (number | null)[]).slice(2);
  if (model.inputs.length !== 1 || inShape.length !== 3) throw new InputError('the model must take one (batch, time, H, W, C) input');
  if (inShape.some((d, i) => d !== source.frameShape[i])) {
    throw new InputError(`the clip has frames ${source.frameShape.join('×')}, the model takes ${inShape.join('×')} (H×W×C)`);
  }
  refuseTemporalLayers(model);
  const macs = macLayers(model);
  if (macs.length === 0) throw new InputError('the model has no MAC layers (FrameWise conv2d / depthwise2d / dense) to record');
  const chunk = opts.chunkFrames ?? 64;
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new InputError(`chunk must be an integer >= 1, got ${chunk}`);

  const probes: tf.SymbolicTensor[] = [];
  const plans: LayerPlan[] = macs.map((mac) => {
    const { scale, probe, cells } = levelsOf(model, mac);
    const t = model.getLayer(probe).output as tf.SymbolicTensor;
    const output = probes.includes(t) ? probes.indexOf(t) : probes.push(t) - 1;
    return { mac, output, scale, cells, weightDensity: weightDensity(model, mac) };
  });
  const probe = tf.model({ inputs: model.inputs, outputs: probes });
  // The step the probed values are levelled at (a pool's input: its own step, cells times the recorded scale).
  const scales = plans.map((p) => (p.scale ? tf.tensor1d(p.scale.map((s) => s * p.cells)) : null));
  const ranges = plans.map((p) => ({ name: p.mac.name, min: Infinity, max: -Infinity, maxDeviation: 0 }));
  /** Per layer: the largest deviation beyond float32's own resolution at that level (what is checked). */
  const excess = plans.map(() => 0);
  const elements = plans.map((p) => p.mac.input.reduce((a, b) => a * b, 1));

  const spoolDir = makeTempDir('deltasim-record-'); // removed on Ctrl-C / SIGTERM too
  const spools: FrameSpool[] = [];
  try {
    for (let i = 0; i < plans.length; i++) spools.push(new FrameSpool(join(spoolDir.path, `${i}.f32`), elements[i]! * 4));
    const [h, w, c] = source.frameShape;
    const size = h * w * c;
    const buf = new Float32Array((chunk + 1) * size);
    let lead = 0; // frames in buf before this chunk's own (the overlap)
    let pending = 0;
    let done = 0;

    const runChunk = () => {
      const x = tf.tensor5d(buf.subarray(0, (lead + pending) * size), [1, lead + pending, h, w, c]);
      const outs = tf.tidy(() => {
        const raw = probe.predict(x) as tf.Tensor | tf.Tensor[];
        const acts = Array.isArray(raw) ? raw : [raw];
        return plans.map((p, i) => {
          const a = acts[p.output]!;
          const own = tf.reshape(tf.slice(a, [0, lead], [1, pending]), [pending, p.cells * elements[i]!]);
          const s = scales[i];
          if (!s) return { levels: own, stats: tf.stack([tf.min(own), tf.max(own), tf.scalar(0), tf.scalar(0)]) };
          const d = tf.div(tf.reshape(own, [pending, -1, s.size]), s);
          const rounded = tf.round(d);
          const off = tf.abs(tf.sub(d, rounded));
          // Levels are [H·W, C] per frame for a pool's input: its sum over the cells, exact in float32 below 2^24.
          const levels = p.cells > 1 ? tf.sum(tf.reshape(rounded, [pending, p.cells, elements[i]!]), 1) : rounded;
          return {
            levels: tf.reshape(levels, [pending, elements[i]!]),
            stats: tf.stack([tf.min(levels), tf.max(levels), tf.max(off), tf.max(tf.sub(off, tf.mul(tf.abs(rounded), FLOAT32_RELATIVE)))]),
          };
        });
      });
      x.dispose();
      const stats = tf.stack(outs.map((o) => o.stats));
      const s = stats.dataSync();
      outs.forEach((o, i) => {
        const r = ranges[i]!;
        r.min = Math.min(r.min, s[4 * i]!);
        r.max = Math.max(r.max, s[4 * i + 1]!);
        r.maxDeviation = Math.max(r.maxDeviation, s[4 * i + 2]!);
        excess[i] = Math.max(excess[i]!, s[4 * i + 3]!);
        const v = o.levels.dataSync() as Float32Array;
        // A chunk's frames are consecutive: spool them one frame at a time.
        const f = elements[i]!;
        for (let k = 0; k < v.length / f; k++) spools[i]!.append(bytesOf(v.subarray(k * f, (k + 1) * f)));
      });
      tf.dispose([stats, ...outs.flatMap((o) => [o.levels, o.stats])]);
      done += pending;
      // Keep the last frame as the next chunk's predecessor.
      buf.copyWithin(0, (lead + pending - 1) * size, (lead + pending) * size);
      lead = 1;
      pending = 0;
      opts.onProgress?.(done, source.frames);
    };

    for await (const frame of source.read()) {
      if (frame.length !== size) throw new Error(`frame source gave ${frame.length} values per frame, expected ${size}`);
      if (done + pending === source.frames) break;
      const at = (lead + pending) * size;
      for (let k = 0; k < size; k++) buf[at + k] = Math.round(Math.min(Math.max(frame[k]!, 0), 1) * PIXEL_LEVELS) / PIXEL_LEVELS;
      if (++pending === chunk) runChunk();
    }
    if (pending > 0) runChunk();
    if (done !== source.frames) throw new InputError(`${source.clip.source}: got ${done} frames, ${source.frames} were asked for`);

    for (const [i, r] of ranges.entries()) {
      if (excess[i]! > MAX_DEVIATION) {
        throw new Error(
          `recording ${r.name}: its input is off the level grid by up to ${r.maxDeviation} of a step; the scale does not match the model`,
        );
      }
    }
    const layers: LayerDraft[] = plans.map((p, i) => {
      const { mac } = p;
      const r = ranges[i]!;
      const dtype = p.scale ? levelDtype(r.min, r.max) : 'float32';
      const scale = !p.scale ? 1 : p.scale.every((v) => v === p.scale![0]) ? p.scale[0]! : p.scale;
      return {
        name: mac.name,
        op: mac.op,
        input: mac.input,
        output: mac.output,
        ...(mac.op === 'dense'
          ? {}
          : { kernel: mac.kernel, stride: mac.stride, padding: mac.padding, dilation: mac.dilation, groups: mac.groups }),
        weightBits: opts.weightBits ?? 8,
        weightDensity: p.weightDensity,
        act: { dtype, scale, signed: r.min < 0 },
      };
    });
    const graph = layersGraphOf(model, macs);
    const header = {
      model: opts.modelInfo,
      frames: source.frames,
      fps: source.fps,
      clip: source.clip,
      layers,
      graph,
      encoding: opts.encoding,
    };
    const manifest = await writeTrace(out, header, (writer) => {
      plans.forEach((_, i) => {
        const n = elements[i]!;
        const f32 = new Float32Array(n);
        const bytes = bytesOf(f32);
        const Out = ARRAYS[layers[i]!.act.dtype];
        for (let t = 0; t < source.frames; t++) {
          spools[i]!.read(t, bytes);
          const frame = new Out(n);
          frame.set(f32);
          writer.appendFrame(i, frame);
        }
      });
    });
    return { manifest, layers: ranges, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const s of spools) s.close();
    spoolDir.remove();
    tf.dispose(scales.filter((s): s is tf.Tensor1D => s !== null));
  }
}
