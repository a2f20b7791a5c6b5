/**
 * Delta thresholds of the DeltaCNN-style recorders (graph-model.ts, onnx-model.ts, keras-model.ts): the step q of
 * each recorded tensor, levels = round(a / q), so a change below about q is a zero delta.
 *  - absolute (`--threshold q`): one q for every activation;
 *  - relative (`--relative-threshold r`): q = r × the tensor's range, the `percentile`-th percentile
 *    of |a| over the first `calibrationFrames` frames (default 99.9 over 8): one q cannot suit layers
 *    whose activations span 0.1 and 50 alike;
 *  - per-layer (`--thresholds layer=q,… | FILE.json`): q per trace layer name, `--threshold` (when
 *    given) for the layers not listed.
 * Layers fed by the image alone keep the pixel step (exact, the camera's deltas) unless listed per layer.
 * Layers reading one tensor share its levels, so they must share its q.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../lib/errors.js';
import { parseJsonText } from '../../lib/json.js';

export type ThresholdMode = 'absolute' | 'relative' | 'per-layer';

export interface ThresholdSpec {
  mode: ThresholdMode;
  /** absolute: q; relative: r; per-layer: q of the layers not listed (none: every layer must be listed). */
  value?: number;
  /** per-layer: q by trace layer name. */
  perLayer?: Record<string, number>;
  /** relative: percentile of |a| taken as the range (default 99.9). */
  percentile?: number;
  /** relative: frames the range is measured over (default 8, at most the recording's). */
  calibrationFrames?: number;
}

export const DEFAULT_PERCENTILE = 99.9;
export const DEFAULT_CALIBRATION_FRAMES = 8;

export interface ThresholdFlags {
  threshold?: number;
  thresholds?: string;
  relativeThreshold?: number;
  percentile?: number;
  calibrationFrames?: number;
}

const positive = (v: number | undefined, flag: string) => {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InputError(`${flag}: expected a number > 0, got ${v}`);
};

/** The recorder's ThresholdSpec from the CLI flags; errors name the flag (or the file and key); `who` names the recorder flag. */
export function thresholdSpecOf(f: ThresholdFlags, who = 'recording'): ThresholdSpec {
  positive(f.threshold, '--threshold');
  positive(f.relativeThreshold, '--relative-threshold');
  if (f.percentile !== undefined && !(f.percentile > 0 && f.percentile <= 100))
    throw new InputError(`--percentile: expected a number in (0, 100], got ${f.percentile}`);
  if (f.calibrationFrames !== undefined && !(Number.isInteger(f.calibrationFrames) && f.calibrationFrames >= 1))
    throw new InputError(`--calibration-frames: expected an integer >= 1, got ${f.calibrationFrames}`);
  if (f.relativeThreshold !== undefined) {
    if (f.threshold !== undefined || f.thresholds !== undefined)
      throw new InputError('--relative-threshold: give it alone, not with --threshold or --thresholds');
    return {
      mode: 'relative',
      value: f.relativeThreshold,
      percentile: f.percentile ?? DEFAULT_PERCENTILE,
      calibrationFrames: f.calibrationFrames ?? DEFAULT_CALIBRATION_FRAMES,
    };
  }
  if (f.percentile !== undefined || f.calibrationFrames !== undefined)
    throw new InputError(`--${f.percentile !== undefined ? 'percentile' : 'calibration-frames'}: applies to --relative-threshold only`);
  if (f.thresholds !== undefined)
    return { mode: 'per-layer', perLayer: parsePerLayer(f.thresholds), ...(f.threshold === undefined ? {} : { value: f.threshold }) };
  if (f.threshold === undefined)
    throw new InputError(`${who} needs --threshold (the delta threshold q), --relative-threshold r or --thresholds layer=q,…`);
  return { mode: 'absolute', value: f.threshold };
}

/** `layer=q,layer=q` pairs, or a .json file holding { "layer": q, … }. */
export function parsePerLayer(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (text.endsWith('.json')) {
    let raw: string;
    try {
      raw = readFileSync(text, 'utf8');
    } catch {
      throw new InputError('cannot read the --thresholds file', { file: text });
    }
    const json = parseJsonText(raw, text);
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new InputError('expected an object mapping layer names to thresholds', { file: text });
    for (const [k, v] of Object.entries(json)) {
      if (typeof v !== 'number' || !(Number.isFinite(v) && v > 0))
        throw new InputError(`threshold must be a number > 0, got ${JSON.stringify(v)}`, {
          file: text,
          pointer: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        });
      out[k] = v;
    }
  } else {
    for (const part of text.split(',')) {
      const eq = part.lastIndexOf('=');
      const v = Number(part.slice(eq + 1));
      if (eq <= 0 || part.slice(eq + 1).trim() === '' || !(Number.isFinite(v) && v > 0))
        throw new InputError(`--thresholds: expected layer=q with q > 0 (or a .json file), got "${part}"`);
      out[part.slice(0, eq)] = v;
    }
  }
  if (Object.keys(out).length === 0) throw new InputError('--thresholds: no layer given');
  return out;
}

/** One recorded layer: its trace name and the tensor whose levels it reads. */
export interface ThresholdLayer {
  name: string;
  tensor: string;
}

export interface ResolvedThresholds {
  /** Step per recorded tensor. */
  steps: Map<string, number | number[]>;
  /** The manifest's model.thresholds. */
  record: Omit<ThresholdSpec, 'perLayer'> & { perLayer?: Record<string, number | number[]> };
}

/**
 * The step of every tensor: `imageSteps` for the image-fed tensors (pixel steps), `ranges` (relative
 * mode: RangeSampler.range per tensor). A relative q is rounded to 4 significant digits (it is a choice, not a measurement).
 */
export function resolveThresholds(
  spec: ThresholdSpec,
  layers: readonly ThresholdLayer[],
  imageSteps: ReadonlyMap<string, number | number[]>,
  ranges?: ReadonlyMap<string, number>,
): ResolvedThresholds {
  const listed = spec.perLayer ?? {};
  const names = new Set(layers.map((l) => l.name));
  for (const k of Object.keys(listed))
    if (!names.has(k)) {
      const near = [...names].filter((n) => n.includes(k) || k.includes(n)).slice(0, 3);
      throw new InputError(
        `--thresholds: no layer "${k}"${near.length ? ` (near: ${near.join(', ')})` : ''}; layers: ${[...names].slice(0, 8).join(', ')}…`,
      );
    }
  const steps = new Map<string, number | number[]>();
  const by = new Map<string, string>(); // tensor → the layer that set it explicitly
  for (const l of layers) {
    const own = listed[l.name];
    if (own !== undefined) {
      const prev = by.get(l.tensor);
      if (prev !== undefined && steps.get(l.tensor) !== own)
        throw new InputError(`--thresholds: layers "${prev}" and "${l.name}" read one tensor and must share its threshold`);
      steps.set(l.tensor, own);
      by.set(l.tensor, l.name);
    }
  }
  for (const l of layers) {
    if (by.has(l.tensor) || steps.has(l.tensor)) continue;
    const image = imageSteps.get(l.tensor);
    if (image !== undefined) steps.set(l.tensor, image);
    else if (spec.mode === 'relative') {
      const r = ranges?.get(l.tensor);
      if (r === undefined) throw new Error(`no range measured for "${l.tensor}"`);
      steps.set(l.tensor, Number((spec.value! * (r > 0 ? r : 1)).toPrecision(4)));
    } else if (spec.value !== undefined) steps.set(l.tensor, spec.value);
    else throw new InputError(`--thresholds: layer "${l.name}" has no threshold (list it, or give --threshold for the rest)`);
  }
  const record: ResolvedThresholds['record'] = { ...spec };
  if (spec.mode !== 'absolute') record.perLayer = Object.fromEntries(layers.map((l) => [l.name, steps.get(l.tensor)!]));
  return { steps, record };
}

/** Most |a| values kept per tensor for the percentile (a strided sample beyond it). */
const MAX_SAMPLES = 1 << 20;

/** |a| samples per tensor over the calibration frames, and their percentile. */
export class RangeSampler {
  private readonly samples = new Map<string, { data: Float32Array; n: number; max: number }>();

  constructor(
    private readonly frames: number,
    private readonly percentile: number,
  ) {}

  add(tensor: string, values: ArrayLike<number>): void {
    let s = this.samples.get(tensor);
    const stride = Math.max(1, Math.ceil((values.length * this.frames) / MAX_SAMPLES));
    if (!s) {
      s = { data: new Float32Array(Math.ceil(values.length / stride) * this.frames), n: 0, max: 0 };
      this.samples.set(tensor, s);
    }
    for (let i = 0; i < values.length && s.n < s.data.length; i += stride) {
      const a = Math.abs(values[i]!);
      s.data[s.n++] = a;
      if (a > s.max) s.max = a;
    }
  }

  /** The percentile of |a| (nearest rank); the maximum when that is 0 (a mostly-zero tensor). */
  ranges(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [t, s] of this.samples) {
      const sorted = s.data.subarray(0, s.n).sort();
      const p = sorted[Math.min(s.n - 1, Math.max(0, Math.ceil((this.percentile / 100) * s.n) - 1))] ?? 0;
      out.set(t, p > 0 ? p : s.max);
    }
    return out;
  }
}

/**
 * A relative threshold needs each recorded tensor's range: measured over the stream's first
 * calibration frames, which are then replayed. `sample` runs the model on one frame and hands each
 * recorded tensor's values to `add`. Other modes pass the stream through untouched.
 */
export async function calibrate(
  stream: AsyncGenerator<Float32Array>,
  spec: ThresholdSpec,
  sample: (frame: Float32Array, add: (tensor: string, values: ArrayLike<number>) => void) => Promise<void>,
): Promise<{ stream: AsyncGenerator<Float32Array>; spec: ThresholdSpec; ranges?: Map<string, number> }> {
  if (spec.mode !== 'relative') return { stream, spec };
  const { head, all } = await calibrationHead(stream, spec.calibrationFrames ?? DEFAULT_CALIBRATION_FRAMES);
  const sampler = new RangeSampler(head.length, spec.percentile ?? DEFAULT_PERCENTILE);
  for (const f of head) await sample(f, (t, v) => sampler.add(t, v));
  return { stream: all, spec: { ...spec, calibrationFrames: head.length }, ranges: sampler.ranges() };
}

/** The first `k` frames copied (the calibration run), and all frames again from the first. */
export async function calibrationHead(
  frames: AsyncIterable<Float32Array>,
  k: number,
): Promise<{ head: Float32Array[]; all: AsyncGenerator<Float32Array> }> {
  const it = frames[Symbol.asyncIterator]();
  const head: Float32Array[] = [];
  let done = false;
  while (head.length < k) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value.slice());
  }
  async function* all(): AsyncGenerator<Float32Array> {
    yield* head;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, all: all() };
}
