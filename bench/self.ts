/**
 * Benchmarks that measure in child processes run themselves again. From the build (dist/bench/*.js, what
 * `npm run build` makes and bin/deltasim.js runs) the child runs the same JavaScript; from the TypeScript
 * source it goes through tsx, whose loader hooks slow hot loops
 * (bench/sim-trace.ts measures by how much).
 */
export const childArgs = (file: string): string[] => (file.endsWith('.ts') ? ['--import', 'tsx', file] : [file]);

/** What the figures are of, for a report. */
export const codeRun = (file: string): string =>
  file.endsWith('.ts') ? 'the TypeScript sources through tsx (not what bin/deltasim.js runs)' : 'the tsc build in dist/, as bin/deltasim.js runs it';
