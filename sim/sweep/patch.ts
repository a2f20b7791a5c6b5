/**
 * A sweep point as a concrete hw-model and simulation options: the base hw-model's JSON with the
 * point's `arch.*` values written at their dotted paths, re-validated against hw-models/schema.json.
 */
import { InputError, quoteJson } from '../../lib/errors.js';
import { parseHwModelJson, type HwModel, type HwSpec } from '../hw-model.js';
import type { Axis, AxisValue, SimParameter, SweepSimOptions } from './grid.js';

/** The JSON a hw-model was loaded from (what parseHwModelJson accepts). */
export function specOf(hw: HwModel): HwSpec {
  const { source: _source, energyTable: _table, ...spec } = hw;
  return spec as HwSpec;
}

/**
 * A copy of `spec` with `value` at `path` (dot-separated). Every key before the last must exist and
 * hold an object; the last may be new (the schema decides whether it is allowed).
 */
export function patchSpec(spec: HwSpec, path: string, value: AxisValue, origin: string): HwSpec {
  const copy = structuredClone(spec) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  keys.slice(0, -1).forEach((k, i) => {
    const next = node[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next))
      throw new InputError(
        `"${keys.slice(0, i + 1).join('.')}" is ${next === undefined ? 'not a key of' : 'not an object in'} the hw-model`,
        { file: origin },
      );
    node = next as Record<string, unknown>;
  });
  node[keys.at(-1)!] = value;
  return copy as unknown as HwSpec;
}

/** An InputError's message without the "file, at pointer: " prefix its constructor adds. */
export function bareMessage(e: InputError): string {
  const prefix = new InputError('', e.where).message;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

export interface PointConfig {
  hw: HwModel;
  sim: SweepSimOptions;
}

/** Densities are fractions; a delta threshold is any finite level difference ≥ 0. */
export function simValueError(name: SimParameter, v: unknown): string | null {
  if (name === 'threshold') return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'must be a finite number ≥ 0';
  return typeof v === 'number' && v >= 0 && v <= 1 ? null : 'must be a number in [0, 1]';
}

/** The hw-model and simulation options of one point (`values` in axis order). */
export function pointConfig(baseSpec: HwSpec, baseSource: string, axes: Axis[], values: AxisValue[]): PointConfig {
  let spec = baseSpec;
  const sim: Record<string, number> = {};
  axes.forEach((a, i) => {
    const v = values[i]!;
    if (a.name.startsWith('sim.')) {
      const name = a.name.slice(4) as SimParameter;
      const bad = simValueError(name, v);
      if (bad) throw new InputError(`${a.name} = ${quoteJson(v)}: ${bad}`, { file: a.origin });
      sim[name] = v as number;
    } else spec = patchSpec(spec, a.name.slice(5), v, a.origin);
  });
  try {
    // Parsed relative to the base file so its relative energy-table path still resolves.
    return { hw: parseHwModelJson(JSON.stringify(spec), baseSource), sim };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    // Blame the axis whose path holds the error (or the first arch axis for a cross-key rule).
    const pointer = e.where.pointer ?? '';
    const archAxes = axes.map((a, i) => ({ a, v: values[i] })).filter(({ a }) => a.name.startsWith('arch.'));
    const hit = archAxes.find(({ a }) => pointer.startsWith(`/${a.name.slice(5).replaceAll('.', '/')}`)) ?? archAxes[0];
    if (!hit) throw e;
    throw new InputError(`${hit.a.name} = ${quoteJson(hit.v)} makes the hw-model invalid at ${pointer || '/'}: ${bareMessage(e)}`, {
      file: hit.a.origin,
    });
  }
}

/**
 * Check every value of every axis on its own against the base (a bad path or value is reported with
 * the grid file / --set and the key before anything runs).
 */
export function checkAxes(baseSpec: HwSpec, baseSource: string, axes: Axis[]): void {
  for (const a of axes) for (const v of a.values) pointConfig(baseSpec, baseSource, [a], [v]);
}
