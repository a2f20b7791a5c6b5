/**
 * Merge shard outputs into the sweep.csv the unsharded run writes: every shard must carry the same
 * grid hash, and together they must hold each point exactly once.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvText } from '../../lib/csv.js';
import { InputError, quote } from '../../lib/errors.js';
import { parseJsonText } from '../../lib/json.js';
import type { Row, SweepMeta } from './job.js';
import { sortRows, type ShardFile } from './output.js';

const SHARD_JSON = /^shard-\d+-of-\d+\.json$/;

/** Shard metadata files named by `inputs`: shard .json or .csv files, or directories holding them. */
export function findShards(inputs: string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new InputError('no such shard file or directory', { file: input });
    if (statSync(input).isDirectory()) {
      const found = readdirSync(input)
        .filter((f) => SHARD_JSON.test(f))
        .sort();
      if (found.length === 0) throw new InputError('no shard-K-of-N.json files in this directory', { file: input });
      files.push(...found.map((f) => join(input, f)));
    } else files.push(input.replace(/\.csv$/, '.json'));
  }
  return [...new Set(files)];
}

function readShard(file: string): ShardFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`not a readable shard metadata file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  const doc = parseJsonText(text, file) as Partial<ShardFile> | null;
  if (doc?.sweep?.format !== 'deltasim-sweep' || !doc.shard)
    throw new InputError('not a deltasim sweep shard (no "sweep" / "shard")', { file });
  return doc as ShardFile;
}

export interface Merged {
  meta: SweepMeta;
  rows: Row[];
  /** The shard metadata files read, with their own run.json. */
  shards: { file: string; run: unknown }[];
}

export function mergeShards(inputs: string[]): Merged {
  const files = findShards(inputs);
  if (files.length === 0) throw new InputError('name at least one shard file or directory');
  const first = readShard(files[0]!);
  const meta = first.sweep;
  const owner = new Map<number, string>();
  const rows: Row[] = [];
  const shards: Merged['shards'] = [];
  for (const file of files) {
    const s = file === files[0] ? first : readShard(file);
    if (s.sweep.grid !== meta.grid)
      throw new InputError(
        `belongs to a different sweep than ${files[0]} (grid ${s.sweep.grid.slice(0, 12)}… vs ${meta.grid.slice(0, 12)}…)`,
        { file },
      );
    const csvFile = file.replace(/\.json$/, '.csv');
    let text: string;
    try {
      text = readFileSync(csvFile, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read the shard's CSV (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: csvFile });
    }
    const [head, ...body] = parseCsvText(text, csvFile);
    if ((head?.cells ?? []).join(',') !== meta.columns.join(','))
      throw new InputError('columns differ from the sweep metadata', { file: csvFile, line: 1 });
    body.forEach(({ cells: r, line }) => {
      const p = Number(r[0]);
      if (!Number.isInteger(p) || p < 0 || p >= meta.points)
        throw new InputError(`point ${quote(r[0] ?? '')} is not in 0..${meta.points - 1}`, { file: csvFile, line });
      const prev = owner.get(p);
      if (prev !== undefined) throw new InputError(`point ${p} is also in ${prev}`, { file: csvFile, line });
      owner.set(p, csvFile);
      rows.push(r);
    });
    shards.push({ file, run: s.run });
  }
  if (owner.size < meta.points) {
    const missing: number[] = [];
    for (let p = 0; p < meta.points && missing.length < 10; p++) if (!owner.has(p)) missing.push(p);
    throw new InputError(
      `${meta.points - owner.size} of ${meta.points} points missing (first: ${missing.join(', ')}); merge every shard, or finish a shard with --resume`,
    );
  }
  return { meta, rows: sortRows(rows), shards };
}
