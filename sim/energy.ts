/** Energy accounting: action counts × per-action energy (+ leakage × time), broken down. */
import { BUFFERS, type ActionCounts, type SramBuffer } from './actions.js';
import type { HwModel } from './hw-model.js';
import { macPJ, sramPJPerByte } from './energy-table.js';
import { engineFor } from './engines/index.js';

export interface EnergyBreakdown {
  /** MACs (full, gated, skipped), neuron updates, delta compares, synaptic ops, NoC. */
  computePJ: number;
  sramPJ: Record<SramBuffer, number>;
  dramPJ: number;
  staticPJ: number;
  totalPJ: number;
}

const KIB_OF: Record<SramBuffer, keyof HwModel['memories']> = {
  ifmap: 'ifmapKiB',
  filter: 'filterKiB',
  ofmap: 'ofmapKiB',
  state: 'stateKiB',
};

/** Leakage power of the whole chip in µW (SRAMs + PEs / cores). */
export function leakageUW(hw: HwModel): number {
  const t = hw.energyTable.leakage;
  const m = hw.memories;
  const units = engineFor(hw).computeUnits(hw);
  return (m.ifmapKiB + m.filterKiB + m.ofmapKiB + m.stateKiB) * t.sramPerKiB.uW + units * t.perPE.uW;
}

/** A record over the SRAM buffers, keys in BUFFERS order, built as a literal (it runs per layer-frame, where Object.fromEntries is slow). */
export function perBuffer(f: (b: SramBuffer) => number): Record<SramBuffer, number> {
  return { ifmap: f('ifmap'), filter: f('filter'), ofmap: f('ofmap'), state: f('state') };
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
    a.synOps * e.synOp.pJ +
    a.nocHops * e.nocHop.pJ;
  const sramPJ = perBuffer((b) => (a.sram[b].readBytes + a.sram[b].writeBytes) * sramPJPerByte(t, hw.memories[KIB_OF[b]]));
  const dramPJ = (a.dram.readBytes + a.dram.writeBytes) * e.dramPerByte.pJ;
  const staticPJ = leakageUW(hw) * seconds * 1e6; // µW·s = 1e6 pJ
  const totalPJ = computePJ + BUFFERS.reduce((s, b) => s + sramPJ[b], 0) + dramPJ + staticPJ;
  return { computePJ, sramPJ, dramPJ, staticPJ, totalPJ };
}
