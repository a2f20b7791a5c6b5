/**
 * Benchmark: sweep throughput (points per second) with 0 (in-process), 1 and 2 worker threads, on a
 * model × rows × cols × state-SRAM grid (default ResNet-50 on delta-32x32, 4·4·8 = 128 points, all
 * modes), or on a trace (--trace DIR, optional --threshold list as a sim.threshold axis: each thread
 * gathers the trace work once per threshold, included in the wall time). Wall time includes starting the workers (each compiles the TypeScript sources through tsx)
 * and writing the outputs ("first row s" shows that start-up); every run must produce the same sweep.csv.
 * Also prints the load average: on a shared machine other processes take cores from the workers.
 *
 *   npx tsx bench/sweep.ts [--model resnet50|alexnet|… | --trace DIR [--threshold 0,2]] [--arch delta-32x32] [--grid FILE] [--workers 0,1,2]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadHwModel, loadTopology } from '../sim/index.js';
import { loadGrid, mergeAxes, parseSet, prepareSweep, runSweep } from '../sim/sweep/index.js';
import { openTrace } from '../traces/reader.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet50' },
    trace: { type: 'string' },
    threshold: { type: 'string' },
    arch: { type: 'string', default: 'delta-32x32' },
    grid: { type: 'string', default: new URL('../hw-models/grids/array-sram.json', import.meta.url).pathname },
    workers: { type: 'string', default: '0,1,2' },
  },
});

const axes = mergeAxes(loadGrid(args.grid), args.threshold ? [parseSet(`threshold=${args.threshold}`)] : []);
const workload = args.trace ? { trace: openTrace(args.trace) } : { topology: loadTopology(args.model) };
const job = prepareSweep({ ...workload, hwModel: loadHwModel(args.arch), axes, mode: 'all', fps: 30 });
console.log(
  `${args.trace ? `trace ${args.trace} (${job.meta.frames} frames)` : args.model} on ${args.arch}: ${job.meta.points} points (${job.meta.parameters.map((p) => `${p.name} ×${p.values.length}`).join(', ')}), modes ${job.meta.modes.join(', ')}`,
);
console.log(
  `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}\n`,
);
console.log('workers           wall s   first row s   points/s   ms/point');
let reference: string | undefined;
for (const workers of args.workers.split(',').map(Number)) {
  const out = mkdtempSync(join(tmpdir(), 'deltasim-bench-sweep-'));
  const t0 = performance.now();
  let first = 0;
  await runSweep(job, { out, workers, onPoint: () => (first ||= performance.now() - t0) });
  const s = (performance.now() - t0) / 1e3;
  const csv = readFileSync(join(out, 'sweep.csv'), 'utf8');
  rmSync(out, { recursive: true, force: true });
  if (reference !== undefined && csv !== reference) throw new Error(`sweep.csv with ${workers} workers differs from the first run`);
  reference ??= csv;
  const label = workers === 0 ? '0 (in-process)' : String(workers);
  console.log(
    `${label.padEnd(16)}  ${s.toFixed(2).padStart(6)}   ${(first / 1e3).toFixed(2).padStart(11)}   ${(job.meta.points / s).toFixed(1).padStart(8)}   ${((s * 1e3) / job.meta.points).toFixed(1).padStart(8)}`,
  );
}
