/**
 * The systolic-array engine (hw kind `systolic`, SCALE-Sim's array): a fold model gives every fold's
 * temporal extent, computeLayer (mapping.ts, under the hw-model's `mapping` of grouped layers) the cycles
 * and the edge accesses. Dense mode streams every
 * step; expected events (a topology) use the statistical fold model; a frame's real events (a trace)
 * the trace-driven one.
 *
 * Skipping zero activations (or zero deltas) needs an event list (docs/design.md §5.4): per layer-frame the compactor
 * scans the dense input (one zero test per element, ⌈inputs / lanes⌉ cycles, a bound of its own) and writes the events'
 * values with their metadata (`sparseFormat`) into the ifmap SRAM; the array gathers them from there, each gathered
 * element with its coordinate, or each fold reading the bitmap of the inputs it spans.
 */
import { inputCount, layerMacs, outputCount } from '../../traces/layer.js';
import { bitsToBytes, packedWords, zeroActions } from '../actions.js';
import { denseFolds, statisticalFolds } from '../fold-model.js';
import type { HwModel } from '../hw-model.js';
import { computeLayer, rowSyncOf } from '../mapping.js';
import { DEFAULT_SPARSE_FORMAT, listBits, metaBitsPerEvent } from '../sparse-format.js';
import { systolicReuse } from '../dram-reuse.js';
import { traceFoldModels } from '../trace-fold-model.js';
import { gemmOf } from '../workload.js';
import type { Engine } from './engine.js';

export const systolicEngine: Engine<Extract<HwModel, { kind: 'systolic' }>> = {
  capabilities: (hw) => ({
    skipsOrGatesZeros: hw.skipZeroActivations || hw.skipZeroWeights || hw.gateZeroOperands,
    deltaState: hw.delta,
  }),
  computeUnits: (hw) => hw.rows * hw.cols,
  describe: (hw) => ({
    shape: `${hw.rows}×${hw.cols} ${hw.dataflow}${hw.mapping === 'depthwise-channels' ? ', depthwise-channels' : ''}`,
    features:
      [hw.skipZeroActivations || hw.skipZeroWeights ? 'zero-skip' : '', hw.delta ? 'delta' : ''].filter(Boolean).join(', ') || 'dense',
    details: [
      `array ${hw.rows}×${hw.cols}, dataflow ${hw.dataflow}, clock ${hw.clockMHz} MHz`,
      `skip zero activations: ${hw.skipZeroActivations}, skip zero weights: ${hw.skipZeroWeights}, gate zero operands: ${hw.gateZeroOperands}, delta: ${hw.delta}`,
      ...(hw.skipZeroActivations || hw.skipZeroWeights ? [rowSyncLine(hw)] : []),
      ...(hw.skipZeroActivations ? eventListLines(hw) : []),
      hw.mapping === 'depthwise-channels'
        ? 'grouped / depthwise layers: depthwise-channels (groups side by side across the columns, each fed its own stream)'
        : 'grouped / depthwise layers: scalesim (groups one after another)',
    ],
    unit: 'PE',
  }),

  // SCALE-Sim's double-buffered re-fetch for the array's fold order and buffer sizes.
  dramReuse: systolicReuse,

  layer(l, hw, rule, foldStats) {
    const p = hw.precisions;
    const g = gemmOf(l);
    const macs = layerMacs(l);
    const outputs = outputCount(l);
    let traceFolds: ReturnType<typeof traceFoldModels> | undefined;
    const m = hw.memories;
    const widths = {
      ifmap: p.activationBits / m.ifmap.wordBits,
      filter: p.weightBits / m.filter.wordBits,
      ofmap: p.activationBits / m.ofmap.wordBits,
      psum: p.accumulatorBits / m.ofmap.wordBits,
    };
    // With activation skipping the array gathers from an event list: each element carries its coordinate (if any).
    const format = hw.sparseFormat ?? DEFAULT_SPARSE_FORMAT;
    const gatherBits = p.activationBits + metaBitsPerEvent(format);
    const listWidths = { ...widths, ifmap: gatherBits / m.ifmap.wordBits };
    const inputs = inputCount(l);
    const lanes = hw.compactor?.lanes ?? hw.rows;
    return (events, weightDensity, state) => {
      const folds =
        events === null
          ? denseFolds
          : 'density' in events
            ? statisticalFolds({
                actDensity: events.density,
                weightDensity,
                skipZeroActivations: hw.skipZeroActivations,
                skipZeroWeights: hw.skipZeroWeights,
              })
            : (traceFolds ??= traceFoldModels(l, hw, foldStats && rule.events ? { cache: foldStats, kind: rule.events } : undefined))(
                events,
                weightDensity,
              );
      const lists = events !== null && hw.skipZeroActivations;
      const r = computeLayer(g, hw, folds, lists ? listWidths : widths);
      const a = zeroActions();
      a.macs = macs;
      a.effectiveMacs = r.effective;
      const zeroOperandIssued = r.issued - r.effective;
      a.macsFull = r.effective + (hw.gateZeroOperands ? 0 : zeroOperandIssued);
      a.macsGated = hw.gateZeroOperands ? zeroOperandIssued : 0;
      a.macsSkipped = a.macs - r.issued;
      // Evaluated outputs re-apply activation + quantisation; in delta mode they also compare against their last level.
      a.neuronUpdates = state ? state.evaluatedOutputs : outputs;
      if (state) a.deltaCompares = state.evaluatedOutputs;
      const outBits = r.partialSums ? p.accumulatorBits : p.activationBits;
      a.sram.ifmap.readBytes = bitsToBytes(r.edges.ifmapReads, lists ? gatherBits : p.activationBits);
      a.sram.filter.readBytes = bitsToBytes(r.edges.filterReads, p.weightBits);
      a.sram.ofmap.writeBytes = bitsToBytes(r.edges.ofmapWrites, outBits);
      a.sram.ofmap.readBytes = bitsToBytes(r.edges.psumReads, p.accumulatorBits);
      a.sram.ifmap.reads = r.words.ifmapReads;
      a.sram.filter.reads = r.words.filterReads;
      a.sram.ofmap.writes = r.words.ofmapWrites;
      a.sram.ofmap.reads = r.words.psumReads;
      let compactorCycles = 0;
      if (lists) {
        // The compactor: a zero test per dense input, the list (values + metadata) written to the ifmap SRAM.
        a.zeroTests = inputs;
        compactorCycles = Math.ceil(inputs / lanes);
        const bits = listBits(format, inputs, events, p.activationBits);
        a.sram.ifmap.writeBytes += bits / 8;
        a.sram.ifmap.writes += packedWords(bits, 1, m.ifmap.wordBits);
        // A bitmap is read per fold over the inputs the fold spans (skipped folds too: that is how they are found empty).
        if (format.kind === 'bitmap') {
          a.sram.ifmap.readBytes += r.ifmapCovered / 8;
          a.sram.ifmap.reads += packedWords(r.ifmapCovered, 1, m.ifmap.wordBits);
        }
      }
      return { folds: r.folds, foldsRun: r.foldsRun, computeCycles: r.computeCycles, compactorCycles, actions: a };
    };
  },
};

function rowSyncLine(hw: Extract<HwModel, { kind: 'systolic' }>): string {
  if (hw.dataflow !== 'os') return `rows: lock-step (${hw.dataflow} skips whole vectors across the rows)`;
  return rowSyncOf(hw) === 'lockstep'
    ? 'rows: lock-step (a step is skipped only when no row of the fold has an event there; weights broadcast per column, idle rows gated)'
    : 'rows: independent (each row walks its own event list and reads its own weight vector per step from the filter SRAM)';
}

function eventListLines(hw: Extract<HwModel, { kind: 'systolic' }>): string[] {
  const f = hw.sparseFormat ?? DEFAULT_SPARSE_FORMAT;
  return [
    `compactor: ${hw.compactor?.lanes ?? hw.rows} lanes (input elements zero-tested per cycle)${hw.compactor ? '' : ', the default (= rows)'}`,
    f.kind === 'bitmap'
      ? `event lists: bitmap (1 bit per input element${hw.sparseFormat ? '' : ', the default'}) + ${hw.precisions.activationBits}-bit values`
      : `event lists: ${f.indexBits}-bit relative coordinates + ${hw.precisions.activationBits}-bit values per event (a gap over ${2 ** f.indexBits - 1} zeros costs a filler entry)`,
  ];
}
