/** Running sweeps: workers = in-process, shards + merge = unsharded, resume = uninterrupted. */
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { loadHwModel, loadTopology } from '../../sim/index.js';
import {
  mergeShards,
  parseSet,
  parseShard,
  prepareSweep,
  runPoint,
  runPoints,
  runSweep,
  shardPoints,
  writeSweepOutput,
  type Row,
} from '../../sim/sweep/index.js';
import { rejectsInput, removeTmp, smallJob, throwsInput, tmp } from './helpers.js';

const job = smallJob();
const read = (f: string) => readFileSync(f, 'utf8');

describe('sweep run', function () {
  this.timeout(120000);
  after(removeTmp);
  let ref: string; // the unsharded, in-process sweep.csv
  let refDir: string;

  before(async () => {
    refDir = tmp();
    await runSweep(job, { out: refDir, workers: 0 });
    ref = read(join(refDir, 'sweep.csv'));
  });

  it('writes one row per point, in point order, with parameters and metrics', () => {
    const rows = parse(ref) as string[][];
    expect(rows[0]).to.deep.equal(job.meta.columns);
    expect(rows.slice(1).map((r) => r[0])).to.deep.equal(Array.from({ length: 24 }, (_, i) => String(i)));
    const col = (c: string) => rows.slice(1).map((r) => Number(r[job.meta.columns.indexOf(c)]));
    expect(col('arch.rows')).to.deep.equal([4, 8, 16].flatMap((r) => Array(8).fill(r)));
    // More rows never cost more dense cycles (the rows axis is the slowest: compare blocks of 8 points).
    const cycles = col('cycles_dense');
    for (let i = 0; i < 16; i++) expect(cycles[i + 8]).to.be.at.most(cycles[i]!);
    expect(col('speedup_delta').every((x) => x > 0)).to.equal(true);
    const summary = JSON.parse(read(join(refDir, 'summary.json')));
    expect(summary.points).to.equal(24);
    expect(summary.best.speedup_delta.value).to.equal(Math.max(...col('speedup_delta')));
  });

  it('worker threads give the same rows as in-process, whatever the completion order', async () => {
    const rows = new Map<number, Row>();
    await runPoints(job, [5, 0, 23, 11, 7, 2], { workers: 2, onRow: (p, r) => rows.set(p, r) });
    for (const [p, r] of rows) expect(r).to.deep.equal(runPoint(job, p));
    const dir = tmp();
    await runSweep(job, { out: dir, workers: 2 });
    expect(read(join(dir, 'sweep.csv'))).to.equal(ref);
    expect(read(join(dir, 'summary.json'))).to.equal(read(join(refDir, 'summary.json')));
  });

  it('shards partition the points round-robin', () => {
    for (const n of [1, 2, 5, 24, 30]) {
      const all = Array.from({ length: n }, (_, k) => shardPoints(24, { index: k, count: n }))
        .flat()
        .sort((a, b) => a - b);
      expect(all).to.deep.equal(Array.from({ length: 24 }, (_, i) => i));
    }
    expect(shardPoints(10, { index: 1, count: 3 })).to.deep.equal([1, 4, 7]);
  });

  it('--shard k/n is 1-based; auto/n reads Kubernetes / Slurm array indices', () => {
    expect(parseShard('1/4', {})).to.deep.equal({ index: 0, count: 4 });
    expect(parseShard('4/4', {})).to.deep.equal({ index: 3, count: 4 });
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '0' })).to.deep.equal({ index: 0, count: 4 });
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).to.deep.equal({ index: 3, count: 4 });
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '3' })).to.deep.equal({ index: 3, count: 4 });
    throwsInput(() => parseShard('0/4', {}), '--shard 0/4', 'shards are numbered from 1');
    throwsInput(() => parseShard('5/4', {}), '1..4');
    throwsInput(() => parseShard('2', {}), 'k/n');
    throwsInput(() => parseShard('1/0', {}), 'k/n');
    throwsInput(() => parseShard('auto/4', {}), 'JOB_COMPLETION_INDEX');
    throwsInput(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' }), 'outside 1..4');
  });

  it('shards + merge give the unsharded sweep.csv and summary.json byte for byte', async () => {
    const dir = tmp();
    for (const k of [3, 1, 2]) await runSweep(job, { out: dir, workers: k === 2 ? 2 : 0, shard: { index: k - 1, count: 3 } });
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.csv'))
        .sort(),
    ).to.deep.equal(['shard-1-of-3.csv', 'shard-2-of-3.csv', 'shard-3-of-3.csv']);
    const m = mergeShards([dir]);
    const out = tmp();
    writeSweepOutput(out, m.meta, m.rows, null);
    expect(read(join(out, 'sweep.csv'))).to.equal(ref);
    expect(read(join(out, 'summary.json'))).to.equal(read(join(refDir, 'summary.json')));
    // Shards named one by one (.json or .csv) merge the same.
    const byFile = mergeShards(['shard-2-of-3.json', 'shard-1-of-3.csv', 'shard-3-of-3.json'].map((f) => join(dir, f)));
    expect(byFile.rows).to.deep.equal(m.rows);
  });

  it('merge rejects missing, duplicated and foreign shards', async () => {
    const dir = tmp();
    for (const k of [0, 1]) await runSweep(job, { out: dir, workers: 0, shard: { index: k, count: 2 } });
    throwsInput(() => mergeShards([join(dir, 'shard-1-of-2.json')]), '12 of 24 points missing', 'first: 1, 3, 5');
    // Shard 1 of 2 overlaps shard 1 of 4 on point 0.
    const other = tmp();
    await runSweep(job, { out: other, workers: 0, shard: { index: 0, count: 4 } });
    throwsInput(() => mergeShards([dir, other]), 'shard-1-of-4.csv', 'point 0 is also in', 'shard-1-of-2.csv');
    // Another grid (one value changed) has another hash.
    const foreign = tmp();
    const job2 = prepareSweep({
      topology: loadTopology('tiny'),
      hwModel: loadHwModel('delta-32x32'),
      axes: [parseSet('rows=4,8,17')],
      mode: 'all',
    });
    await runSweep(job2, { out: foreign, workers: 0, shard: { index: 0, count: 2 } });
    throwsInput(() => mergeShards([dir, foreign]), 'shard-1-of-2.json', 'different sweep');
    throwsInput(() => mergeShards([tmp()]), 'no shard-K-of-N.json files');
    throwsInput(() => mergeShards([join(dir, 'nope.json')]), 'nope.json', 'no such shard');
  });

  it('resume after an interruption (partial journal, torn last line) runs only the rest and writes the same CSV', async () => {
    const dir = tmp();
    const journal = join(dir, 'journal.jsonl');
    // What an interrupted run leaves: the header, some finished points in completion order, a torn line.
    const done = [3, 0, 17, 9];
    writeFileSync(journal, `${JSON.stringify({ journal: 'deltasim-sweep', grid: job.meta.grid, shard: null })}\n`);
    for (const p of done) appendFileSync(journal, `${JSON.stringify({ point: p, row: runPoint(job, p) })}\n`);
    appendFileSync(journal, '{"point": 12, "row": [12, 16');
    const ran: number[] = [];
    const r = await runSweep(job, { out: dir, workers: 0, resume: true, onPoint: (p) => ran.push(p) });
    expect(r.resumed).to.equal(4);
    expect(ran.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 24 }, (_, i) => i).filter((i) => !done.includes(i)));
    expect(read(join(dir, 'sweep.csv'))).to.equal(ref);
    // The torn line was cut off: the journal now holds the header and all 24 points, each once.
    const lines = read(journal)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      lines
        .slice(1)
        .map((l) => l.point)
        .sort((a: number, b: number) => a - b),
    ).to.deep.equal(Array.from({ length: 24 }, (_, i) => i));
    // Resuming a finished run runs nothing and rewrites the same bytes.
    const again: number[] = [];
    await runSweep(job, { out: dir, workers: 0, resume: true, onPoint: (p) => again.push(p) });
    expect(again).to.deep.equal([]);
    expect(read(join(dir, 'sweep.csv'))).to.equal(ref);
  });

  it('a journal is never silently overwritten or mixed with another sweep', async () => {
    const dir = tmp();
    await runSweep(job, { out: dir, workers: 0, shard: { index: 0, count: 6 } });
    await rejectsInput(runSweep(job, { out: dir, workers: 0, shard: { index: 0, count: 6 } }), 'shard-1-of-6.journal.jsonl', '--resume');
    const job2 = prepareSweep({
      topology: loadTopology('tiny'),
      hwModel: loadHwModel('delta-32x32'),
      axes: [parseSet('rows=4,8')],
      mode: 'all',
    });
    await rejectsInput(runSweep(job2, { out: dir, workers: 0, resume: true, shard: { index: 0, count: 6 } }), 'different sweep');
    writeFileSync(
      join(dir, 'journal.jsonl'),
      `{"journal":"deltasim-sweep","grid":"${job.meta.grid}","shard":null}\nnot json\n{"point":1}\n`,
    );
    await rejectsInput(runSweep(job, { out: dir, workers: 0, resume: true }), 'journal.jsonl', 'line 2', 'corrupt');
    rmSync(join(dir, 'journal.jsonl'));
    expect(existsSync(join(dir, 'sweep.csv'))).to.equal(false);
  });
});
