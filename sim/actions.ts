/**
 * Action counts: what an engine did on one layer for one frame. Every engine (dense, statistical,
 * trace-driven, event) produces these; memory and energy accounting consume only these.
 */
export type SramBuffer = 'ifmap' | 'filter' | 'ofmap' | 'state';
export const BUFFERS: readonly SramBuffer[] = ['ifmap', 'filter', 'ofmap', 'state'];

/** A record over the SRAM buffers, keys in BUFFERS order, built as a literal (it runs per layer-frame, where Object.fromEntries is slow). */
export function perBuffer(f: (b: SramBuffer) => number): Record<SramBuffer, number> {
  return { ifmap: f('ifmap'), filter: f('filter'), ofmap: f('ofmap'), state: f('state') };
}

/** Bytes of n values of `bits` bits each (fractional for expected counts). */
export const bitsToBytes = (n: number, bits: number): number => (n * bits) / 8;

/** What moved through one buffer (or DRAM): bytes, and word accesses (what a port serves and energy is charged per). */
export interface Traffic {
  readBytes: number;
  writeBytes: number;
  /** Word accesses (SRAM only; 0 for DRAM, which is charged and timed per byte). */
  reads: number;
  writes: number;
}

/**
 * Word accesses to move n values of `bits` each through a port `wordBits` wide.
 * Packed: consecutive values share words (an array edge fed from one wide word, a DMA burst).
 * Scattered: each value is its own access and pays whole words (a neuron's accumulator, its last level).
 */
export const packedWords = (n: number, bits: number, wordBits: number): number => Math.ceil((n * bits) / wordBits - 1e-9);
export const scatteredWords = (n: number, bits: number, wordBits: number): number => n * Math.ceil(bits / wordBits);

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
  /** Input elements a compactor zero-tested to build an event list (systolic arrays that skip activations). */
  zeroTests: number;
  /** Event engines: events consumed, synaptic ops, NoC hops. */
  events: number;
  synOps: number;
  nocHops: number;
  sram: Record<SramBuffer, Traffic>;
  dram: Traffic;
}

export function zeroActions(): ActionCounts {
  const t = (): Traffic => ({ readBytes: 0, writeBytes: 0, reads: 0, writes: 0 });
  return {
    macs: 0,
    effectiveMacs: 0,
    macsFull: 0,
    macsGated: 0,
    macsSkipped: 0,
    neuronUpdates: 0,
    deltaCompares: 0,
    zeroTests: 0,
    events: 0,
    synOps: 0,
    nocHops: 0,
    sram: { ifmap: t(), filter: t(), ofmap: t(), state: t() },
    dram: t(),
  };
}
