/**
 * Where delta state lives on a network graph (a version-2 trace's manifest graph, traces/graph.ts), and
 * what each MAC layer books of it: the static bytes for the memory plan and, per frame, the level writes
 * and the non-MAC ops' accesses. The per-access rules are delta-state.ts's; this module says which
 * tensors hold levels and who pays for them. Without a graph (a version-1 trace, a topology) the layers
 * are a chain and every layer books exactly what delta-state.ts's chain rule says.
 *
 * The rule (docs/design.md §5.6):
 *  - A tensor that travels as deltas keeps its last-sent levels ONCE, however many nodes read it. Such a
 *    "level tensor" is a graph input, a MAC layer's output, or the output of a stateful op (maxpool,
 *    avgpool, globalpool, add / mul of ≥ 2 tensors, an activation that is not fused, other).
 *  - Aliases hold nothing of their own: reshape and pad (their levels are their input's, plus constant
 *    zeros), concat (its levels are its inputs'), and an element-wise single-input op (activation, or
 *    add / mul whose other operand is a constant) applied to a tensor that nothing else reads: its
 *    producer applies it before it quantises and compares (a MAC's neuron, as the functional executor's
 *    ReLU; the network input's compare, for preprocessing).
 *  - Each MAC layer keeps its outputs' accumulators. avgpool / globalpool are linear: they pass deltas
 *    through into an accumulator per output (the window's sum), re-quantise the touched ones and compare
 *    (accumulators + their output levels are state). maxpool is not linear: a touched output re-reads its
 *    window's input levels (held once as above) and compares; add / mul / an unfused activation / other
 *    re-read one level per input tensor. So a pooled tensor's levels are the pooled ones, and a MAC layer
 *    whose output feeds a pool / add / concat keeps its output levels too (what it compares to emit).
 *  - Booking: a level tensor is booked with the first MAC layer (manifest order) that reads it; one no MAC
 *    reads with its producer (a MAC layer, or the layer an op is charged to); a graph input no MAC reads
 *    with layer 0. An op is charged to the MAC layer that produced its first input (layer 0 if none).
 *  - Per frame: a level tensor that is some layer's whole input (a traced tensor) writes its real changes
 *    (that layer's input deltas); one that is not in the trace writes an upper bound: its producer's
 *    touched outputs (the chain's last-layer rule), an op's evaluated outputs, a graph input's every level
 *    (packed: it is compared in full anyway). An op's touched outputs are bounded by its inputs' changes ×
 *    the windows an input lies in (⌈k/s⌉ per axis; 1 element-wise; every output on the key frame).
 *    Accesses are scattered word accesses per element, as delta-state.ts charges a MAC layer's, except for an
 *    op fed by graph inputs alone (preprocessing): the frame streams through it, so it reads its own levels
 *    packed and its inputs' levels are the input compare's packed reads.
 */
import { type GraphNode, type TraceGraph, tensorSize } from '../traces/graph.js';
import { inputCount, outputCount, type Layer } from '../traces/layer.js';
import type { StateCounts } from './delta-state.js';

/** How a stateful non-MAC op re-derives a touched output's level. */
export type OpKind = 'accumulate' | 'window' | 'elementwise';

/** A non-MAC op that keeps state, charged with one MAC layer. */
export interface OpState {
  name: string;
  kind: OpKind;
  /** Elements of its output (one level each; accumulate: one accumulator each too). */
  outputs: number;
  /** Level reads per evaluated output besides its own last level (window: the kernel's; element-wise: one per input). */
  reads: number;
  /** Outputs one input change can touch. */
  fan: number;
  /** Level tensors it reads (indices into StatePlan.tensors), and its own. */
  inputs: number[];
  tensor: number;
  /** The MAC layer it is charged with. */
  layer: number;
  /**
   * Every input is a graph input (preprocessing on the sensor frame, e.g. MotionInput): the frame streams
   * through it in full every frame, so its input levels are the packed compare's and its own are read packed.
   */
  streamed: boolean;
}

/** A tensor whose last levels are held. */
export interface LevelTensor {
  name: string;
  size: number;
  /** The MAC layer that books it. */
  owner: number;
  /** Producer: a MAC layer, an op (index into StatePlan.ops), or a graph input. */
  producer: { mac: number } | { op: number } | 'input';
  /** A layer whose whole input is this tensor (its changes are that layer's input deltas), or −1. */
  tracedBy: number;
  /** Some MAC layer reads it (its level writes are booked with that layer's input deltas). */
  readByMac: boolean;
}

/** What one MAC layer books. */
export interface LayerStatePlan {
  /** Levels booked here (elements): owned input tensors, its own outputs if booked here, ops' outputs, graph inputs. */
  levels: number;
  /** Accumulators booked here (elements): its outputs', and its ops'. */
  accumulators: number;
  /** Share of the layer's input deltas whose level writes it books (1 on a chain; 0 when an earlier layer reads the tensor). */
  inputShare: number;
  /** Its output levels are booked here and written per touched output (no MAC reads them; a chain's last layer). */
  ownsOutputLevels: boolean;
  /** Graph-input levels compared in full every frame (packed reads), booked here. */
  comparedInputs: number;
  /** Of those, levels no MAC layer reads (not in the trace): written in full (packed), an upper bound. */
  untracedInputs: number;
  /** Ops charged here. */
  ops: number[];
}

export interface StatePlan {
  layers: LayerStatePlan[];
  tensors: LevelTensor[];
  ops: OpState[];
}

/** A chain (no graph): each layer books its input levels, the last its outputs' too, the first compares its input. */
export function chainStatePlan(layers: readonly Layer[]): StatePlan {
  const n = layers.length;
  return {
    layers: layers.map((l, i) => ({
      levels: inputCount(l) + (i === n - 1 ? outputCount(l) : 0),
      accumulators: outputCount(l),
      inputShare: 1,
      ownsOutputLevels: i === n - 1,
      comparedInputs: i === 0 ? inputCount(l) : 0,
      untracedInputs: 0,
      ops: [],
    })),
    tensors: [],
    ops: [],
  };
}

const ELEMENTWISE = new Set<GraphNode['op']>(['activation', 'add', 'mul']);

/** The state plan of a graph whose mac nodes are `layers` (validated by traces/graph.ts). */
export function graphStatePlan(layers: readonly Layer[], g: TraceGraph): StatePlan {
  const layerIndex = new Map(layers.map((l, i) => [l.name, i]));
  const tensors: LevelTensor[] = [];
  const ops: OpState[] = [];
  /** Tensor name → the level tensors holding its levels. */
  const bases = new Map<string, number[]>();
  const consumers = new Map<string, number>();
  for (const n of g.nodes) for (const t of n.inputs) consumers.set(t, (consumers.get(t) ?? 0) + 1);
  const level = (name: string, size: number, producer: LevelTensor['producer']): number =>
    tensors.push({ name, size, owner: -1, producer, tracedBy: -1, readByMac: false }) - 1;
  for (const t of g.inputs) bases.set(t.name, [level(t.name, tensorSize(t), 'input')]);
  const macInputs: number[][] = layers.map(() => []);
  for (const n of g.nodes) {
    const ins = n.inputs.map((t) => bases.get(t)!);
    const out = n.output.name;
    if (n.op === 'mac') {
      const li = layerIndex.get(n.name)!;
      macInputs[li] = ins[0]!;
      bases.set(out, [level(out, tensorSize(n.output), { mac: li })]);
      continue;
    }
    if (n.op === 'reshape' || n.op === 'pad' || n.op === 'concat') {
      bases.set(out, [...new Set(ins.flat())]);
      continue;
    }
    if (ELEMENTWISE.has(n.op) && ins.length === 1 && ins[0]!.length === 1 && consumers.get(n.inputs[0]!) === 1) {
      bases.set(out, ins[0]!); // its producer applies it before it compares (a MAC's neuron, the input's compare)
      continue;
    }
    const oi = ops.length;
    const tensor = level(out, tensorSize(n.output), { op: oi });
    const inputs = [...new Set(ins.flat())];
    const k = n.kernel ?? [1, 1];
    const s = n.stride ?? [1, 1];
    const kind: OpKind = n.op === 'avgpool' || n.op === 'globalpool' ? 'accumulate' : n.op === 'maxpool' ? 'window' : 'elementwise';
    ops.push({
      name: n.name,
      kind,
      outputs: tensorSize(n.output),
      reads: kind === 'window' ? k[0] * k[1] : n.inputs.length,
      // windows an input lies in (a global pool's: its channel's one)
      fan: n.op === 'avgpool' || n.op === 'maxpool' ? Math.ceil(k[0] / s[0]) * Math.ceil(k[1] / s[1]) : 1,
      inputs,
      tensor,
      layer: -1,
      streamed: inputs.length > 0 && inputs.every((t) => tensors[t]!.producer === 'input'),
    });
    bases.set(out, [tensor]);
  }
  // Ops are charged to the MAC layer upstream of their first input (layer 0 when that is a graph input).
  const upstream = (t: number): number => {
    const p = tensors[t]!.producer;
    return p === 'input' ? 0 : 'mac' in p ? p.mac : ops[p.op]!.layer;
  };
  for (const op of ops) op.layer = op.inputs.length ? upstream(op.inputs[0]!) : 0;
  // Booking: the first MAC that reads a tensor, else its producer.
  macInputs.forEach((ins, li) => {
    for (const t of ins) {
      if (tensors[t]!.owner < 0) tensors[t]!.owner = li;
      tensors[t]!.readByMac = true;
    }
    if (ins.length === 1 && tensors[ins[0]!]!.tracedBy < 0) tensors[ins[0]!]!.tracedBy = li;
  });
  for (const [ti, t] of tensors.entries()) if (t.owner < 0) t.owner = upstream(ti);

  const plans: LayerStatePlan[] = layers.map((l) => ({
    levels: 0,
    accumulators: outputCount(l),
    inputShare: 0,
    ownsOutputLevels: false,
    comparedInputs: 0,
    untracedInputs: 0,
    ops: [],
  }));
  for (const t of tensors) {
    const p = plans[t.owner]!;
    p.levels += t.size;
    if (t.producer === 'input') {
      p.comparedInputs += t.size;
      if (!t.readByMac) p.untracedInputs += t.size;
    } else if ('mac' in t.producer && t.producer.mac === t.owner) {
      p.ownsOutputLevels = true;
    }
  }
  macInputs.forEach((ins, li) => {
    const all = ins.reduce((s, t) => s + tensors[t]!.size, 0);
    const own = ins.reduce((s, t) => s + (tensors[t]!.owner === li ? tensors[t]!.size : 0), 0);
    plans[li]!.inputShare = all > 0 ? own / all : 0;
  });
  ops.forEach((op, oi) => {
    const p = plans[op.layer]!;
    p.ops.push(oi);
    if (op.kind === 'accumulate') p.accumulators += op.outputs;
  });
  return { layers: plans, tensors, ops };
}

/** The plan of a workload: its graph's, or the chain's. */
export const statePlanOf = (layers: readonly Layer[], graph?: TraceGraph): StatePlan =>
  graph ? graphStatePlan(layers, graph) : chainStatePlan(layers);

/** One frame of a graph's level changes and op counts (arrays reused frame to frame). */
export class GraphStateFrame {
  /** Per level tensor: levels written this frame (real, or the upper bound above). */
  readonly changes: Float64Array;
  /** Per op: outputs touched and evaluated (all on the key frame). */
  readonly touched: Float64Array;
  readonly evaluated: Float64Array;

  constructor(readonly plan: StatePlan) {
    this.changes = new Float64Array(plan.tensors.length);
    this.touched = new Float64Array(plan.ops.length);
    this.evaluated = new Float64Array(plan.ops.length);
  }

  /** Fill this frame's counts from every MAC layer's state counts. Tensors and ops are in topological order. */
  update(states: readonly StateCounts[], keyFrame: boolean): void {
    const { tensors, ops } = this.plan;
    for (let ti = 0; ti < tensors.length; ti++) {
      const t = tensors[ti]!;
      const p = t.producer;
      if (p !== 'input' && 'op' in p) {
        // an op's output follows its inputs (topological order)
        const op = ops[p.op]!;
        let inChanges = 0;
        for (const i of op.inputs) inChanges += this.changes[i]!;
        // a streamed op (on graph inputs alone) sees the whole frame: every output
        this.touched[p.op] = op.streamed ? op.outputs : Math.min(op.outputs, inChanges * op.fan);
        this.evaluated[p.op] = keyFrame ? op.outputs : this.touched[p.op]!;
      }
      this.changes[ti] =
        t.tracedBy >= 0
          ? states[t.tracedBy]!.changedInputs
          : p === 'input'
            ? t.size
            : 'mac' in p
              ? states[p.mac]!.touchedOutputs
              : this.evaluated[p.op]!;
    }
  }
}
