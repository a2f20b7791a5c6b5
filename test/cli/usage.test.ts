/** Usage errors: exit 2, one hint, no stack; a mistyped subcommand gets a suggestion instead of another command's complaint. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

const BIN = join(PACKAGE_DIR, 'bin', 'deltasim.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('usage errors (CLI)', function () {
  this.timeout(120_000);
  it('trace inpsect DIR: exit 2, did you mean "inspect" (not "Missing required argument: out")', () => {
    const r = cli('trace', 'inpsect', join(PACKAGE_DIR, 'traces', 'samples', 'tiny'));
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include('unknown trace subcommand "inpsect"; did you mean "inspect"?').and.not.include('Missing required argument');
    expect(r.stderr).to.not.match(/\n\s+at /);
  });
  it('trace nonsense DIR: exit 2, lists the subcommands without a guess', () => {
    const r = cli('trace', 'zzzzzz', 'x');
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('unknown trace subcommand "zzzzzz" (record, inspect, synth, pack)');
  });
  it('the subcommands themselves still run: trace inspect DIR', () => {
    const r = cli('trace', 'inspect', join(PACKAGE_DIR, 'traces', 'samples', 'tiny'));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('frame 0 is a key frame');
  });
});
