/**
 * Benchmark: AlexNet (SCALE-Sim topology) dense on a 32×32 array in os/ws/is, and on 128×128.
 * Prints per-run simulation time (mean over many repetitions, after warm-up) and peak RSS.
 * Run: npx tsx bench/sim-dense.ts [--write]   (--write also writes reports/bench-sim-dense.md)
 */
import { cpuModel } from './machine.js';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  loadHwModel,
  loadTopology,
  topologyWorkload,
  simulate,
  withSystolic,
  clearScaleSimMemo,
  type Dataflow,
  type HwModel,
  type SystolicSpec,
} from '../sim/index.js';
import { writeFileAtomic } from '../lib/atomic.js';

const workload = topologyWorkload(loadTopology('alexnet'));
const base = loadHwModel('scalesim-32x32-os') as HwModel & SystolicSpec;
const REPS = 2000;
const REPS_NO_MEMO = 40;

/**
 * Mean ms per run after warm-up. memo: SCALE-Sim's memory model answers a layer it has seen from its memo (a sweep's
 * or a repeated run's case); noMemo clears it before every run, so each run emulates SCALE-Sim's buffers again.
 */
function time(hws: (HwModel & SystolicSpec)[], memo: boolean): { msPerRun: number; cycles: number[] } {
  let cycles: number[] = [];
  const reps = memo ? REPS : REPS_NO_MEMO;
  for (let i = 0; i < (memo ? 200 : 10); i++) for (const hw of hws) simulate(workload, hw, { mode: 'dense' }); // warm-up (JIT)
  let ms = 0;
  for (let i = 0; i < reps; i++) {
    if (!memo) clearScaleSimMemo();
    const t0 = performance.now();
    cycles = hws.map((hw) => simulate(workload, hw, { mode: 'dense' }).modes[0]!.cycles);
    ms += performance.now() - t0;
  }
  return { msPerRun: ms / reps, cycles };
}

const dfs: Dataflow[] = ['os', 'ws', 'is'];
const rows: string[] = [];
// Cold: the very first call of each dataflow (no JIT warm-up), as a one-shot CLI run would see it.
const c0 = performance.now();
for (const dataflow of dfs) simulate(workload, withSystolic(base, { dataflow }), { mode: 'dense' });
const coldMs = performance.now() - c0;
for (const size of [32, 128]) {
  const hws = dfs.map((dataflow) => withSystolic(base, { rows: size, cols: size, dataflow }));
  for (const [i, df] of dfs.entries()) {
    const r = time([hws[i]!], false);
    const m = time([hws[i]!], true);
    rows.push(`| AlexNet ${size}×${size} | ${df} | ${r.msPerRun.toFixed(2)} | ${m.msPerRun.toFixed(3)} | ${r.cycles[0]} |`);
  }
  const all = time(hws, false);
  const allMemo = time(hws, true);
  rows.push(
    `| AlexNet ${size}×${size} | os+ws+is together | **${all.msPerRun.toFixed(2)}** | ${allMemo.msPerRun.toFixed(3)} | ${all.cycles.join(' / ')} |`,
  );
}
const rssMB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
const cpu = cpuModel();
const report = [
  '# Benchmark: dense simulation of AlexNet (bench/sim-dense.ts)',
  '',
  `Reproduce: \`npx tsx bench/sim-dense.ts --write\`. Simulation time per run = mean of`,
  '`simulate(topologyWorkload(alexnet), hw, {mode: "dense"})` after warm-up calls (topology and hw-model loaded once);',
  "one run computes every layer: cycles, edge accesses, SCALE-Sim's DRAM re-fetch (the .cfg's memory model), energy.",
  `"no memo": SCALE-Sim's buffers emulated again in every run (its memo cleared; mean of ${REPS_NO_MEMO} runs after 10);`,
  `"memo": a layer already seen is answered from the memo (mean of ${REPS} runs after 200). Whole-process peak RSS from`,
  '`process.resourceUsage().maxRSS` (includes Node and tsx).',
  '',
  `Machine: ${cpu}, ${cpus().length} cores; Node ${process.versions.node}; date ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| workload | dataflow | ms per run, no memo | ms per run, memo | total cycles |',
  '|---|---|---:|---:|---:|',
  ...rows,
  '',
  `Cold (first call, before JIT warm-up), os+ws+is on 32×32 together: ${coldMs.toFixed(1)} ms.`,
  '',
  `Peak RSS: ${rssMB.toFixed(1)} MB. Targets: all three dataflows together < 50 ms, RSS < 150 MB.`,
  '',
  'For comparison (docs/design.md §7): SCALE-Sim v2 needs 142–178 CPU-seconds and 1.9–2.7 GB per dataflow for',
  'AlexNet on 32×32 on this class of machine. Its cycle counts for 32×32 are reproduced exactly',
  '(test/sim/scalesim.test.ts).',
  '',
].join('\n');
console.log(report);
if (process.argv.includes('--write')) writeFileAtomic(new URL('../reports/bench-sim-dense.md', import.meta.url).pathname, report);
