/**
 * The paper's warning, measured: a synthetic trace with ResNet-50's 54 MAC layer shapes
 * (sim/topologies/resnet50) on the shipped delta array (its state SRAM far too small for it), versus dense.
 * Run: node --import tsx studies/state-spill/run.ts [--write]   (--write updates reports/state-spill.md)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  sramAccessPJ,
  sramExtrapolation,
  loadHwModel,
  loadTopology,
  simulate,
  traceWorkload,
  withSystolic,
  type HwModel,
  type SystolicSpec,
  type ModeSummary,
} from '../../sim/index.js';
import { openTrace } from '../../traces/reader.js';
import { boundBy } from '../../src/cli/sim-table.js';
import { writeSyntheticTrace, type SynthLayer } from '../../traces/synthetic.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { packagePath } from '../../lib/package-dir.js';

const SYNTH = { seed: 1, frames: 4, density: 0.5, changeRate: 0.05, blobs: 2 };
const layers: SynthLayer[] = loadTopology('resnet50').layers.map((l) =>
  l.op === 'dense'
    ? { name: l.name, op: 'dense', input: [...l.input], outChannels: l.output[0] }
    : {
        name: l.name,
        op: l.op,
        input: [...l.input],
        outChannels: l.output[2],
        kernel: l.kernel,
        stride: l.stride,
        padding: l.padding,
        dilation: l.dilation,
      },
);
const dir = mkdtempSync(join(tmpdir(), 'deltasim-resnet50-'));
try {
  const t0 = performance.now();
  await writeSyntheticTrace(join(dir, 't'), layers, SYNTH);
  const trace = openTrace(join(dir, 't'));
  const hw = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
  const big = withSystolic(hw, { name: 'delta-32x32 + 64 MiB state', memories: { state: { kiB: 64 * 1024 } } });
  const run = (h: HwModel) => simulate(traceWorkload(trace), h, { mode: 'all', baseline: loadHwModel('dense-32x32') });
  const small = run(hw);
  const large = run(big);
  const secs = (performance.now() - t0) / 1e3;
  const by = (r: typeof small, m: string) => r.modes.find((s) => s.mode === m)!;
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  const size = (kiB: number) => (kiB >= 1024 ? `${kiB / 1024} MiB` : `${kiB} KiB`);
  const mem = hw.memories;
  const stateSram = `${size(mem.state.kiB)} state SRAM`;
  const row = (label: string, s: ModeSummary, dense: ModeSummary) =>
    `| ${label} | ${(s.effectiveMacs / 1e6).toFixed(0)} | ${mb(s.dramBytes)} | ${(s.dramBytes / dense.dramBytes).toFixed(2)}× | ${(s.footprint.stateSpill * 100).toFixed(1)} % | ${s.latencyUs.mean.toFixed(0)} | ${boundBy(s)} | ${(s.energy.totalPJ / 1e6).toFixed(1)} | ${(s.energy.dramPJ / 1e6).toFixed(1)} | ${(s.energy.sramPJ.state / 1e6).toFixed(1)} | ${s.speedupVsDense.toFixed(2)}× | ${s.energyGainVsDense.toFixed(2)}× |`;
  const extrapolation = sramExtrapolation(big.energyTable, big.memories.state.kiB);
  const d = by(small, 'dense');
  const delta = by(small, 'delta');
  const report = [
    "# Delta state that does not fit on chip (the paper's warning, measured)",
    '',
    'Workload: a synthetic trace (traces/synthetic.ts) over the 54 MAC layer shapes of ResNet-50 v1.5',
    `(\`sim/topologies/resnet50\`: 53 convolutions + fc, 224×224×3 input), ${SYNTH.frames} frames, seed ${SYNTH.seed},`,
    `background density ${SYNTH.density} (ReLU-like), change rate ${SYNTH.changeRate} per frame, ${SYNTH.blobs} moving blobs;`,
    'frame 0 is a key frame. Hardware: `hw-models/delta-32x32.json` (32×32 os, zero/delta skipping,',
    `${stateSram}, ${size(mem.filter.kiB)} weight SRAM, ${size(mem.ifmap.kiB)} + ${size(mem.ofmap.kiB)} activation SRAM, ${mem.dram.GBps} GB/s DRAM, rows ${hw.rowSync === 'lockstep' ? 'in lock-step' : 'independent'}); the same array`,
    'with a 64 MiB state SRAM for contrast. Numbers are per-frame means over all frames (key frame included).',
    '',
    `Delta state of the network: ${mb(delta.footprint.stateBytes)} MiB (32-bit accumulator per output + 8-bit previous level per input, + the fc's output levels);`,
    `weights ${mb(delta.footprint.weightBytes)} MiB (${(delta.footprint.weightRefetch * 100).toFixed(1)} % re-fetched every frame in every mode).`,
    '',
    '| run | effective MMACs | DRAM MiB/frame | DRAM vs dense | state in DRAM | latency µs | bound by | energy µJ | DRAM µJ | state SRAM µJ | speedup vs dense | energy gain vs dense |',
    '|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
    row(`dense, ${stateSram}`, d, d),
    row('sparse (zero skipping)', by(small, 'sparse'), d),
    row(`**delta, ${stateSram}**`, delta, d),
    row('delta, 64 MiB state SRAM', by(large, 'delta'), by(large, 'dense')),
    '',
    `With ${size(mem.state.kiB)} of state SRAM, ${(delta.footprint.stateSpill * 100).toFixed(1)} % of the delta state lives in DRAM, and every frame the`,
    "evaluated accumulators and last levels (read), touched accumulators and changed levels (write) and the network input's previous levels go there: DRAM traffic rises",
    `${(delta.dramBytes / d.dramBytes).toFixed(1)}× over dense while the effective MACs fall ${(d.effectiveMacs / delta.effectiveMacs).toFixed(1)}×.`,
    'With the state on chip the same delta run moves no more DRAM bytes than dense.',
    '',
    '**What the memory model of issue 14 changed** (the first model: DRAM "fits or fetched once", SRAM charged per byte and',
    'clamped above 1 MiB, HBM2 DRAM energy, no SRAM bandwidth):',
    "- Dense now pays the re-fetches of its dataflow (SCALE-Sim's double-buffered buffers, sim/dram-reuse.ts): its DRAM",
    `  traffic is ${mb(d.dramBytes)} MiB per frame (43.55 MiB before), so the state's extra traffic is ${(delta.dramBytes / d.dramBytes).toFixed(1)}× dense instead of 3.0×;`,
    '  in bytes the state still adds what it added before.',
    '- DRAM is LPDDR4-class (8 pJ/bit, assumed; 3.97 pJ/bit HBM2 before), so every spilled byte costs twice what it did.',
    '- Time is bounded by DRAM and the SRAM ports as well as by the MACs: every run here is mostly DRAM-bound (the',
    '  "bound by" column); every state access is a scattered access of the state SRAM\'s 64-bit word through its 4 banks.',
    `- The 64 MiB state SRAM is ${extrapolation ? `${extrapolation.ratio.toFixed(0)}× ${extrapolation.beyond}` : 'inside'} the largest sourced SRAM point (Horowitz's 1 MB), at ${sramAccessPJ(big.energyTable, big.memories.state.kiB, big.memories.state.wordBits).toFixed(0)} pJ per access:`,
    '  its energy per access is extrapolated along the last segment of the table, and its leakage grows with it.',
    '  Keeping all the state on chip no longer makes delta cheaper than dense on this array: the state moves from DRAM',
    '  into a very large SRAM whose every access costs hundreds of pJ. What would help is issue 15: state held per',
    '  tensor, not per neuron of a chain, and smaller, banked state buffers.',
    '',
    `Reproduce (${secs.toFixed(0)} s on the machine of reports/bench-sim-trace.md): \`node --import tsx studies/state-spill/run.ts --write\`.`,
    'The trace is written to a temporary directory and removed afterwards.',
    '',
  ].join('\n');
  console.log(report);
  if (process.argv.includes('--write')) writeFileAtomic(packagePath('reports', 'state-spill.md'), report);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
