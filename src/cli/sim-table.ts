/**
 * The one console report of a simulation (topology or trace): notes on the workload and the memory,
 * one row per mode (and the baseline's dense run), then the energy per frame by component.
 * Columns that say nothing for a run are left out: percentiles for a one-frame run, power without a
 * frame rate, the baseline comparison without a baseline.
 */
import { table } from '../../lib/table.js';
import { BOUNDS, BUFFERS, MODE_TABLE, type Bound, type ModeSummary, type SimResult } from '../../sim/index.js';

const fmt = (x: number, digits = 3): string =>
  Math.abs(x) >= 1e6 ? x.toExponential(digits - 1) : x.toFixed(Number.isInteger(x) || Math.abs(x) >= 1000 ? 0 : digits);
const times = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);

type Column = [head: string, cell: (s: ModeSummary) => string];

export function summaryTable(res: SimResult): string {
  // The baseline's row, unless it is the simulated hw-model itself (then it is the dense row).
  const baselineRow = res.baselineDense && res.baseline !== res.hwModel ? [res.baselineDense] : [];
  const all: ModeSummary[] = [...res.modes, ...baselineRow];
  const perFrame = res.frames > 1;
  const columns: Column[] = [
    ['mode @ hw-model', (s) => `${s.mode} @ ${s.arch}`],
    ['lat mean µs', (s) => s.latencyUs.mean.toFixed(1)],
    ...(perFrame
      ? ([
          ['p50', (s) => s.latencyUs.p50.toFixed(1)],
          ['p95', (s) => s.latencyUs.p95.toFixed(1)],
          ['max', (s) => s.latencyUs.max.toFixed(1)],
        ] as Column[])
      : ([
          ['cycles', (s) => fmt(s.cycles)],
          ['effective MACs', (s) => fmt(s.effectiveMacs)],
        ] as Column[])),
    ['bound by', boundBy],
    ['energy µJ/frame', (s) => (s.energy.totalPJ / 1e6).toFixed(3)],
    ...(res.fps !== null
      ? ([
          ['µJ/period', (s) => s.frameEnergyUJ.toFixed(3)],
          [`power mW @${res.fps}fps`, (s) => (s.averagePowerMW === null ? '-' : s.averagePowerMW.toFixed(2))],
        ] as Column[])
      : []),
    ['speedup', (s) => times(s.speedupVsDense)],
    ['energy gain', (s) => times(s.energyGainVsDense)],
    ...(res.fps !== null ? ([['gain/period', (s) => times(s.periodEnergyGainVsDense)]] as Column[]) : []),
    ...(res.modes.some((s) => s.speedupVsSparse !== null)
      ? ([
          ['speedup vs sparse', (s) => times(s.speedupVsSparse)],
          ['gain vs sparse', (s) => times(s.energyGainVsSparse)],
        ] as Column[])
      : []),
    ...(res.baseline !== null
      ? ([
          [`speedup vs ${res.baseline}`, (s) => times(s.speedupVsBaseline)],
          ['gain vs baseline', (s) => times(s.energyGainVsBaseline)],
        ] as Column[])
      : []),
    ['EDP pJ·s', (s) => fmt(s.edpPJs)],
    ['DRAM B/frame', (s) => fmt(s.dramBytes)],
    ['footprint B', (s) => fmt(s.footprint.weightBytes + s.footprint.stateBytes)],
  ];
  type Part = [string, (s: ModeSummary) => number];
  const parts: Part[] = [
    ['compute', (s) => s.energy.computePJ],
    ...BUFFERS.map((b): Part => [`${b} SRAM`, (s) => s.energy.sramPJ[b]]),
    ['DRAM', (s) => s.energy.dramPJ],
    ['static', (s) => s.energy.staticPJ],
  ];
  const name = (s: ModeSummary) => `${s.mode} @ ${s.arch}`;
  return [
    ...notes(res),
    '',
    table(
      columns.map(([h]) => h),
      all.map((s) => columns.map(([, c]) => c(s))),
    ),
    '',
    'energy per active frame by component (µJ; µJ/period adds idle leakage up to 1/fps)',
    table(
      ['mode @ hw-model', ...parts.map(([n]) => n)],
      all.map((s) => [name(s), ...parts.map(([, f]) => (f(s) / 1e6).toFixed(3))]),
    ),
  ].join('\n');
}

/** One line per layer whose recorded levels do not fit the hardware's activation width. */
export function overRangeLines(res: SimResult): string[] {
  const bits = res.precision.activationBits;
  return res.precision.overRange.map(
    (o) =>
      `layer "${o.layer}": ${fmt(o.levels)} recorded levels need more than the hardware's ${bits} activation bits (up to ${o.maxBits})`,
  );
}

/** The resource that bounds most of a run's cycles, with its share: "compute 71 %", "state SRAM 64 %". */
function boundBy(s: ModeSummary): string {
  let best: Bound = 'compute';
  let total = 0;
  for (const k of BOUNDS) {
    total += s.boundCycles[k];
    if (s.boundCycles[k] > s.boundCycles[best]) best = k;
  }
  const name = best === 'compute' || best === 'dram' ? best : `${best} SRAM`;
  return total > 0 ? `${name} ${((100 * s.boundCycles[best]) / total).toFixed(0)} %` : '-';
}

function notes(res: SimResult): string[] {
  const out =
    'densities' in res
      ? [
          `model ${res.model} on ${res.hwModel}${res.fps !== null ? ` at ${res.fps} fps` : ''}`,
          `densities: activations ${res.densities.actDensity}, weights ${res.densities.weightDensity ?? 'per layer'}, ` +
            `deltas ${res.densities.deltaDensity} (uniform, statistical)`,
        ]
      : [
          `trace ${res.model} (${res.frames} frames) on ${res.hwModel}; delta threshold ${res.threshold}` +
            (res.quantStep !== null ? `, quant step ${res.quantStep}` : '') +
            '; frame 0 is a key frame; means are per frame',
        ];
  const p = res.precision;
  out.push(
    `precision (the hw-model's, for MACs, SRAM, DRAM and footprint): activations ${p.activationBits} b, weights ${p.weightBits} b, accumulators ${p.accumulatorBits} b`,
  );
  for (const line of overRangeLines(res)) out.push(`warning: ${line}`);
  for (const s of res.modes)
    if (s.footprint.stateSpill > 0 || s.footprint.weightRefetch > 0)
      out.push(
        `${s.mode}: ${(s.footprint.weightRefetch * 100).toFixed(0)} % of weights re-fetched per frame` +
          (MODE_TABLE[s.mode].stateful
            ? `, ${(s.footprint.stateSpill * 100).toFixed(0)} % of delta state (${fmt(s.footprint.stateBytes)} B) in DRAM`
            : ''),
      );
  return out;
}
