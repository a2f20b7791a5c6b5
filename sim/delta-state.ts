/**
 * Delta state, as the functional executor (test/support/delta-executor.ts) keeps and touches it; the
 * engines charge exactly the executor's operations (test/sim/delta-accounting.test.ts):
 *  - per output an accumulator (accumulator bits) and the last level it emitted (activation bits);
 *  - the last emitted level lives once: a layer's "previous input level" IS its producer's last
 *    emitted level. We book it with the consumer (inputs × activation bits per layer; the last
 *    layer also keeps its own outputs' levels), which equals the executor's state on a chain.
 *  - per frame: every evaluated output reads its accumulator and its last level (the compare),
 *    every touched output writes its accumulator back; a level is written per changed level, i.e.
 *    per input delta of the consumer. Only the network input compares every input against its
 *    previous level (layer ≥ 1 receives its deltas as events and reads nothing per input).
 *  - evaluated = touched, except on the key frame (frame 0), where every output is evaluated: an
 *    untouched output may still hold a non-zero bias level that must be emitted once.
 * The last layer's changed outputs are not in a trace of layer inputs: its level writes are
 * charged per touched output (the upper bound; a change needs a touch after the key frame).
 *
 * An engine whose compute energy already pays some of these accesses says so (engines/engine.ts
 * `stateInCompute`): the driver then leaves them out of the state traffic, so each is charged once. The
 * event engine's synaptic op (SENeCA's energy per synaptic operation) includes the accumulator's
 * read-modify-write, so the touched outputs' accumulator write-backs are not charged again here; the
 * systolic engine's MAC does not, so it gets every access.
 *
 * Touched outputs come from the same events the engines consume (activity.ts): expected ones for a
 * topology, the frame's real ones for a trace.
 *
 * On a graph (a version-2 trace) the same accesses apply per tensor, not per chain link: a tensor read by
 * several layers keeps its levels once, booked with the first layer that reads it, and pools / adds keep
 * their own outputs' levels. state-graph.ts says which layer books what (a LayerStatePlan); on a chain the
 * plan is exactly the rule above, so the numbers are the same.
 */
import { inputCount, outputCount, type Layer } from '../traces/layer.js';
import { bitsToBytes, packedWords, scatteredWords, type Traffic } from './actions.js';
import type { LayerEvents } from './activity.js';
import type { HwModel } from './hw-model.js';
import type { GraphStateFrame, LayerStatePlan } from './state-graph.js';
import { gemmOf } from './workload.js';

/**
 * Per-layer state bytes a delta array keeps: the accumulators and levels the layer books (state-graph.ts;
 * on a chain: accumulators of outputs + previous levels of inputs (+ the last layer's output levels)).
 */
export function deltaStateBytes(hw: HwModel, lp: LayerStatePlan): number {
  const p = hw.precisions;
  return bitsToBytes(lp.accumulators, p.accumulatorBits) + bitsToBytes(lp.levels, p.activationBits);
}

/** What a delta frame did to one layer's state. */
export interface StateCounts {
  /** Outputs with ≥ 1 non-zero delta in their receptive field (accumulator written back). */
  touchedOutputs: number;
  /** Outputs re-activated, re-quantised and compared with their last level: the touched ones, all on the key frame. */
  evaluatedOutputs: number;
  /** Inputs whose level changed (the layer's input deltas = its producer's emitted changes). */
  changedInputs: number;
}

export const noState = (): StateCounts => ({ touchedOutputs: 0, evaluatedOutputs: 0, changedInputs: 0 });

/** Which of the per-frame state accesses above an engine's compute already performs (and its energy pays). */
export interface StateInCompute {
  /** Evaluated outputs' accumulator reads. */
  accumulatorReads: boolean;
  /** Touched outputs' accumulator write-backs. */
  accumulatorWrites: boolean;
  /** Evaluated outputs' last-level reads (the compare) and the network input's previous levels. */
  levelReads: boolean;
  /** Level writes (changed levels; the last layer's touched outputs). */
  levelWrites: boolean;
}

/** Nothing in compute: the driver charges every state access (the systolic engine). */
export const NOTHING_IN_COMPUTE: Readonly<StateInCompute> = Object.freeze({
  accumulatorReads: false,
  accumulatorWrites: false,
  levelReads: false,
  levelWrites: false,
});

const sum = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
};

/**
 * One layer-frame's state counts, into `s` (reused per frame). Expected deltas of density dd (a
 * topology: steady state, no key frame): an output is touched unless all K of its inputs are unchanged.
 * Real deltas (a trace): frame 0 is the key frame, on which every output is evaluated.
 */
export function stateCounts(s: StateCounts, l: Layer, e: LayerEvents, keyFrame: boolean): StateCounts {
  if ('density' in e) {
    s.touchedOutputs = outputCount(l) * (1 - (1 - e.density) ** gemmOf(l).K);
    s.evaluatedOutputs = s.touchedOutputs;
    s.changedInputs = inputCount(l) * e.density;
    return s;
  }
  s.touchedOutputs = sum(e.touched) * gemmOf(l).N;
  s.evaluatedOutputs = keyFrame ? outputCount(l) : s.touchedOutputs;
  s.changedInputs = sum(e.events);
  return s;
}

/**
 * State accesses of one layer in a delta frame (see the accounting above), less those the engine's compute
 * already performs (`inCompute`). Touched neurons are scattered over the map, so each accumulator and each
 * level is its own access of the state buffer's word (a 1-byte level pays a whole word); the network
 * input's levels, compared in full every frame, are read packed (and, when no layer's trace holds them,
 * written packed). The graph ops charged to the layer (`g`, state-graph.ts) are not an engine's compute:
 * all their accesses are charged; an op on graph inputs alone streams the frame and reads its levels packed.
 */
export function deltaStateTraffic(
  hw: HwModel,
  s: StateCounts,
  lp: LayerStatePlan,
  inCompute: Readonly<StateInCompute> = NOTHING_IN_COMPUTE,
  g?: GraphStateFrame,
): Traffic {
  const p = hw.precisions;
  const wb = hw.memories.state.wordBits;
  let accReads = inCompute.accumulatorReads ? 0 : s.evaluatedOutputs;
  let accWrites = inCompute.accumulatorWrites ? 0 : s.touchedOutputs;
  let levelReads = inCompute.levelReads ? 0 : s.evaluatedOutputs;
  const inputLevels = inCompute.levelReads ? 0 : lp.comparedInputs;
  const inputWrites = inCompute.levelWrites ? 0 : lp.untracedInputs;
  let levelWrites = inCompute.levelWrites ? 0 : s.changedInputs * lp.inputShare + (lp.ownsOutputLevels ? s.touchedOutputs : 0);
  let streamedReads = 0;
  if (g)
    for (const oi of lp.ops) {
      const op = g.plan.ops[oi]!;
      const evaluated = g.evaluated[oi]!;
      if (op.kind === 'accumulate') {
        accReads += evaluated;
        accWrites += g.touched[oi]!;
        levelReads += evaluated;
      } else if (op.streamed) streamedReads += evaluated;
      else levelReads += evaluated * (1 + op.reads);
      if (!g.plan.tensors[op.tensor]!.readByMac) levelWrites += g.changes[op.tensor]!;
    }
  return {
    readBytes: bitsToBytes(accReads, p.accumulatorBits) + bitsToBytes(levelReads + inputLevels + streamedReads, p.activationBits),
    writeBytes: bitsToBytes(accWrites, p.accumulatorBits) + bitsToBytes(levelWrites + inputWrites, p.activationBits),
    reads:
      scatteredWords(accReads, p.accumulatorBits, wb) +
      scatteredWords(levelReads, p.activationBits, wb) +
      packedWords(inputLevels, p.activationBits, wb) +
      packedWords(streamedReads, p.activationBits, wb),
    writes:
      scatteredWords(accWrites, p.accumulatorBits, wb) +
      scatteredWords(levelWrites, p.activationBits, wb) +
      packedWords(inputWrites, p.activationBits, wb),
  };
}
