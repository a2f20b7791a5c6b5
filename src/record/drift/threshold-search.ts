/**
 * Per-layer delta thresholds that meet an output-drift budget with the fewest operations, by a
 * DeltaCNN-like greedy search on a few calibration frames, run closed loop (closed-loop.ts):
 *   - start from the recorder's thresholds (e.g. one small common q) and raise every searchable q
 *     together by `factor` while the budget holds (a few evaluations: the best common scaling, so the
 *     result is never worse than it on the calibration frames);
 *   - each round, try raising each searchable tensor's q by `factor` alone; a raise that breaks the
 *     budget is dropped and that tensor is not tried again (drift grows with q); among the others
 *     take the one that saves the most operations per unit of drift added. Lazily, as in lazy
 *     greedy: after the first round the candidates are re-evaluated best (last known score) first,
 *     and the first whose fresh score is still at least the next last-known score is taken (scores
 *     are assumed to shrink as the others' thresholds rise), so a round costs a few evaluations,
 *     not one per tensor;
 *   - stop when no raise keeps drift ≤ budget and saves operations, or after `rounds` raises.
 * Operations: the MAC-weighted changed inputs of the calibration frames after the first, Σ over
 * tensors of (levels that differ from the frame before) × (MACs per input element of the layers
 * reading it): what a delta accelerator computes. Drift: DriftAccumulator.budgetDrift (mean relative
 * L2 of the worst output over those frames, or the task metric's drift form).
 * Cost: one evaluation is `frames` closed-loop runs; a search makes at most 1 + rounds × tensors
 * evaluations plus the common raises' (`evaluations` counts them), in practice about tensors + a few per round. Tensors fed by the image alone keep their exact pixel
 * step; tensors with per-channel steps are not searched.
 */
import { InputError } from '../../../lib/errors.js';
import { isKeyFrame } from '../../../traces/manifest.js';
import type { tf } from '../../tf/backend.js';
import { fromLevels, toLevels } from '../graph/spill.js';
import type { ClosedLoopNet } from './closed-loop.js';
import { DriftAccumulator, type OutputValue, type TaskChoice } from './metrics.js';

export type BudgetOn = 'rel-l2' | 'task';

export interface SearchOptions {
  /** Largest drift allowed (> 0), measured `on`. */
  budget: number;
  on: BudgetOn;
  /** Raise factor per step (default 2). */
  factor?: number;
  /** Most raises accepted (default 16). */
  rounds?: number;
  task: TaskChoice;
  model?: string;
  /** Input frame size (keypoint displacement in its pixels). */
  frame: { h: number; w: number };
  keyFrameEvery?: number;
}

export interface Evaluation {
  drift: number;
  /** MAC-weighted changed inputs per counted frame. */
  ops: number;
}

export interface SearchResult {
  steps: Map<string, number | number[]>;
  start: Evaluation;
  final: Evaluation;
  /** Closed-loop evaluations made (each `frames` runs). */
  evaluations: number;
  /** Common raises (every searchable q × factor) taken first. */
  commonRaises: number;
  /** The per-tensor raises taken, in order. */
  raises: { tensor: string; step: number; drift: number; ops: number }[];
}

/** Drift and operations of closed-loop runs over `inputs` at `steps` (dense outputs given, one list per input). */
export function evaluateSteps(
  net: ClosedLoopNet,
  inputs: readonly tf.Tensor[],
  dense: readonly OutputValue[][],
  steps: ReadonlyMap<string, number | number[]>,
  macsPerElement: ReadonlyMap<string, number>,
  o: Pick<SearchOptions, 'on' | 'task' | 'model' | 'frame' | 'keyFrameEvery'>,
): Evaluation {
  const acc = new DriftAccumulator({ task: o.task, model: o.model, frame: o.frame, keyFrameEvery: o.keyFrameEvery });
  const prev = new Map<string, Int16Array>();
  let ops = 0;
  let counted = 0;
  inputs.forEach((x, t) => {
    const key = !(t >= 1 && !isKeyFrame(t, o.keyFrameEvery));
    if (!key) counted++;
    const out = net.closedLoop(x, (tensor, values) => {
      const step = steps.get(tensor);
      if (step === undefined) throw new Error(`no step for tensor "${tensor}"`);
      const levels = new Int16Array(values.length);
      toLevels(values, step, levels);
      const before = prev.get(tensor);
      if (before && !key) {
        let changed = 0;
        for (let i = 0; i < levels.length; i++) if (levels[i] !== before[i]) changed++;
        ops += changed * (macsPerElement.get(tensor) ?? 0);
      }
      prev.set(tensor, levels);
      return fromLevels(levels, step);
    });
    acc.add(out, dense[t]!);
  });
  return { drift: acc.budgetDrift(o.on), ops: counted ? ops / counted : 0 };
}

/** The greedy search (see the header); `searchable` the tensors whose step may be raised. */
export function searchThresholds(
  net: ClosedLoopNet,
  inputs: readonly tf.Tensor[],
  start: ReadonlyMap<string, number | number[]>,
  searchable: readonly string[],
  macsPerElement: ReadonlyMap<string, number>,
  o: SearchOptions,
): SearchResult {
  if (!(Number.isFinite(o.budget) && o.budget > 0)) throw new InputError(`--drift-budget: expected a number > 0, got ${o.budget}`);
  if (inputs.length < 2) throw new InputError('the threshold search needs at least 2 calibration frames (drift is counted from frame 1)');
  const factor = o.factor ?? 2;
  const rounds = o.rounds ?? 16;
  const dense = inputs.map((x) => net.dense(x));
  let evaluations = 0;
  const evaluate = (steps: ReadonlyMap<string, number | number[]>) => {
    evaluations++;
    return evaluateSteps(net, inputs, dense, steps, macsPerElement, o);
  };
  let cur = new Map(start);
  let now = evaluate(cur);
  const first = now;
  if (now.drift > o.budget)
    throw new InputError(
      `--drift-budget ${o.budget}: the starting thresholds already drift ${now.drift.toPrecision(3)} (${o.on}); start lower (--threshold)`,
    );
  const open = new Set(searchable.filter((t) => typeof start.get(t) === 'number'));
  const raises: SearchResult['raises'] = [];
  let commonRaises = 0;
  for (;;) {
    const steps = new Map(cur);
    for (const t of open) steps.set(t, (cur.get(t) as number) * factor);
    const e = open.size ? evaluate(steps) : undefined;
    if (!e || !(e.drift <= o.budget) || !(e.ops < now.ops)) break;
    cur = steps;
    now = e;
    commonRaises++;
  }
  const eps = o.budget * 1e-6;
  // Last known score per open tensor (+∞: not yet evaluated, so the first round evaluates all).
  const known = new Map<string, number>([...open].map((t) => [t, Number.POSITIVE_INFINITY]));
  for (let r = 0; r < rounds && open.size; r++) {
    let best: { tensor: string; steps: Map<string, number | number[]>; e: Evaluation; score: number } | undefined;
    // best last-known first; ties in the tensors' order, so the search is deterministic
    const order = [...open].sort((a, b) => known.get(b)! - known.get(a)! || searchable.indexOf(a) - searchable.indexOf(b));
    for (let k = 0; k < order.length; k++) {
      const tensor = order[k]!;
      if (best && best.score >= known.get(tensor)!) break; // no later candidate can beat it (lazy greedy)
      const steps = new Map(cur);
      steps.set(tensor, (cur.get(tensor) as number) * factor);
      const e = evaluate(steps);
      if (!(e.drift <= o.budget)) {
        open.delete(tensor);
        known.delete(tensor);
        continue;
      }
      const saved = now.ops - e.ops;
      const score = saved > 0 ? saved / (Math.max(0, e.drift - now.drift) + eps) : 0;
      known.set(tensor, score);
      if (saved > 0 && (!best || score > best.score)) best = { tensor, steps, e, score };
    }
    if (!best) break;
    cur = best.steps;
    now = best.e;
    raises.push({ tensor: best.tensor, step: cur.get(best.tensor) as number, drift: now.drift, ops: now.ops });
  }
  return { steps: cur, start: first, final: now, evaluations, commonRaises, raises };
}
