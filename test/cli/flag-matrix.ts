/**
 * The wrong-typed flag matrix, run by test/cli/flag-types.test.ts in a child process (command modules load tfjs;
 * the test process must not get a second copy of them): every command and subcommand, every flag it declares
 * (read from yargs, not listed here), each given wrong-typed values, each case through `runCli` (the function
 * bin/deltasim.js runs) in a fresh, empty working directory. Writes the results as JSON to argv[2].
 *
 *   node --import tsx test/cli/flag-matrix.ts RESULTS.json
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import yargs, { type CommandModule, type MiddlewareFunction } from 'yargs';
import { PACKAGE_DIR } from '../../lib/package-dir.js';
import { commands } from '../../src/cli/commands/index.js';
import { runCli } from '../../src/cli/run.js';
import { FFMPEG_PATH } from '../../src/video/ffmpeg.js';

export const TRACE = join(PACKAGE_DIR, 'traces', 'samples', 'tiny');
export const MODEL = join(PACKAGE_DIR, 'src', 'tf', 'pretrained', 'delta');
const ONNX = join(PACKAGE_DIR, 'test', 'fixtures', 'onnx', 'small.onnx');

/** The kinds of value a declared option takes. */
export type Kind = 'number' | 'string' | 'choice' | 'boolean' | 'array';

export interface Flag {
  key: string;
  kind: Kind;
  positional: boolean;
  choices?: string[];
}

export interface Case {
  /** Command words: ['trace', 'inspect']. */
  path: string[];
  flag: Flag;
  /** What is wrong, for messages: 'not a number', 'missing at the end', … */
  what: string;
  argv: string[];
  /** Exit statuses that count as a clean refusal (0 too where the value may be valid, e.g. `--out 5`). */
  expect: number[];
  /** What stderr must name: the flag as typed, or for positionals the value or name. */
  names: string[];
}

export interface Result extends Case {
  code: number;
  stdout: string;
  stderr: string;
  /** Entries written into the working directory or the input directories (must be none unless it succeeded). */
  wrote: string[];
  ms: number;
}

export interface Matrix {
  /** Per command: its flags as yargs declares them. */
  commands: { path: string[]; flags: Flag[]; baseline: { argv: string[]; code: number; stderr: string }[] }[];
  results: Result[];
  /** Commands whose module did not load. */
  errors: { path: string[]; error: string }[];
}

interface DeclaredOptions {
  key: Record<string, unknown>;
  boolean: string[];
  number: string[];
  array: string[];
  count: string[];
  choices: Record<string, unknown[]>;
}

/** yargs' own options, on every command. */
const YARGS_OWN = new Set(['help', 'version']);

/** Positional names in a command string: 'merge <out> <shards..>' → out, shards. */
const positionals = (command: string): string[] => [...command.matchAll(/[<[]([^>\]. ]+)(\.\.)?[>\]]/g)].map((m) => m[1]!);

/** The options the command that `argv` runs declares, read the way yargs reads them (its builder runs; the handler does not). */
async function declaredOptions(argv: string[]): Promise<DeclaredOptions> {
  const stop = new Error('stop');
  let seen: DeclaredOptions | undefined;
  const y = yargs(argv)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .middleware(
      ((_a: unknown, inst: { getOptions(): DeclaredOptions }) => {
        seen = inst.getOptions();
        throw stop;
      }) as unknown as MiddlewareFunction,
      true,
    );
  for (const c of commands) y.command(c);
  try {
    await y.parseAsync();
  } catch (e) {
    if (e !== stop) throw e;
  }
  if (!seen) throw new Error(`no options read for ${argv.join(' ')}`);
  return seen;
}

function flagsOf(o: DeclaredOptions, command: string): Flag[] {
  const pos = positionals(command);
  return Object.keys(o.key)
    .filter((k) => !YARGS_OWN.has(k))
    .map((key): Flag => {
      const choices = o.choices[key]?.map(String);
      const kind: Kind = choices
        ? 'choice'
        : o.boolean.includes(key) || o.count.includes(key)
          ? 'boolean'
          : o.array.includes(key)
            ? 'array'
            : o.number.includes(key)
              ? 'number'
              : 'string';
      return { key, kind, positional: pos.includes(key), ...(choices ? { choices } : {}) };
    });
}

/**
 * Count flags: a fraction is wrong for them as well as a negative (they are integers). A flag listed here that
 * no command declares any more fails the test (the list follows the commands).
 */
export const INTEGER_FLAGS: Record<string, string[]> = {
  train: [
    'epochs',
    'phase1-epochs',
    'phase2-epochs',
    'seed',
    'frames',
    'size',
    'batch',
    'clip1',
    'clip2',
    'checkpoint-every',
    'eval-clips',
    'max-frames',
    'eval-frames',
  ],
  'trace record': ['size', 'clip', 'frames', 'start', 'seed', 'chunk', 'weight-bits', 'search-frames', 'search-rounds'],
  trace: ['size', 'clip', 'frames', 'start', 'seed', 'chunk', 'weight-bits', 'search-frames', 'search-rounds'],
  'trace synth': ['seed', 'frames', 'blobs'],
  simulate: ['frames'],
  sweep: ['frames', 'workers'],
};

/**
 * Number flags for which a negative value is meaningful (every other number flag must refuse -1), with why.
 */
const SEED = 'a seed is any integer (taken modulo 2^32 by lib/prng.ts)';
export const NEGATIVE_OK: Record<string, Record<string, string>> = {
  train: { seed: SEED },
  trace: { seed: SEED },
  'trace record': { seed: SEED },
  'trace synth': { seed: SEED },
};

/** Positionals that name an output (any name is valid). */
const OUTPUT_POSITIONALS = ['out'];

/** What each command runs with when nothing is wrong: the wrong flag replaces its own value here, appended at the end. */
function baselines(fixtures: {
  run: string;
  shards: string;
  video: string;
  drift: string;
}): Record<string, { argv: string[]; for?: string[] }[]> {
  const record = (path: string[]) => [
    { argv: [...path, '--model', MODEL, '--data', 'procedural', '--frames', '2', '--quiet', '--out', 'out'] },
    {
      argv: [
        ...path,
        '--graph',
        'human:emotion',
        '--threshold',
        '0.05',
        '--data',
        'procedural',
        '--frames',
        '2',
        '--quiet',
        '--out',
        'out',
      ],
      for: ['size'],
    },
    { argv: [...path, '--model', MODEL, '--video', fixtures.video, '--frames', '2', '--quiet', '--out', 'out'], for: ['start'] },
    { argv: [...path, '--onnx', ONNX, '--threshold', '0.05', '--data', 'procedural', '--frames', '2', '--quiet', '--out', 'out'] },
    // a Keras layers model shipped in nsfwjs (one 224² frame: the smallest it has)
    {
      argv: [
        ...path,
        '--keras',
        'nsfwjs:mobilenet_v2',
        '--threshold',
        '0.05',
        '--data',
        'procedural',
        '--frames',
        '1',
        '--quiet',
        '--out',
        'out',
      ],
    },
  ];
  return {
    train: [
      {
        argv: [
          'train',
          '--data',
          'procedural:train=4,test=2,classes=left+right',
          '--size',
          '16',
          '--frames',
          '2',
          '--epochs',
          '1',
          '--batch',
          '2',
          '--quiet',
          '--out',
          'out',
        ],
      },
    ],
    trace: record(['trace']),
    'trace record': record(['trace', 'record']),
    'trace inspect': [{ argv: ['trace', 'inspect', TRACE] }],
    'trace synth': [{ argv: ['trace', 'synth', '--frames', '2', '--out', 'out'] }],
    'trace pack': [{ argv: ['trace', 'pack', TRACE, '--out', 'out'] }],
    simulate: [
      { argv: ['simulate', '--model', 'tiny', '--arch', 'delta-32x32', '--out', 'out'] },
      { argv: ['simulate', '--trace', TRACE, '--arch', 'delta-32x32', '--out', 'out'], for: ['threshold', 'quant-step', 'frames'] },
    ],
    sweep: [
      { argv: ['sweep', '--model', 'tiny', '--arch', 'delta-32x32', '--set', 'rows=8', '--workers', '0', '--out', 'out'] },
      {
        argv: ['sweep', '--trace', TRACE, '--arch', 'delta-32x32', '--set', 'rows=8', '--workers', '0', '--out', 'out'],
        for: ['threshold', 'quant-step', 'frames'],
      },
    ],
    merge: [{ argv: ['merge', 'out', fixtures.shards] }],
    report: [{ argv: ['report', fixtures.run] }],
    arch: [{ argv: ['arch', 'show', 'delta-32x32'] }],
    pareto: [{ argv: ['pareto', fixtures.drift, '--arch', 'delta-32x32', '--out', 'out'] }],
  };
}

/** The baseline for `flag` with the flag (and its value) taken out, or for a positional its index. */
function baseFor(path: string[], flag: Flag, list: { argv: string[]; for?: string[] }[]): { argv: string[]; at: number } {
  const pick = list.find((b) => b.argv.includes(`--${flag.key}`)) ?? list.find((b) => b.for?.includes(flag.key)) ?? list[0]!;
  const argv = [...pick.argv];
  if (flag.positional) return { argv, at: path.length + positionalIndex(path, flag.key) };
  const i = argv.indexOf(`--${flag.key}`);
  if (i >= 0) argv.splice(i, flag.kind === 'boolean' ? 1 : 2);
  return { argv, at: -1 };
}

let commandStrings: Record<string, string> = {};
const positionalIndex = (path: string[], key: string): number => positionals(commandStrings[path.join(' ')] ?? '').indexOf(key);

/** The wrong-typed uses of one flag (appended at the end of the baseline). */
function wrongUses(path: string[], flag: Flag): { what: string; use: string[]; expect: number[] }[] {
  const f = `--${flag.key}`;
  const cmd = path.join(' ');
  const shared = [
    { what: 'an empty value', use: [f, ''], expect: [2] },
    { what: 'a missing value at the end', use: [f], expect: [2] },
    { what: 'given twice', use: [`${f}=1`, `${f}=1`], expect: [2] },
    { what: '--no- of a flag that takes a value', use: [`--no-${flag.key}`], expect: [2] },
  ];
  switch (flag.kind) {
    case 'number': {
      const uses = [
        ...shared,
        { what: 'a string', use: [f, 'abc'], expect: [2] },
        { what: 'NaN', use: [f, 'NaN'], expect: [2] },
        { what: 'Infinity', use: [f, 'Infinity'], expect: [2] },
        { what: 'two numbers in one', use: [f, '1,2'], expect: [2] },
        { what: 'blank', use: [f, ' '], expect: [2] },
      ];
      if (!NEGATIVE_OK[cmd]?.[flag.key]) uses.push({ what: 'a negative', use: [f, '-1'], expect: [1] });
      if (INTEGER_FLAGS[cmd]?.includes(flag.key)) uses.push({ what: 'a fraction where a count is expected', use: [f, '2.5'], expect: [1] });
      return uses;
    }
    case 'string':
      return [...shared, { what: 'a number (not a name that exists)', use: [f, '5'], expect: [0, 1] }];
    case 'array':
      return [
        { what: 'an empty value', use: [f, ''], expect: [2] },
        { what: 'a missing value at the end', use: [f], expect: [2] },
        { what: '--no- of a flag that takes a value', use: [`--no-${flag.key}`], expect: [2] },
        { what: 'a number', use: [f, '5'], expect: [1] },
      ];
    case 'choice': {
      const notChoice = ['3', '2', '0', '-1'].find((n) => !flag.choices!.includes(n))!;
      return [
        ...shared,
        { what: 'a number where a choice is expected', use: [f, notChoice], expect: [2] },
        { what: 'a word that is not a choice', use: [f, 'bogus'], expect: [2] },
      ];
    }
    case 'boolean':
      return [
        { what: 'a value given to a switch with =', use: [`${f}=abc`], expect: [2] },
        // a command with a variadic positional (merge SHARDS..) takes the word as one more of those
        { what: 'a value given to a switch', use: [f, 'abc'], expect: [1, 2] },
        { what: 'an empty value given to a switch', use: [`${f}=`], expect: [2] },
        { what: '--no- with a value', use: [`--no-${flag.key}=x`], expect: [2] },
      ];
  }
}

/** Every entry under `dir`, relative paths with their mtimes (what "nothing written" compares). */
function listing(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    out.push(`${relative(base, p)} ${st.mtimeMs}`);
    if (st.isDirectory()) out.push(...listing(p, base));
  }
  return out;
}

/** Run `argv` in process, in `cwd`, capturing what it prints and any process.exit. */
async function capture(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = {
    log: console.log,
    error: console.error,
    warn: console.warn,
    info: console.info,
    stdout: process.stdout.write,
    stderr: process.stderr.write,
    exit: process.exit,
    cwd: process.cwd(),
  };
  const sink =
    (to: string[]) =>
    (...a: unknown[]) => {
      to.push(`${format(...a)}\n`);
    };
  console.log = console.info = sink(out);
  console.error = console.warn = sink(err);
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  class Exit {
    constructor(readonly code: number) {}
  }
  process.exit = ((code?: number) => {
    throw new Exit(code ?? 0);
  }) as typeof process.exit;
  process.chdir(cwd);
  let code: number;
  try {
    code = await runCli(argv);
  } catch (e) {
    code = e instanceof Exit ? e.code : 99;
    if (!(e instanceof Exit)) err.push(String((e as Error).stack));
  } finally {
    process.chdir(saved.cwd);
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn, info: saved.info });
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    process.exit = saved.exit;
  }
  // a run that printed a stack through console.error(e) shows it as "    at …" lines
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function main(resultsFile: string, only?: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'deltasim-flags-'));
  try {
    const fixtures = { run: join(root, 'run'), shards: join(root, 'shards'), video: join(root, 'clip.mp4'), drift: join(root, 'drift') };
    const ff = spawnSync(FFMPEG_PATH, [
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=64x64:rate=15',
      '-t',
      '0.4',
      fixtures.video,
    ]);
    if (ff.status !== 0) throw new Error(`ffmpeg: ${ff.stderr}`);
    const setup = [
      ['simulate', '--model', 'tiny', '--arch', 'delta-32x32', '--out', fixtures.run],
      [
        'trace',
        '--graph',
        'human:emotion',
        '--threshold',
        '0.05',
        '--drift',
        '--data',
        'procedural',
        '--frames',
        '2',
        '--quiet',
        '--out',
        fixtures.drift,
      ],
      [
        'sweep',
        '--model',
        'tiny',
        '--arch',
        'delta-32x32',
        '--set',
        'rows=8,16',
        '--workers',
        '0',
        '--shard',
        '1/1',
        '--out',
        fixtures.shards,
      ],
    ];
    for (const argv of setup) {
      const r = await capture(argv, root);
      if (r.code !== 0) throw new Error(`setup ${argv.join(' ')}: ${r.stderr}`);
    }
    const bases = baselines(fixtures);
    // Every command, and every subcommand a command module exports (trace: record, inspect, synth).
    const paths: { path: string[]; command: string }[] = [];
    const matrix: Matrix = { commands: [], results: [], errors: [] };
    for (const c of commands) {
      const name = c.command.split(' ')[0]!;
      let mod: { subcommands?: CommandModule[] };
      try {
        mod = (await import(`../../src/cli/commands/${name}.js`)) as typeof mod;
      } catch (e) {
        // one command that does not load (a source mid-edit) must not hide what the others do
        matrix.errors.push({ path: [name], error: String((e as Error).stack ?? e) });
        continue;
      }
      paths.push({ path: [name], command: c.command });
      for (const s of mod.subcommands ?? []) {
        const words = [s.command].flat().filter((w): w is string => typeof w === 'string' && w !== '$0');
        paths.push({ path: [name, words[0]!.split(' ')[0]!], command: words[0]! });
      }
    }
    commandStrings = Object.fromEntries(paths.map((p) => [p.path.join(' '), p.command]));
    let n = 0;
    const caseDir = () => {
      const d = join(root, `case-${n++}`);
      mkdirSync(d);
      return d;
    };
    for (const { path, command } of paths) {
      const cmd = path.join(' ');
      if (only !== undefined && cmd !== only) continue;
      const list = bases[cmd];
      if (!list) throw new Error(`no baseline for "${cmd}": add one to test/cli/flag-matrix.ts`);
      const flags = flagsOf(await declaredOptions(list[0]!.argv), command);
      // the baselines must run (so that a refusal is the wrong flag's doing)
      const baseline: Matrix['commands'][number]['baseline'] = [];
      for (const b of list) {
        const r = await capture(b.argv, caseDir());
        baseline.push({ argv: b.argv, code: r.code, stderr: r.stderr });
      }
      matrix.commands.push({ path, flags, baseline });
      const inputs = [fixtures.run, fixtures.shards, fixtures.drift, TRACE, MODEL];
      for (const flag of flags) {
        const { argv, at } = baseFor(path, flag, list);
        const cases: Case[] = [];
        if (flag.positional) {
          const value = argv[at];
          const label = flag.key.toUpperCase().replaceAll('-', '_');
          const set = (v: string | null) => (v === null ? argv.slice(0, at) : argv.map((a, i) => (i === at ? v : a)));
          if (value !== undefined) {
            cases.push({ path, flag, what: 'an empty value', argv: set(''), expect: [2], names: [label] });
            cases.push({
              path,
              flag,
              what: 'a missing value at the end',
              argv: set(null),
              expect: [1, 2],
              names: ['missing argument', flag.key],
            });
            // a number is a wrong choice, a name of nothing there as an input, and a valid name for an output (merge OUT)
            const wrong = flag.choices ? '3' : '5';
            const expect = flag.choices ? [2] : OUTPUT_POSITIONALS.includes(flag.key) ? [0, 1] : [1];
            cases.push({ path, flag, what: 'a number', argv: set(wrong), expect, names: [flag.choices ? label : wrong] });
          }
        } else {
          for (const w of wrongUses(path, flag))
            cases.push({
              path,
              flag,
              what: w.what,
              argv: [...argv, ...w.use],
              expect: w.expect,
              names: [w.use[0]!.split('=')[0]!, ...w.use.slice(1).filter((v) => v === 'abc')],
            });
        }
        for (const c of cases) {
          const before = inputs.map((d) => listing(d));
          const cwd = caseDir();
          const t0 = performance.now();
          const r = await capture(c.argv, cwd);
          const ms = performance.now() - t0;
          const wrote = listing(cwd).concat(...inputs.map((d, i) => listing(d).filter((e) => !before[i]!.includes(e))));
          matrix.results.push({ ...c, ...r, wrote, ms });
          rmSync(cwd, { recursive: true, force: true });
        }
      }
    }
    writeFileSync(resultsFile, JSON.stringify(matrix));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Only as the script node runs (the test imports this module for its types and lists).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) throw new Error('usage: node --import tsx test/cli/flag-matrix.ts RESULTS.json [COMMAND]');
  await main(process.argv[2], process.argv[3]);
  // worker threads, tfjs: nothing must keep the process alive after the matrix
  process.exit(0);
}
