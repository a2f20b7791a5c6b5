/**
 * Benchmark and check: several sweep shapes over a trace, each batch run in-process (`runBatch`, every point at
 * once, as a worker does), with each sweep's CPU time and the sha256 of its rows: a change to how points share work
 * must leave every hash as it was. Prints the process's peak RSS at the end.
 *
 *   npm run build && taskset -c 0 node dist/bench/sweep-shapes.js --trace DIR [--frames 3]
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHwModel } from '../sim/index.js';
import { parseSet, prepareSweep, runBatch } from '../sim/sweep/index.js';
import { openTrace } from '../traces/reader.js';
import { cpuModel } from './machine.js';
import { codeRun } from './self.js';

const { values: args } = parseArgs({ options: { trace: { type: 'string' }, frames: { type: 'string', default: '3' } } });
if (!args.trace) throw new Error('--trace DIR is required');

/** [hw-model, axes]: each fold path, and axes the fold statistics do and do not depend on. */
const SHAPES: [string, string[]][] = [
  ['delta-32x32', ['rows=16,32', 'skipZeroWeights=true,false']],
  ['delta-32x32', ['dataflow=ws,is,os', 'cols=16,32']],
  ['zero-skip-32x32', ['memories.dram.GBps=4,16', 'cols=8,32']],
  ['delta-32x32', ['rowSync=independent,lockstep', 'clockMHz=100,200']],
];

const trace = openTrace(args.trace, { verify: false });
console.log(`trace ${args.trace}: ${trace.manifest.model.name}, ${args.frames} frames; ${codeRun(fileURLToPath(import.meta.url))}`);
console.log(
  `${cpus().length} × ${cpuModel()}, Node ${process.versions.node}, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}\n`,
);
console.log('| hw-model | axes | points | CPU s | rows sha256 |');
console.log('|---|---|---:|---:|---|');
let total = 0;
for (const [arch, axes] of SHAPES) {
  const job = prepareSweep({
    trace,
    hwModel: loadHwModel(arch),
    axes: axes.map(parseSet),
    mode: 'all',
    fps: 30,
    frames: Number(args.frames),
  });
  const points = Array.from({ length: job.meta.points }, (_, i) => i);
  const c0 = process.cpuUsage();
  const rows = runBatch(job, points);
  const c = process.cpuUsage(c0);
  const s = (c.user + c.system) / 1e6;
  total += s;
  const hash = createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16);
  console.log(`| ${arch} | ${axes.join(' × ')} | ${points.length} | ${s.toFixed(1)} | ${hash} |`);
}
console.log(`\ntotal ${total.toFixed(1)} CPU s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
