/**
 * Closed-loop delta inference of a float network, as delta hardware computes it: per frame, every
 * recorded tensor (a MAC layer's input) is replaced by its quantised value level · q before anything
 * downstream reads it, so each MAC layer consumes levels computed from the quantised layers before
 * it. Integer level deltas accumulated over frames equal the current level exactly, so with plain
 * rounding the state after frame t is round(x_t / q) · q; with an update mask (update-mask.ts) a tile
 * not updated holds its older levels, and that held value is what flows downstream. The caller's
 * `quantise` decides (it is the recorder's level spill, or the threshold search's quantiser).
 *
 * A quantised tensor replaces the tensor for every reader (also a residual Add or a Concat reading
 * it): the hardware holds one state per tensor.
 *   - Graph models (graphClosedLoop): tfjs `GraphModel.execute` takes intermediate tensors as feeds and
 *     stops there, so the network runs in waves: the recorded tensors whose recorded ancestors are all
 *     quantised are fetched together, quantised and fed back, then the next wave; the model outputs last.
 *   - Keras models (kerasClosedLoop): the layers are applied in the model's (topological) order on
 *     concrete tensors.
 * ONNX models are not run closed loop: onnxruntime sessions cannot take an intermediate tensor as a
 * feed, and cutting the model into per-layer sessions is a model rewrite (refused with --drift).
 */
import { InputError } from '../../../lib/errors.js';
import { tf } from '../../tf/backend.js';
import { nodeOf, type GraphModelJson } from '../graph/topology.js';
import { tensorName, type KerasMac } from '../keras/topology.js';
import type { OutputValue } from './metrics.js';

/** The recorded tensor `tensor`'s values of this frame (computed closed loop) → the values its readers get. */
export type Quantise = (tensor: string, values: Float32Array) => Float32Array;

export interface ClosedLoopNet {
  /** The recorded tensors, in an order where every tensor comes after the recorded tensors it depends on. */
  readonly tensors: readonly string[];
  /** The model's outputs for one input, dense (float, nothing quantised). */
  dense(x: tf.Tensor): OutputValue[];
  /** The model's outputs for one input, closed loop: each recorded tensor goes through `quantise` once. */
  closedLoop(x: tf.Tensor, quantise: Quantise): OutputValue[];
}

const valuesOf = (t: tf.Tensor, name: string): OutputValue => ({
  name,
  shape: t.shape,
  values: t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Float32Array.from(t.dataSync()),
});

/** A graph model run closed loop over its recorded tensors (MAC inputs), fed at `input`. */
export function graphClosedLoop(model: tf.GraphModel, json: GraphModelJson, input: string, tensors: readonly string[]): ClosedLoopNet {
  for (const t of tensors)
    if (/:[1-9]\d*$/.test(t))
      throw new InputError(
        `closed-loop drift: the MAC input "${t}" is not a node's first output; tfjs feeds whole nodes, so it cannot be replaced alone`,
      );
  const waves = wavesOf(json, input, tensors);
  const outputs = model.outputNodes;
  const exec = (feeds: tf.NamedTensorMap, names: string[]): tf.Tensor[] => {
    const r = model.execute(feeds, names);
    return Array.isArray(r) ? r : [r];
  };
  return {
    tensors: waves.flat(),
    dense: (x) => {
      const outs = exec({ [input]: x }, outputs);
      try {
        return outs.map((o, i) => valuesOf(o, outputs[i]!));
      } finally {
        tf.dispose(outs);
      }
    },
    closedLoop: (x, quantise) => {
      // A clone: the executor disposes a fed input that a partial run (a wave fed past it) does not need.
      const image = x.clone();
      const feeds: tf.NamedTensorMap = { [input]: image };
      const fed: tf.Tensor[] = [image];
      try {
        for (const wave of waves) {
          const outs = exec(feeds, wave);
          try {
            wave.forEach((t, i) => {
              const o = outs[i]!;
              const q = quantise(t, o.dataSync() as Float32Array);
              // The image itself (a MAC reading the input placeholder): stored at its own step, not fed back.
              if (nodeOf(t) === nodeOf(input)) return;
              const f = tf.tensor(q, o.shape, 'float32');
              fed.push(f);
              feeds[t] = f;
            });
          } finally {
            tf.dispose(outs);
          }
        }
        const outs = exec(feeds, outputs);
        try {
          return outs.map((o, i) => valuesOf(o, outputs[i]!));
        } finally {
          tf.dispose(outs);
        }
      } finally {
        tf.dispose(fed);
      }
    },
  };
}

/**
 * The recorded tensors in waves: wave k holds those whose nearest recorded ancestors are all in
 * waves < k (walking the graph's data inputs back, stopping at recorded tensors and the input).
 */
export function wavesOf(json: GraphModelJson, input: string, tensors: readonly string[]): string[][] {
  const byName = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  const recorded = new Map(tensors.map((t) => [nodeOf(t), t]));
  const ups = new Map<string, Set<string>>(); // node → nearest recorded tensors upstream (itself excluded)
  const upstream = (name: string): Set<string> => {
    const known = ups.get(name);
    if (known) return known;
    const s = new Set<string>();
    ups.set(name, s);
    for (const i of byName.get(name)?.input ?? []) {
      if (i.startsWith('^')) continue;
      const up = nodeOf(i);
      if (up === nodeOf(input)) continue;
      const r = recorded.get(up);
      if (r !== undefined) s.add(r);
      else for (const t of upstream(up)) s.add(t);
    }
    return s;
  };
  const depth = new Map<string, number>();
  const depthOf = (t: string): number => {
    const d = depth.get(t);
    if (d !== undefined) return d;
    const v = 1 + Math.max(-1, ...[...upstream(nodeOf(t))].map(depthOf));
    depth.set(t, v);
    return v;
  };
  const waves: string[][] = [];
  for (const t of tensors) (waves[depthOf(t)] ??= []).push(t);
  return waves.filter((w) => w !== undefined);
}

/** The Keras layer-walk structures read here (public fields of tfjs-layers' Layer and Node). */
interface KerasNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}

/** A Keras layers model run closed loop over its recorded tensors (the MAC layers' inputs). */
export function kerasClosedLoop(model: tf.LayersModel, macs: readonly KerasMac[], file: string): ClosedLoopNet {
  const split = macs.find((m) => m.part === 'depthwise' || m.part === 'pointwise');
  if (split)
    throw new InputError(
      `closed-loop drift: SeparableConv2D "${split.layer.name}" keeps its depthwise half inside the layer; it cannot be quantised between the halves`,
      { file },
    );
  const recorded = new Set(macs.map((m) => m.input));
  const imageKey = tensorName(model.inputs[0]!);
  const outputs = model.outputs.map(tensorName);
  const order: string[] = [];
  if (recorded.has(imageKey)) order.push(imageKey);
  for (const layer of model.layers)
    for (const node of (layer as unknown as { inboundNodes: KerasNode[] }).inboundNodes)
      for (const t of node.outputTensors) if (recorded.has(tensorName(t))) order.push(tensorName(t));
  const run = (x: tf.Tensor, quantise?: Quantise): OutputValue[] => {
    const result: OutputValue[] = [];
    tf.tidy(() => {
      const q = (key: string, t: tf.Tensor): tf.Tensor =>
        quantise && recorded.has(key) ? tf.tensor(quantise(key, t.dataSync() as Float32Array), t.shape, 'float32') : t;
      const vals = new Map<string, tf.Tensor>([[imageKey, q(imageKey, x)]]);
      for (const layer of model.layers) {
        if (layer.getClassName() === 'InputLayer') continue;
        for (const node of (layer as unknown as { inboundNodes: KerasNode[] }).inboundNodes) {
          const ins = node.inputTensors.map((t) => vals.get(tensorName(t)));
          if (ins.some((t) => t === undefined)) continue; // a node of another model using the layer
          const out = layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.Tensor[]), node.callArgs ?? {}) as tf.Tensor | tf.Tensor[];
          const list = Array.isArray(out) ? out : [out];
          node.outputTensors.forEach((t, i) => vals.set(tensorName(t), q(tensorName(t), list[i]!)));
        }
      }
      for (const name of outputs) {
        const t = vals.get(name);
        if (!t) throw new Error(`closed-loop run: output ${name} was not computed`);
        result.push(valuesOf(t, name));
      }
    });
    return result;
  };
  return {
    tensors: order,
    dense: (x) => {
      const r = model.predict(x) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(r) ? r : [r];
      try {
        return list.map((t, i) => valuesOf(t, outputs[i]!));
      } finally {
        tf.dispose(list);
      }
    },
    closedLoop: (x, quantise) => run(x, quantise),
  };
}
