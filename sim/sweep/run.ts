/**
 * runSweep: a prepared job → its points (or one shard's) run on the pool, each journaled as it
 * finishes, then the output files written atomically with rows in point order.
 */
import { makeDirs, removeTempSiblings } from '../../lib/atomic.js';
import { isInputError } from '../../lib/errors.js';
import { join } from 'node:path';
import type { Row, SweepJob } from './job.js';
import { openJournal } from './journal.js';
import { RUN_FILES } from '../run-dir.js';
import { shardOutputFiles, sweepOutputFiles, writeShardOutput, writeSweepOutput } from './output.js';
import { runPoints } from './pool.js';
import { shardName, shardPoints, type Shard } from './shard.js';

export interface RunOptions {
  out: string;
  /** Worker threads; 0 = in this thread; default one per core. */
  workers?: number;
  shard?: Shard;
  /** Continue from the journal in `out` (finished points are not run again). */
  resume?: boolean;
  /** Written as run.json (or into the shard's .json): argv and versions. */
  run?: unknown;
  /** Called once before running: points this run owns, and how many the journal already has. */
  onStart?: (total: number, done: number) => void;
  /** Called as each point finishes. */
  onPoint?: (point: number) => void;
}

export interface RunResult {
  /** Points this run owns (all, or the shard's). */
  points: number;
  /** Of which taken from the journal. */
  resumed: number;
  files: string[];
}

export async function runSweep(job: SweepJob, opts: RunOptions): Promise<RunResult> {
  const owned = shardPoints(job.meta.points, opts.shard);
  makeDirs(opts.out);
  const journalFile = join(opts.out, opts.shard ? `${shardName(opts.shard)}.journal.jsonl` : RUN_FILES.journal);
  const journal = openJournal(journalFile, job.meta.grid, opts.shard ?? null, opts.resume ?? false);
  const rows = new Map<number, Row>();
  try {
    // What a killed run of this group left half-written beside its outputs (the journal's lock is ours now).
    removeTempSiblings(opts.shard ? shardOutputFiles(opts.out, opts.shard) : sweepOutputFiles(opts.out));
    for (const p of owned) {
      const r = journal.done.get(p);
      if (r) rows.set(p, r);
    }
    const resumed = rows.size;
    opts.onStart?.(owned.length, resumed);
    await runPoints(
      job,
      owned.filter((p) => !rows.has(p)),
      {
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        onRow: (p, row) => {
          journal.append(p, row);
          rows.set(p, row);
          opts.onPoint?.(p);
        },
      },
    );
    const out = [...rows.values()];
    let files: string[];
    try {
      files = opts.shard
        ? writeShardOutput(opts.out, job.meta, opts.shard, out, opts.run)
        : writeSweepOutput(opts.out, job.meta, out, opts.run);
    } catch (e) {
      if (isInputError(e)) e.message += '; the journal holds every point: make room, then run the same command with --resume';
      throw e;
    }
    return { points: owned.length, resumed, files };
  } finally {
    journal.close();
  }
}
