/**
 * The command registry (src/cli/commands/index.ts) loads each command's module lazily, so `deltasim --version` and
 * `deltasim --help` load no command module and no tfjs. It repeats each module's command string and description:
 * they must match.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

const COMMANDS_DIR = join(PACKAGE_DIR, 'src', 'cli', 'commands');

describe('command registry (src/cli/commands/index.ts)', () => {
  // In a child process: importing every command module (tfjs, the custom layers) into the test process would give later
  // tests a second copy of modules they load by other URLs.
  it('lists every command module once, with the command string and description the module has', () => {
    const script = `
      import { readdirSync } from 'node:fs';
      import { join } from 'node:path';
      import { pathToFileURL } from 'node:url';
      const dir = ${JSON.stringify(COMMANDS_DIR)};
      const { commands } = await import(pathToFileURL(join(dir, 'index.ts')).href);
      const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
      const modules = await Promise.all(files.map(async (f) => (await import(pathToFileURL(join(dir, f)).href)).default));
      const loaded = await Promise.all(commands.map((c) => c.load()));
      console.log(JSON.stringify({
        files: files.length,
        same: loaded.every((m) => modules.includes(m)) && new Set(loaded).size === modules.length,
        pairs: commands.map((c, i) => [{ command: c.command, describe: c.describe }, { command: loaded[i].command, describe: loaded[i].describe }]),
        extra: loaded.map((m) => Object.keys(m).filter((k) => !['command', 'describe', 'builder', 'handler'].includes(k))),
      }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PACKAGE_DIR, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { files: number; same: boolean; pairs: [unknown, unknown][]; extra: string[][] };
    expect(out.files).to.be.greaterThan(5);
    expect(out.same, 'the registry loads the same module objects, each once').to.equal(true);
    for (const [registry, module] of out.pairs) expect(registry).to.deep.equal(module);
    // what the registry forwards; a module that sets more (aliases, middlewares, deprecated) needs it forwarded too
    for (const e of out.extra) expect(e).to.deep.equal([]);
  });

  describe('what a command line loads', function () {
    this.timeout(60_000);
    let tmp: string;
    before(() => {
      // a resolve hook, registered after tsx's, that logs every module URL the CLI resolves
      tmp = mkdtempSync(join(tmpdir(), 'deltasim-lazy-'));
      writeFileSync(
        join(tmp, 'hooks.mjs'),
        "import { appendFileSync } from 'node:fs';\nlet log;\nexport function initialize(data) { log = data.log; }\n" +
          'export async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n' +
          '  appendFileSync(log, r.url + "\\n");\n  return r;\n}\n',
      );
      writeFileSync(
        join(tmp, 'register.mjs'),
        "import { register } from 'node:module';\n" +
          `register(${JSON.stringify(pathToFileURL(join(tmp, 'hooks.mjs')).href)}, { data: { log: process.env.DELTASIM_TEST_RESOLVE_LOG } });\n`,
      );
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    /** The module URLs `deltasim ARGS` (from the sources) resolves, and its exit status. */
    function resolved(...args: string[]): { status: number | null; urls: string[] } {
      const log = join(tmp, `${args.join('_') || 'none'}.log`);
      writeFileSync(log, '');
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          pathToFileURL(join(tmp, 'register.mjs')).href,
          join(PACKAGE_DIR, 'src', 'cli', 'index.ts'),
          ...args,
        ],
        { cwd: PACKAGE_DIR, encoding: 'utf8', env: { ...process.env, DELTASIM_TEST_RESOLVE_LOG: log } },
      );
      return { status: r.status, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
    }
    const commandModules = (urls: string[]) =>
      urls.map((u) => /\/src\/cli\/commands\/([^/]+)\.[jt]s$/.exec(u)?.[1]).filter((n) => n !== undefined && n !== 'index');
    const tfjs = (urls: string[]) => urls.filter((u) => u.includes('/node_modules/@tensorflow/'));

    for (const args of [['--version'], ['--help'], ['simulat']])
      it(`deltasim ${args.join(' ')} loads no command module and no tfjs`, () => {
        const r = resolved(...args);
        expect(r.urls.some((u) => u.includes('/node_modules/yargs/'))).to.equal(true); // the log works
        expect(commandModules(r.urls)).to.deep.equal([]);
        expect(tfjs(r.urls)).to.deep.equal([]);
      });

    it('deltasim arch list loads the arch module only, and no tfjs; train --help loads train (and tfjs)', () => {
      const arch = resolved('arch', 'list');
      expect(arch.status).to.equal(0);
      expect(commandModules(arch.urls)).to.deep.equal(['arch']);
      expect(tfjs(arch.urls)).to.deep.equal([]);
      const train = resolved('train', '--help');
      expect(train.status).to.equal(0);
      expect(commandModules(train.urls)).to.deep.equal(['train']);
      expect(tfjs(train.urls)).not.to.deep.equal([]);
    });
  });
});
