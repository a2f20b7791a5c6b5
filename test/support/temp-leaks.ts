/**
 * Root hook plugin (.mocharc.json "require"): the test run fails when a temporary directory or file
 * it made survives it.
 *
 * How: as the plugin loads (before any spec file), the run gets a temp directory of its own,
 * `<system temp>/deltasim-test-run-XXXXXX`, and TMPDIR (and TMP, TEMP) point at it, so what the tests,
 * the code they call and the processes they spawn put under os.tmpdir() lands there. At the very end
 * (a root "after all" hook added when the run starts, so it runs after the root-level `after` hooks
 * spec files and their helpers registered while loading), every entry left in it whose name this
 * run's code gives temporary files (`deltasim-*`: ours and the tests'; `.tmp-*`: lib/atomic.ts's
 * siblings) is a leak: the hook fails, listing them, which counts as one failure in the
 * "N passed, N failed" line and the exit code. Then the run's directory is removed, with the leaks
 * (it is also removed on Ctrl-C / SIGTERM, src/record/temp-dir.ts).
 *
 * Because the directory belongs to this run, other processes (another test run, a recording) that
 * make `deltasim-*` directories in the system temp directory meanwhile are never counted.
 * Limits: a child process spawned with an environment without TMPDIR (`env: {}`), or code that
 * writes to a fixed path (/tmp/…), escapes the check; other names left there (a tool's cache, e.g.
 * tsx-<uid>) are not counted; temp files outside the temp directory (a `.tmp-*` sibling next to an
 * output in the repository) are not looked for. Serial runs only (each --parallel worker would get
 * a directory of its own and check it after its own files).
 */
import { readdirSync } from 'node:fs';
import { makeTempDir } from '../../src/record/temp-dir.js';

/** Names of the temporary files and directories this project's code and tests make. */
export const TEMP_NAME = /^(deltasim-|\.tmp-)/;

/** The entries of `dir` that are temporary files of ours. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => TEMP_NAME.test(n))
    .sort();
}

const ENV = ['TMPDIR', 'TMP', 'TEMP'] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
const run = makeTempDir('deltasim-test-run-');
for (const k of ENV) process.env[k] = run.path;

function check(): void {
  try {
    const left = leftovers(run.path);
    if (left.length > 0) {
      throw new Error(
        `${left.length} temporary file(s) survived the test run (remove them in an after / afterEach hook):\n` +
          left.map((n) => `  ${n}\n`).join('') +
          `(found in the run's temp directory ${run.path}, now removed)`,
      );
    }
  } finally {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    run.remove();
  }
}

export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    // Added now, after every file has loaded, so it is the root suite's last "after all" hook.
    this.test!.parent!.afterAll('no temporary file survives the test run', check);
  },
};
