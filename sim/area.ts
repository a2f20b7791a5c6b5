/**
 * Silicon area of a hw-model from its energy table's `area` figures (at the hw-model's node: hw-model.ts applies the
 * node scaling): each SRAM buffer by its size class (one bank is one macro), and the compute units (PEs or event cores). Delta state costs
 * memory, so the state SRAM's share is reported beside energy and latency. DRAM is off chip and has no area here;
 * nor do the NoC, wiring and control beyond what the per-unit figure holds.
 */
import { BUFFERS, perBuffer, type SramBuffer } from './actions.js';
import type { AreaTable } from './energy-table.js';
import { engineFor } from './engines/index.js';
import type { HwModel } from './hw-model.js';

export interface AreaBreakdown {
  /** The node the figures are at, nm. */
  technologyNm: number;
  /** Each SRAM buffer, mm² (0 for a buffer of 0 KiB). */
  sramMm2: Record<SramBuffer, number>;
  /** Compute units: PEs (systolic) or cores (event), mm². */
  logicMm2: number;
  /** How many compute units, and what one is called (engine describe().unit). */
  units: number;
  unit: string;
  totalMm2: number;
  /** The state SRAM's share of the total area (0 without one). */
  stateShare: number;
  /** The state SRAM's area over the rest of the chip: what delta support adds to the same array without it. */
  stateOverhead: number;
}

/**
 * mm² per KiB of an SRAM of `kiB`: linear in log(capacity) between the table's size classes (sorted on load), and
 * the end class's figure beyond either end (a macro's periphery share levels off: a larger one is built of more of
 * the largest macros, a smaller one pays at least the smallest's density).
 */
export function sramMm2PerKiB(a: AreaTable, kiB: number): number {
  const pts = a.sram;
  if (kiB <= pts[0]!.kiB) return pts[0]!.mm2PerKiB;
  const last = pts[pts.length - 1]!;
  if (kiB >= last.kiB) return last.mm2PerKiB;
  let i = 1;
  while (kiB > pts[i]!.kiB) i++;
  const lo = pts[i - 1]!;
  const hi = pts[i]!;
  const f = Math.log(kiB / lo.kiB) / Math.log(hi.kiB / lo.kiB);
  return lo.mm2PerKiB + f * (hi.mm2PerKiB - lo.mm2PerKiB);
}

/** The hw-model's area, or null when its energy table gives no area figures. */
export function areaOf(hw: HwModel): AreaBreakdown | null {
  const a = hw.energyTable.area;
  if (!a) return null;
  const m = hw.memories;
  // A buffer of `banks` banks is that many macros of kiB / banks: its size class is a bank's.
  const sramMm2 = perBuffer((b) => (m[b].kiB > 0 ? m[b].kiB * sramMm2PerKiB(a, m[b].kiB / m[b].banks) : 0));
  const engine = engineFor(hw);
  const units = engine.computeUnits(hw);
  const logicMm2 = units * a.perPE.mm2;
  const totalMm2 = logicMm2 + BUFFERS.reduce((s, b) => s + sramMm2[b], 0);
  return {
    technologyNm: hw.energyTable.technologyNm,
    sramMm2,
    logicMm2,
    units,
    unit: engine.describe(hw).unit,
    totalMm2,
    stateShare: totalMm2 > 0 ? sramMm2.state / totalMm2 : 0,
    stateOverhead: totalMm2 > sramMm2.state ? sramMm2.state / (totalMm2 - sramMm2.state) : 0,
  };
}

/** One line: total and parts, e.g. "area 1.91 mm² at 45 nm: 1024 PEs 0.651, ifmap 0.39, …; state SRAM 27 % (+37 %)". */
export function areaLine(a: AreaBreakdown): string {
  const mm = (x: number) => x.toFixed(x < 0.1 ? 3 : 2);
  const parts = [
    `${a.units} ${a.unit}s ${mm(a.logicMm2)}`,
    ...BUFFERS.filter((b) => a.sramMm2[b] > 0).map((b) => `${b} SRAM ${mm(a.sramMm2[b])}`),
  ];
  const state =
    a.sramMm2.state > 0
      ? `; state SRAM ${(100 * a.stateShare).toFixed(0)} % of it (+${(100 * a.stateOverhead).toFixed(0)} % over the chip without it)`
      : '';
  return `area ${mm(a.totalMm2)} mm² at ${a.technologyNm} nm: ${parts.join(', ')}${state}`;
}
