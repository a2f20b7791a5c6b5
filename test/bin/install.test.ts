/**
 * deltasim as an installed package: `npm pack` (its prepare script builds), then installed globally (`npm install -g
 * --prefix`) and as a project's dependency (npm hoists the dependencies next to deltasim, not inside it). The installed
 * `deltasim` runs (the launcher's staleness check is for a development checkout only), finds its data files, and
 * run.json finds the dependency versions wherever npm put them.
 *
 * Dependencies come from the npm cache where it has them, else from the registry. The suite is skipped only when the
 * install fails and the registry does not answer `npm ping`; any other failure fails it.
 */
import { expect } from 'chai';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

const WIN = process.platform === 'win32';
const NPM = WIN ? 'npm.cmd' : 'npm';
const VERSION = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The environment without what an enclosing `npm test` sets about itself (its script, package and prefixes); the
 * registry and cache settings stay.
 */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_(command$|lifecycle_|package_|config_(local_|global_)?prefix$)/i.test(k)),
);

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, shell: WIN });
}

/** The gist of a failed `npm ping`: npm's error code line, or why it did not finish. */
const pingError = (r: SpawnSyncReturns<string>) =>
  r.error?.message ?? r.stderr.split('\n').find((l) => /^npm error code /.test(l)) ?? `exit ${r.status}`;

const output = (r: SpawnSyncReturns<string>) => `exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

/** Every file under `dir`, relative to it, node_modules/ left out. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'));
}

describe('deltasim installed from its npm pack tarball', function () {
  this.timeout(200_000); // a guard: from a warm npm cache the suite takes about 35 s
  let tmp: string;
  let tarball: string;

  /** Why the registry cannot be reached (undefined: it answers `npm ping`), asked once. */
  let unreachable: string | undefined | null = null;
  function registryUnreachable(): string | undefined {
    if (unreachable !== null) return unreachable;
    const ping = run(NPM, ['ping', '--fetch-retries=0', '--fetch-timeout=10000'], tmp, 20_000);
    if (ping.status === 0) return (unreachable = undefined);
    const registry = run(NPM, ['config', 'get', 'registry'], tmp).stdout.trim();
    return (unreachable = `the dependencies are not all in the npm cache and the registry ${registry} does not answer npm ping (${pingError(ping)})`);
  }

  /** `npm install ARGS TARBALL`: from the npm cache alone if it can, else with the registry; skips the suite only when that is unreachable. */
  function install(ctx: Mocha.Context, args: string[]): void {
    const flags = ['--no-audit', '--no-fund'];
    if (run(NPM, ['install', ...args, ...flags, '--offline', tarball], tmp, 80_000).status === 0) return;
    const why = registryUnreachable();
    if (why !== undefined) {
      console.warn(`    skipped: ${why}`);
      ctx.skip();
    }
    const r = run(NPM, ['install', ...args, ...flags, '--prefer-offline', tarball], tmp, 80_000);
    expect(r.status, `npm install ${args.join(' ')} failed:\n${output(r)}`).to.equal(0);
  }

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deltasim-install-'));
    const r = run(NPM, ['pack', '--pack-destination', tmp], PACKAGE_DIR, 100_000);
    expect(r.status, `npm pack failed:\n${output(r)}`).to.equal(0);
    const tgz = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    expect(tgz).to.have.length(1);
    tarball = join(tmp, tgz[0]!);
  });
  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  describe('globally (npm install -g --prefix)', () => {
    let prefix: string;
    let pkg: string;
    const deltasim = (...args: string[]) => run(join(prefix, ...(WIN ? ['deltasim.cmd'] : ['bin', 'deltasim'])), args, tmp);

    before(function () {
      prefix = join(tmp, 'prefix');
      install(this, ['-g', '--prefix', prefix]);
      pkg = join(prefix, ...(WIN ? [] : ['lib']), 'node_modules', 'deltasim');
    });

    it('ships the build and the data files, no TypeScript sources, no tsconfig.json and no benchmarks', () => {
      const shipped = files(pkg);
      for (const f of [
        'bin/deltasim.js',
        'dist/src/cli/index.js',
        'hw-models/schema.json',
        'hw-models/energy/horowitz-45nm.json',
        'hw-models/grids/schema.json',
        'sim/topologies/tiny.csv',
        'traces/manifest.schema.json',
        'src/tf/pretrained/delta/model.json',
        'docs/design.md',
      ])
        expect(shipped, f).to.include(join(f));
      expect(shipped.filter((f) => f.endsWith('.ts') || f.endsWith('.mjs'))).to.deep.equal([]);
      expect(shipped).not.to.include('tsconfig.json');
      expect(shipped.filter((f) => /^dist[\\/](bench|studies|\.)/.test(f))).to.deep.equal([]);
    });

    it('deltasim --version prints the version', () => {
      const r = deltasim('--version');
      expect(r.status, output(r)).to.equal(0);
      expect(r.stdout.trim()).to.equal(VERSION);
    });

    it('deltasim arch list lists the hw-models that ship', () => {
      const r = deltasim('arch', 'list');
      expect(r.status, output(r)).to.equal(0);
      expect(r.stdout).to.contain('dense-32x32').and.contain('seneca-like');
    });

    it('deltasim simulate --model tiny --arch dense-32x32 runs and writes run.json with the dependency versions', () => {
      const r = deltasim('simulate', '--model', 'tiny', '--arch', 'dense-32x32', '--out', join(tmp, 'run-global'));
      expect(r.status, output(r)).to.equal(0);
      expect(r.stdout).to.contain('dense @ dense-32x32');
      const doc = JSON.parse(readFileSync(join(tmp, 'run-global', 'run.json'), 'utf8')) as { deltasim: string; dependencies: object };
      expect(doc.deltasim).to.equal(VERSION);
      expect(Object.keys(doc.dependencies)).to.include.members(['ajv', 'csv-parse', 'csv-stringify', 'yargs']);
      for (const v of Object.values(doc.dependencies)) expect(v).to.match(/^\d+\.\d+\.\d+/);
    });
  });

  describe("as a project's dependency (dependencies hoisted next to it)", () => {
    let project: string;

    before(function () {
      project = join(tmp, 'project');
      mkdirSync(project);
      writeFileSync(join(project, 'package.json'), '{ "name": "uses-deltasim", "version": "1.0.0", "private": true }\n');
      install(this, ['--prefix', project]);
    });

    it('run.json finds the versions of the hoisted dependencies', () => {
      expect(existsSync(join(project, 'node_modules', 'csv-parse', 'package.json'))).to.equal(true);
      expect(existsSync(join(project, 'node_modules', 'deltasim', 'node_modules', 'csv-parse'))).to.equal(false);
      const bin = join(project, 'node_modules', '.bin', WIN ? 'deltasim.cmd' : 'deltasim');
      const r = run(bin, ['simulate', '--model', 'tiny', '--arch', 'dense-32x32', '--out', join(tmp, 'run-local')], project);
      expect(r.status, output(r)).to.equal(0);
      const doc = JSON.parse(readFileSync(join(tmp, 'run-local', 'run.json'), 'utf8')) as { dependencies: Record<string, string> };
      const hoisted = (d: string) =>
        (JSON.parse(readFileSync(join(project, 'node_modules', d, 'package.json'), 'utf8')) as { version: string }).version;
      expect(doc.dependencies).to.deep.equal(Object.fromEntries(Object.keys(doc.dependencies).map((d) => [d, hoisted(d)])));
    });
  });
});
