/**
 * Benchmark: speed and peak memory of simulate and of a sweep on a large trace, at several frame and
 * point counts, each in a fresh child process (peak RSS is the process's maxRSS):
 *  - simulate: `simulate(traceWorkload(…))`, every mode, streamed (frames/s by CPU time: the machine may be shared);
 *  - sweep: `runSweep` in-process (workers 0) over a `rows` axis of P values, streamed per batch (job.ts runBatch);
 *  - gathered: the same points replayed from activity gathered in memory (`pointRunner`, what sweeps did
 *    before): its peak RSS grows with the frames. Its rows must equal the sweep's.
 *
 *   npm run build && taskset -c 1 node dist/bench/sweep-scale.js --trace DIR [--frames 5,10] [--points 2,4]
 *     [--arch delta-32x32] [--threshold T] [--axis rows|KEY] [--skip-simulate] [--skip-gathered]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHwModel, simulate, traceWorkload } from '../sim/index.js';
import { parseSet, pointRunner, prepareSweep, runSweep, type Row } from '../sim/sweep/index.js';
import { openTrace } from '../traces/reader.js';
import { cpuModel } from './machine.js';
import { codeRun, runChild } from './self.js';

const SELF = fileURLToPath(import.meta.url);
const ROWS = [4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64];
/** P values of the swept key: ROWS for rows, else 4, 8, 12, … */
const axisValues = (p: number): number[] => (args.axis === 'rows' ? ROWS.slice(0, p) : Array.from({ length: p }, (_, i) => 4 * (i + 1)));

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    trace: { type: 'string' },
    frames: { type: 'string', default: '5,10' },
    points: { type: 'string', default: '2,4' },
    arch: { type: 'string', default: 'delta-32x32' },
    threshold: { type: 'string' },
    'skip-gathered': { type: 'boolean', default: false },
    'skip-simulate': { type: 'boolean', default: false },
    /** The swept hw-model key: rows (array height: per-point engine buffers grow as rows shrink) or another numeric key, e.g. memories.dram.GBps. */
    axis: { type: 'string', default: 'rows' },
  },
});

interface Measure {
  wallS: number;
  cpuS: number;
  maxRssMiB: number;
  /** sha256 of the rows (sweep, gathered): equal ⇔ same results. */
  rows?: string;
}

const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const rssMiB = () => process.resourceUsage().maxRSS / 1024;

async function child(kind: string, dir: string, frames: number, points: number): Promise<Measure> {
  const trace = openTrace(dir, { verify: false });
  const hw = loadHwModel(args.arch);
  const threshold = args.threshold !== undefined ? { threshold: Number(args.threshold) } : {};
  const t0 = performance.now();
  const c0 = cpuS();
  let rows: string | undefined;
  if (kind === 'simulate') simulate(traceWorkload(trace, { frames, ...threshold }), hw, { mode: 'all' });
  else {
    const job = prepareSweep({
      trace,
      hwModel: hw,
      axes: [parseSet(`${args.axis}=${axisValues(points).join(',')}`)],
      mode: 'all',
      fps: 30,
      frames,
      sim: threshold,
    });
    let out: Row[];
    if (kind === 'sweep') {
      const dir = mkdtempSync(join(tmpdir(), 'deltasim-bench-scale-'));
      await runSweep(job, { out: dir, workers: 0 });
      out = readFileSync(join(dir, 'sweep.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','));
      rmSync(dir, { recursive: true, force: true });
    } else {
      const run = pointRunner(job);
      out = Array.from({ length: points }, (_, i) => run(i).map(String));
    }
    rows = createHash('sha256').update(JSON.stringify(out)).digest('hex').slice(0, 12);
  }
  return { wallS: (performance.now() - t0) / 1e3, cpuS: cpuS() - c0, maxRssMiB: rssMiB(), ...(rows ? { rows } : {}) };
}

if (args.child) {
  const [kind, dir, frames, points] = JSON.parse(args.child) as [string, string, number, number];
  process.stdout.write(JSON.stringify(await child(kind, dir, frames, points)));
} else {
  if (!args.trace) throw new Error('--trace DIR is required');
  const trace = openTrace(args.trace, { verify: false });
  const frames = args.frames.split(',').map(Number);
  const points = args.points.split(',').map(Number);
  console.log(
    `trace ${args.trace}: ${trace.manifest.model.name}, ${trace.layers.length} layers, ${trace.manifest.frames} frames; ${args.arch}; ${codeRun(SELF)}`,
  );
  console.log(
    `${cpus().length} × ${cpuModel()}, Node ${process.versions.node}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
  console.log('| run | frames | points | wall s | CPU s | frames/s (CPU) | peak RSS MiB | rows |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  const line = (kind: string, f: number, p: number) => {
    const m = runChild<Measure>(SELF, [
      '--child',
      JSON.stringify([kind, args.trace, f, p]),
      '--arch',
      args.arch,
      '--axis',
      args.axis,
      ...(args.threshold !== undefined ? ['--threshold', args.threshold] : []),
    ]);
    // Point-frames per CPU second for a sweep: each point simulates every frame.
    const fps = (f * (kind === 'simulate' ? 1 : p)) / m.cpuS;
    console.log(
      `| ${kind} | ${f} | ${kind === 'simulate' ? '' : p} | ${m.wallS.toFixed(1)} | ${m.cpuS.toFixed(1)} | ${fps.toFixed(2)} | ${m.maxRssMiB.toFixed(0)} | ${m.rows ?? ''} |`,
    );
  };
  console.log(`(sweep axis: ${args.axis})`);
  if (!args['skip-simulate']) for (const f of frames) line('simulate', f, 1);
  for (const f of frames) for (const p of points) line('sweep', f, p);
  if (!args['skip-gathered']) for (const f of frames) line('gathered', f, points[0]!);
}
