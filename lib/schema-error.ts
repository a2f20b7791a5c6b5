/** ajv errors → one InputError that names the file, the JSON pointer of the offending key and what was expected. */
import type { ErrorObject } from 'ajv';
import { InputError, pointerKey, quote, quoteJson } from './errors.js';

/** The one translation of JSON Schema errors (hw-models, energy tables, grids, trace manifests, synthetic layers). */
export function schemaError(errors: ErrorObject[] | null | undefined, file: string): InputError {
  const e = pickError(errors ?? []);
  if (!e) return new InputError('does not match the schema', { file, pointer: '' });
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') {
    const key = String(p.additionalProperty);
    return new InputError(`unknown key ${quote(key)}`, { file, pointer: `${e.instancePath}/${pointerKey(key)}` });
  }
  if (e.keyword === 'required') {
    const key = String(p.missingProperty);
    return new InputError(`missing required key ${quote(key)}`, { file, pointer: `${e.instancePath}/${pointerKey(key)}` });
  }
  if (e.keyword === 'discriminator') {
    const tag = String(p.tag);
    const value = p.tagValue === undefined ? 'missing' : quoteJson(p.tagValue);
    return new InputError(`"${tag}" is ${value}: not one of the kinds the schema knows`, { file, pointer: `${e.instancePath}/${tag}` });
  }
  // A pattern is no explanation: say what the schema describes (ajv gives the schema with `verbose`).
  const description = (e.parentSchema as { description?: unknown } | undefined)?.description;
  if (e.keyword === 'pattern' && typeof description === 'string')
    return new InputError(`must be ${description}, got ${quoteJson(e.data)}`, { file, pointer: e.instancePath });
  const allowed = e.keyword === 'enum' ? (p.allowedValues as unknown[]) : e.keyword === 'const' ? [p.allowedValue] : undefined;
  const detail = allowed ? ` (${allowed.map((a) => JSON.stringify(a)).join(', ')})` : '';
  return new InputError(`${e.message ?? e.keyword}${detail}`, { file, pointer: e.instancePath });
}

/** The most specific error: unknown keys first, then the deepest pointer (the first of equals: ajv's order). */
function pickError(errors: ErrorObject[]): ErrorObject | undefined {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return unknown;
  let best: ErrorObject | undefined;
  for (const e of errors) if (!best || e.instancePath.length > best.instancePath.length) best = e;
  return best;
}
