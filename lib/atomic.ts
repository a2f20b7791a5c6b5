/**
 * Atomic writes: nothing half-written is ever visible under the final name.
 * Files go to a sibling temp file and are renamed; directories are built in a sibling temp
 * directory and renamed into place (replacing an existing directory only after success).
 * A directory claimed with `claimDir` (lib/output-guard.ts does it for every command's output) is
 * replaced only in part: the entries its writer owns go, every other entry (the user's) moves into
 * the new directory.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError } from './errors.js';

/** Failures of the file system the user pointed us at (permissions, missing or read-only places, full disks): bad input, not bugs. */
const USER_FS_ERRORS = new Set([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'ENOTDIR',
  'EISDIR',
  'EEXIST',
  'EBUSY',
  'ENAMETOOLONG',
  'ELOOP',
  'EXDEV',
]);

/** A file-system error at `file` as an InputError naming it (one line), or the error as it is. */
export function fsInputError(e: unknown, file: string, doing: string): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code && USER_FS_ERRORS.has(code) ? new InputError(`cannot ${doing} (${code})`, { file }) : e;
}

/**
 * mkdir -p without Node's `recursive`, which loops forever where a parent exists but refuses children
 * (e.g. under /proc): the missing levels are created one by one, and a failure names the level.
 */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  for (let p = resolve(path); !lexists(p); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsInputError(e, p, 'create this directory');
    }
  }
}

function tmpSibling(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  makeDirs(dirname(path));
  const tmp = tmpSibling(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsInputError(e, path, 'write this file');
  }
}

const lexists = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** `path` absolute, with the symbolic links of its existing part resolved (a path not there yet keeps its tail). */
export function canonicalPath(path: string): string {
  const abs = resolve(path);
  const parent = dirname(abs);
  if (lexists(abs)) {
    try {
      return realpathSync(abs);
    } catch {
      // a dangling link: resolve its parent only
    }
  }
  return parent === abs ? abs : join(canonicalPath(parent), basename(abs));
}

/** Directories claimed by `claimDir` (canonical path → which entries the writer owns). */
const claims = new Map<string, (name: string) => boolean>();

/**
 * From now on, `writeDirAtomic(path)` replaces only the entries of the existing directory that `owns`
 * accepts (and those the new build writes); every other entry is moved into the new directory as it is.
 */
export function claimDir(path: string, owns: (name: string) => boolean): void {
  claims.set(canonicalPath(path), owns);
}

/**
 * Build a directory atomically: `build` receives a temp directory to fill; on success it replaces
 * `path`, on failure it is removed and `path` is left as it was. A symbolic link at `path` is
 * followed (the directory it names is replaced, the link stays). In a directory claimed with
 * `claimDir`, the entries its writer does not own are moved into the new directory before the swap.
 */
export async function writeDirAtomic(path: string, build: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const dir = lexists(path) && lstatSync(path).isSymbolicLink() ? realpathSync(path) : path;
  makeDirs(dirname(dir));
  const tmp = tmpSibling(dir);
  try {
    mkdirSync(tmp);
  } catch (e) {
    throw fsInputError(e, dirname(dir), 'create a directory here');
  }
  const moved: string[] = [];
  let aside: string | undefined;
  try {
    await build(tmp);
    if (existsSync(dir)) {
      const owns = claims.get(canonicalPath(dir));
      if (owns)
        for (const name of readdirSync(dir)) {
          if (owns(name) || lexists(join(tmp, name))) continue;
          renameSync(join(dir, name), join(tmp, name));
          moved.push(name);
        }
      aside = tmpSibling(dir);
      renameSync(dir, aside);
    }
    renameSync(tmp, dir);
  } catch (e) {
    let restored = true;
    const undo = (from: string, to: string) => {
      try {
        renameSync(from, to);
      } catch {
        restored = false;
      }
    };
    if (aside && !existsSync(dir)) undo(aside, dir);
    for (const name of moved) undo(join(tmp, name), join(dir, name));
    // Never delete the temp directory while it still holds something the user had.
    if (restored) rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
}
