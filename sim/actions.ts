/**
 * Action counts: what an engine did on one layer for one frame. Every engine (dense, statistical,
 * trace-driven, event) produces these; memory and energy accounting consume only these.
 */
export type SramBuffer = 'ifmap' | 'filter' | 'ofmap' | 'state';
export const BUFFERS: readonly SramBuffer[] = ['ifmap', 'filter', 'ofmap', 'state'];

/** Bytes of n values of `bits` bits each (fractional for expected counts). */
export const bitsToBytes = (n: number, bits: number): number => (n * bits) / 8;

export interface Traffic {
  readBytes: number;
  writeBytes: number;
}

export interface ActionCounts {
  /** Dense MACs of the layer (what a dense array computes). */
  macs: number;
  /** MACs whose operands are both non-zero (the useful work). */
  effectiveMacs: number;
  /** MAC slots the array stepped through at full energy (effective + ungated zero-operand MACs). */
  macsFull: number;
  /** MAC slots stepped through with a zero operand and clock-gated (energy, not cycles, saved). */
  macsGated: number;
  /** MACs that took no cycle at all (skipped zeros / zero deltas). */
  macsSkipped: number;
  /** Output neurons re-quantised + activated. */
  neuronUpdates: number;
  /** Delta mode: level comparisons of touched outputs. */
  deltaCompares: number;
  /** Event engines: events consumed, synaptic ops, NoC hops. */
  events: number;
  synOps: number;
  nocHops: number;
  sram: Record<SramBuffer, Traffic>;
  dram: Traffic;
}

export function zeroActions(): ActionCounts {
  const t = (): Traffic => ({ readBytes: 0, writeBytes: 0 });
  return {
    macs: 0,
    effectiveMacs: 0,
    macsFull: 0,
    macsGated: 0,
    macsSkipped: 0,
    neuronUpdates: 0,
    deltaCompares: 0,
    events: 0,
    synOps: 0,
    nocHops: 0,
    sram: { ifmap: t(), filter: t(), ofmap: t(), state: t() },
    dram: t(),
  };
}
