/**
 * What a sweep leaves in its output directory. Unsharded (or merged): sweep.csv (one row per point,
 * in point order), summary.json (the grid and the best point per metric), run.json (how it was run).
 * A shard: shard-K-of-N.csv (its rows, same columns) and shard-K-of-N.json (the sweep's metadata,
 * which shard, how it was run), which `merge` reads back. Every file is written atomically.
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../../lib/atomic.js';
import { RUN_FILES, SUMMARY_FORMAT, SUMMARY_VERSION, sweepColumnBetter } from '../run-dir.js';
import { pointValues, type Axis } from './grid.js';
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

/** Write sweep.csv, summary.json and run.json (the CSV last: its presence means the set is complete). */
export function writeSweepOutput(dir: string, meta: SweepMeta, rows: Row[], run: unknown): string[] {
  const files = [RUN_FILES.summary, RUN_FILES.run, RUN_FILES.sweep].map((f) => join(dir, f));
  writeFileAtomic(files[0]!, sweepSummary(meta, rows));
  writeFileAtomic(files[1]!, `${JSON.stringify(run ?? null, null, 2)}\n`);
  writeFileAtomic(files[2]!, sweepCsv(meta, rows));
  return files;
}

export function writeShardOutput(dir: string, meta: SweepMeta, shard: Shard, rows: Row[], run: unknown): string[] {
  const stem = join(dir, shardName(shard));
  const file: ShardFile = { sweep: meta, shard, run: run ?? null };
  // The .json last: merge finds shards by it, so its presence means the shard's CSV is complete.
  writeFileAtomic(`${stem}.csv`, sweepCsv(meta, rows));
  writeFileAtomic(`${stem}.json`, `${JSON.stringify(file, null, 2)}\n`);
  return [`${stem}.csv`, `${stem}.json`];
}
