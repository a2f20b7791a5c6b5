/** Test helper shared by every area: assert that fn throws an InputError whose message names each part. */
import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';

export function throwsInput(fn: () => unknown, ...parts: (string | RegExp)[]): InputError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an InputError').to.be.instanceOf(InputError);
  for (const p of parts)
    expect((err as Error).message).to.match(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  return err as InputError;
}
