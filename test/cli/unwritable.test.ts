/**
 * An output path that cannot be created is bad input: one line naming the path, exit 1, promptly. Under /proc a
 * parent exists but refuses children, where Node's recursive mkdir loops forever (`simulate --trace … --out
 * /proc/nope/x` once spun a core until killed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

const BIN = join(PACKAGE_DIR, 'bin', 'deltasim.js');
const TINY = join(PACKAGE_DIR, 'traces', 'samples', 'tiny');

describe('an output that cannot be created (CLI)', function () {
  this.timeout(120_000);
  before(function () {
    if (!existsSync('/proc/self')) this.skip(); // needs Linux's /proc
  });
  const cases: [string, string[], string][] = [
    [
      'simulate --trace, output two levels under /proc',
      ['simulate', '--trace', TINY, '--arch', 'delta-32x32', '--out', '/proc/nope/x'],
      '/proc/nope',
    ],
    [
      'simulate --model, output directly under /proc',
      ['simulate', '--model', 'tiny', '--arch', 'delta-32x32', '--out', '/proc/nope'],
      '/proc',
    ],
    [
      'sweep',
      ['sweep', '--model', 'tiny', '--arch', 'delta-32x32', '--set', 'rows=8', '--workers', '0', '--out', '/proc/nope/s'],
      '/proc/nope',
    ],
    ['trace synth', ['trace', 'synth', '--out', '/proc/nope/t'], '/proc/nope'],
  ];
  for (const [what, args, path] of cases)
    it(`${what}: exit 1 within seconds, one line naming ${path}`, () => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal, 'killed by the timeout: it hung').to.equal(null);
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.include(`${path}:`).and.include('cannot create');
    });
});
