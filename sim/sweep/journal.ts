/**
 * The resume journal: append-only JSONL in the output directory. Line 1 names the sweep (grid hash
 * and shard); every later line is one finished point, appended as soon as it finishes (one write
 * call, so a killed process loses at most the point in flight). A torn last line is dropped on resume.
 * An append that fails (a full disk) is cut back to the last whole line, so the journal stays resumable.
 *
 * The journal is held by one process at a time: `FILE.lock` (pid, host, a random token) is created
 * exclusively before the journal is opened and removed when it is closed. A second sweep on the same
 * output (same journal) is refused while the first runs; a lock whose process has died (SIGKILL) on this
 * host is taken over; one of another host (a cluster's shared file system) cannot be checked from here,
 * so it is refused with the lock's path to remove by hand.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { fsErrorText, fsInputError, isUserFsError } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import type { Row } from './job.js';
import type { Shard } from './shard.js';

interface Header {
  journal: 'deltasim-sweep';
  grid: string;
  shard: Shard | null;
}

export interface Journal {
  /** Points already finished (from a previous run when resuming). */
  done: Map<number, Row>;
  append(point: number, row: Row): void;
  /** Close the journal and release its lock. */
  close(): void;
}

/** The lock file of a journal. */
export const lockFile = (journal: string): string => `${journal}.lock`;

interface LockHolder {
  pid: number;
  host: string;
  /** Random: tells two holders with one pid apart (a pid reused after a kill). */
  token: string;
}

/** The locks this process holds (its own pid in a lock it does not hold is a killed process's, reused). */
const held = new Set<string>();

function readLock(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, token: String(h.token) } : null;
  } catch {
    return null; // being written (or torn by a kill) right now, or gone
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether `h` holds its lock `file` now: a running process on this host, or one on another (which cannot be checked from here). */
function holds(h: LockHolder, file: string): boolean {
  if (h.host !== hostname()) return true;
  return h.pid === process.pid ? held.has(file) : alive(h.pid);
}

/** Who holds the lock `file` now (see `holds`), or null. */
export function lockHolder(file: string): LockHolder | null {
  const h = existsSync(file) ? readLock(file) : null;
  return h && holds(h, file) ? h : null;
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Take the journal's lock, or refuse: another sweep writes this output. A lock whose holder is gone (killed)
 * is moved aside under a name of our own first, so that of two processes taking it over only one does.
 * Returns the release function.
 */
function takeLock(journal: string): () => void {
  const file = lockFile(journal);
  const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } catch (e) {
        closeSync(fd);
        rmSync(file, { force: true });
        throw e;
      }
      closeSync(fd);
      held.add(file);
      return () => {
        held.delete(file);
        if (readLock(file)?.token === me.token) rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsInputError(e, file, 'create the sweep lock');
    }
    const h = readLock(file);
    if (h && holds(h, file)) {
      const there = h.host !== hostname() ? ` on ${h.host}` : '';
      throw new InputError(
        `another sweep (pid ${h.pid}${there}) is writing ${dirname(journal)}: wait for it to finish, or choose another --out` +
          (there ? `; if it is not running any more, remove ${file}` : ''),
        { file },
      );
    }
    // Unreadable: its writer is between creating and filling it, or was killed there; give it a moment, then take it over.
    if (!h && attempt < 20) {
      sleep(5);
      continue;
    }
    const aside = `${file}.${me.token}`;
    try {
      renameSync(file, aside);
    } catch {
      continue; // another process moved it first
    }
    const moved = readLock(aside);
    if (moved && moved.token !== h?.token && holds(moved, file)) {
      // not the dead lock we looked at: a live one taken over meanwhile; put it back
      try {
        linkSync(aside, file);
      } catch {}
    }
    rmSync(aside, { force: true });
  }
  throw new InputError('cannot take the sweep lock (it keeps changing)', { file });
}

/**
 * Open `file` for a sweep. Without `resume` the file must not exist (finished work is never
 * silently thrown away); with it, an existing journal must belong to the same grid and shard.
 */
export function openJournal(file: string, grid: string, shard: Shard | null, resume: boolean): Journal {
  const release = takeLock(file);
  try {
    return open(file, grid, shard, resume, release);
  } catch (e) {
    release();
    throw e;
  }
}

function open(file: string, grid: string, shard: Shard | null, resume: boolean, release: () => void): Journal {
  const header: Header = { journal: 'deltasim-sweep', grid, shard };
  const done = new Map<number, Row>();
  let keepBytes = 0;
  if (existsSync(file)) {
    if (!resume)
      throw new InputError(
        'a journal of an earlier run is here: pass --resume to continue it, --force to start afresh, or choose another --out',
        { file },
      );
    // Every line that ends in "\n" is complete; what follows the last "\n" is torn or empty.
    const complete = readFileSync(file, 'utf8').split('\n').slice(0, -1);
    if (complete.length > 0) keepBytes = readJournal(complete, file, grid, shard, done);
  }
  let fd: number;
  try {
    fd = openSync(file, existsSync(file) ? 'r+' : 'w');
    ftruncateSync(fd, keepBytes);
  } catch (e) {
    throw fsInputError(e, file, 'open the sweep journal');
  }
  let pos = keepBytes;
  let kept = done.size;
  const write = (obj: unknown): void => {
    const line = Buffer.from(`${JSON.stringify(obj)}\n`);
    try {
      // writeSync may write part of the buffer (a disk filling up): write the rest, or fail
      for (let n = 0; n < line.length; ) n += writeSync(fd, line, n, line.length - n, pos + n);
    } catch (e) {
      try {
        ftruncateSync(fd, pos); // no torn line in the middle of the journal
      } catch {}
      if (!isUserFsError(e)) throw e;
      throw new InputError(
        `cannot append to the sweep journal (${fsErrorText(e.code)}); the ${kept} point(s) finished so far are kept in it: ` +
          'make room, then run the same command with --resume',
        { file },
      );
    }
    pos += line.length;
  };
  if (keepBytes === 0) {
    try {
      write(header);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  return {
    done,
    append: (point, row) => {
      write({ point, row });
      kept++;
    },
    close: () => {
      try {
        closeSync(fd);
      } finally {
        release();
      }
    },
  };
}

/** Check the header and collect finished rows; returns the byte length of the complete lines. */
function readJournal(complete: string[], file: string, grid: string, shard: Shard | null, done: Map<number, Row>): number {
  const first = parseLine(complete[0], file, 1) as Partial<Header> | undefined;
  if (first?.journal !== 'deltasim-sweep') throw new InputError('not a deltasim sweep journal', { file, line: 1 });
  if (first.grid !== grid)
    throw new InputError('the journal belongs to a different sweep (model, hw-model, grid or options changed); choose another --out', {
      file,
      line: 1,
    });
  if (JSON.stringify(first.shard ?? null) !== JSON.stringify(shard))
    throw new InputError(
      `the journal belongs to ${first.shard ? `shard ${first.shard.index + 1}/${first.shard.count}` : 'the unsharded run'}`,
      { file, line: 1 },
    );
  complete.slice(1).forEach((line, i) => {
    const e = parseLine(line, file, i + 2) as { point?: unknown; row?: unknown };
    if (typeof e.point !== 'number' || !Array.isArray(e.row))
      throw new InputError('expected {"point": n, "row": [...]}', { file, line: i + 2 });
    done.set(e.point, e.row as Row);
  });
  return Buffer.byteLength(complete.map((l) => `${l}\n`).join(''));
}

function parseLine(line: string | undefined, file: string, n: number): unknown {
  try {
    return JSON.parse(line ?? '');
  } catch {
    throw new InputError('corrupt journal line (only the last line may be torn)', { file, line: n });
  }
}
