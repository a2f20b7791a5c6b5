/**
 * Functional delta executor: the correctness oracle for delta inference (docs/design.md §5.5–5.6, §6).
 *
 * A small integer network (conv2d / depthwise2d / dense, each followed by ReLU + requantisation) is
 * run two ways over a sequence of frames of integer input levels:
 *  - dense: every frame, each layer is recomputed from its input levels;
 *  - delta: each layer keeps per-output accumulators (bias + Σ w·x so far) and the last level it
 *    emitted; only non-zero input deltas are processed, each scattering w·Δx into the outputs it
 *    reaches; touched outputs re-apply activation + quantisation and emit a delta when their level
 *    changes; the next layer consumes exactly those deltas.
 * All arithmetic is on integers held in float64 (exact below 2^53, checked), so the two paths must
 * give identical levels at every layer and frame — the paper's claim that quantised delta inference
 * equals quantised inference.
 *
 * Layouts are those of effective-macs.ts (tfjs): activations HWC (dense: C), weights HWIO =
 * [kh, kw, Cin/groups, Cout] (dense: [Cin, Cout]); output channel co belongs to group ⌊co / (Cout/groups)⌋.
 * A dense layer after a convolution reads the HWC map flattened.
 *
 * State and the first frame: before frame 0 every accumulator holds its bias and every emitted level
 * is 0, so frame 0's deltas are its levels against zeros (a key frame, as in trace stats). Since an
 * output nobody touched may still have a non-zero level (a positive bias), the key frame evaluates
 * every output; later frames evaluate only the touched ones. A layer's "previous input level" is the
 * previous layer's last emitted level (one state, not two copies); only the network input needs its
 * own previous-level buffer.
 */
import { prng } from '../../lib/prng.js';
import { gemmOf, inputCount, layerMacs, outputCount, spatial, type Layer } from '../../sim/index.js';

/** ReLU then requantisation: level = min(maxLevel, round_half_even(max(acc, 0) · multiplier / 2^shift)). */
export interface Requant {
  /** Positive integer. */
  multiplier: number;
  /** Non-negative integer. */
  shift: number;
  /** Largest output level (e.g. 255 for uint8). */
  maxLevel: number;
}

export interface IntLayer {
  layer: Layer;
  /** HWIO, int8 range. */
  weights: Int32Array;
  /** One per output channel. */
  bias: Int32Array;
  requant: Requant;
}

export interface IntNetwork {
  layers: IntLayer[];
}

/** The one activation + quantisation function both paths use. */
export function requantize(acc: number, q: Requant): number {
  if (acc <= 0) return 0;
  const p = acc * q.multiplier;
  if (!Number.isSafeInteger(p)) throw new RangeError(`accumulator ${acc} × multiplier ${q.multiplier} is not exact in float64`);
  const d = 2 ** q.shift;
  let level = Math.floor(p / d);
  const twiceRem = 2 * (p - level * d);
  if (twiceRem > d || (twiceRem === d && level % 2 === 1)) level++;
  return Math.min(level, q.maxLevel);
}

export interface RandomNetworkOptions {
  /** Largest level of the network input (default 255). */
  inputMaxLevel?: number;
  /** Largest output level of every layer (default 255). */
  maxLevel?: number;
  /** Biases ≤ 0 only (then an all-zero input gives all-zero levels everywhere). Default false. */
  nonPositiveBias?: boolean;
}

/**
 * Random int8 weights (a `weightDensity` fraction non-zero, signs mixed) and biases, with each
 * layer's requantisation scaled so that outputs spread over the level range instead of all
 * clipping or all rounding to zero. Layers must chain: each output count equals the next input count.
 */
export function makeRandomIntNetwork(layers: readonly Layer[], seed: number, o: RandomNetworkOptions = {}): IntNetwork {
  const maxLevel = o.maxLevel ?? 255;
  let inMax = o.inputMaxLevel ?? 255;
  return {
    layers: layers.map((layer, li) => {
      if (li > 0 && inputCount(layer) !== outputCount(layers[li - 1]!))
        throw new RangeError(
          `layer "${layer.name}" takes ${inputCount(layer)} inputs, "${layers[li - 1]!.name}" gives ${outputCount(layers[li - 1]!)}`,
        );
      const rng = prng(seed, li);
      const { K } = gemmOf(layer);
      const { OC } = spatial(layer);
      const weights = new Int32Array(K * OC);
      for (let i = 0; i < weights.length; i++) if (rng.next() < layer.weightDensity) weights[i] = rng.intBetween(-127, 127);
      // |acc| is about √K · σ_w · E[x] with σ_w ≈ 73 and E[x] ≈ inMax/2; map ~2σ of that onto maxLevel
      const spread = Math.max(1, Math.sqrt(K * layer.weightDensity) * 73 * (inMax / 2));
      const biasMax = Math.round(spread / 2);
      const bias = Int32Array.from({ length: OC }, () => rng.intBetween(-biasMax, o.nonPositiveBias ? 0 : biasMax));
      const shift = 20;
      const multiplier = Math.max(1, Math.round((maxLevel / (2 * spread)) * 2 ** shift));
      inMax = maxLevel;
      return { layer, weights, bias, requant: { multiplier, shift, maxLevel } };
    }),
  };
}

/** The layer's geometry as plain numbers (dense = 1×1 map, 1×1 kernel). */
function geometry(l: Layer) {
  const s = spatial(l);
  const conv = l.op !== 'dense';
  const [kh, kw] = conv ? l.kernel : [1, 1];
  const [sh, sw] = conv ? l.stride : [1, 1];
  const [dh, dw] = conv ? l.dilation : [1, 1];
  const [pt, , pl] = conv ? l.padding : [0, 0, 0, 0];
  return { ...s, kh, kw, sh, sw, dh, dw, pt, pl, cin: s.C / l.groups, nPer: s.OC / l.groups };
}

/** Output levels of one layer recomputed from its input levels. */
export function denseLayer(il: IntLayer, x: ArrayLike<number>): Int32Array {
  const { H, W, C, OH, OW, OC, kh, kw, sh, sw, dh, dw, pt, pl, cin, nPer } = geometry(il.layer);
  if (x.length !== H * W * C) throw new RangeError(`layer "${il.layer.name}": input of ${x.length} levels, expected ${H * W * C}`);
  const out = new Int32Array(OH * OW * OC);
  const acc = new Float64Array(OC);
  for (let oh = 0; oh < OH; oh++)
    for (let ow = 0; ow < OW; ow++) {
      acc.set(il.bias);
      for (let ky = 0; ky < kh; ky++) {
        const ih = oh * sh - pt + ky * dh;
        if (ih < 0 || ih >= H) continue;
        for (let kx = 0; kx < kw; kx++) {
          const iw = ow * sw - pl + kx * dw;
          if (iw < 0 || iw >= W) continue;
          for (let ci = 0; ci < C; ci++) {
            const v = x[(ih * W + iw) * C + ci]!;
            const g = Math.floor(ci / cin);
            const wb = ((ky * kw + kx) * cin + (ci - g * cin)) * OC;
            for (let oc = g * nPer; oc < (g + 1) * nPer; oc++) acc[oc]! += il.weights[wb + oc]! * v;
          }
        }
      }
      const ob = (oh * OW + ow) * OC;
      for (let oc = 0; oc < OC; oc++) out[ob + oc] = requantize(acc[oc]!, il.requant);
    }
  return out;
}

/** Levels of every layer's output, per frame: result[frame][layer]. */
export function runDense(net: IntNetwork, frames: Iterable<ArrayLike<number>>): Int32Array[][] {
  const result: Int32Array[][] = [];
  for (const frame of frames) {
    let x: ArrayLike<number> = frame;
    result.push(net.layers.map((il) => (x = denseLayer(il, x))));
  }
  return result;
}

/** A frame's deltas at one layer boundary: sparse (index into the HWC map, level change ≠ 0). */
export interface Deltas {
  index: number[];
  delta: number[];
}

/**
 * What one layer did in one frame of the delta path. Every count is of operations the executor
 * actually performed.
 */
export interface DeltaCounts {
  /** Input elements of the layer (its dense input size). */
  inputs: number;
  /** Non-zero input deltas consumed (events). */
  nonZeroDeltas: number;
  /** MACs performed: Σ over the events of their fan-out (outputs × taps reached, zero weights included). */
  synapticOps: number;
  /** Dense MACs of the layer (padding taps included), for comparison. */
  denseMacs: number;
  /** Outputs that received at least one synaptic op. */
  touchedOutputs: number;
  /** Outputs that re-applied activation + quantisation + compare: touched ones, all on the key frame. */
  evaluatedOutputs: number;
  /** Outputs whose level changed = deltas emitted (the next layer's nonZeroDeltas). */
  changedOutputs: number;
  /** Accumulator state: each evaluated output reads it, each touched output writes it back. */
  accReads: number;
  accWrites: number;
  /** Last-emitted-level state: read by each evaluated output (compare), written per change. */
  levelReads: number;
  levelWrites: number;
  /**
   * Previous-input-level state of the network input (layer 0 only; later layers' previous input
   * level is the last emitted level above): every input is read and compared, changed ones written.
   */
  prevInputReads: number;
  prevInputWrites: number;
}

interface LayerState {
  il: IntLayer;
  g: ReturnType<typeof geometry>;
  acc: Float64Array;
  /** Last emitted level per output. */
  level: Int32Array;
  /** This frame's partial sums, and which outputs hold one. */
  pending: Float64Array;
  touched: Uint8Array;
  touchedList: number[];
}

/** The delta path as a stream: feed frames of input levels in order to `step`. */
export class DeltaExecutor {
  private readonly layers: LayerState[];
  private readonly prevInput: Int32Array;
  private frame = 0;

  constructor(readonly net: IntNetwork) {
    if (net.layers.length === 0) throw new RangeError('a network needs at least one layer');
    this.prevInput = new Int32Array(inputCount(net.layers[0]!.layer));
    this.layers = net.layers.map((il) => {
      const n = outputCount(il.layer);
      const g = geometry(il.layer);
      const acc = new Float64Array(n);
      for (let o = 0; o < n; o++) acc[o] = il.bias[o % g.OC]!;
      return { il, g, acc, level: new Int32Array(n), pending: new Float64Array(n), touched: new Uint8Array(n), touchedList: [] };
    });
  }

  /**
   * Process one frame. Returns each layer's output levels (the executor's state: valid until the
   * next step; copy to keep) and its operation counts.
   */
  step(frameLevels: ArrayLike<number>): { outputs: Int32Array[]; counts: DeltaCounts[] } {
    const prev = this.prevInput;
    if (frameLevels.length !== prev.length)
      throw new RangeError(`frame of ${frameLevels.length} levels, the network input has ${prev.length}`);
    const keyFrame = this.frame++ === 0;
    let events: Deltas = { index: [], delta: [] };
    for (let i = 0; i < prev.length; i++) {
      const v = frameLevels[i]!;
      if (v !== prev[i]) {
        events.index.push(i);
        events.delta.push(v - prev[i]!);
        prev[i] = v;
      }
    }
    const counts: DeltaCounts[] = [];
    for (const [li, s] of this.layers.entries()) {
      const c = this.scatter(s, events);
      const evaluated = keyFrame ? s.acc.length : c.touched;
      const emitted = this.evaluate(s, keyFrame);
      counts.push({
        inputs: inputCount(s.il.layer),
        nonZeroDeltas: events.index.length,
        synapticOps: c.synapticOps,
        denseMacs: layerMacs(s.il.layer),
        touchedOutputs: c.touched,
        evaluatedOutputs: evaluated,
        changedOutputs: emitted.index.length,
        accReads: evaluated,
        accWrites: c.touched,
        levelReads: evaluated,
        levelWrites: emitted.index.length,
        prevInputReads: li === 0 ? prev.length : 0,
        prevInputWrites: li === 0 ? events.index.length : 0,
      });
      events = emitted;
    }
    return { outputs: this.layers.map((s) => s.level), counts };
  }

  /** Each event adds w·Δx to the partial sums of the outputs whose receptive field holds it. */
  private scatter(s: LayerState, events: Deltas): { synapticOps: number; touched: number } {
    const { W, C, OH, OW, OC, kh, kw, sh, sw, dh, dw, pt, pl, cin, nPer } = s.g;
    const w = s.il.weights;
    let ops = 0;
    for (let e = 0; e < events.index.length; e++) {
      const i = events.index[e]!,
        d = events.delta[e]!;
      const ci = i % C,
        px = (i - ci) / C;
      const x = px % W,
        y = (px - x) / W;
      const g = Math.floor(ci / cin);
      for (let ky = 0; ky < kh; ky++) {
        // output row oh reads input row oh·sh − pt + ky·dh
        const t = y + pt - ky * dh;
        if (t < 0 || t % sh !== 0 || t / sh >= OH) continue;
        const oh = t / sh;
        for (let kx = 0; kx < kw; kx++) {
          const u = x + pl - kx * dw;
          if (u < 0 || u % sw !== 0 || u / sw >= OW) continue;
          const ob = (oh * OW + u / sw) * OC;
          const wb = ((ky * kw + kx) * cin + (ci - g * cin)) * OC;
          for (let oc = g * nPer; oc < (g + 1) * nPer; oc++) {
            const o = ob + oc;
            s.pending[o]! += w[wb + oc]! * d;
            if (s.touched[o] === 0) {
              s.touched[o] = 1;
              s.touchedList.push(o);
            }
          }
          ops += nPer;
        }
      }
    }
    return { synapticOps: ops, touched: s.touchedList.length };
  }

  /** Fold partial sums into the accumulators, requantise, and emit the level changes. */
  private evaluate(s: LayerState, keyFrame: boolean): Deltas {
    const out: Deltas = { index: [], delta: [] };
    const visit = (o: number): void => {
      if (s.touched[o] === 1) {
        s.acc[o]! += s.pending[o]!;
        s.pending[o] = 0;
        s.touched[o] = 0;
      }
      const level = requantize(s.acc[o]!, s.il.requant);
      if (level !== s.level[o]) {
        out.index.push(o);
        out.delta.push(level - s.level[o]!);
        s.level[o] = level;
      }
    };
    if (keyFrame) for (let o = 0; o < s.acc.length; o++) visit(o);
    else {
      // ascending order, so the emitted events are in memory order like a dense scan's
      s.touchedList.sort((a, b) => a - b);
      for (const o of s.touchedList) visit(o);
    }
    s.touchedList.length = 0;
    return out;
  }
}

/** The delta path over all frames: output levels (copied) and counts, each as result[frame][layer]. */
export function runDelta(net: IntNetwork, frames: Iterable<ArrayLike<number>>): { outputs: Int32Array[][]; counts: DeltaCounts[][] } {
  const ex = new DeltaExecutor(net);
  const outputs: Int32Array[][] = [];
  const counts: DeltaCounts[][] = [];
  for (const frame of frames) {
    const r = ex.step(frame);
    outputs.push(r.outputs.map((a) => a.slice()));
    counts.push(r.counts);
  }
  return { outputs, counts };
}
