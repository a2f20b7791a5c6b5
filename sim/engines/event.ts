/**
 * The event-driven many-core engine (hw kind `event`: SENeCA / Loihi / GrAI-like).
 *
 * Partition: a layer's output channels are dealt round-robin over the cores (channel co lives on
 * core co mod cores, with all its output positions). An input event (a non-zero level, or a
 * non-zero delta) of channel group g is multicast once to every core that owns a channel of g,
 * and on each of those channels it updates every output position whose receptive field holds it
 * (its spatial fan-out) — one synaptic op each, skipped for zero weights (synapse lists store only
 * non-zero weights, so × weight density).
 * A core's time = ⌈its synaptic ops ÷ synOpsPerCyclePerCore⌉ + eventOverheadCycles × events it
 * receives + neuronUpdateCycles × neurons it updates; a layer lasts as long as its slowest core.
 * Neurons updated: every output in dense mode (and on the delta key frame); otherwise only the touched ones (≥ 1 event in the
 * receptive field) — in sparse mode an untouched neuron's output is its bias level, a constant
 * that needs no update. Each delivered event travels nocHopsPerEvent hops.
 */
import { inputCount, layerMacs, outputCount, spatial, weightCount, type Layer } from '../../traces/layer.js';
import { axisFanout } from '../../traces/stats.js';
import { bitsToBytes, scatteredWords, zeroActions } from '../actions.js';
import type { EventSpec, HwModel } from '../hw-model.js';
import { gemmOf } from '../workload.js';
import type { Engine } from './engine.js';

/** Per channel group: events, Σ spatial fan-out over them, touched output positions (a frame's EventStats fits). */
export interface GroupEvents {
  events: ArrayLike<number>;
  fanout: ArrayLike<number>;
  touched: ArrayLike<number>;
}

/** Every input an event (dense), or a uniform fraction `density` of them (statistical expectation). */
export function expectedGroupEvents(l: Layer, density: number): GroupEvents {
  const { H, W, C, OH, OW } = spatial(l);
  const sum = (a: Int32Array) => a.reduce((s, v) => s + v, 0);
  const fanH = sum(axisFanout(H, OH, l.kernel[0], l.stride[0], l.padding[0], l.dilation[0]));
  const fanW = sum(axisFanout(W, OW, l.kernel[1], l.stride[1], l.padding[2], l.dilation[1]));
  const cin = C / l.groups;
  const K = gemmOf(l).K;
  const fill = (v: number) => new Float64Array(l.groups).fill(v);
  return {
    events: fill(H * W * cin * density),
    fanout: fill(fanH * fanW * cin * density),
    touched: fill(OH * OW * (1 - (1 - density) ** K)),
  };
}

export interface CoreLoad {
  /** Slowest core's cycles. */
  cycles: number;
  synOps: number;
  /** Event deliveries (an event multicast to n cores counts n). */
  events: number;
  neuronUpdates: number;
  /** Cores that received any work. */
  busyCores: number;
}

// Per-core scratch, reused by every call (it runs per layer-frame: a fresh typed array per call is garbage outside the JS heap).
let perCore = new Float64Array(0);
let lastGroupOf = new Int32Array(0);

/** Work per core under the round-robin channel partition; `allOutputs` = update every neuron. */
export function coreLoad(
  l: Layer,
  hw: Pick<EventSpec, 'cores' | 'synOpsPerCyclePerCore' | 'eventOverheadCycles' | 'neuronUpdateCycles'>,
  w: GroupEvents,
  weightDensity: number,
  allOutputs: boolean,
): CoreLoad {
  const { OH, OW, OC } = spatial(l);
  const N = OC / l.groups;
  const P = hw.cores;
  if (perCore.length < 3 * P) perCore = new Float64Array(3 * P);
  if (lastGroupOf.length < P) lastGroupOf = new Int32Array(P);
  const syn = perCore.subarray(0, P).fill(0),
    ev = perCore.subarray(P, 2 * P).fill(0),
    upd = perCore.subarray(2 * P, 3 * P).fill(0);
  const lastGroup = lastGroupOf.fill(-1, 0, P);
  for (let co = 0; co < OC; co++) {
    const core = co % P;
    const g = Math.floor(co / N);
    syn[core]! += w.fanout[g]! * weightDensity;
    upd[core]! += allOutputs ? OH * OW : w.touched[g]!;
    if (lastGroup[core] !== g) {
      lastGroup[core] = g;
      ev[core]! += w.events[g]!;
    }
  }
  let cycles = 0,
    synOps = 0,
    events = 0,
    neuronUpdates = 0,
    busyCores = 0;
  for (let j = 0; j < P; j++) {
    const c = Math.ceil(syn[j]! / hw.synOpsPerCyclePerCore - 1e-9) + hw.eventOverheadCycles * ev[j]! + hw.neuronUpdateCycles * upd[j]!;
    if (c > cycles) cycles = c;
    if (c > 0) busyCores++;
    synOps += syn[j]!;
    events += ev[j]!;
    neuronUpdates += upd[j]!;
  }
  return { cycles, synOps, events, neuronUpdates, busyCores };
}

export const eventEngine: Engine<Extract<HwModel, { kind: 'event' }>> = {
  // Cores consume any events: zero levels and zero deltas are simply never sent.
  capabilities: () => ({ skipsOrGatesZeros: true, deltaState: true }),
  computeUnits: (hw) => hw.cores,
  describe: (hw) => ({
    shape: `${hw.cores} cores`,
    features: 'events: dense, sparse, delta',
    details: [
      `${hw.cores} cores, ${hw.synOpsPerCyclePerCore} synaptic ops/cycle/core, ${hw.eventOverheadCycles} cycles/event, ` +
        `${hw.neuronUpdateCycles} cycles/neuron update, ${hw.nocHopsPerEvent} NoC hops/event, clock ${hw.clockMHz} MHz`,
      'engine: event-driven many-core (sim/engines/event.ts): output channels dealt round-robin over the cores; each event is ' +
        'multicast to the cores owning its channel group; a layer lasts as long as its slowest core. Modes: dense (every input an event), sparse, delta.',
    ],
    unit: 'core',
  }),

  // Cores keep their share of the weights and neurons: a pass fetches each operand once.
  dramReuse: (l, hw) => ({
    weights: bitsToBytes(weightCount(l), hw.precisions.weightBits),
    actsIn: bitsToBytes(inputCount(l), hw.precisions.activationBits),
    actsOut: bitsToBytes(outputCount(l), hw.precisions.activationBits),
  }),

  layer(l, hw) {
    const p = hw.precisions;
    const macs = layerMacs(l);
    const outputs = outputCount(l);
    const everyInput = expectedGroupEvents(l, 1);
    return (events, weightDensity, state) => {
      const e = events === null ? everyInput : 'density' in events ? expectedGroupEvents(l, events.density) : events;
      // Dense mode and the delta key frame update every neuron.
      const allOutputs = events === null || (state !== undefined && state.evaluatedOutputs === outputs);
      const load = coreLoad(l, hw, e, weightDensity, allOutputs);
      const a = zeroActions();
      a.macs = macs;
      a.effectiveMacs = load.synOps;
      a.macsSkipped = a.macs - load.synOps;
      a.synOps = load.synOps;
      a.events = load.events;
      a.nocHops = load.events * hw.nocHopsPerEvent;
      a.neuronUpdates = load.neuronUpdates;
      // Source events are read once from the input buffer; updated neurons write their level. Weights
      // and accumulators are core-local: their accesses are part of the synaptic-op energy.
      let sourceEvents = 0;
      for (let g = 0; g < l.groups; g++) sourceEvents += e.events[g]!;
      // Events arrive in any order: each is its own access (scattered), as is each updated neuron's level.
      const m = hw.memories;
      a.sram.ifmap.readBytes = bitsToBytes(sourceEvents, p.activationBits);
      a.sram.ofmap.writeBytes = bitsToBytes(load.neuronUpdates, p.activationBits);
      a.sram.ifmap.reads = scatteredWords(sourceEvents, p.activationBits, m.ifmap.wordBits);
      a.sram.ofmap.writes = scatteredWords(load.neuronUpdates, p.activationBits, m.ofmap.wordBits);
      if (state) a.deltaCompares = load.neuronUpdates;
      return { folds: hw.cores, foldsRun: load.busyCores, computeCycles: load.cycles, actions: a };
    };
  },
};
