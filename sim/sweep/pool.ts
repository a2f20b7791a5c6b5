/**
 * Run sweep points: in this thread (workers = 0) or on a pool of worker threads, each importing the
 * pure sim library and handed one batch at a time (points differ in cost by orders of magnitude, so
 * dynamic dispatch balances better than fixed chunks). A topology's batch is one point; a trace's is
 * points at one threshold, which the worker simulates in one pass over the trace (job.ts runBatch).
 * A threshold's points are shared out over the workers by family (`foldStatsFamily`: points whose fold
 * models keep the same per-frame statistics, which one batch computes once for all of them), never more
 * pieces than families: a sweep over bandwidth, buffers or energy is one pass on one worker, not a pass per
 * worker that counts the same activity again. At most MAX_BATCH points a batch, which bounds the memory of
 * the simulations in flight. Rows arrive in completion order; callers sort.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, type InputErrorWhere } from '../../lib/errors.js';
import { foldStatsFamily } from '../trace-fold-model.js';
import { pointValues } from './grid.js';
import { pointOfError, runBatch, thresholdOf, type Row, type SweepJob } from './job.js';
import { bareMessage, pointConfig } from './patch.js';

export type ToWorker = { points: number[] };
export type FromWorker =
  | { point: number; row: Row }
  | { point: number; error: { message: string; input: true; where: InputErrorWhere } | { message: string; input: false; stack: string } };

/**
 * The most points one pass over a trace simulates at once. Each holds its running sums and per-frame latencies, and
 * its engines' per-layer buffers, shared by the points of one family (on centernet ~45 MiB per distinct rows value at
 * 4–16 rows, ~1 MiB a point otherwise: reports/bench-sweep-scale.md); the trace's activity is counted once per pass.
 */
export const MAX_BATCH = 16;

/** The batches of a run: single points for a topology; for a trace, points at one threshold, up to `size` each. */
export function batchesOf(job: SweepJob, points: readonly number[], size: number): number[][] {
  if (!job.trace) return points.map((p) => [p]);
  const groups = new Map<string, number[]>();
  for (const p of points) {
    const key = String(thresholdOf(job, p));
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  const out: number[][] = [];
  for (const g of groups.values()) for (let i = 0; i < g.length; i += size) out.push(g.slice(i, i + size));
  return out;
}

/**
 * A threshold's points for `workers` workers: its families (points of one foldStatsFamily, in order of first point) dealt
 * to at most `workers` pieces, largest family first onto the piece with the fewest points, each piece cut into batches of
 * at most MAX_BATCH. A family is split only by that cap.
 */
export function workerBatches(job: SweepJob, points: readonly number[], workers: number): number[][] {
  const families = new Map<string, number[]>();
  // A point whose hw-model does not validate is a family of its own: its worker reports the error, as for any point.
  const familyOf = (p: number): string | null => {
    try {
      return foldStatsFamily(pointConfig(job.baseSpec, job.baseSource, job.axes, pointValues(job.axes, p)).hw);
    } catch {
      return null;
    }
  };
  for (const p of points) {
    const key = familyOf(p) ?? `point ${p}`;
    const f = families.get(key);
    if (f) f.push(p);
    else families.set(key, [p]);
  }
  const pieces: number[][] = Array.from({ length: Math.max(1, Math.min(workers, families.size)) }, () => []);
  const bySize = [...families.values()].sort((a, b) => b.length - a.length); // stable: ties keep their order
  for (const f of bySize) pieces.reduce((min, q) => (q.length < min.length ? q : min)).push(...f);
  return pieces.flatMap((q) =>
    Array.from({ length: Math.ceil(q.length / MAX_BATCH) }, (_, i) => q.slice(i * MAX_BATCH, (i + 1) * MAX_BATCH)),
  );
}

export interface PoolOptions {
  /** Worker threads; 0 runs in this thread. Default: one per core. */
  workers?: number;
  /** Called in this thread as each point finishes. */
  onRow: (point: number, row: Row) => void;
}

export const defaultWorkers = (): number => availableParallelism();

/** Start a worker: from TypeScript sources through worker-boot.mjs (it registers tsx first). */
function startWorker(job: SweepJob): Worker {
  const entry = import.meta.url.endsWith('.ts') ? './worker-boot.mjs' : './worker.js';
  return new Worker(new URL(entry, import.meta.url), { workerData: job });
}

export async function runPoints(job: SweepJob, points: number[], opts: PoolOptions): Promise<void> {
  const want = Math.min(opts.workers ?? defaultWorkers(), points.length);
  if (want <= 0) {
    for (const batch of batchesOf(job, points, MAX_BATCH)) {
      const rows = runBatch(job, batch);
      batch.forEach((p, i) => opts.onRow(p, rows[i]!));
      await new Promise((r) => setImmediate(r)); // let a progress bar redraw
    }
    return;
  }
  // Per threshold, its points shared out over the workers by family (a topology: one point a batch).
  const batches = job.trace
    ? batchesOf(job, points, Number.MAX_SAFE_INTEGER).flatMap((g) => workerBatches(job, g, want))
    : batchesOf(job, points, 1);
  const n = Math.min(want, batches.length); // no worker without a batch
  const workers = Array.from({ length: n }, () => startWorker(job));
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        if (next < batches.length) w.postMessage({ points: batches[next++]! } satisfies ToWorker);
      };
      for (const w of workers) {
        let left = 0; // points of the worker's batch not answered yet
        w.on('message', (m: FromWorker) => {
          if ('error' in m) {
            const e = m.error;
            if (e.input) reject(new InputError(`sweep point ${m.point}: ${e.message}`, e.where));
            else reject(Object.assign(new Error(`sweep point ${m.point}: ${e.message}`), { stack: e.stack }));
            return;
          }
          opts.onRow(m.point, m.row);
          if (++finished === points.length) resolve();
          else if (--left === 0) {
            left = batches[next]?.length ?? 0;
            feed(w);
          }
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (finished < points.length) reject(new Error(`sweep worker exited (code ${code}) with points left`));
        });
        left = batches[next]?.length ?? 0;
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A batch's rows, or the error of the point it failed at (the worker's reply). */
export function answerBatch(job: SweepJob, points: readonly number[]): FromWorker[] {
  try {
    const rows = runBatch(job, points);
    return points.map((p, i) => ({ point: p, row: rows[i]! }));
  } catch (e) {
    const err = e as Error;
    return [
      {
        point: pointOfError(e) ?? points[0]!,
        error:
          e instanceof InputError
            ? { message: bareMessage(e), where: e.where, input: true }
            : { message: err.message, stack: err.stack ?? '', input: false },
      },
    ];
  }
}
