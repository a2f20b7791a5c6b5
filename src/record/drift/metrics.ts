/**
 * Output drift of closed-loop delta inference against dense inference of the same frames
 * (closed-loop.ts runs both): per output tensor the relative L2 ‖y_delta − y_dense‖ / ‖y_dense‖ per
 * frame, and one task metric where the output's shape says what it is:
 *   - classifier ([1, N], N ≥ 2): top-1 agreement (1 or 0 per frame);
 *   - keypoints (MoveNet-style [1, 1, K, 3] rows (y, x, score), y and x in [0, 1] of the frame):
 *     mean displacement over the K keypoints, in pixels of the input frame;
 *   - heatmap ([1, H, W, C], H, W ≥ 2): per channel the peak (argmax) location, agreement = the
 *     fraction of channels whose peaks are within one cell (Chebyshev) of the dense peak (and
 *     `exact`: the same cell), over the channels that have a peak in the dense map: a dense peak of at
 *     least half the frame's largest (all channels when that is ≤ 0, e.g. logits). The argmax of a
 *     channel with nothing in it (a detector's class not in the frame) is noise, and would dominate.
 * `auto` takes the first output whose shape fits; `KIND:OUTPUT` names the output (a detector's class
 * heat map beside its box-size map, say).
 * A frame's drift is its worst output's relative L2. Summaries count the frames that are not key
 * frames (frame 0 and every keyFrameEvery-th): those are the frames delta hardware computes from
 * deltas; key frames are listed per frame too (with plain rounding they are quantised just the same).
 */
import { InputError } from '../../../lib/errors.js';
import { isKeyFrame } from '../../../traces/manifest.js';

export type TaskKind = 'classifier' | 'keypoints' | 'heatmap';
export type TaskChoice = TaskKind | 'auto' | 'none' | `${TaskKind}:${string}`;
export const TASK_CHOICES = ['auto', 'classifier', 'keypoints', 'heatmap', 'none'] as const satisfies readonly TaskChoice[];

/** One model output of one frame. */
export interface OutputValue {
  name: string;
  shape: readonly number[];
  values: Float32Array;
}

/** ‖a − b‖ / ‖b‖; ‖a − b‖ itself when b is all zeros (nothing to be relative to). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`relativeL2: ${a.length} values against ${b.length}`);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const e = a[i]! - b[i]!;
    d += e * e;
    n += b[i]! * b[i]!;
  }
  return n > 0 ? Math.sqrt(d / n) : Math.sqrt(d);
}

function argmax(v: ArrayLike<number>, from = 0, count = v.length, stride = 1): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (v[from + k * stride]! > v[from + best * stride]!) best = k;
  return best;
}

/** 1 when both outputs' largest entries are the same class, else 0. */
export function top1Agreement(delta: ArrayLike<number>, dense: ArrayLike<number>): number {
  return argmax(delta) === argmax(dense) ? 1 : 0;
}

/** Mean keypoint displacement in pixels of an h × w frame; rows (y, x, score), y and x normalised. */
export function keypointDisplacement(delta: ArrayLike<number>, dense: ArrayLike<number>, h: number, w: number): number {
  const K = Math.floor(dense.length / 3);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += Math.hypot((delta[3 * k]! - dense[3 * k]!) * h, (delta[3 * k + 1]! - dense[3 * k + 1]!) * w);
  return K ? sum / K : 0;
}

/**
 * Per channel of an [H, W, C] map that has a dense peak (≥ half the largest over channels, or every channel when
 * that is ≤ 0), peaks within one cell (`near`) and in the same cell (`exact`), as fractions of those channels.
 */
export function heatmapPeakAgreement(
  delta: ArrayLike<number>,
  dense: ArrayLike<number>,
  H: number,
  W: number,
  C: number,
): { near: number; exact: number; channels: number } {
  const peaks = Array.from({ length: C }, (_, c) => argmax(dense, c, H * W, C));
  const peakValue = peaks.map((b, c) => dense[c + b * C]!);
  const top = Math.max(...peakValue);
  let near = 0;
  let exact = 0;
  let channels = 0;
  for (let c = 0; c < C; c++) {
    if (top > 0 && peakValue[c]! < top / 2) continue;
    channels++;
    const a = argmax(delta, c, H * W, C);
    const b = peaks[c]!;
    const dy = Math.abs(Math.floor(a / W) - Math.floor(b / W));
    const dx = Math.abs((a % W) - (b % W));
    if (a === b) exact++;
    if (dy <= 1 && dx <= 1) near++;
  }
  return { near: near / channels, exact: exact / channels, channels };
}

/** The task an output's shape (and the model's name) suggests; undefined when none fits. */
export function taskOf(shape: readonly number[], model = ''): TaskKind | undefined {
  const [n, a, b, c] = shape;
  if (n !== 1) return undefined;
  if (shape.length === 4 && a === 1 && c === 3 && b! >= 1) return 'keypoints';
  if (/movenet/i.test(model) && shape.length === 4 && c === 3) return 'keypoints';
  if (shape.length === 2 && a! >= 2) return 'classifier';
  if (shape.length === 4 && a! >= 2 && b! >= 2) return 'heatmap';
  return undefined;
}

/** The output the task metric reads and its kind: `auto` takes the first output whose shape fits a task. */
export function chooseTask(
  choice: TaskChoice,
  outputs: readonly { name: string; shape: readonly number[] }[],
  model = '',
): { kind: TaskKind; output: number } | undefined {
  if (choice === 'none') return undefined;
  if (choice === 'auto') {
    const i = outputs.findIndex((o) => taskOf(o.shape, model) !== undefined);
    return i < 0 ? undefined : { kind: taskOf(outputs[i]!.shape, model)!, output: i };
  }
  const { kind, output } = parseTask(choice);
  const listed = () => outputs.map((o) => `${o.name} ${JSON.stringify(o.shape)}`).join(', ');
  const i = output === undefined ? outputs.findIndex((o) => fits(kind, o.shape)) : outputs.findIndex((o) => o.name === output);
  if (i < 0)
    throw new InputError(
      output === undefined
        ? `--task ${choice}: no model output has a fitting shape (outputs: ${listed()})`
        : `--task ${choice}: the model has no output "${output}" (outputs: ${listed()})`,
    );
  if (!fits(kind, outputs[i]!.shape))
    throw new InputError(`--task ${choice}: output ${outputs[i]!.name} ${JSON.stringify(outputs[i]!.shape)} is not a ${kind} output`);
  return { kind, output: i };
}

/** A --task KIND or KIND:OUTPUT (an output's name); chooseTask and taskChoice handle auto and none before it. */
export function parseTask(v: string): { kind: TaskKind; output?: string } {
  const at = v.indexOf(':');
  const kind = (at < 0 ? v : v.slice(0, at)) as TaskKind;
  const output = at < 0 ? undefined : v.slice(at + 1);
  if (!(TASK_CHOICES as readonly string[]).includes(kind) || kind === ('auto' as string) || kind === ('none' as string) || output === '')
    throw new InputError(`--task: expected auto, none, classifier, keypoints or heatmap, optionally as KIND:OUTPUT, got "${v}"`);
  return { kind, ...(output === undefined ? {} : { output }) };
}

/** A --task value checked (auto, none, KIND or KIND:OUTPUT): the CLI refuses a bad one before recording. */
export function taskChoice(v: string): TaskChoice {
  if (v !== 'auto' && v !== 'none') parseTask(v);
  return v as TaskChoice;
}

function fits(kind: TaskKind, s: readonly number[]): boolean {
  if (s[0] !== 1) return false;
  if (kind === 'classifier') return s.length === 2 && s[1]! >= 2;
  if (kind === 'keypoints') return s.length === 4 && s[3] === 3;
  return s.length === 4 && s[1]! >= 2 && s[2]! >= 2;
}

/** What the task metric reports, and its drift form (lower is better; what a budget on the task bounds). */
export const TASK_METRICS: Record<TaskKind, { metric: string; unit: string; drift: (v: number) => number }> = {
  classifier: { metric: 'top1Agreement', unit: 'fraction of frames', drift: (v) => 1 - v },
  keypoints: { metric: 'meanDisplacementPx', unit: 'pixels of the input frame', drift: (v) => v },
  heatmap: { metric: 'peakAgreement', unit: 'fraction of channels, peak within one cell', drift: (v) => 1 - v },
};

/** The task metric of one frame. */
export function taskValue(
  kind: TaskKind,
  delta: OutputValue,
  dense: OutputValue,
  frame: { h: number; w: number },
): { value: number; exact?: number } {
  if (kind === 'classifier') return { value: top1Agreement(delta.values, dense.values) };
  if (kind === 'keypoints') return { value: keypointDisplacement(delta.values, dense.values, frame.h, frame.w) };
  const [, H, W, C] = dense.shape as number[];
  const p = heatmapPeakAgreement(delta.values, dense.values, H!, W!, C!);
  return { value: p.near, exact: p.exact };
}

/** drift.json (traces/README.md). */
export interface DriftReport {
  format: 'deltasim-drift';
  version: 1;
  /** Closed loop: each MAC layer read the quantised levels computed from the quantised layers before it. */
  closedLoop: true;
  frames: number;
  /** Frames the summaries count: t ≥ 1 and not a key frame. */
  countedFrames: number;
  keyFrameEvery?: number;
  /** Per frame: the worst output's relative L2. */
  relL2: number[];
  relL2Mean: number | null;
  relL2Max: number | null;
  outputs: { name: string; shape: number[]; relL2: number[]; relL2Mean: number | null; relL2Max: number | null }[];
  task: {
    kind: TaskKind;
    output: string;
    metric: string;
    unit: string;
    perFrame: number[];
    mean: number | null;
    /** heatmap: the fraction in the same cell. */
    exactMean?: number | null;
  } | null;
}

/** The manifest's small model.drift key. */
export interface DriftSummary {
  file: string;
  countedFrames: number;
  relL2Mean: number | null;
  relL2Max: number | null;
  task?: { kind: TaskKind; metric: string; mean: number | null };
}

export const DRIFT_FILE = 'drift.json';

/** 6 significant digits: the report is read by people, and re-runs stay byte-identical. */
const r6 = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** Collects frame after frame; `report()` builds drift.json. */
export class DriftAccumulator {
  private readonly perOutput: number[][] = [];
  private readonly worst: number[] = [];
  private readonly taskFrames: number[] = [];
  private readonly exactFrames: number[] = [];
  private names: { name: string; shape: number[] }[] = [];
  private task: { kind: TaskKind; output: number } | undefined;
  private chosen = false;

  constructor(private readonly o: { task: TaskChoice; model?: string; frame: { h: number; w: number }; keyFrameEvery?: number }) {}

  get frames(): number {
    return this.worst.length;
  }

  add(delta: readonly OutputValue[], dense: readonly OutputValue[]): void {
    if (!this.chosen) {
      this.names = dense.map((d) => ({ name: d.name, shape: [...d.shape] }));
      this.task = chooseTask(this.o.task, dense, this.o.model);
      this.chosen = true;
    }
    let worst = 0;
    dense.forEach((d, i) => {
      const e = relativeL2(delta[i]!.values, d.values);
      (this.perOutput[i] ??= []).push(e);
      if (e > worst || Number.isNaN(e)) worst = e;
    });
    this.worst.push(worst);
    if (this.task) {
      const v = taskValue(this.task.kind, delta[this.task.output]!, dense[this.task.output]!, this.o.frame);
      this.taskFrames.push(v.value);
      if (v.exact !== undefined) this.exactFrames.push(v.exact);
    }
  }

  /** Frames counted by the summaries: t ≥ 1 and not key frames (none for a one-frame run: summaries are null). */
  private counted(): number[] {
    return this.worst.map((_, i) => i).filter((i) => !isKeyFrame(i, this.o.keyFrameEvery));
  }

  /** The budget's drift: mean relative L2 over counted frames, or the task metric's drift form. */
  budgetDrift(on: 'rel-l2' | 'task'): number {
    const c = this.counted();
    if (on === 'task') {
      if (!this.task) throw new InputError('--budget-on task: the model has no output with a task metric (see --task)');
      return TASK_METRICS[this.task.kind].drift(mean(c.map((t) => this.taskFrames[t]!)) ?? 0);
    }
    return mean(c.map((t) => this.worst[t]!)) ?? 0;
  }

  report(): DriftReport {
    const c = this.counted();
    const over = (xs: number[]) => {
      const v = c.map((t) => xs[t]!);
      const m = mean(v);
      return { mean: m === null ? null : r6(m), max: v.length ? r6(Math.max(...v)) : null };
    };
    const w = over(this.worst);
    const task = this.task;
    return {
      format: 'deltasim-drift',
      version: 1,
      closedLoop: true,
      frames: this.worst.length,
      countedFrames: c.length,
      ...(this.o.keyFrameEvery !== undefined ? { keyFrameEvery: this.o.keyFrameEvery } : {}),
      relL2: this.worst.map(r6),
      relL2Mean: w.mean,
      relL2Max: w.max,
      outputs: this.names.map((n, i) => {
        const s = over(this.perOutput[i]!);
        return { ...n, relL2: this.perOutput[i]!.map(r6), relL2Mean: s.mean, relL2Max: s.max };
      }),
      task: task
        ? {
            kind: task.kind,
            output: this.names[task.output]!.name,
            metric: TASK_METRICS[task.kind].metric,
            unit: TASK_METRICS[task.kind].unit,
            perFrame: this.taskFrames.map(r6),
            mean: over(this.taskFrames).mean,
            ...(task.kind === 'heatmap' ? { exactMean: over(this.exactFrames).mean } : {}),
          }
        : null,
    };
  }
}

/** The manifest key of a report. */
export function driftSummary(r: DriftReport): DriftSummary {
  return {
    file: DRIFT_FILE,
    countedFrames: r.countedFrames,
    relL2Mean: r.relL2Mean,
    relL2Max: r.relL2Max,
    ...(r.task ? { task: { kind: r.task.kind, metric: r.task.metric, mean: r.task.mean } } : {}),
  };
}

function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}
