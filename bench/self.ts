/**
 * Benchmarks that measure in child processes run themselves again, and report medians over those processes.
 * From the build (dist/bench/*.js, what `npm run build` makes and bin/deltasim.js runs) the child runs the same
 * JavaScript; from the TypeScript source it goes through tsx, whose loader hooks slow hot loops
 * (bench/sim-trace.ts measures by how much).
 */
import { execFileSync } from 'node:child_process';

export const childArgs = (file: string): string[] => (file.endsWith('.ts') ? ['--import', 'tsx', file] : [file]);

/** Runs `file` (a bench module) as a child with `args` and Node's `nodeFlags`; its stdout is one JSON value. */
export function runChild<T>(file: string, args: string[], nodeFlags: string[] = []): T {
  return JSON.parse(execFileSync(process.execPath, [...nodeFlags, ...childArgs(file), ...args], { encoding: 'utf8' })) as T;
}

/** What the figures are of, for a report. */
export const codeRun = (file: string): string =>
  file.endsWith('.ts')
    ? 'the TypeScript sources through tsx (not what bin/deltasim.js runs)'
    : 'the tsc build in dist/, as bin/deltasim.js runs it';

export function median(xs: number[]): number {
  return [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
}

/** Field by field, the median over the processes' results (all fields numbers). */
export function medians<T extends object>(rs: T[]): T {
  return Object.fromEntries(Object.keys(rs[0]!).map((k) => [k, median(rs.map((r) => r[k as keyof T] as number))])) as T;
}
