/**
 * Never destroy what the user has: the one rule for every command that writes a directory
 * (docs/design.md §12). Called before anything is written:
 *
 * - nothing there, or an empty directory: written;
 * - a file (or anything that is not a directory) at the output path, or under it: refused, even
 *   with --force: deltasim writes directories and never replaces a file it did not write;
 * - a directory that is not empty: refused unless it is the command's own run continued in place
 *   (a sweep's --resume or its sibling shards, a re-merge of the same sweep) or --force is given;
 * - --force replaces the command's own files there (`owns`) and keeps every other entry;
 * - the current directory, a parent of it, the filesystem root and the home directory are never
 *   replaced nor written among the user's files, even with --force.
 */
import { lstatSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, parse, relative, resolve } from 'node:path';
import { claimDir } from './atomic.js';
import { InputError } from './errors.js';

/** The --force option of every command that writes a directory (a yargs option, same text everywhere). */
export const FORCE_OPTION = {
  type: 'boolean',
  default: false,
  describe: "replace deltasim's own files in an existing output directory (other files there are kept; a file is never replaced)",
} as const;

/** What an existing output directory holds, as a command that continues runs in place sees it. */
export interface Inspection {
  /** It is this command's own run (a resume, sibling shards): written into without --force. */
  resume: boolean;
  /** Entries --force deletes before writing (default: every entry `owns` accepts). */
  replace?: string[];
  /** What it holds, for the message (default: its first entries). */
  holds?: string;
}

export interface OutputRule {
  /**
   * 'replace': the directory is built aside and renamed into place (lib/atomic.ts writeDirAtomic,
   * which the guard tells to keep the entries `owns` rejects). 'in-place': files are written into it.
   */
  writes: 'replace' | 'in-place';
  /** Whether an entry (a name in the directory) is one of the command's own files: what --force replaces. */
  owns(name: string): boolean;
  /** For 'in-place' writers that continue runs: look at an existing, non-empty directory. */
  inspect?(dir: string, names: string[]): Inspection;
  /** The option naming the path, for messages (default --out); null: the command fixes the path (report's charts/). */
  flag?: string | null;
}

const list = (names: string[]) => (names.length > 4 ? `${names.slice(0, 4).join(', ')}, …` : names.join(', '));

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Why `real` (a real path) may never be an output directory that replaces or mixes with what is there, or null. */
function protectedPlace(real: string): string | null {
  const cwd = realpathSync(process.cwd());
  if (real === parse(real).root) return 'the filesystem root';
  if (real === cwd) return 'the current directory';
  const up = relative(real, cwd);
  if (up && !up.startsWith('..') && !isAbsolute(up)) return 'a parent of the current directory';
  let home: string | null = null;
  try {
    home = realpathSync(homedir());
  } catch {}
  if (real === home) return 'your home directory';
  return null;
}

/**
 * Check that writing the directory `path` destroys nothing the user has (the rule above); refuse with an
 * InputError naming the path otherwise. With --force, an 'in-place' writer's own entries are deleted here;
 * a 'replace' writer's directory is claimed, so that writeDirAtomic replaces only its own entries.
 */
export function guardOutputDir(path: string, force: boolean, rule: OutputRule): void {
  const flag = rule.flag === undefined ? '--out' : rule.flag;
  const file = { file: path };
  const elsewhere = flag ? `, even with --force: choose another ${flag}` : ': move it away';
  const st = lstatOrNull(path);
  if (!st) {
    // Not there: the nearest existing ancestor must be a directory.
    for (let up = dirname(path); ; up = dirname(up)) {
      const a = lstatOrNull(up);
      if (a) {
        let isDir = false;
        try {
          isDir = statSync(up).isDirectory();
        } catch {}
        if (!isDir) throw new InputError(`is a file, not a directory: ${path} cannot be written inside it`, { file: up });
        break;
      }
      if (dirname(up) === up) break;
    }
  } else {
    let isDir = st.isDirectory();
    if (st.isSymbolicLink()) {
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        throw new InputError(`is a symbolic link to nothing; deltasim does not replace it${elsewhere}`, file);
      }
    }
    if (!isDir)
      throw new InputError(`is a file, not a directory; deltasim writes a directory here and never replaces a file${elsewhere}`, file);
    const names = readdirSync(path).sort();
    const seen: Inspection = names.length && rule.inspect ? rule.inspect(path, names) : { resume: names.length === 0 };
    const needsForce = !seen.resume;
    const place = protectedPlace(realpathSync(path));
    if (place && (rule.writes === 'replace' || force || needsForce))
      throw new InputError(`is ${place}; deltasim never writes its output over it${elsewhere}`, file);
    if (needsForce && !force)
      throw new InputError(
        `exists; pass --force to replace deltasim's own files in it and keep the others (it holds ${seen.holds ?? list(names)}), or choose another ${flag}`,
        file,
      );
    if (force && rule.writes === 'in-place')
      for (const name of seen.replace ?? names.filter((n) => rule.owns(n))) rmSync(join(path, name), { recursive: true, force: true });
  }
  if (rule.writes === 'replace') claimDir(resolve(path), (name) => rule.owns(name));
}

/** A file a command writes into a directory it reads (report.html): refused when a directory is in its place. */
export function guardOutputFile(path: string): void {
  const st = lstatOrNull(path);
  if (st && !st.isFile() && !st.isSymbolicLink())
    throw new InputError('is a directory (or another non-file); deltasim writes a file here and does not replace it: move it away', {
      file: path,
    });
}
