/**
 * The command line, run: argv → exit status (src/cli/index.ts exits with it; tests call it in process).
 *
 * Exit status (docs/design.md §12): 0 success; 1 bad input (an InputError: its message alone, one line);
 * 2 a usage error (an unknown option or command, a missing or wrong-typed argument: one line, then a hint);
 * 70 anything else, a bug (with its stack).
 *
 * yargs coerces what it cannot parse instead of refusing it: `--fps abc` is NaN, `--fps ''` and `--no-fps`
 * are 0, `--fps` at the end is undefined (the option silently dropped), `--out` at the end is '' (no
 * output), `--json=abc` is false, `--frames 1 --frames 2` is an array. `checkFlagValues` reads the
 * command line itself, with the options the running command declared, and refuses all of these before
 * validation, naming the flag; every flag of every command gets it, declared or added later.
 */
import yargs, { type Arguments, type Argv, type MiddlewareFunction } from 'yargs';
import { type InputError, isInputError, quote } from '../../lib/errors.js';
import { commands } from './commands/index.js';

/** A command line that does not fit the command's options (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What yargs' getOptions() holds that the checks read. */
interface DeclaredOptions {
  key: Record<string, unknown>;
  boolean: string[];
  number: string[];
  string: string[];
  array: string[];
  count: string[];
  choices: Record<string, unknown[]>;
  alias: Record<string, string[]>;
}

// yargs-parser's own rules: a token starting with '-' is the next option unless it is a negative number.
const NEGATIVE = /^-([0-9]+(\.[0-9]+)?|\.[0-9]+)$/;
const isOptionToken = (t: string): boolean => t.startsWith('-') && !NEGATIVE.test(t);
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$|^0x[0-9a-f]+$/i;
const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A flag as it appeared on the command line. */
interface FlagUse {
  key: string;
  /** As typed (`--fps`, `--no-json`). */
  token: string;
  negated: boolean;
  /** Inline (`--x=v`) or the following token(s); [] when none followed. */
  values: string[];
  inline: boolean;
}

/** Map a typed name to the declared key (kebab, camelCase or an alias), or null. */
function keyOf(name: string, o: DeclaredOptions): string | null {
  if (name in o.key) return name;
  for (const [k, aliases] of Object.entries(o.alias ?? {})) if (k in o.key && aliases.includes(name)) return k;
  for (const k of Object.keys(o.key)) if (camel(k) === name) return k;
  return null;
}

/** The flags of `args` (up to `--`) that name a declared option, with the values yargs-parser gives them. */
function flagUses(args: readonly string[], o: DeclaredOptions): FlagUse[] {
  const uses: FlagUse[] = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    if (t === '--') break;
    if (!t.startsWith('--') || t.length === 2) continue;
    const eq = t.indexOf('=');
    const name = t.slice(2, eq < 0 ? undefined : eq);
    let key = keyOf(name, o);
    let negated = false;
    if (key === null && name.startsWith('no-')) {
      key = keyOf(name.slice(3), o);
      negated = key !== null;
    }
    if (key === null) continue; // unknown: strict mode names it
    const token = eq < 0 ? t : t.slice(0, eq);
    if (eq >= 0) {
      uses.push({ key, token, negated, values: [t.slice(eq + 1)], inline: true });
      continue;
    }
    const values: string[] = [];
    if (o.boolean.includes(key) || o.count.includes(key)) {
      if (/^(true|false)$/.test(args[i + 1] ?? '')) values.push(args[++i]!);
    } else if (o.array.includes(key)) {
      while (i + 1 < args.length && !isOptionToken(args[i + 1]!)) values.push(args[++i]!);
    } else if (!negated && i + 1 < args.length && !isOptionToken(args[i + 1]!)) values.push(args[++i]!);
    uses.push({ key, token, negated, values, inline: false });
  }
  return uses;
}

/** What a declared option takes, for messages. */
function expects(key: string, o: DeclaredOptions): string {
  const choices = o.choices[key];
  if (choices) return `one of ${choices.map(String).join(', ')}`;
  if (o.number.includes(key)) return 'a number';
  return 'a value';
}

const got = (v: string | undefined): string => (v === undefined ? 'nothing' : v.trim() === '' ? `an empty value (${quote(v)})` : quote(v));

/** The name of a positional for messages: run-dir → RUN_DIR. */
const positionalName = (key: string): string => key.toUpperCase().replaceAll('-', '_');

/**
 * Refuse a command line yargs would coerce (see the top of this file): each flag must carry a value of its
 * type (a finite number, a non-empty string, one of its choices; a switch takes none, or true / false),
 * once; `--no-X` only for switches. Positionals must not be empty and must be one of their choices.
 */
export function checkFlagValues(args: readonly string[], argv: Arguments, o: DeclaredOptions): void {
  const uses = flagUses(args, o);
  const seen = new Map<string, number>();
  for (const u of uses) {
    const { key, token } = u;
    const flag = `--${key}`;
    const isBool = o.boolean.includes(key) || o.count.includes(key);
    if (u.negated) {
      if (!isBool) throw new UsageError(`${token}: ${flag} takes ${expects(key, o)}, it is not a switch that --no- turns off`);
      if (u.inline) throw new UsageError(`${token} is a switch and takes no value, got ${got(u.values[0])}`);
      continue;
    }
    if (isBool) {
      if (u.inline && !/^(true|false)$/.test(u.values[0]!))
        throw new UsageError(`${flag} is a switch and takes no value (or true / false), got ${got(u.values[0])}`);
      continue;
    }
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 2 && !o.array.includes(key)) throw new UsageError(`${flag} is given more than once; give it once`);
    const values = u.values.length ? u.values : [undefined];
    for (const v of values) {
      if (v === undefined || v.trim() === '') throw new UsageError(`${flag} needs ${expects(key, o)}, got ${got(v)}`);
      const choices = o.choices[key];
      if (choices && !choices.some((c) => String(c) === v)) throw new UsageError(`${flag}: expected ${expects(key, o)}, got ${got(v)}`);
      if (o.number.includes(key) && !(NUMBER.test(v) && Number.isFinite(Number(v))))
        throw new UsageError(`${flag}: expected a number, got ${got(v)}`);
    }
  }
  // Positionals (never typed as --key): not empty, one of their choices.
  const flagged = new Set(uses.map((u) => u.key));
  for (const key of Object.keys(o.key)) {
    if (flagged.has(key) || !(key in argv)) continue;
    const value = argv[key];
    const list = Array.isArray(value) ? value : [value];
    if (o.string.includes(key) && list.some((v) => typeof v === 'string' && v.trim() === ''))
      throw new UsageError(`${positionalName(key)} needs a value, got an empty argument`);
    const choices = o.choices[key];
    if (choices && value !== undefined && !list.every((v) => choices.some((c) => String(c) === String(v))))
      throw new UsageError(`${positionalName(key)}: expected one of ${choices.map(String).join(', ')}, got ${got(String(value))}`);
  }
}

/** yargs' own usage messages, on one line and naming options as they are typed. */
export function usageMessage(msg: string, args: readonly string[], o: DeclaredOptions | undefined, usage?: string): string {
  const one = msg.replace(/\s*\n\s*/g, ' ').trim();
  let m = /^Missing required arguments?: (.+)$/.exec(one);
  if (m)
    return `missing required option ${m[1]!
      .split(', ')
      .map((k) => `--${k}`)
      .join(', ')}`;
  m = /^Arguments (\S+) and (\S+) are mutually exclusive$/.exec(one);
  if (m) return `--${m[1]} and --${m[2]} exclude each other: give one of them`;
  m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(one);
  if (m) return `missing argument${m[2] === '1' ? '' : 's'}: got ${m[1]}, need at least ${m[2]}${usage ? ` (usage: ${usage})` : ''}`;
  m = /^Did you mean (\S+)\?$/.exec(one);
  if (m && args[0] !== undefined) return `unknown command ${quote(args[0])}; did you mean "${m[1]}"?`;
  m = /^Unknown arguments?: (.+)$/.exec(one);
  if (m && o) {
    // `--json abc`: a switch followed by a value it does not take.
    const stray = m[1]!.split(', ')[0]!;
    const i = args.indexOf(stray);
    const before = i > 0 ? args[i - 1]! : '';
    const key = before.startsWith('--') && !before.includes('=') ? keyOf(before.slice(2), o) : null;
    if (key !== null && (o.boolean.includes(key) || o.count.includes(key)))
      return `--${key} is a switch and takes no value, got ${quote(stray)} (${one})`;
    // `--fsp 30`: a mistyped option.
    const typed = args.find((t) => /^--?[^-=]/.test(t) && t.replace(/^--?/, '').split('=')[0] === stray);
    if (typed !== undefined) {
      const near = Object.keys(o.key)
        .filter((k) => k.length > 1)
        .map((k) => [k, editDistance(k, stray)] as const)
        .filter(([, d]) => d <= 2)
        .sort((a, b) => a[1] - b[1])[0]?.[0];
      return `unknown option ${typed.split('=')[0]}${near ? `; did you mean --${near}?` : ''}`;
    }
  }
  return one;
}

/** Levenshtein distance (short words: option and subcommand names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * An InputError about the value of a flag (`--arch 7`: "7: no such hw-model") names the flag too, when its
 * message does not: "--arch 7: no such hw-model …". Only errors about the value itself (no line, key or offset
 * inside a file).
 */
export function inputMessage(e: InputError, args: readonly string[], o: DeclaredOptions | undefined): string {
  const w = e.where;
  if (!o || w.file === undefined || w.line !== undefined || w.pointer !== undefined || w.offset !== undefined) return e.message;
  const use = flagUses(args, o).find((u) => !u.negated && u.values.includes(w.file!));
  if (!use || o.boolean.includes(use.key) || e.message.includes(`--${use.key}`)) return e.message;
  return `--${use.key} ${e.message}`;
}

let current: readonly string[] = [];

/** The command line `runCli` runs (for checks that need it as typed, not as yargs parsed it). */
export const commandLine = (): readonly string[] => current;

/**
 * Run the deltasim command line `args` (without node and the script) and return its exit status. Messages go
 * to stderr through console.error; the commands print their output themselves.
 */
export async function runCli(args: string[]): Promise<number> {
  current = args;
  // What the command that runs declared (set before validation, read by fail).
  let options: DeclaredOptions | undefined;
  let cli: Argv = yargs(args)
    .scriptName('deltasim')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    // Before validation, with the options of the command that runs (yargs passes its instance; the typings omit it).
    .middleware(
      ((argv: Arguments, y: { getOptions(): DeclaredOptions }) => {
        options = y.getOptions();
        checkFlagValues(args, argv, options);
      }) as unknown as MiddlewareFunction,
      true,
    )
    .fail((msg, err, usage) => {
      if (err) throw err;
      // yargs passes its usage instance (the typings say Argv): the first line of its help is the command's usage.
      const help = (usage as unknown as { help?: () => string }).help?.();
      throw new UsageError(usageMessage(msg ?? 'usage error', args, options, help?.split('\n')[0]?.trim()));
    });
  for (const c of commands) cli = cli.command(c);
  try {
    await cli.parseAsync();
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`deltasim: ${e.message}\n(run with --help for usage)`);
      return 2;
    }
    if (isInputError(e)) {
      console.error(`deltasim: ${inputMessage(e, args, options)}`);
      return 1;
    }
    console.error(e);
    return 70;
  }
}
