/**
 * Sweep grids: named axes of values, from a grid file (hw-models/grids/schema.json) and/or
 * `--set name=v1,v2` flags, expanded as a cartesian product in odometer order (the last axis
 * varies fastest), so point i is the same point on every machine and in every shard.
 *
 * Axis names are canonical: `arch.<dotted path into the hw-model JSON>` or `sim.<option>`.
 * Users may leave the prefix out (`rows`, `memories.dram.GBps`, `deltaDensity`); the canonical name
 * is also the sweep.csv column (the report recognises swept parameters by the dot).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { InputError, pointerKey, quote, quoteJson, type InputErrorWhere } from '../../lib/errors.js';
import { parseJsonText } from '../../lib/json.js';
import { HW_MODELS_DIR } from '../paths.js';
import { schemaError } from '../../lib/schema-error.js';

export type AxisValue = number | boolean | string;

export interface Axis {
  /** Canonical name: `arch.<path>` or `sim.<option>`. */
  name: string;
  values: AxisValue[];
  /** Where the axis came from (grid file or `--set …`), for error messages. */
  origin: string;
}

/**
 * Simulation options a sweep can vary besides the hw-model: the statistical densities of a topology
 * sweep (workloads.ts Densities) and the delta threshold of a trace sweep (ActivityOptions); which of them a
 * sweep accepts depends on its workload (WORKLOAD_PARAMETERS in job.ts).
 */
export const SIM_PARAMETERS = ['actDensity', 'weightDensity', 'deltaDensity', 'threshold'] as const;
export type SimParameter = (typeof SIM_PARAMETERS)[number];
/** A sweep's simulation options (fixed ones, or one point's swept ones). */
export type SweepSimOptions = Partial<Record<SimParameter, number>>;

/** Longest parameter name taken (real dotted paths are a few dozen characters; this keeps messages short). */
const MAX_NAME = 100;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `rows` → `arch.rows`, `deltaDensity` → `sim.deltaDensity`; prefixed names stay. */
export function canonicalName(name: string, where: InputErrorWhere): string {
  if (name.length > MAX_NAME) throw new InputError(`${quote(name)} is not a parameter name (longer than ${MAX_NAME} characters)`, where);
  if (!NAME.test(name)) throw new InputError(`${quote(name)} is not a parameter name (a dotted path such as memories.dram.GBps)`, where);
  if (name.startsWith('sim.')) {
    if (!(SIM_PARAMETERS as readonly string[]).includes(name.slice(4)))
      throw new InputError(
        `unknown simulation parameter ${quote(name)}; sweepable: ${SIM_PARAMETERS.map((p) => `sim.${p}`).join(', ')}`,
        where,
      );
    return name;
  }
  if (name.startsWith('arch.')) return name;
  return (SIM_PARAMETERS as readonly string[]).includes(name) ? `sim.${name}` : `arch.${name}`;
}

/** A `--set` value: a number, true/false, a "JSON string", or else the bare text. */
export function parseValue(token: string, where: InputErrorWhere = {}): AxisValue {
  const t = token.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^"[\s\S]*"$/.test(t)) {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new InputError(`${quote(t)} is not a valid "JSON string" (escape quotes inside it as \\")`, where);
    }
  }
  return t;
}

/** `name=v1,v2,…` → an axis. */
export function parseSet(flag: string): Axis {
  // The flag as typed, unless it is long or holds line breaks / invisible characters.
  const origin = `--set ${/^[\x20-\x7e]{0,60}$/.test(flag) ? flag : quote(flag)}`;
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new InputError('expected name=value[,value…] (e.g. rows=8,16,32)', { file: origin });
  const tokens = flag.slice(eq + 1).split(',');
  if (tokens.some((t) => t.trim() === '')) throw new InputError('empty value', { file: origin });
  const name = canonicalName(flag.slice(0, eq).trim(), { file: origin });
  const where = { file: origin };
  const values = tokens.map((t) => parseValue(t, where));
  return { name, values: checkUnique(values, where), origin };
}

function checkUnique(values: AxisValue[], where: InputErrorWhere): AxisValue[] {
  const seen = new Set<string>();
  for (const v of values) {
    const k = JSON.stringify(v);
    if (seen.has(k)) throw new InputError(`value ${quoteJson(v)} listed twice`, where);
    seen.add(k);
  }
  return values;
}

let validateGrid: ReturnType<Ajv.default['compile']> | undefined;

/** A grid file's axes, in the file's key order. */
export function parseGridJson(text: string, file: string): Axis[] {
  validateGrid ??= new Ajv.default({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(join(HW_MODELS_DIR, 'grids', 'schema.json'), 'utf8')),
  );
  const doc = parseJsonText(text, file);
  if (!validateGrid(doc)) throw schemaError(validateGrid.errors, file);
  const params = (doc as { parameters: Record<string, AxisValue[]> }).parameters;
  const axes = Object.entries(params).map(([name, values]) => ({
    name: canonicalName(name, { file, pointer: `/parameters/${pointerKey(name)}` }),
    values,
    origin: file,
  }));
  return mergeAxes(axes, []);
}

export function loadGrid(file: string): Axis[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read grid file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  return parseGridJson(text, file);
}

/**
 * Grid axes then `--set` axes. A `--set` naming a grid axis replaces its values in place (run the
 * grid with one axis changed); naming the same parameter twice on one side is an error.
 */
export function mergeAxes(grid: Axis[], sets: Axis[]): Axis[] {
  const out: Axis[] = [];
  for (const a of grid) {
    if (out.some((b) => b.name === a.name)) throw new InputError(`parameter "${a.name}" given twice`, { file: a.origin });
    out.push(a);
  }
  const fromSets = new Set<string>();
  for (const s of sets) {
    if (fromSets.has(s.name)) throw new InputError(`parameter "${s.name}" given twice`, { file: s.origin });
    fromSets.add(s.name);
    const i = out.findIndex((b) => b.name === s.name);
    if (i >= 0) out[i] = s;
    else out.push(s);
  }
  return out;
}

export function pointCount(axes: Axis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The values of point `index` (odometer order: last axis fastest). */
export function pointValues(axes: Axis[], index: number): AxisValue[] {
  const out = new Array<AxisValue>(axes.length);
  let rest = index;
  for (let i = axes.length - 1; i >= 0; i--) {
    const vs = axes[i]!.values;
    out[i] = vs[rest % vs.length]!;
    rest = Math.floor(rest / vs.length);
  }
  return out;
}
