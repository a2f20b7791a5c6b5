/**
 * Run sweep points: in this thread (workers = 0) or on a pool of worker threads, each importing the
 * pure sim library and handed one batch at a time (points differ in cost by orders of magnitude, so
 * dynamic dispatch balances better than fixed chunks). A topology's batch is one point; a trace's is
 * points at one threshold, which the worker simulates in one pass over the trace (job.ts runBatch):
 * batches as large as the points per worker, so the trace is read about once per worker and threshold,
 * as when activity was gathered per thread, but at most MAX_BATCH points, which bounds the memory of
 * the simulations in flight. Rows arrive in completion order; callers sort.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, type InputErrorWhere } from '../../lib/errors.js';
import { bareMessage } from './patch.js';
import { pointOfError, runBatch, thresholdOf, type Row, type SweepJob } from './job.js';

export type ToWorker = { points: number[] };
export type FromWorker =
  | { point: number; row: Row }
  | { point: number; error: { message: string; input: true; where: InputErrorWhere } | { message: string; input: false; stack: string } };

/**
 * The most points one pass over a trace simulates at once. Each holds its running sums and per-frame latencies, and
 * its engines' per-layer buffers (on centernet ~54 MiB a point at 4–16 rows: reports/bench-sweep-scale.md); the trace's
 * activity is counted once per pass, a small share of 16 points' simulation.
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
  const n = Math.min(opts.workers ?? defaultWorkers(), points.length);
  if (n <= 0) {
    for (const batch of batchesOf(job, points, MAX_BATCH)) {
      const rows = runBatch(job, batch);
      batch.forEach((p, i) => opts.onRow(p, rows[i]!));
      await new Promise((r) => setImmediate(r)); // let a progress bar redraw
    }
    return;
  }
  // Per threshold, its points shared out over the workers (at most MAX_BATCH at once).
  const perThreshold = batchesOf(job, points, Number.MAX_SAFE_INTEGER);
  const batches = perThreshold.flatMap((g) => batchesOf(job, g, Math.min(MAX_BATCH, Math.ceil(g.length / n))));
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
