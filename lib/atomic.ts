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
import { InputError, isInputError } from './errors.js';

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

/** What each of those codes means, for messages. */
const FS_ERROR_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EBUSY: 'busy',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'on another device',
};

/** The code of a file-system error and what it means: "ENOSPC: no space left on device". */
export const fsErrorText = (code: string): string => (FS_ERROR_TEXT[code] ? `${code}: ${FS_ERROR_TEXT[code]}` : code);

/** Whether `e` is a file-system error of the place the user pointed us at (see USER_FS_ERRORS). */
export function isUserFsError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && USER_FS_ERRORS.has(code);
}

/** A file-system error at `file` as an InputError naming it (one line), or the error as it is. */
export function fsInputError(e: unknown, file: string, doing: string, then = ''): unknown {
  return isUserFsError(e) ? new InputError(`cannot ${doing} (${fsErrorText(e.code)})${then}`, { file }) : e;
}

/** Failures of writing out data (the disk, not the path): a build that fails with one of them wrote nothing. */
const WRITE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EFBIG', 'EIO']);

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
  writeFilesAtomic([[path, data]]);
}

/**
 * Write several files as one: each goes to a sibling temp file first (a full disk fails here, and then no
 * file has changed), then they are renamed into place in the order given (so the last one's presence means
 * the set is complete).
 */
export function writeFilesAtomic(files: readonly (readonly [path: string, data: string | Uint8Array])[]): void {
  const staged: [tmp: string, path: string][] = [];
  let at = '';
  let renamed = 0;
  try {
    for (const [path, data] of files) {
      at = path;
      makeDirs(dirname(path));
      const tmp = tmpSibling(path);
      staged.push([tmp, path]);
      writeFileSync(tmp, data);
    }
    for (const [tmp, path] of staged) {
      at = path;
      renameSync(tmp, path);
      renamed++;
    }
  } catch (e) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    const none = files.length > 1 && renamed === 0 ? `; none of ${files.map(([p]) => basename(p)).join(', ')} was changed` : '';
    throw fsInputError(e, at, 'write this file', none);
  }
}

/**
 * The temp siblings `writeFileAtomic` / `writeFilesAtomic` left next to `paths` (a process killed while
 * writing them), removed. Only for files no other process writes now (the caller holds their lock).
 */
export function removeTempSiblings(paths: readonly string[]): void {
  for (const path of paths) {
    const prefix = `.tmp-${basename(path)}-`;
    let names: string[];
    try {
      names = readdirSync(dirname(path));
    } catch {
      continue;
    }
    for (const n of names)
      if (n.startsWith(prefix) && /^\d+-[0-9a-f]{8}$/.test(n.slice(prefix.length))) rmSync(join(dirname(path), n), { force: true });
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
  let built = false;
  try {
    await build(tmp);
    built = true;
    if (existsSync(dir)) {
      const owns = claims.get(canonicalPath(dir));
      if (owns)
        for (const name of readdirSync(dir)) {
          if (owns(name) || lexists(join(tmp, name))) continue;
          renameSync(join(dir, name), join(tmp, name));
          moved.push(name);
        }
      const to = tmpSibling(dir);
      renameSync(dir, to);
      aside = to;
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
    // A message about a file in the temp directory names it where it was to be.
    if (isInputError(e)) e.message = e.message.replaceAll(tmp, dir);
    throw swapError(e, dir, built);
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
}

/**
 * What a failed writeDirAtomic reports. The build filling the disk (or hitting a read-only or forbidden place)
 * is bad input naming the output; the directory changing under the swap is another process writing the same
 * output at the same time. Both leave the output as it was; anything else is a bug and passes as it is.
 */
function swapError(e: unknown, dir: string, built: boolean): unknown {
  if (isInputError(e)) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return e;
  if (!built)
    return WRITE_ERRORS.has(code)
      ? new InputError(`cannot write the output (${fsErrorText(code)}); nothing of this run was written there`, { file: dir })
      : e;
  if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(code))
    return new InputError(
      `changed while this run was replacing it (${code}; another run writing the same output at the same time?); this run wrote nothing there`,
      { file: dir },
    );
  return fsInputError(e, dir, 'write this directory', '; nothing of this run was written there');
}
