/**
 * Worker-thread entry of the sweep pool: receives the job once (workerData), then batches of point
 * indices; answers each point with its row, or the batch with the error (flagged when it is bad user input).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SweepJob } from './job.js';
import { answerBatch, type ToWorker } from './pool.js';

const job = workerData as SweepJob;
const port = parentPort!;
port.on('message', (m: ToWorker) => {
  for (const reply of answerBatch(job, m.points)) port.postMessage(reply);
});
