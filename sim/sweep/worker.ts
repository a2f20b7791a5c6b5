/**
 * Worker-thread entry of the sweep pool: receives the job once (workerData), then point indices;
 * answers each with its row, or with the error (flagged when it is bad user input).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../../lib/errors.js';
import { runPoint, type SweepJob } from './job.js';
import { bareMessage } from './patch.js';
import type { FromWorker, ToWorker } from './pool.js';

const job = workerData as SweepJob;
const port = parentPort!;
port.on('message', (m: ToWorker) => {
  let reply: FromWorker;
  try {
    reply = { point: m.point, row: runPoint(job, m.point) };
  } catch (e) {
    const err = e as Error;
    reply = {
      point: m.point,
      error:
        e instanceof InputError
          ? { message: bareMessage(e), where: e.where, input: true }
          : { message: err.message, stack: err.stack ?? '', input: false },
    };
  }
  port.postMessage(reply);
});
