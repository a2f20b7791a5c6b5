/** Shared fixtures for the trace tests: temp dirs and a small valid trace to corrupt. */
import { mkdtempSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { InputError } from '../../lib/errors.js';
import { throwsInput } from '../support/input-error.js';
import { SYNTH_PRESETS, writeSyntheticTrace, type SynthOptions } from '../../traces/synthetic.js';

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'deltasim-traces-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The committed sample's parameters (traces/samples/tiny; see traces/README.md). */
export const SAMPLE_OPTIONS: SynthOptions = { seed: 1, frames: 8, density: 0.3, changeRate: 0.05, blobs: 2 };

let pristine: string | undefined;
/** A fresh copy of a valid tiny trace, to be corrupted by the caller. */
export async function validTrace(): Promise<string> {
  if (!pristine) {
    pristine = join(tempDir(), 'pristine');
    await writeSyntheticTrace(pristine, SYNTH_PRESETS.tiny!, SAMPLE_OPTIONS);
  }
  const copy = join(tempDir(), 'trace');
  cpSync(pristine, copy, { recursive: true });
  return copy;
}

/** Assert fn throws an InputError whose message and location name `file` (and `offset` when given). */
export function expectInputError(fn: () => unknown, file: string, match?: RegExp, offset?: number): InputError {
  const e = throwsInput(fn);
  expect(e.where.file).to.equal(file);
  expect(e.message).to.include(file);
  if (match) expect(e.message).to.match(match);
  if (offset !== undefined) expect(e.where.offset).to.equal(offset);
  return e;
}
