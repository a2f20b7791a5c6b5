/**
 * What a sweep leaves in its output directory. Unsharded (or merged): sweep.csv (one row per point,
 * in point order), summary.json (the grid and the best point per metric), run.json (how it was run).
 * A shard: shard-K-of-N.csv (its rows, same columns) and shard-K-of-N.json (the sweep's metadata,
 * which shard, how it was run), which `merge` reads back. Every file is written atomically.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFilesAtomic } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import { RUN_FILES, SUMMARY_FORMAT, SUMMARY_VERSION, sweepColumnBetter } from '../run-dir.js';
import { pointValues, type Axis } from './grid.js';
import { lockFile, lockHolder } from './journal.js';
import type { Row, SweepMeta } from './job.js';
import { shardName, type Shard } from './shard.js';

/** The shard metadata file `merge` reads. */
export interface ShardFile {
  sweep: SweepMeta;
  shard: Shard;
  /** run.json of the shard's own run. */
  run: unknown;
}

export const sortRows = (rows: Iterable<Row>): Row[] => [...rows].sort((a, b) => Number(a[0]) - Number(b[0]));

export function sweepCsv(meta: SweepMeta, rows: Row[]): string {
  return stringify([meta.columns, ...sortRows(rows)]);
}

/** summary.json: the grid and, per gain / latency / energy column, its best point (first on ties). */
export function sweepSummary(meta: SweepMeta, rows: Row[]): string {
  const axes = meta.parameters as Axis[];
  const best: Record<string, { point: number; value: number; parameters: Record<string, unknown> }> = {};
  const o = { fps: meta.fps !== null, trace: meta.workload === 'trace' };
  meta.columns.forEach((c, j) => {
    const better = sweepColumnBetter(c, meta.modes, o);
    if (!better) return;
    let hit: { point: number; value: number } | undefined;
    for (const r of sortRows(rows)) {
      if (r[j] === '') continue;
      const v = Number(r[j]);
      if (!hit || (better === 'higher' ? v > hit.value : v < hit.value)) hit = { point: Number(r[0]), value: v };
    }
    if (hit) {
      const values = pointValues(axes, hit.point);
      best[c] = { ...hit, parameters: Object.fromEntries(axes.map((a, i) => [a.name, values[i]])) };
    }
  });
  const { columns: _c, format: _f, version: _v, parameters, ...rest } = meta;
  return `${JSON.stringify(
    {
      format: SUMMARY_FORMAT,
      version: SUMMARY_VERSION,
      kind: 'sweep',
      ...rest,
      parameters: Object.fromEntries(parameters.map((p) => [p.name, p.values])),
      best,
    },
    null,
    2,
  )}\n`;
}

/** The files writeSweepOutput writes into `dir`, in the order they are renamed into place. */
export const sweepOutputFiles = (dir: string): string[] => [RUN_FILES.summary, RUN_FILES.run, RUN_FILES.sweep].map((f) => join(dir, f));

/**
 * Write sweep.csv, summary.json and run.json as one set: all three are written aside first (a full disk
 * changes none of them), then renamed into place, the CSV last: its presence means the set is complete.
 */
export function writeSweepOutput(dir: string, meta: SweepMeta, rows: Row[], run: unknown): string[] {
  const files = sweepOutputFiles(dir);
  writeFilesAtomic([
    [files[0]!, sweepSummary(meta, rows)],
    [files[1]!, `${JSON.stringify(run ?? null, null, 2)}\n`],
    [files[2]!, sweepCsv(meta, rows)],
  ]);
  return files;
}

/** The files writeShardOutput writes into `dir`, in the order they are renamed into place. */
export const shardOutputFiles = (dir: string, shard: Shard): string[] => {
  const stem = join(dir, shardName(shard));
  return [`${stem}.csv`, `${stem}.json`];
};

export function writeShardOutput(dir: string, meta: SweepMeta, shard: Shard, rows: Row[], run: unknown): string[] {
  const files = shardOutputFiles(dir, shard);
  const file: ShardFile = { sweep: meta, shard, run: run ?? null };
  // The .json last: merge finds shards by it, so its presence means the shard's CSV is complete.
  writeFilesAtomic([
    [files[0]!, sweepCsv(meta, rows)],
    [files[1]!, `${JSON.stringify(file, null, 2)}\n`],
  ]);
  return files;
}

/** A shard's files: shard-K-of-N.csv, .json, .journal.jsonl and the journal's lock. */
const SHARD_ENTRY = /^(shard-\d+-of-\d+)\.(csv|json|journal\.jsonl|journal\.jsonl\.lock)$/;
const RUN_ENTRIES: ReadonlySet<string> = new Set([...Object.values(RUN_FILES), lockFile(RUN_FILES.journal)]);

/** Whether `name` is a file deltasim writes in a run or sweep directory (RUN_FILES, a shard's files). */
export const isRunEntry = (name: string): boolean => RUN_ENTRIES.has(name) || SHARD_ENTRY.test(name);

/** What a sweep output directory holds, as a sweep (or merge) of `grid` about to write into it sees it. */
export interface SweepDirView {
  /** Only this sweep's files (and files that are not deltasim's): its own run, continued in place. */
  resume: boolean;
  /** deltasim's entries that --force deletes: another run's, and those of the group this run writes. */
  replace: string[];
  /** What is there, for the message. */
  holds: string;
}

/**
 * Look at an existing sweep output directory. Its deltasim entries fall in groups: the unsharded set
 * (summary.json, run.json, sweep.csv, journal.jsonl, report.html, charts/, and a simulation's
 * frames.csv / layers.csv) and each shard's files. A group belongs to this sweep when every header it
 * has (summary.json, a journal's first line, a shard's .json) names `grid`; a group without one, or
 * with a simulation's files, is another run's — except a journal killed before its header was whole (and
 * its lock), which holds nothing. A group whose journal's lock is held by a running process refuses even
 * --force, unless it is a sibling shard of this sweep. `mine` is the group this run writes: a shard's stem,
 * or null for the unsharded set (a sweep without --shard, a merge).
 */
export function inspectSweepDir(dir: string, names: string[], grid: string, mine: string | null): SweepDirView {
  const groups = new Map<string, { entries: string[]; grids: Set<string> }>();
  for (const name of names) {
    if (!isRunEntry(name)) continue;
    const key = SHARD_ENTRY.exec(name)?.[1] ?? '';
    const g = groups.get(key) ?? { entries: [], grids: new Set<string>() };
    groups.set(key, g);
    g.entries.push(name);
    g.grids.add(headerGrid(join(dir, name), name));
  }
  let own = 0;
  const foreign: string[] = [];
  const replace: string[] = [];
  for (const [key, g] of groups) {
    g.grids.delete('');
    const same = g.grids.size === 1 && g.grids.has(grid);
    // A sweep running now (its journal's lock held) is neither continued nor replaced by another; its sibling shards run on.
    const lock = g.entries.find((n) => n.endsWith('.lock'));
    const holder = lock !== undefined ? lockHolder(join(dir, lock)) : null;
    if (holder && (key === (mine ?? '') || !same))
      throw new InputError(
        `another sweep (pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}) is writing here now: wait for it to finish, or choose another output directory`,
        { file: dir },
      );
    // Only a journal without a whole header and its dead lock: a sweep killed as it started; nothing in it to keep.
    const empty = g.grids.size === 0 && g.entries.every((n) => n.endsWith('.lock') || n.endsWith('.jsonl'));
    if (same || empty) own++;
    else foreign.push(...g.entries);
    if (!same || key === (mine ?? '')) replace.push(...g.entries);
  }
  const list = (xs: string[]) => (xs.length > 4 ? `${xs.slice(0, 4).join(', ')}, …` : xs.join(', '));
  return {
    resume: own > 0 && foreign.length === 0,
    replace,
    holds: foreign.length ? `another run's ${list(foreign)}` : list(names),
  };
}

/** The grid a deltasim file names ('' when it has none; 'simulation' or '?' when it is not a sweep's or unreadable). */
function headerGrid(file: string, name: string): string {
  if (name === RUN_FILES.frames || name === RUN_FILES.layers) return 'simulation';
  const journal = name.endsWith('.jsonl');
  if (name === RUN_FILES.run || !(journal || name.endsWith('.json'))) return '';
  try {
    const text = journal ? firstLine(file) : readFileSync(file, 'utf8');
    if (journal && text === '') return ''; // killed before its header was whole: nothing in it
    const doc = JSON.parse(text) as Record<string, unknown> | null;
    if (name === RUN_FILES.summary && doc?.kind !== 'sweep') return 'simulation';
    const g = name === RUN_FILES.summary || journal ? doc?.grid : (doc?.sweep as Record<string, unknown> | undefined)?.grid;
    return typeof g === 'string' ? g : '?';
  } catch {
    return '?';
  }
}

/** The first complete line of a (possibly long) file; '' when it has none (killed while writing it). */
function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const end = buf.subarray(0, n).indexOf(10);
    return end < 0 ? '' : buf.subarray(0, end).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
