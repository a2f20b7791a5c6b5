/**
 * Trace-driven simulation benchmark: delta simulation of a synthetic 64×64-input CNN trace (preset
 * cnn64, 5 MAC layers, 45,120 input activations per frame) on one core, in input activations per
 * second, for 100, 1,000 and 10,000 frames, each in a fresh process (peak RSS = that process's maxRSS);
 * and the cost of a second hw-model when the per-frame statistics are gathered once (traceWork)
 * instead of streaming the trace again.
 *
 *   taskset -c 1 node --import tsx bench/sim-trace.ts [--write]   (--write updates reports/bench-sim-trace.md)
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { frameWorkBytes, loadHwModel, simulateTrace, simulateTraceWork, traceWork, withSystolic, type HwModel, type SystolicSpec } from '../sim/index.js';
import { writeFileAtomic } from '../traces/atomic.js';
import { openTrace } from '../traces/reader.js';
import { SYNTH_PRESETS, writeSyntheticTrace } from '../traces/synthetic.js';

const SELF = fileURLToPath(import.meta.url);
const SYNTH = { seed: 1, density: 0.4, changeRate: 0.1, blobs: 3 };
const REPEATS = 5;

interface Stream { frames: number; activations: number; wallS: number; cpuS: number; eventWallS: number; peakRssMiB: number; liveHeapMiB: number }
interface Reuse { gatherS: number; firstS: number; secondS: number; streamS: number; statsBytesPerFrame: number; peakRssMiB: number }

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
  const d = timed(() => simulateTrace(trace, hw, { mode: 'delta' }));
  const e = timed(() => simulateTrace(trace, loadHwModel('seneca-like'), { mode: 'delta' }));
  const frames = trace.manifest.frames;
  const perFrame = trace.layers.reduce((a, l) => a + l.frameElements, 0);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024; // before the bench's own full GC below, which has a peak of its own
  (globalThis as { gc?: () => void }).gc?.(); // the child runs with --expose-gc: live heap after the run
  return { frames, activations: frames * perFrame, wallS: d.wallS, cpuS: d.cpuS, eventWallS: e.wallS,
    peakRssMiB, liveHeapMiB: process.memoryUsage().heapUsed / 2 ** 20 };
}

/** Child: gather statistics once, then simulate two hw-models from them; compare with streaming twice. */
function reuseChild(dir: string): Reuse {
  const trace = openTrace(dir, { verify: false });
  const a = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
  const b = withSystolic(a, { name: 'delta-64x64', rows: 64, cols: 64 });
  const g = timed(() => traceWork(trace, { kinds: ['delta'] }));
  const first = timed(() => simulateTraceWork(g.value, a, { mode: 'delta' }));
  const second = timed(() => simulateTraceWork(g.value, b, { mode: 'delta' }));
  const stream = timed(() => simulateTrace(trace, b, { mode: 'delta' }));
  const bytes = g.value.frames.reduce((s, f) => s + frameWorkBytes(f), 0) / g.value.frames.length;
  return { gatherS: g.wallS, firstS: first.wallS, secondS: second.wallS, streamS: stream.wallS, statsBytesPerFrame: bytes, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function run<T>(kind: string, dir: string): T {
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, kind, dir], { encoding: 'utf8' })) as T;
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'deltasim-bench-sim-trace-'));
  try {
    const rows: Stream[] = [];
    let reuse: Reuse | null = null;
    for (const frames of [100, 1000, 10000]) {
      const dir = join(work, `t${frames}`);
      await writeSyntheticTrace(dir, SYNTH_PRESETS.cnn64!, { ...SYNTH, frames });
      const runs = Array.from({ length: REPEATS }, () => run<Stream>('--stream', dir));
      rows.push({ ...runs[0]!, wallS: median(runs.map((r) => r.wallS)), cpuS: median(runs.map((r) => r.cpuS)),
        eventWallS: median(runs.map((r) => r.eventWallS)), peakRssMiB: median(runs.map((r) => r.peakRssMiB)), liveHeapMiB: median(runs.map((r) => r.liveHeapMiB)) });
      if (frames === 1000) {
        const rs = Array.from({ length: REPEATS }, () => run<Reuse>('--reuse', dir));
        const m = (k: keyof Reuse) => median(rs.map((r) => r[k]));
        reuse = { gatherS: m('gatherS'), firstS: m('firstS'), secondS: m('secondS'), streamS: m('streamS'), statsBytesPerFrame: m('statsBytesPerFrame'), peakRssMiB: m('peakRssMiB') };
      }
    }
    const cpu = (() => {
      try {
        return execSync("lscpu | sed -n 's/^Model name: *//p'", { encoding: 'utf8' }).trim();
      } catch {
        return cpus()[0]?.model ?? 'unknown';
      }
    })();
    const load = execSync('cat /proc/loadavg', { encoding: 'utf8' }).trim().split(' ').slice(0, 3).join(' ');
    const M = (x: number) => (x / 1e6).toFixed(1);
    const r = reuse!;
    const report = [
      '# Benchmark: trace-driven delta simulation (bench/sim-trace.ts)',
      '',
      `Machine: ${cpu}, ${cpus().length} cores (lscpu); Node ${process.versions.node}; date ${new Date().toISOString().slice(0, 10)};`,
      `load average when the report was written: ${load} (the machine is shared; wall times include that contention).`,
      '',
      `Trace: synthetic preset \`cnn64\` (5 MAC layers, 64×64×3 input, 45,120 uint8 input activations per frame), seed ${SYNTH.seed},`,
      `density ${SYNTH.density}, change rate ${SYNTH.changeRate}, ${SYNTH.blobs} blobs. One run = \`simulateTrace(trace, hw, {mode: 'delta'})\`:`,
      'read every frame, find the non-zero deltas, build the per-frame statistics (receptive-field counts by integral',
      'images, touched outputs, fan-out sums), run the delta engine and the dense reference on the hw-model, summarise.',
      `No warm-up (a CLI run's cost, JIT included); each row is the median of ${REPEATS} fresh processes; peak RSS = that process's maxRSS (Node + tsx included).`,
      '',
      '| frames | input activations | delta-32x32 (systolic os) wall | CPU time | activations / s (wall) | activations / CPU-s | seneca-like (event) wall | peak RSS | live heap after run |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((x) => `| ${x.frames} | ${x.activations} | ${x.wallS.toFixed(3)} s | ${x.cpuS.toFixed(3)} s | ${M(x.activations / x.wallS)} M/s | ` +
        `${M(x.activations / x.cpuS)} M/s | ${x.eventWallS.toFixed(3)} s | ${x.peakRssMiB.toFixed(1)} MiB | ${x.liveHeapMiB.toFixed(1)} MiB |`),
      '',
      `Peak RSS at 1,000 frames vs 100 frames: ${(rows[1]!.peakRssMiB - rows[0]!.peakRssMiB).toFixed(1)} MiB difference (target: the same); live heap after a full GC:`,
      `${(rows[1]!.liveHeapMiB - rows[0]!.liveHeapMiB).toFixed(1)} MiB difference (streaming: one frame's statistics alive at a time in reused buffers, no`,
      `typed array allocated per frame). What grows with T is the per-frame summary rows the result keeps for frames.csv, 152 bytes per`,
      `frame and run (sim/frame-table.ts): at 10,000 frames peak RSS is ${(rows[2]!.peakRssMiB - rows[0]!.peakRssMiB).toFixed(1)} MiB above 100 frames, live heap ${(rows[2]!.liveHeapMiB - rows[0]!.liveHeapMiB).toFixed(1)} MiB.`,
      'Peak RSS varies by a few MiB between identical processes (Node and tsx start-up): each figure is a median. The V8 heap',
      'spaces end the same size at 100 and 1,000 frames; what remains is native memory of the optimising compiler, which',
      'compiles more of the hot code in a longer run (with `--no-opt` the 100- and 1,000-frame runs peak within ~1 MiB).',
      '',
      'Target: ≥ 100 M input activations / s on one core. Every row is a cold process, so it includes V8 compiling the hot',
      'code, which on one pinned core competes with the simulation: that one-off cost dominates 100 frames and is still',
      `a large share of 1,000 frames (${M(rows[1]!.activations / rows[1]!.wallS)} M/s); over 10,000 frames (5.5 min of 30 fps video) it is amortised`,
      `(${M(rows[2]!.activations / rows[2]!.wallS)} M/s). The steady-state rate is what a long trace sees.`,
      '',
      '## A second hw-model: reuse the statistics (1,000 frames)',
      '',
      '| step | wall |',
      '|---|---:|',
      `| gather statistics once, \`traceWork(trace, {kinds: ['delta']})\` | ${r.gatherS.toFixed(3)} s |`,
      `| simulate delta-32x32 from them, \`simulateTraceWork\` | ${r.firstS.toFixed(3)} s |`,
      `| simulate a second hw-model (64×64) from them | ${r.secondS.toFixed(3)} s |`,
      `| the second hw-model streaming the trace again, \`simulateTrace\` | ${r.streamS.toFixed(3)} s |`,
      '',
      `Statistics held in memory: ${(r.statsBytesPerFrame / 1024).toFixed(1)} KiB per frame (${((r.statsBytesPerFrame * 1000) / 2 ** 20).toFixed(1)} MiB for 1,000 frames;`,
      `the trace itself is 44.1 KiB per frame); peak RSS of that process ${r.peakRssMiB.toFixed(1)} MiB. A sweep over many`,
      'hw-models pays the gather once and the per-model step for each model.',
      '',
      'Reproduce: `taskset -c 1 node --import tsx bench/sim-trace.ts --write` (one core; the child processes inherit the affinity).',
      '',
    ].join('\n');
    console.log(report);
    if (process.argv.includes('--write')) writeFileAtomic(new URL('../reports/bench-sim-trace.md', import.meta.url).pathname, report);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const [mode, dir] = process.argv.slice(2);
if (mode === '--stream') console.log(JSON.stringify(streamChild(dir!)));
else if (mode === '--reuse') console.log(JSON.stringify(reuseChild(dir!)));
else await main();
