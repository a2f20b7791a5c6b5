/**
 * DRAM traffic of one layer's pass under its dataflow's reuse: what SCALE-Sim v2's double-buffered
 * scratchpad fetches (sim/scalesim-memory.ts: operands are re-fetched whenever the buffer cannot hold
 * what the fold order reuses), in bytes at the hw-model's precisions. The memory plan (memory.ts)
 * decides which of it a frame pays: all of it under the `scalesim` DRAM model (every layer cold, as
 * SCALE-Sim reports), or, under `steady`, only for what does not stay on chip between frames and layers.
 */
import { bitsToBytes } from './actions.js';
import type { HwModel, SystolicSpec } from './hw-model.js';
import { scaleSimGeometry, scaleSimLayerMemory, type ScaleSimLayerMemory } from './scalesim-memory.js';
import type { Layer } from '../traces/layer.js';

/** Bytes a layer's pass moves between DRAM and the SRAMs. */
export interface LayerReuse {
  /** Weights read (filter re-fetches included). */
  weights: number;
  /** Input activations read (ifmap re-fetches included). */
  actsIn: number;
  /** Output activations written. */
  actsOut: number;
}

const WORD_BITS_OF_KIB = 1024 * 8;
/** The smallest buffer SCALE-Sim models (its sets are words/100). */
const MIN_WORDS = 100;

/**
 * A systolic layer's SCALE-Sim memory counts, in elements: buffers hold kiB·8192 / bits elements of their
 * operand; a dilated layer runs as its effective (dilated) kernel, an upper bound on what it touches.
 */
export function systolicLayerMemory(l: Layer, hw: HwModel & SystolicSpec): { mem: ScaleSimLayerMemory; groups: number } {
  const p = hw.precisions;
  const m = hw.memories;
  const dense = l.dilation[0] === 1 && l.dilation[1] === 1;
  const eff: Layer = dense
    ? l
    : {
        ...l,
        kernel: [l.dilation[0] * (l.kernel[0] - 1) + 1, l.dilation[1] * (l.kernel[1] - 1) + 1],
        dilation: [1, 1],
      };
  const { input, groups } = scaleSimGeometry(eff);
  const words = (kiB: number, bits: number) => Math.floor((kiB * WORD_BITS_OF_KIB) / bits);
  const w = {
    ifmap: words(m.ifmap.kiB, p.activationBits),
    filter: words(m.filter.kiB, p.weightBits),
    ofmap: words(m.ofmap.kiB, p.activationBits),
  };
  const mem = scaleSimLayerMemory(
    input,
    { rows: hw.rows, cols: hw.cols, dataflow: hw.dataflow },
    { ifmapWords: Math.max(w.ifmap, MIN_WORDS), filterWords: Math.max(w.filter, MIN_WORDS), ofmapWords: Math.max(w.ofmap, MIN_WORDS) },
  );
  // SCALE-Sim's buffers hold sets of words/100: below 100 words it has no model. Such a buffer keeps nothing, so
  // every read is a DRAM read (the most any buffer can cost; the write drain moves the same outputs either way).
  if (w.ifmap < MIN_WORDS) mem.dram.ifmapReads = mem.sram.ifmapReads;
  if (w.filter < MIN_WORDS) mem.dram.filterReads = mem.sram.filterReads;
  return { mem, groups };
}

/** The systolic array's pass: SCALE-Sim's DRAM counts × groups, at the hw-model's widths. */
export function systolicReuse(l: Layer, hw: HwModel & SystolicSpec): LayerReuse {
  const { mem, groups } = systolicLayerMemory(l, hw);
  const p = hw.precisions;
  return {
    weights: bitsToBytes(mem.dram.filterReads * groups, p.weightBits),
    actsIn: bitsToBytes(mem.dram.ifmapReads * groups, p.activationBits),
    actsOut: bitsToBytes(mem.dram.ofmapWrites * groups, p.activationBits),
  };
}
