/**
 * Sweep grids: named axes of values, from a grid file (hw-models/grids/schema.json) and/or
 * `--set name=v1,v2` flags, expanded as a cartesian product in odometer order (the last axis
 * varies fastest), so point i is the same point on every machine and in every shard.
 *
 * Axes may be zipped (a grid file's `"zip": [["rows", "cols"]]`, or `--zip rows,cols`): their values
 * are taken pairwise, as one dimension of the product (rows=8,16 zipped with cols=8,16 gives 8×8 and
 * 16×16, not four points). A dimension sits where its first axis does in the odometer.
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
  /** Zipped axes share this key, the name of the group's first axis: one dimension, values taken pairwise. */
  zip?: string;
}

/** Axes to zip, as a grid file's `zip` entry or a `--zip` flag names them. */
export interface ZipGroup {
  /** Canonical axis names. */
  names: string[];
  origin: string;
  /** Where in `origin` (a grid file's JSON pointer), for error messages. */
  pointer?: string;
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
  const { parameters, zip = [] } = doc as { parameters: Record<string, AxisValue[]>; zip?: string[][] };
  const axes = Object.entries(parameters).map(([name, values]) => ({
    name: canonicalName(name, { file, pointer: `/parameters/${pointerKey(name)}` }),
    values,
    origin: file,
  }));
  const groups = zip.map((names, i) => ({
    names: names.map((n, j) => canonicalName(n, { file, pointer: `/zip/${i}/${j}` })),
    origin: file,
    pointer: `/zip/${i}`,
  }));
  return zipAxes(mergeAxes(axes, []), groups);
}

/** `--zip rows,cols` → the axes to zip. */
export function parseZip(flag: string): ZipGroup {
  const origin = `--zip ${/^[\x20-\x7e]{0,60}$/.test(flag) ? flag : quote(flag)}`;
  const names = flag.split(',').map((n) => n.trim());
  if (names.length < 2 || names.some((n) => n === ''))
    throw new InputError('expected two or more parameter names: name,name[,…]', { file: origin });
  return { names: names.map((n) => canonicalName(n, { file: origin })), origin };
}

/**
 * Mark each group's axes as zipped. Every name must be an axis, once per group and in one group only;
 * the lengths are checked by `checkZip` once every --set has been merged in.
 */
export function zipAxes(axes: Axis[], groups: ZipGroup[]): Axis[] {
  const out = axes.map((a) => ({ ...a }));
  for (const g of groups) {
    const where = { file: g.origin, ...(g.pointer !== undefined ? { pointer: g.pointer } : {}) };
    if (new Set(g.names).size !== g.names.length) throw new InputError('a parameter is named twice in one zip', where);
    const members = g.names.map((n) => {
      const a = out.find((b) => b.name === n);
      if (!a) throw new InputError(`"${n}" is not a swept parameter (zip names parameters that --grid or --set give values)`, where);
      if (a.zip !== undefined) throw new InputError(`"${n}" is zipped twice`, where);
      return a;
    });
    const key = out.find((a) => members.includes(a))!.name;
    for (const a of members) a.zip = key;
  }
  return out;
}

/** Zipped axes must have as many values each: their values are taken pairwise. */
export function checkZip(axes: Axis[]): void {
  for (const dim of dimensions(axes)) {
    const [first, ...rest] = dim.map((i) => axes[i]!);
    const odd = rest.find((a) => a.values.length !== first!.values.length);
    if (odd)
      throw new InputError(
        `zipped parameters need as many values each: ${first!.name} has ${first!.values.length} (${first!.origin}), ${odd.name} has ${odd.values.length}`,
        { file: odd.origin },
      );
  }
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
 * grid with one axis changed; a zipped axis stays zipped); naming the same parameter twice on one
 * side is an error.
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
    if (i >= 0) out[i] = { ...s, ...(out[i]!.zip !== undefined ? { zip: out[i]!.zip } : {}) };
    else out.push(s);
  }
  return out;
}

/** The grid's dimensions in odometer order, each the positions of its axes: a lone axis, or a zip group. */
export function dimensions(axes: readonly Pick<Axis, 'name' | 'zip'>[]): number[][] {
  const dims = new Map<string, number[]>();
  axes.forEach((a, i) => {
    const key = a.zip ?? a.name;
    dims.set(key, [...(dims.get(key) ?? []), i]);
  });
  return [...dims.values()];
}

type Grid = readonly Pick<Axis, 'name' | 'zip' | 'values'>[];

export function pointCount(axes: Grid): number {
  return dimensions(axes).reduce((n, dim) => n * axes[dim[0]!]!.values.length, 1);
}

/** The values of point `index`, in axis order (odometer order over the dimensions: the last fastest). */
export function pointValues(axes: Grid, index: number): AxisValue[] {
  const out = new Array<AxisValue>(axes.length);
  let rest = index;
  for (const dim of dimensions(axes).reverse()) {
    const n = axes[dim[0]!]!.values.length;
    for (const i of dim) out[i] = axes[i]!.values[rest % n]!;
    rest = Math.floor(rest / n);
  }
  return out;
}

/** The grid as the console says it: `arch.rows (3) × arch.cols+arch.memories.state.kiB (2, zipped)`. */
export function describeGrid(axes: Axis[]): string {
  return dimensions(axes)
    .map((dim) => {
      const names = dim.map((i) => axes[i]!.name).join('+');
      return `${names} (${axes[dim[0]!]!.values.length}${dim.length > 1 ? ', zipped' : ''})`;
    })
    .join(' × ');
}
