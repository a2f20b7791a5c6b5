/**
 * The systolic-array engine (hw kind `systolic`, SCALE-Sim's array): a fold model gives every fold's
 * temporal extent, computeLayer (mapping.ts, under the hw-model's `mapping` of grouped layers) the cycles
 * and the edge accesses. Dense mode streams every
 * step; expected events (a topology) use the statistical fold model; a frame's real events (a trace)
 * the trace-driven one.
 */
import { layerMacs, outputCount } from '../../traces/layer.js';
import { bitsToBytes, zeroActions } from '../actions.js';
import { denseFolds, statisticalFolds } from '../fold-model.js';
import type { HwModel } from '../hw-model.js';
import { computeLayer } from '../mapping.js';
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
      hw.mapping === 'depthwise-channels'
        ? 'grouped / depthwise layers: depthwise-channels (groups side by side across the columns, each fed its own stream)'
        : 'grouped / depthwise layers: scalesim (groups one after another)',
    ],
    unit: 'PE',
  }),

  // SCALE-Sim's double-buffered re-fetch for the array's fold order and buffer sizes.
  dramReuse: systolicReuse,

  layer(l, hw) {
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
            : (traceFolds ??= traceFoldModels(l, hw))(events, weightDensity);
      const r = computeLayer(g, hw, folds, widths);
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
      a.sram.ifmap.readBytes = bitsToBytes(r.edges.ifmapReads, p.activationBits);
      a.sram.filter.readBytes = bitsToBytes(r.edges.filterReads, p.weightBits);
      a.sram.ofmap.writeBytes = bitsToBytes(r.edges.ofmapWrites, outBits);
      a.sram.ofmap.readBytes = bitsToBytes(r.edges.psumReads, p.accumulatorBits);
      a.sram.ifmap.reads = r.words.ifmapReads;
      a.sram.filter.reads = r.words.filterReads;
      a.sram.ofmap.writes = r.words.ofmapWrites;
      a.sram.ofmap.reads = r.words.psumReads;
      return { folds: r.folds, foldsRun: r.foldsRun, computeCycles: r.computeCycles, actions: a };
    };
  },
};
