/**
 * Benchmark: how fast `simulate` streams a large trace, and what each stage costs, by CPU time on one core (the
 * machine may be shared: wall time is not the code's). Each run is a fresh child process (peak RSS = its maxRSS,
 * Node included); the timed part excludes loading modules and opening the trace (no sha256):
 *  - read: every layer's frames decoded (frameReader), nothing else;
 *  - activity: the per-frame statistics of both event kinds (traceActivityStream), what every engine consumes;
 *  - simulate: `simulate(traceWorkload(…))` on the hw-model, every mode (dense, sparse, delta), as the CLI runs it;
 *  - inflate (not in the default stages): only the raw DEFLATE of every .deltas record (files read before timing), the
 *    floor of `read` under the file format.
 * Two frame counts give the marginal cost of a frame (frame 0 is a key frame: every non-zero level is a delta).
 *
 *   npm run build && taskset -c 1 node dist/bench/simulate-scale.js --trace DIR [--frames 2,6] [--arch delta-32x32]
 *     [--stages read,activity,simulate] [--repeat 1]
 * With --repeat N each child runs N times and the least CPU time counts (on a shared machine, contention only adds).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadHwModel, simulate, traceWorkload } from '../sim/index.js';
import { traceActivityStream } from '../sim/activity.js';
import { frameReader, openTrace } from '../traces/reader.js';
import { cpuModel } from './machine.js';
import { codeRun, runChild } from './self.js';

const SELF = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    trace: { type: 'string' },
    frames: { type: 'string', default: '2,6' },
    arch: { type: 'string', default: 'delta-32x32' },
    stages: { type: 'string', default: 'read,activity,simulate' },
    repeat: { type: 'string', default: '1' },
  },
});

interface Measure {
  cpuS: number;
  maxRssMiB: number;
}

const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function child(stage: string, dir: string, frames: number): Measure {
  const trace = openTrace(dir, { verify: false });
  const hw = loadHwModel(args.arch);
  const c0 = cpuS();
  let n = 0;
  if (stage === 'inflate') {
    const files = trace.layers.filter((tl) => tl.encoding === 'deltas').map((tl) => ({ buf: readFileSync(tl.path), at: tl.dataOffset }));
    const t0 = cpuS();
    for (const f of files)
      for (let t = 0, pos = f.at; t < frames; t++) {
        const z = f.buf.readUInt32LE(pos + 4); // record head: n, z (traces/deltas.ts)
        if (z > 0) inflateRawSync(f.buf.subarray(pos + 8, pos + 8 + z));
        pos += 8 + z;
      }
    return { cpuS: cpuS() - t0, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  }
  if (stage === 'read') for (const _ of frameReader(trace, { to: frames })) n++;
  else if (stage === 'activity') for (const _ of traceActivityStream(trace, { frames })) n++;
  else simulate(traceWorkload(trace, { frames }), hw, { mode: 'all' });
  if (stage !== 'simulate' && n !== frames) throw new Error(`${stage}: ${n} frames read, ${frames} asked`);
  return { cpuS: cpuS() - c0, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

if (args.child) {
  const [stage, dir, frames] = JSON.parse(args.child) as [string, string, number];
  process.stdout.write(JSON.stringify(child(stage, dir, frames)));
} else {
  if (!args.trace) throw new Error('--trace DIR is required');
  const trace = openTrace(args.trace, { verify: false });
  const [f1, f2] = args.frames.split(',').map(Number) as [number, number];
  const inputs = trace.layers.reduce((s, l) => s + l.frameElements, 0);
  console.log(
    `trace ${args.trace}: ${trace.manifest.model.name}, ${trace.layers.length} layers, ${trace.manifest.frames} frames, ` +
      `${(inputs / 1e6).toFixed(2)} M input activations a frame; ${args.arch}; ${codeRun(SELF)}`,
  );
  console.log(
    `${cpus().length} × ${cpuModel()}, Node ${process.versions.node}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
  console.log(`| stage | CPU s (${f1} frames) | CPU s (${f2} frames) | marginal frames/s (CPU) | peak RSS MiB (${f2} frames) |`);
  console.log('|---|---:|---:|---:|---:|');
  const least = (stage: string, frames: number): Measure => {
    const runs = Array.from({ length: Number(args.repeat) }, () =>
      runChild<Measure>(SELF, ['--child', JSON.stringify([stage, args.trace, frames]), '--arch', args.arch]),
    );
    return { cpuS: Math.min(...runs.map((r) => r.cpuS)), maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)) };
  };
  for (const stage of args.stages.split(',')) {
    const a = least(stage, f1);
    const b = least(stage, f2);
    const marginal = (f2 - f1) / (b.cpuS - a.cpuS);
    console.log(`| ${stage} | ${a.cpuS.toFixed(2)} | ${b.cpuS.toFixed(2)} | ${marginal.toFixed(2)} | ${b.maxRssMiB.toFixed(0)} |`);
  }
  console.log(
    `\nload average after: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
}
