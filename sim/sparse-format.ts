/**
 * Sparse metadata: the size of an event list (the non-zero, or non-zero-delta, inputs of one layer-frame with the
 * metadata that says where they are) in the hw-model's `sparseFormat` (docs/design.md §5.4):
 * - bitmap: one bit per dense input element + the events' values;
 * - coordinates (indexBits b): per event its value and a relative coordinate — the zeros skipped since the previous
 *   event, at most 2^b − 1; a longer gap G costs ⌊G / 2^b⌋ filler entries (a zero value with the largest gap), as in
 *   EIE's 4-bit relative index (Han et al., ISCA 2016, §III).
 * From a frame's real event positions the fillers are exact; for expected events (density d, independent) each
 * gap is geometric: E[⌊G / L⌋] = q / (1 − q) per event, q = (1 − d)^L, L = 2^b.
 */
import { eventCount, type LayerEvents } from './activity.js';
import type { HwModel, SparseFormat } from './hw-model.js';
import { inputCount, type Layer } from '../traces/layer.js';

/** The format a hw-model without `sparseFormat` has. */
export const DEFAULT_SPARSE_FORMAT: SparseFormat = { kind: 'bitmap' };

/** Filler entries the gaps between a layer-frame's events need in the coordinates format (0 for a bitmap). */
export function listFillers(format: SparseFormat, elements: number, ev: LayerEvents): number {
  if (format.kind !== 'coordinates') return 0;
  if ('density' in ev) {
    if (ev.density <= 0) return 0;
    const q = (1 - ev.density) ** (2 ** format.indexBits);
    return (elements * ev.density * q) / (1 - q);
  }
  const idx = ev.idx;
  const L = 2 ** format.indexBits;
  let fillers = 0,
    next = 0; // the flat index after the previous event (events are in HWC order)
  for (let e = 0; e < idx.length; e++) {
    fillers += Math.floor((idx[e]! - next) / L);
    next = idx[e]! + 1;
  }
  return fillers;
}

/** Bits of the event list of a layer-frame's input: values and metadata. */
export function listBits(format: SparseFormat, elements: number, ev: LayerEvents, valueBits: number): number {
  const events = 'density' in ev ? elements * ev.density : eventCount(ev);
  return format.kind === 'bitmap'
    ? elements + events * valueBits
    : (events + listFillers(format, elements, ev)) * (valueBits + format.indexBits);
}

/** Metadata bits each gathered event carries with its value (coordinates); a bitmap is read per fold instead. */
export const metaBitsPerEvent = (format: SparseFormat): number => (format.kind === 'coordinates' ? format.indexBits : 0);

/**
 * The share of its dense size a layer's input occupies in DRAM on `hw`: its event list when the hw-model builds
 * event lists (a systolic array that skips activations) and the list is smaller, else 1 (stored dense).
 */
export function storedShare(hw: HwModel, l: Layer, ev: LayerEvents): number {
  if (hw.kind !== 'systolic' || !hw.skipZeroActivations) return 1;
  const n = inputCount(l);
  const bits = hw.precisions.activationBits;
  return n > 0 ? Math.min(1, listBits(hw.sparseFormat ?? DEFAULT_SPARSE_FORMAT, n, ev, bits) / (n * bits)) : 1;
}
