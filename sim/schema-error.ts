/** ajv errors → one InputError that names the file, the JSON pointer and what was expected. */
import type { ErrorObject } from 'ajv';
import { InputError } from '../traces/errors.js';

/** Turn ajv errors into one InputError naming the file, the JSON pointer and the expectation. */
export function schemaError(errors: ErrorObject[] | null | undefined, file: string): InputError {
  const e = pickError(errors ?? []);
  if (!e) return new InputError('does not match the schema', { file, pointer: '' });
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return new InputError(`unknown key "${key}"`, { file, pointer: `${e.instancePath}/${key}` });
  }
  if (e.keyword === 'discriminator') {
    const tag = (e.params as { tag: string }).tag;
    return new InputError(`"${tag}" must be "systolic" or "event"`, { file, pointer: `${e.instancePath}/${tag}` });
  }
  if (e.keyword === 'required')
    return new InputError(`missing required key "${(e.params as { missingProperty: string }).missingProperty}"`, {
      file,
      pointer: e.instancePath,
    });
  const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
  return new InputError(`${e.message ?? 'is invalid'}${allowed ? ` (${allowed.map((a) => JSON.stringify(a)).join(', ')})` : ''}`, {
    file,
    pointer: e.instancePath,
  });
}

/** The most specific error: unknown keys first, then the deepest pointer. */
function pickError(errors: ErrorObject[]): ErrorObject | undefined {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return unknown;
  return [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
}
