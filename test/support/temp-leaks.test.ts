/** The test run's leak check (test/support/temp-leaks.ts), on a fixture run of mocha in a child process. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leftovers } from './temp-leaks.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** mocha with the plugin and the summary reporter on the fixture; LEAK=1 makes its test leave a directory. */
function fixtureRun(leak: boolean) {
  return spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/mocha/bin/mocha.js'),
      '--no-config',
      '--node-option',
      'import=tsx',
      '--require',
      './test/support/temp-leaks.ts',
      '--reporter',
      './test/support/summary-reporter.cjs',
      'test/fixtures/temp-leaks/leaky.ts',
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LEAK: leak ? '1' : '0' }, timeout: 60_000 },
  );
}

describe('test run leak check (test/support/temp-leaks.ts)', function () {
  this.timeout(120_000);

  it("counts our temp names only (deltasim-*, .tmp-*), not other tools' entries", () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltasim-leaks-test-'));
    try {
      for (const n of ['deltasim-sweep-abc', '.tmp-out-123-ff', 'tsx-1000', 'other']) mkdirSync(join(dir, n));
      writeFileSync(join(dir, 'deltasim-file'), '');
      expect(leftovers(dir)).to.deep.equal(['.tmp-out-123-ff', 'deltasim-file', 'deltasim-sweep-abc']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a run that leaves a temp directory (one failure, listed by name); a tidy run passes', () => {
    const before = leftovers(tmpdir());
    const leaky = fixtureRun(true);
    expect(leaky.status, leaky.stderr).to.equal(1);
    expect(leaky.stdout).to.match(/1 temporary file\(s\) survived the test run[^\n]*\n\s*deltasim-fixture-leak-\w+\n/);
    expect(leaky.stdout.trimEnd().split('\n').pop()).to.equal('1 passed, 1 failed');

    // The fixture's root-level after() hook (registered while loading) ran before the check.
    const tidy = fixtureRun(false);
    expect(tidy.status, tidy.stdout + tidy.stderr).to.equal(0);
    expect(tidy.stdout.trimEnd().split('\n').pop()).to.equal('1 passed, 0 failed');
    // Each run's own temp directory (in ours: TMPDIR is inherited) is gone, leaks included.
    expect(leftovers(tmpdir())).to.deep.equal(before);
  });
});
