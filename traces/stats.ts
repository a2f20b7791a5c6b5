/**
 * Sparsity statistics of a trace, per layer and overall, per frame and aggregated:
 *  - spatial sparsity: fraction of zero levels;
 *  - temporal sparsity: fraction of zero deltas, i.e. |level − reference| ≤ threshold, where the
 *    reference is the last level that was sent as a delta (frame 0 is a key frame compared with
 *    zeros). With integer levels and threshold 0 this is exactly "differs from the previous frame";
 *    with a threshold it is what a delta layer does (the reference only moves when a delta is
 *    sent, so sub-threshold drift cannot accumulate unseen);
 *  - operation sparsity (fan-out weighted): 1 − Σ fan-out over non-zero deltas / Σ fan-out over all
 *    elements, where an input element's fan-out is the exact number of MACs it feeds;
 *  - per-frame extremes (min / max value).
 * Aggregates are given with and without frame 0, since a key frame is dense by construction.
 */
import type { ActArray } from './npy.js';
import { layerMacs, spatial, type Layer } from './layer.js';
import { frameReader, type Trace } from './reader.js';
import { isKeyFrame, keyFrameEvery } from './manifest.js';

/**
 * Per-axis fan-out: for each input index along one axis, the number of (output position, kernel
 * tap) pairs that read it, i.e. how many output positions' receptive fields cover it. Padding taps
 * read no input, so borders get fewer. A 2-D element's fan-out in MACs is
 * fanH[y] · fanW[x] · (output channels per group).
 */
export function axisFanout(
  inSize: number,
  outSize: number,
  kernel: number,
  stride: number,
  padBefore: number,
  dilation: number,
): Int32Array {
  const fan = new Int32Array(inSize);
  for (let o = 0; o < outSize; o++) {
    for (let k = 0; k < kernel; k++) {
      const i = o * stride - padBefore + k * dilation;
      if (i >= 0 && i < inSize) fan[i]!++;
    }
  }
  return fan;
}

export interface LayerFanout {
  /** Fan-out along H and W (see axisFanout). */
  h: Int32Array;
  w: Int32Array;
  /** Output channels each input channel feeds (Co / groups). */
  perChannel: number;
  /** Σ over one frame's input elements = MACs reading real (non-padding) inputs. */
  total: number;
}

export function layerFanout(l: Layer): LayerFanout {
  const { H, W, C, OH, OW, OC } = spatial(l);
  const h = axisFanout(H, OH, l.kernel[0], l.stride[0], l.padding[0], l.dilation[0]);
  const w = axisFanout(W, OW, l.kernel[1], l.stride[1], l.padding[2], l.dilation[1]);
  const perChannel = OC / l.groups;
  const sum = (a: Int32Array) => a.reduce((s, v) => s + v, 0);
  return { h, w, perChannel, total: sum(h) * sum(w) * C * perChannel };
}

export interface StatsOptions {
  /** A delta is zero when |level − reference| ≤ threshold (default 0). Needed for float32 traces. */
  threshold?: number;
  /** When given, values are first quantised to levels round(value / quantStep) (float traces). */
  quantStep?: number;
  /** Key-frame period (manifest model.keyFrameEvery; traceStats reads it): the reference restarts from zeros then. */
  keyFrameEvery?: number;
}

export interface FrameStats {
  elements: number;
  nonZero: number;
  nonZeroDeltas: number;
  /** Σ fan-out over all / non-zero / non-zero-delta elements (MACs). */
  fanout: number;
  fanoutNonZero: number;
  fanoutNonZeroDeltas: number;
  min: number;
  max: number;
}

export interface SparsitySummary {
  frames: number;
  /** Fraction of zero levels. */
  spatial: number;
  /** Fraction of zero deltas over all frames / over frames 1.. (NaN with one frame). */
  temporal: number;
  temporalNoKey: number;
  /** Fan-out weighted zero deltas over all frames / over frames 1.. (NaN with one frame). */
  operation: number;
  operationNoKey: number;
  /** Fan-out weighted zero levels (what zero skipping saves). */
  operationSpatial: number;
  /** Extremes over all frames, and the range of the per-frame extremes. */
  min: number;
  max: number;
  frameMin: [number, number];
  frameMax: [number, number];
}

export interface LayerStats {
  name: string;
  /** Dense MACs per frame, padding taps included (SCALE-Sim's count). */
  macsPerFrame: number;
  frames: FrameStats[];
  summary: SparsitySummary;
}

export interface TraceStats {
  threshold: number;
  quantStep: number | null;
  layers: LayerStats[];
  /** Per frame summed over layers (fan-out weighting makes layers count by their MACs). */
  frames: FrameStats[];
  overall: SparsitySummary;
}

/**
 * A per-layer counter: call it with each frame in order; it keeps the delta reference between
 * calls. The frame array may be a reused buffer.
 */
export function frameStatsCounter(l: Layer, options: StatsOptions = {}): (frame: ArrayLike<number>) => FrameStats {
  const threshold = options.threshold ?? 0;
  const q = options.quantStep;
  const fan = layerFanout(l);
  const { H, W, C } = spatial(l);
  const ref = new Float64Array(H * W * C);
  let t = 0;
  return (frame) => {
    if (frame.length !== ref.length) throw new RangeError(`frame of ${frame.length} values, layer input has ${ref.length}`);
    if (isKeyFrame(t++, options.keyFrameEvery)) ref.fill(0);
    let nonZero = 0,
      nonZeroDeltas = 0,
      fanNZ = 0,
      fanND = 0,
      min = Infinity,
      max = -Infinity;
    for (let y = 0, i = 0; y < H; y++) {
      const fy = fan.h[y]!;
      for (let x = 0; x < W; x++) {
        let nz = 0,
          nd = 0;
        for (let c = 0; c < C; c++, i++) {
          const raw = frame[i]!;
          if (raw < min) min = raw;
          if (raw > max) max = raw;
          const v = q === undefined ? raw : Math.round(raw / q);
          if (v !== 0) nz++;
          if (Math.abs(v - ref[i]!) > threshold) {
            nd++;
            ref[i] = v;
          }
        }
        const f = fy * fan.w[x]! * fan.perChannel;
        nonZero += nz;
        nonZeroDeltas += nd;
        fanNZ += nz * f;
        fanND += nd * f;
      }
    }
    return { elements: ref.length, nonZero, nonZeroDeltas, fanout: fan.total, fanoutNonZero: fanNZ, fanoutNonZeroDeltas: fanND, min, max };
  };
}

/** Aggregate per-frame statistics (ratios of sums, so big frames and layers weigh more). */
export function summarize(frames: readonly FrameStats[]): SparsitySummary {
  const sum = (from: number, key: keyof FrameStats) => frames.slice(from).reduce((s, f) => s + f[key], 0);
  const ratio = (a: number, b: number) => (b === 0 ? NaN : 1 - a / b);
  // reduce, not Math.min(...): spreading long traces overflows the argument limit
  const lo = (key: 'min' | 'max') => frames.reduce((m, f) => Math.min(m, f[key]), Infinity);
  const hi = (key: 'min' | 'max') => frames.reduce((m, f) => Math.max(m, f[key]), -Infinity);
  return {
    frames: frames.length,
    spatial: ratio(sum(0, 'nonZero'), sum(0, 'elements')),
    temporal: ratio(sum(0, 'nonZeroDeltas'), sum(0, 'elements')),
    temporalNoKey: ratio(sum(1, 'nonZeroDeltas'), sum(1, 'elements')),
    operation: ratio(sum(0, 'fanoutNonZeroDeltas'), sum(0, 'fanout')),
    operationNoKey: ratio(sum(1, 'fanoutNonZeroDeltas'), sum(1, 'fanout')),
    operationSpatial: ratio(sum(0, 'fanoutNonZero'), sum(0, 'fanout')),
    min: lo('min'),
    max: hi('max'),
    frameMin: [lo('min'), hi('min')],
    frameMax: [lo('max'), hi('max')],
  };
}

/** Statistics of a whole trace in one streaming pass (memory independent of T except the per-frame rows). */
export function traceStats(trace: Trace, options: StatsOptions = {}): TraceStats {
  const every = keyFrameEvery(trace.manifest);
  const counters = trace.layers.map((l) => frameStatsCounter(l.layer, { keyFrameEvery: every, ...options }));
  const perLayer: FrameStats[][] = trace.layers.map(() => []);
  const overall: FrameStats[] = [];
  for (const frames of frameReader(trace)) {
    const rows = frames.map((f: ActArray, i) => counters[i]!(f));
    rows.forEach((r, i) => perLayer[i]!.push(r));
    overall.push(
      rows.reduce((a, r) => ({
        elements: a.elements + r.elements,
        nonZero: a.nonZero + r.nonZero,
        nonZeroDeltas: a.nonZeroDeltas + r.nonZeroDeltas,
        fanout: a.fanout + r.fanout,
        fanoutNonZero: a.fanoutNonZero + r.fanoutNonZero,
        fanoutNonZeroDeltas: a.fanoutNonZeroDeltas + r.fanoutNonZeroDeltas,
        min: Math.min(a.min, r.min),
        max: Math.max(a.max, r.max),
      })),
    );
  }
  return {
    threshold: options.threshold ?? 0,
    quantStep: options.quantStep ?? null,
    layers: trace.layers.map((l, i) => ({
      name: l.spec.name,
      macsPerFrame: layerMacs(l.layer),
      frames: perLayer[i]!,
      summary: summarize(perLayer[i]!),
    })),
    frames: overall,
    overall: summarize(overall),
  };
}
