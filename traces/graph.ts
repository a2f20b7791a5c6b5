/**
 * The network's graph in a version-2 trace manifest (traces/README.md "The graph"): which node reads which
 * tensor, so that pooling, residual adds and concatenation are known. Types and the checks a JSON Schema
 * cannot express (topological order, unique names, mac nodes ⇔ layers[], mac tensor shapes); each failure
 * is an InputError naming the file and the JSON pointer.
 */
import { InputError, quote } from '../lib/errors.js';
import type { Pair, Padding } from './layer.js';

/** What a node does; `mac` nodes are exactly the layers of manifest.layers[]. */
export type GraphOp = 'mac' | 'maxpool' | 'avgpool' | 'globalpool' | 'add' | 'mul' | 'concat' | 'activation' | 'reshape' | 'pad' | 'other';

export interface GraphTensor {
  name: string;
  /** [H, W, C] or [C]. */
  shape: number[];
}

export interface GraphNode {
  name: string;
  op: GraphOp;
  /** The framework's own op name. */
  opType?: string;
  /** Tensor names: graph inputs or outputs of earlier nodes. */
  inputs: string[];
  output: GraphTensor;
  /** maxpool / avgpool only. */
  kernel?: Pair;
  stride?: Pair;
  padding?: Padding;
}

export interface TraceGraph {
  inputs: GraphTensor[];
  /** In topological order. */
  nodes: GraphNode[];
  /** The network's outputs (default: tensors no node reads). */
  outputs?: string[];
}

/** Elements of a tensor. */
export const tensorSize = (t: GraphTensor): number => t.shape.reduce((a, b) => a * b, 1);

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The checks beyond the schema; `layers` are the manifest's (name, input, output). */
export function validateGraph(g: TraceGraph, layers: readonly { name: string; input: number[]; output: number[] }[], file: string): void {
  const at = (pointer: string, msg: string): never => {
    throw new InputError(msg, { file, pointer: `/graph${pointer}` });
  };
  const tensors = new Map<string, GraphTensor>();
  const define = (t: GraphTensor, pointer: string) => {
    if (tensors.has(t.name)) at(`${pointer}/name`, `duplicate tensor name ${quote(t.name)}`);
    if (t.shape.length === 2) at(`${pointer}/shape`, `a shape is [H, W, C] or [C], got ${JSON.stringify(t.shape)}`);
    tensors.set(t.name, t);
  };
  g.inputs.forEach((t, i) => define(t, `/inputs/${i}`));
  const layerByName = new Map(layers.map((l, i) => [l.name, i]));
  const macSeen = new Set<string>();
  const nodeNames = new Set<string>();
  g.nodes.forEach((n, i) => {
    const p = `/nodes/${i}`;
    if (nodeNames.has(n.name)) at(`${p}/name`, `duplicate node name ${quote(n.name)}`);
    nodeNames.add(n.name);
    const pool = n.op === 'maxpool' || n.op === 'avgpool';
    for (const key of ['kernel', 'stride'] as const)
      if (pool && !n[key]) at(`${p}/${key}`, `missing required key ${quote(key)} (a ${n.op} node has kernel and stride)`);
    for (const key of ['kernel', 'stride', 'padding'] as const)
      if (!pool && n[key]) at(`${p}/${key}`, `${key} belongs to maxpool / avgpool nodes, not ${n.op}`);
    n.inputs.forEach((name, j) => {
      if (!tensors.has(name)) at(`${p}/inputs/${j}`, `tensor ${quote(name)} is neither a graph input nor the output of an earlier node`);
    });
    if (n.op === 'mac') {
      const li = layerByName.get(n.name);
      if (li === undefined) at(`${p}/name`, `mac node ${quote(n.name)} is not a layer of /layers`);
      if (macSeen.has(n.name)) at(`${p}/name`, `layer ${quote(n.name)} has two mac nodes`);
      macSeen.add(n.name);
      const l = layers[li!]!;
      if (n.inputs.length !== 1) at(`${p}/inputs`, `a mac node reads exactly one tensor, ${quote(n.name)} reads ${n.inputs.length}`);
      const input = tensors.get(n.inputs[0]!)!;
      if (!sameShape(input.shape, l.input))
        at(
          `${p}/inputs/0`,
          `tensor ${quote(input.name)} has shape ${JSON.stringify(input.shape)}, layer ${quote(l.name)} reads ${JSON.stringify(l.input)}`,
        );
      if (!sameShape(n.output.shape, l.output))
        at(`${p}/output/shape`, `shape ${JSON.stringify(n.output.shape)}, layer ${quote(l.name)} outputs ${JSON.stringify(l.output)}`);
    }
    define(n.output, `${p}/output`);
  });
  layers.forEach((l, i) => {
    if (!macSeen.has(l.name))
      throw new InputError(`layer ${quote(l.name)} has no mac node in /graph/nodes`, { file, pointer: `/layers/${i}/name` });
  });
  g.outputs?.forEach((name, i) => {
    if (!tensors.has(name)) at(`/outputs/${i}`, `no tensor ${quote(name)} in the graph`);
  });
}
