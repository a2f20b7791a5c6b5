/**
 * Trace-driven simulation benchmark: delta simulation of a synthetic 64×64-input CNN trace (preset
 * cnn64, 5 MAC layers, 45,120 input activations per frame) on one core, in input activations per
 * second, for 100, 1,000 and 10,000 frames:
 *  - cold: a fresh process's first run (what a CLI run costs, V8's compilation of the hot code included);
 *  - steady state: one hw-model per process (as a CLI run), after a warm-up on the 100-frame trace and on the
 *    trace itself (compiled code); peak-RSS growth with the number of frames is measured from the end of the
 *    100-frame warm-up;
 * a host-speed reference (a plain JS byte-compare loop; the machine is shared and its speed varies by
 * day); and the cost of a second hw-model when the per-frame statistics are gathered once (traceActivity)
 * instead of streaming the trace again.
 *
 *   npm run build && taskset -c 1 node dist/bench/sim-trace.js [--write]   (--write updates reports/bench-sim-trace.md)
 *
 * (`node --import tsx bench/sim-trace.ts` runs the sources through tsx: slower, and the report says so.)
 */
import { execSync } from 'node:child_process';
import { cpuModel } from './machine.js';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  frameActivityBytes,
  loadHwModel,
  activityWorkload,
  simulate,
  traceActivity,
  traceWorkload,
  withSystolic,
  type HwModel,
  type SystolicSpec,
} from '../sim/index.js';
import { makeTempDir } from '../src/record/temp-dir.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { openTrace } from '../traces/reader.js';
import { packagePath } from '../lib/package-dir.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../traces/synthetic.js';
import { codeRun, median, medians, runChild } from './self.js';

const SELF = fileURLToPath(import.meta.url);
const SYNTH = { seed: 1, density: 0.4, changeRate: 0.1, blobs: 3 };
const REPEATS = 5;
const STEADY_PROCESSES = 5;

interface Stream {
  frames: number;
  activations: number;
  wallS: number;
  cpuS: number;
  eventWallS: number;
  peakRssMiB: number;
  liveHeapMiB: number;
}
interface Steady {
  wallS: number;
  rssGrowthMiB: number;
}
/** Steady-state runs of one hw-model: median over processes, and their range. */
interface SteadyRow {
  wallS: number;
  wallRange: number[];
  rssGrowthMiB: number;
  rssGrowthRange: number[];
}
interface Reuse {
  gatherS: number;
  firstS: number;
  secondS: number;
  streamS: number;
  statsBytesPerFrame: number;
  peakRssMiB: number;
}

function timed<T>(f: () => T): { value: T; wallS: number; cpuS: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, wallS: (performance.now() - t0) / 1e3, cpuS: (c.user + c.system) / 1e6 };
}

/** Child: stream the trace through the delta engines once (no warm-up: what a CLI run costs). */
function streamChild(dir: string): Stream {
  const trace = openTrace(dir, { verify: false });
  const hw = loadHwModel('delta-32x32');
  const d = timed(() => simulate(traceWorkload(trace), hw, { mode: 'delta' }));
  const e = timed(() => simulate(traceWorkload(trace), loadHwModel('seneca-like'), { mode: 'delta' }));
  const frames = trace.manifest.frames;
  const perFrame = trace.layers.reduce((a, l) => a + l.frameElements, 0);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024; // before the bench's own full GC below, which has a peak of its own
  (globalThis as { gc?: () => void }).gc?.(); // the child runs with --expose-gc: live heap after the run
  return {
    frames,
    activations: frames * perFrame,
    wallS: d.wallS,
    cpuS: d.cpuS,
    eventWallS: e.wallS,
    peakRssMiB,
    liveHeapMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
}

/**
 * Child: one hw-model, warmed up on the small trace (5 runs: the baseline for peak-RSS growth), then on the trace
 * itself (V8 keeps re-optimising over the first long runs: 3 runs, 1 at 10,000 frames), then measured runs
 * (5; 3 at 10,000 frames): their median. Peak-RSS growth = maxRSS at the end − maxRSS after the small warm-up.
 */
function steadyChild(dir: string, warmDir: string, hwName: string): Steady {
  const hw = loadHwModel(hwName);
  const warm = openTrace(warmDir, { verify: false });
  for (let i = 0; i < 5; i++) simulate(traceWorkload(warm), hw, { mode: 'delta' });
  const rss0 = process.resourceUsage().maxRSS;
  const trace = openTrace(dir, { verify: false });
  const long = trace.manifest.frames >= 10_000;
  const runs = Array.from({ length: long ? 4 : 8 }, () => timed(() => simulate(traceWorkload(trace), hw, { mode: 'delta' })).wallS);
  return { wallS: median(runs.slice(long ? 1 : 3)), rssGrowthMiB: (process.resourceUsage().maxRSS - rss0) / 1024 };
}

/** Child: a fixed reference loop (compare 45 MB of bytes with a reference, list the differences), ns per byte: how fast the host is today. */
function hostChild(): { nsPerByte: number } {
  const n = 45_120,
    frames = 1000;
  const data = new Uint8Array(n * frames);
  for (let i = 0, x = 1; i < data.length; i++) data[i] = (x = Math.imul(x, 1103515245) + 12345) >>> 29; // deterministic bytes
  const ref = new Uint8Array(n),
    idx = new Uint32Array(n);
  const runs = [0, 1, 2, 3, 4].map(
    () =>
      timed(() => {
        let events = 0;
        for (let f = 0; f < frames; f++) {
          let k = 0;
          for (let i = 0, o = f * n; i < n; i++) {
            const v = data[o + i]!;
            idx[k] = i;
            k += +(v !== ref[i]);
            ref[i] = v;
          }
          events += k;
        }
        return events;
      }).wallS,
  );
  return { nsPerByte: (median(runs) / data.length) * 1e9 };
}

/** Child: gather statistics once, then simulate two hw-models from them; compare with streaming twice. */
function reuseChild(dir: string): Reuse {
  const trace = openTrace(dir, { verify: false });
  const a = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
  const b = withSystolic(a, { name: 'delta-64x64', rows: 64, cols: 64 });
  const g = timed(() => traceActivity(trace, { kinds: ['delta'] }));
  const first = timed(() => simulate(activityWorkload(g.value), a, { mode: 'delta' }));
  const second = timed(() => simulate(activityWorkload(g.value), b, { mode: 'delta' }));
  const stream = timed(() => simulate(traceWorkload(trace), b, { mode: 'delta' }));
  const bytes = g.value.frames.reduce((s, f) => s + frameActivityBytes(f), 0) / g.value.frames.length;
  return {
    gatherS: g.wallS,
    firstS: first.wallS,
    secondS: second.wallS,
    streamS: stream.wallS,
    statsBytesPerFrame: bytes,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function run<T>(kind: string, ...args: string[]): T {
  return runFile<T>(SELF, kind, ...args);
}

/** A child of this bench from `file`: the build (dist/bench/sim-trace.js) or the source (through tsx). */
function runFile<T>(file: string, kind: string, ...args: string[]): T {
  return runChild<T>(file, [kind, ...args], ['--expose-gc']);
}

async function main(): Promise<void> {
  // Removed on exit and on Ctrl-C / SIGTERM too (a killed benchmark leaves nothing behind).
  const temp = makeTempDir('deltasim-bench-sim-trace-');
  const work = temp.path;
  try {
    const rows: Stream[] = [];
    const steady: { delta: SteadyRow; event: SteadyRow }[] = [];
    let viaTsx: SteadyRow | null = null;
    /** Steady-state processes of one hw-model, one row per file; the files take turns, process by process. */
    const steadyRows = (dir: string, hwName: string, files: string[]): SteadyRow[] => {
      const st = files.map(() => [] as Steady[]);
      for (let p = 0; p < STEADY_PROCESSES; p++)
        files.forEach((file, i) => st[i]!.push(runFile<Steady>(file, '--steady', dir, warmDir, hwName)));
      const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
      return st.map((s) => ({
        ...medians(s),
        wallRange: range(s.map((x) => x.wallS)),
        rssGrowthRange: range(s.map((x) => x.rssGrowthMiB)),
      }));
    };
    // From the build, the 1,000-frame delta-32x32 row also runs the sources through tsx, in turns with the build.
    const compareTsx = !SELF.endsWith('.ts');
    let reuse: Reuse | null = null;
    const host = median(Array.from({ length: 3 }, () => run<{ nsPerByte: number }>('--host').nsPerByte));
    const warmDir = join(work, 't100');
    for (const frames of [100, 1000, 10000]) {
      const dir = join(work, `t${frames}`);
      await writeSyntheticTrace(dir, SYNTH_PRESETS.cnn64!, { ...SYNTH, frames });
      rows.push(medians(Array.from({ length: REPEATS }, () => run<Stream>('--stream', dir))));
      const [delta, tsx] = steadyRows(
        dir,
        'delta-32x32',
        frames === 1000 && compareTsx ? [SELF, packagePath('bench', 'sim-trace.ts')] : [SELF],
      );
      if (tsx) viaTsx = tsx;
      steady.push({ delta: delta!, event: steadyRows(dir, 'seneca-like', [SELF])[0]! });
      if (frames === 1000) reuse = medians(Array.from({ length: REPEATS }, () => run<Reuse>('--reuse', dir)));
    }
    const cpu = cpuModel();
    const load = execSync('cat /proc/loadavg', { encoding: 'utf8' }).trim().split(' ').slice(0, 3).join(' ');
    const M = (x: number) => (x / 1e6).toFixed(1);
    const r = reuse!;
    const report = [
      '# Benchmark: trace-driven delta simulation (bench/sim-trace.ts)',
      '',
      `Machine: ${cpu}, ${cpus().length} cores (lscpu); Node ${process.versions.node}; date ${new Date().toISOString().slice(0, 10)};`,
      `load average when the report was written: ${load} (the machine is shared; wall times include that contention).`,
      `Code measured: ${codeRun(SELF)}.`,
      '',
      `Trace: synthetic preset \`cnn64\` (5 MAC layers, 64×64×3 input, 45,120 uint8 input activations per frame), seed ${SYNTH.seed},`,
      `density ${SYNTH.density}, change rate ${SYNTH.changeRate}, ${SYNTH.blobs} blobs. One run = \`simulate(traceWorkload(trace), hw, {mode: 'delta'})\`:`,
      'read every frame, find the non-zero deltas, build the per-frame statistics (receptive-field counts by integral',
      'images, touched outputs, fan-out sums), run the delta engine and the dense reference on the hw-model, summarise.',
      `Host speed today: a plain JS byte-compare loop (compare with a reference, list the differences) runs at ${host.toFixed(2)} ns per byte`,
      '(the `--host` child; the machine is a shared VM whose speed varies by day: compare reports through this figure).',
      '',
      `**Cold**: a fresh process's first run, what a CLI run costs, V8 compiling the hot code included; median of ${REPEATS} processes;`,
      "peak RSS = that process's maxRSS (Node included), live heap after a full GC at the end.",
      '',
      '| frames | input activations | delta-32x32 (systolic os) wall | CPU time | activations / s (wall) | seneca-like (event) wall, run next in the same process | peak RSS | live heap after run |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (x) =>
          `| ${x.frames} | ${x.activations} | ${x.wallS.toFixed(3)} s | ${x.cpuS.toFixed(3)} s | ${M(x.activations / x.wallS)} M/s | ` +
          `${x.eventWallS.toFixed(3)} s | ${x.peakRssMiB.toFixed(1)} MiB | ${x.liveHeapMiB.toFixed(1)} MiB |`,
      ),
      '',
      `**Steady state**: one hw-model per process (as a CLI run), warmed up on the 100-frame trace (5 runs) and on the trace itself`,
      `(3 runs, 1 at 10,000 frames: V8 keeps re-optimising over the first long runs), then the median of 5 runs (3 at 10,000 frames);`,
      `median of ${STEADY_PROCESSES} processes, with the range of the processes' medians (the machine is shared: runs vary by ±20 %).`,
      'Peak-RSS growth = maxRSS after those runs − maxRSS after the 100-frame warm-up:',
      "what the runs on the trace add, including the optimising compiler's native memory while it re-optimises in the first of them.",
      '',
      '| frames | delta-32x32 wall (range) | activations / s (range) | seneca-like wall | activations / s (range) | delta-32x32 peak-RSS growth over the warm-up (range) |',
      '|---:|---:|---:|---:|---:|---:|',
      ...rows.map((x, i) => {
        const { delta: d, event: e } = steady[i]!;
        const rate = (w: number) => M(x.activations / w);
        return (
          `| ${x.frames} | ${d.wallS.toFixed(3)} s (${d.wallRange.map((w) => w.toFixed(3)).join('–')}) | ${rate(d.wallS)} M/s (${rate(d.wallRange[1]!)}–${rate(d.wallRange[0]!)}) | ` +
          `${e.wallS.toFixed(3)} s | ${rate(e.wallS)} M/s (${rate(e.wallRange[1]!)}–${rate(e.wallRange[0]!)}) | ${d.rssGrowthMiB.toFixed(1)} MiB (${d.rssGrowthRange.map((g) => g.toFixed(1)).join('–')}) |`
        );
      }),
      '',
      ...(viaTsx
        ? (() => {
            const t = viaTsx,
              d = steady[1]!.delta,
              a = rows[1]!.activations;
            return [
              `Through tsx: the same 1,000-frame delta-32x32 steady state from the TypeScript sources (\`--import tsx\`), its processes taking turns`,
              `with the build's above: ${M(a / t.wallS)} M/s (processes ${M(a / t.wallRange[1]!)}–${M(a / t.wallRange[0]!)}), ` +
                `${((t.wallS / d.wallS - 1) * 100).toFixed(0)} % more time per run than the build's ${M(a / d.wallS)} M/s. This is why bin/deltasim.js runs the build.`,
              '',
            ];
          })()
        : []),
      `Target: ≥ 100 M input activations / s on one core: steady state ${M(rows[1]!.activations / steady[1]!.delta.wallS)} M/s at 1,000 frames ` +
        `(processes ${M(rows[1]!.activations / steady[1]!.delta.wallRange[1]!)}–${M(rows[1]!.activations / steady[1]!.delta.wallRange[0]!)}), ` +
        `**${rows[1]!.activations / steady[1]!.delta.wallS >= 100e6 ? 'met' : 'not met'} on this host today**. Peak RSS the same for 100 and 1,000 frames:`,
      `a 1,000-frame run grows the warmed-up process's peak RSS by ${steady[1]!.delta.rssGrowthMiB.toFixed(1)} MiB, a 100-frame run by ${steady[0]!.delta.rssGrowthMiB.toFixed(1)} MiB (ranges above). Cold, the one-off`,
      `compilation shares the one core with the run: ${M(rows[1]!.activations / rows[1]!.wallS)} M/s at 1,000 frames, ${M(rows[2]!.activations / rows[2]!.wallS)} M/s at 10,000 frames, where it is amortised;`,
      `cold peak RSS at 1,000 frames minus 100 frames: ${(rows[1]!.peakRssMiB - rows[0]!.peakRssMiB).toFixed(1)} MiB, live heap ${(rows[1]!.liveHeapMiB - rows[0]!.liveHeapMiB).toFixed(1)} MiB (cold peak RSS includes`,
      "the optimising compiler's native memory, which varies with what it compiles; the steady-state rows leave it out). Streaming holds one frame's statistics",
      'at a time in reused buffers; what grows with T is the per-frame summary rows kept for frames.csv, 152 bytes per frame and',
      `run (sim/frame-table.ts): cold, 10,000 frames peak ${(rows[2]!.peakRssMiB - rows[0]!.peakRssMiB).toFixed(1)} MiB above 100 frames, live heap ${(rows[2]!.liveHeapMiB - rows[0]!.liveHeapMiB).toFixed(1)} MiB.`,
      '',
      '## A second hw-model: reuse the statistics (1,000 frames)',
      '',
      '| step | wall |',
      '|---|---:|',
      `| gather statistics once, \`traceActivity(trace, {kinds: ['delta']})\` | ${r.gatherS.toFixed(3)} s |`,
      `| simulate delta-32x32 from them, \`simulate(activityWorkload(…))\` | ${r.firstS.toFixed(3)} s |`,
      `| simulate a second hw-model (64×64) from them | ${r.secondS.toFixed(3)} s |`,
      `| the second hw-model streaming the trace again, \`simulate(traceWorkload(trace))\` | ${r.streamS.toFixed(3)} s |`,
      '',
      `Statistics held in memory: ${(r.statsBytesPerFrame / 1024).toFixed(1)} KiB per frame (${((r.statsBytesPerFrame * 1000) / 2 ** 20).toFixed(1)} MiB for 1,000 frames;`,
      `the trace itself is 44.1 KiB per frame); peak RSS of that process ${r.peakRssMiB.toFixed(1)} MiB. A sweep over many`,
      'hw-models pays the gather once and the per-model step for each model.',
      '',
      'Reproduce: `npm run build && taskset -c 1 node dist/bench/sim-trace.js --write` (one core; the child processes inherit the affinity).',
      '',
    ].join('\n');
    console.log(report);
    if (process.argv.includes('--write')) writeFileAtomic(packagePath('reports', 'bench-sim-trace.md'), report);
  } finally {
    temp.remove();
  }
}

const [mode, dir, warmDir] = process.argv.slice(2);
if (mode === '--stream') console.log(JSON.stringify(streamChild(dir!)));
else if (mode === '--steady') console.log(JSON.stringify(steadyChild(dir!, warmDir!, process.argv[5]!)));
else if (mode === '--host') console.log(JSON.stringify(hostChild()));
else if (mode === '--reuse') console.log(JSON.stringify(reuseChild(dir!)));
else await main();
