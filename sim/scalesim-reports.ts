/**
 * SCALE-Sim v2's three report files (scalesim/simulator.py generate_reports), rendered from scaleSimLayerMemory
 * results: COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv, with its headers, its ", "
 * separators, the trailing comma, and Python's number formatting (ints as ints, floats as Python's repr: "1.0",
 * "2.5e-05"; cycles are numpy floats there, so "-3275.0").
 *
 * Every column is SCALE-Sim's exact value (checked cell by cell against its own reports for AlexNet and the small
 * fixtures in test/fixtures/scalesim/): cycles, counts, utilisations (same float operations in the same order) and
 * bandwidths (same divisions). Mapping efficiency and compute utilisation are sums over folds in fold order, as
 * Python < 3.12 sums floats; Python ≥ 3.12's compensated sum() can differ in the last digit.
 */
import type { Layer } from '../traces/layer.js';
import { systolicLayerMemory } from './dram-reuse.js';
import type { HwModel, SystolicSpec } from './hw-model.js';
import { RUN_FILES } from './run-dir.js';
import type { ScaleSimLayerMemory } from './scalesim-memory.js';

/** Python's repr() of a float (what str() prints for a float or numpy float64). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expS] = x.toExponential().split('e') as [string, string];
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    s = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) s = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return neg ? `-${s}` : s;
}

const row = (id: number, cells: string[]): string => `${id}, ${cells.join(', ')},\n`;
const f = pyFloat;
const int = (x: number): string => String(x);

export const COMPUTE_REPORT_HEADER = 'LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n';
export const BANDWIDTH_REPORT_HEADER =
  'LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n';
export const DETAILED_ACCESS_REPORT_HEADER =
  'LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, SRAM Filter Start Cycle, SRAM Filter Stop Cycle, ' +
  'SRAM Filter Reads, SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, DRAM IFMAP Start Cycle, ' +
  'DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, ' +
  'DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n';

/** COMPUTE_REPORT.csv for layers 0, 1, … */
export function computeReportCsv(layers: readonly ScaleSimLayerMemory[]): string {
  return (
    COMPUTE_REPORT_HEADER +
    layers
      .map((m, i) => row(i, [int(m.totalCycles), int(m.stallCycles), f(m.overallUtil), f(m.mappingEfficiency), f(m.computeUtil)]))
      .join('')
  );
}

/** BANDWIDTH_REPORT.csv: average words per cycle. */
export function bandwidthReportCsv(layers: readonly ScaleSimLayerMemory[]): string {
  return (
    BANDWIDTH_REPORT_HEADER +
    layers
      .map((m, i) => row(i, [m.sramBw.ifmap, m.sramBw.filter, m.sramBw.ofmap, m.dramBw.ifmap, m.dramBw.filter, m.dramBw.ofmap].map(f)))
      .join('')
  );
}

/** DETAILED_ACCESS_REPORT.csv: start and stop cycles and counts, SRAM then DRAM, ifmap, filter, ofmap. */
export function detailedAccessReportCsv(layers: readonly ScaleSimLayerMemory[]): string {
  return (
    DETAILED_ACCESS_REPORT_HEADER +
    layers
      .map((m, i) => {
        const c = (span: [number, number], n: number) => [f(span[0]), f(span[1]), int(n)];
        return row(i, [
          ...c(m.sramCycles.ifmap, m.sram.ifmapReads),
          ...c(m.sramCycles.filter, m.sram.filterReads),
          ...c(m.sramCycles.ofmap, m.sram.ofmapWrites),
          ...c(m.dramCycles.ifmap, m.dram.ifmapReads),
          ...c(m.dramCycles.filter, m.dram.filterReads),
          ...c(m.dramCycles.ofmap, m.dram.ofmapWrites),
        ]);
      })
      .join('')
  );
}

/**
 * A grouped layer (depthwise included) as one report row: its groups run one after another, so counts and
 * cycles add up; utilisations, bandwidths and the start/stop cycles are one group's (SCALE-Sim has no groups).
 */
function timesGroups(m: ScaleSimLayerMemory, g: number): ScaleSimLayerMemory {
  if (g === 1) return m;
  const x3 = (t: { ifmapReads: number; filterReads: number; ofmapWrites: number }) => ({
    ifmapReads: t.ifmapReads * g,
    filterReads: t.filterReads * g,
    ofmapWrites: t.ofmapWrites * g,
  });
  return { ...m, totalCycles: m.totalCycles * g, stallCycles: m.stallCycles * g, sram: x3(m.sram), dram: x3(m.dram) };
}

/** SCALE-Sim's three reports of a run's layers on a systolic hw-model, by file name (written beside a .cfg run). */
export function scaleSimReportFiles(layers: readonly Layer[], hw: HwModel & SystolicSpec): Record<string, string> {
  const mems = layers.map((l) => {
    const { mem, groups } = systolicLayerMemory(l, hw);
    return timesGroups(mem, groups);
  });
  return {
    [RUN_FILES.scalesimCompute]: computeReportCsv(mems),
    [RUN_FILES.scalesimBandwidth]: bandwidthReportCsv(mems),
    [RUN_FILES.scalesimAccess]: detailedAccessReportCsv(mems),
  };
}
