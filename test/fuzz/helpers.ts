/** Temp files for the fuzz tests that read from disk (the .npy reader, grids, energy tables, trace directories). */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPOLOGIES_DIR } from '../../sim/paths.js';
import type { FuzzOptions, FuzzStats } from './mutate.js';

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'deltasim-fuzz-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The files in `dir` whose names match, read as bytes, in name order. */
export function filesIn(dir: string, match: RegExp): Uint8Array[] {
  return readdirSync(dir)
    .filter((f) => match.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** The topology CSV fuzz (topology.test.ts; cli.test.ts replays one of its mutants through the CLI). */
export function topologyFuzz(): FuzzOptions {
  return {
    seed: 0x637376,
    count: 600,
    bases: [
      ...filesIn(TOPOLOGIES_DIR, /^(tiny|alexnet|mobilenet-64)\.csv$/),
      ...filesIn(new URL('../fixtures/scalesim', import.meta.url).pathname, /_input\.csv$/),
    ],
  };
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** One line for the test log: how many mutants parsed, how many were refused, and the time. */
export function logStats(what: string, s: FuzzStats): void {
  if (process.env.FUZZ_STATS)
    console.log(`      ${what}: ${s.parsed} parsed, ${s.rejected} refused, ${Math.round(s.ms)} ms (slowest ${Math.round(s.slowestMs)} ms)`);
}
