/**
 * Benchmark: SCALE-Sim v2's memory system (sim/scalesim-memory.ts) for AlexNet (SCALE-Sim topology), os+ws+is,
 * 32×32 with 64 KiB buffers (the reference configuration), plus other arrays and buffer sizes.
 * - cold: the first call in a fresh process (no JIT warm-up), as one CLI run sees it; median of 5 processes.
 * - warm: mean per 3-dataflow run after warm-up, with the memo cleared before every run (the algorithm itself).
 * - memo: the same calls answered from the memo (what repeated simulate() calls see).
 * Run: npx tsx bench/scalesim-memory.ts [--write]   (--write also writes reports/bench-scalesim-memory.md)
 */
import { execFileSync } from 'node:child_process';
import { cpuModel } from './machine.js';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadTopology } from '../sim/topology.js';
import { clearScaleSimMemo, scaleSimGeometry, scaleSimLayerMemory, type ScaleSimDataflow } from '../sim/scalesim-memory.js';
import { writeFileAtomic } from '../lib/atomic.js';

const layers = loadTopology('alexnet').layers.map((l) => scaleSimGeometry(l).input);
const DFS: ScaleSimDataflow[] = ['os', 'ws', 'is'];

function run(size: number, kiB: number, dfs = DFS): number {
  const t0 = performance.now();
  for (const dataflow of dfs)
    for (const l of layers)
      scaleSimLayerMemory(
        l,
        { rows: size, cols: size, dataflow },
        { ifmapWords: kiB * 1024, filterWords: kiB * 1024, ofmapWords: kiB * 1024 },
      );
  return performance.now() - t0;
}

if (process.argv.includes('--cold-child')) {
  console.log(JSON.stringify({ all: run(32, 64) }));
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const colds: number[] = [];
for (let i = 0; i < 5; i++) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--cold-child'], { encoding: 'utf8' });
  colds.push(JSON.parse(out).all);
}

function warm(size: number, kiB: number, dfs = DFS): { ms: number; memoMs: number } {
  for (let i = 0; i < 5; i++) {
    clearScaleSimMemo();
    run(size, kiB, dfs);
  }
  const reps = 20;
  let t = 0;
  for (let i = 0; i < reps; i++) {
    clearScaleSimMemo();
    t += run(size, kiB, dfs);
  }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run(size, kiB, dfs);
  return { ms: t / reps, memoMs: (performance.now() - t0) / reps };
}

const rows: string[] = [];
for (const [size, kiB] of [
  [32, 64],
  [128, 64],
  [8, 64],
  [32, 8],
  [32, 1024],
] as const) {
  for (const df of DFS) {
    const w = warm(size, kiB, [df]);
    rows.push(`| ${size}×${size} | ${kiB} KiB | ${df} | ${w.ms.toFixed(1)} | ${w.memoMs.toFixed(3)} |`);
  }
  const w = warm(size, kiB);
  rows.push(`| ${size}×${size} | ${kiB} KiB | os+ws+is | **${w.ms.toFixed(1)}** | ${w.memoMs.toFixed(3)} |`);
}
const cpu = cpuModel();
const report = [
  '# Benchmark: SCALE-Sim v2 memory system for AlexNet (bench/scalesim-memory.ts)',
  '',
  'Reproduce: `npx tsx bench/scalesim-memory.ts --write`. One run = `scaleSimLayerMemory` for the 5 AlexNet layers',
  '(SCALE-Sim topology) on the given array and buffers (all three buffers the same size, CALC bandwidths). For',
  'comparison, SCALE-Sim v2 itself takes minutes per AlexNet layer (element by element in Python).',
  '',
  `Machine: ${cpu}, ${cpus().length} cores; Node ${process.versions.node}; date ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `**Cold** (first call in a fresh process, before any JIT warm-up), os+ws+is, 32×32, 64 KiB: median ${median(colds).toFixed(0)} ms`,
  `(5 processes: ${colds.map((c) => c.toFixed(0)).join(', ')} ms).`,
  '',
  'Warm: mean ms per run after warm-up, the memo cleared before each run; memo: the same run answered from the memo.',
  '',
  '| array | buffers | dataflow | warm ms | memo ms |',
  '|---|---|---|---:|---:|',
  ...rows,
  '',
].join('\n');
console.log(report);
if (process.argv.includes('--write')) writeFileAtomic(new URL('../reports/bench-scalesim-memory.md', import.meta.url).pathname, report);
