/**
 * Run sweep points: in this thread (workers = 0) or on a pool of worker threads, each importing the
 * pure sim library and handed one point at a time (points differ in cost by orders of magnitude, so
 * dynamic dispatch balances better than fixed chunks). Rows arrive in completion order; callers sort.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, type InputErrorWhere } from '../../lib/errors.js';
import { runPoint, type Row, type SweepJob } from './job.js';

export type ToWorker = { point: number };
export type FromWorker =
  | { point: number; row: Row }
  | { point: number; error: { message: string; input: true; where: InputErrorWhere } | { message: string; input: false; stack: string } };

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
    for (const p of points) {
      opts.onRow(p, runPoint(job, p));
      await new Promise((r) => setImmediate(r)); // let a progress bar redraw
    }
    return;
  }
  const workers = Array.from({ length: n }, () => startWorker(job));
  let next = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (w: Worker): void => {
        if (next < points.length) w.postMessage({ point: points[next++]! } satisfies ToWorker);
      };
      for (const w of workers) {
        w.on('message', (m: FromWorker) => {
          if ('error' in m) {
            const e = m.error;
            if (e.input) reject(new InputError(`sweep point ${m.point}: ${e.message}`, e.where));
            else reject(Object.assign(new Error(`sweep point ${m.point}: ${e.message}`), { stack: e.stack }));
            return;
          }
          opts.onRow(m.point, m.row);
          if (++finished === points.length) resolve();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (finished < points.length) reject(new Error(`sweep worker exited (code ${code}) with points left`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
