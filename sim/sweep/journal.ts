/**
 * The resume journal: append-only JSONL in the output directory. Line 1 names the sweep (grid hash
 * and shard); every later line is one finished point, appended as soon as it finishes (one write
 * call, so a killed process loses at most the point in flight). A torn last line is dropped on resume.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
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
  close(): void;
}

/**
 * Open `file` for a sweep. Without `resume` the file must not exist (finished work is never
 * silently thrown away); with it, an existing journal must belong to the same grid and shard.
 */
export function openJournal(file: string, grid: string, shard: Shard | null, resume: boolean): Journal {
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
  const fd = openSync(file, existsSync(file) ? 'r+' : 'w');
  ftruncateSync(fd, keepBytes);
  let pos = keepBytes;
  const write = (obj: unknown): void => {
    pos += writeSync(fd, `${JSON.stringify(obj)}\n`, pos);
  };
  if (keepBytes === 0) write(header);
  return {
    done,
    append: (point, row) => write({ point, row }),
    close: () => closeSync(fd),
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
