/** Energy accounting: action counts × per-action energy (+ leakage × time), broken down. */
import { BUFFERS, perBuffer, type ActionCounts, type SramBuffer } from './actions.js';
import type { HwModel } from './hw-model.js';
import { dramInterfaceFor, dramPJPerByte, macPJ, sramAccessPJ } from './energy-table.js';
import { engineFor } from './engines/index.js';

export interface EnergyBreakdown {
  /** MACs (full, gated, skipped), neuron updates, delta compares, compactor zero tests, synaptic ops, NoC. */
  computePJ: number;
  sramPJ: Record<SramBuffer, number>;
  dramPJ: number;
  staticPJ: number;
  totalPJ: number;
}

/** Leakage power in µW while computing: SRAMs (per KiB) and logic (per PE / core). */
export function leakageUW(hw: HwModel): { sram: number; logic: number; total: number } {
  const t = hw.energyTable.leakage;
  const m = hw.memories;
  const sram = BUFFERS.reduce((s, b) => s + m[b].kiB, 0) * t.sramPerKiB.uW;
  const logic = engineFor(hw).computeUnits(hw) * t.perPE.uW;
  return { sram, logic, total: sram + logic };
}

/** Leakage power in µW between frames: all of it, or with idlePowerGating the gated logic's and the retained SRAMs' shares. */
export function idleLeakageUW(hw: HwModel): number {
  const l = leakageUW(hw);
  if (!hw.idlePowerGating) return l.total;
  const t = hw.energyTable.leakage;
  return l.logic * t.gatedLogicShare.share + l.sram * t.sramRetentionShare.share;
}

const accessPJ = new WeakMap<HwModel, Record<SramBuffer, number>>();
/** Energy of one word access of each buffer (its capacity and width), computed once per hw-model. */
export function sramAccessPJOf(hw: HwModel): Record<SramBuffer, number> {
  let e = accessPJ.get(hw);
  if (!e) {
    const m = hw.memories;
    e = perBuffer((b) => sramAccessPJ(hw.energyTable, m[b].kiB, m[b].wordBits));
    accessPJ.set(hw, e);
  }
  return e;
}

export function energyOf(hw: HwModel, a: ActionCounts, seconds: number): EnergyBreakdown {
  const t = hw.energyTable;
  const e = t.actions;
  const p = hw.precisions;
  const computePJ =
    a.macsFull * macPJ(t, Math.max(p.activationBits, p.weightBits)) +
    a.macsGated * e.macGated.pJ +
    a.macsSkipped * e.macSkipped.pJ +
    a.neuronUpdates * e.activate.pJ +
    a.deltaCompares * e.deltaCompare.pJ +
    a.zeroTests * e.zeroDetect.pJ +
    a.synOps * e.synOp.pJ +
    a.nocHops * e.nocHop.pJ;
  // Per word access: a scattered 1-byte access pays a whole word, packed bytes share one.
  const perAccess = sramAccessPJOf(hw);
  const sramPJ = perBuffer((b) => (a.sram[b].reads + a.sram[b].writes) * perAccess[b]);
  const dramPJ =
    (a.dram.readBytes + a.dram.writeBytes) * dramPJPerByte(t, hw.memories.dram.interface ?? dramInterfaceFor(t, hw.memories.dram.GBps));
  const staticPJ = leakageUW(hw).total * seconds * 1e6; // µW·s = 1e6 pJ
  const totalPJ = computePJ + BUFFERS.reduce((s, b) => s + sramPJ[b], 0) + dramPJ + staticPJ;
  return { computePJ, sramPJ, dramPJ, staticPJ, totalPJ };
}
