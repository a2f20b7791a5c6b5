/**
 * bin/deltasim.js runs the build in dist/. In a development checkout (tsconfig.json next to package.json) it refuses a
 * build that is missing or older than a source file; an installed package (no tsconfig.json) runs its build as it is.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

describe('bin/deltasim.js', () => {
  let root: string;
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
  const launch = () => spawnSync(process.execPath, [join(root, 'bin', 'deltasim.js'), '--help'], { encoding: 'utf8' });

  beforeEach(() => {
    // a development checkout in miniature: tsconfig.json, the launcher, one source per tree, a compiled CLI that says what it got
    root = mkdtempSync(join(tmpdir(), 'deltasim-bin-'));
    writeFileSync(join(root, 'tsconfig.json'), '{}\n');
    mkdirSync(join(root, 'bin'));
    copyFileSync(join(PACKAGE_DIR, 'bin', 'deltasim.js'), join(root, 'bin', 'deltasim.js'));
    for (const dir of ['lib', 'src', 'sim', 'traces']) {
      mkdirSync(join(root, dir, 'sub'), { recursive: true });
      writeFileSync(join(root, dir, 'sub', 'a.ts'), '');
      utimesSync(join(root, dir, 'sub', 'a.ts'), at(0), at(0));
    }
    mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'src', 'cli', 'index.js'), 'console.log("compiled CLI", process.argv.slice(2).join(" "));\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs dist/src/cli/index.js with the arguments when the build is newer than every source', () => {
    writeFileSync(join(root, 'dist', '.built'), '');
    utimesSync(join(root, 'dist', '.built'), at(10), at(10));
    const r = launch();
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('compiled CLI --help\n');
  });

  it('refuses to run without a build', () => {
    const r = launch();
    expect(r.status).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain('no build in').and.contain('npm run build');
  });

  it('refuses a build older than a source file, naming the file', () => {
    writeFileSync(join(root, 'dist', '.built'), '');
    utimesSync(join(root, 'dist', '.built'), at(10), at(10));
    utimesSync(join(root, 'traces', 'sub', 'a.ts'), at(20), at(20));
    const r = launch();
    expect(r.status).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain('traces/sub/a.ts changed after the last build').and.contain('npm run build');
  });

  describe('an installed package (no tsconfig.json)', () => {
    beforeEach(() => rmSync(join(root, 'tsconfig.json')));

    it('runs its build even when its files are newer than the build stamp, or it has no stamp', () => {
      writeFileSync(join(root, 'dist', '.built'), '');
      utimesSync(join(root, 'dist', '.built'), at(10), at(10));
      utimesSync(join(root, 'src', 'sub', 'a.ts'), at(20), at(20)); // unpacking stamps files with the time of unpacking
      expect(launch().stdout).to.equal('compiled CLI --help\n');
      rmSync(join(root, 'dist', '.built'));
      const r = launch();
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('compiled CLI --help\n');
    });

    it('runs without any sources', () => {
      for (const dir of ['lib', 'src', 'sim', 'traces']) rmSync(join(root, dir), { recursive: true });
      const r = launch();
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('compiled CLI --help\n');
    });

    it('refuses to run without a build, and says to reinstall', () => {
      rmSync(join(root, 'dist'), { recursive: true });
      const r = launch();
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain('no build in').and.contain('reinstall deltasim').and.not.contain('npm run build');
    });
  });
});
