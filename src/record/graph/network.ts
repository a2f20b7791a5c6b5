/**
 * The network graph (traces/graph.ts) of a tfjs graph model: the nodes computed from the image input
 * (constants and shape arithmetic left out), each TensorFlow op mapped to a graph op, tensor names
 * `<node>:<output>`, shapes without the batch axis (from one execution: `shapes`). Multi-output nodes
 * (Split, Unpack) give one graph node per output used.
 */
import type { GraphNode as TraceNode, GraphOp, TraceGraph } from '../../../traces/graph.js';
import { nodeOf, samePadding, type GraphModelJson, type MacNode } from './topology.js';

/** TensorFlow op → graph op; element-wise ops with one computed operand (a constant other) are activations. */
const OPS: Record<string, GraphOp> = {
  MaxPool: 'maxpool',
  AvgPool: 'avgpool',
  Add: 'add',
  AddV2: 'add',
  AddN: 'add',
  BiasAdd: 'add',
  Mul: 'mul',
  ConcatV2: 'concat',
  Concat: 'concat',
  Reshape: 'reshape',
  Squeeze: 'reshape',
  ExpandDims: 'reshape',
  Identity: 'reshape',
  Pad: 'pad',
  PadV2: 'pad',
  Relu: 'activation',
  Relu6: 'activation',
  Elu: 'activation',
  Selu: 'activation',
  LeakyRelu: 'activation',
  Prelu: 'activation',
  Sigmoid: 'activation',
  Tanh: 'activation',
  Softplus: 'activation',
  Swish: 'activation',
  FusedBatchNorm: 'activation',
  FusedBatchNormV3: 'activation',
  Sub: 'activation',
  RealDiv: 'activation',
  Maximum: 'activation',
  Minimum: 'activation',
  Cast: 'activation',
};
/** Ops whose outputs are shapes, not activations (and everything computed from them alone). */
const SHAPE_OPS = new Set(['Shape', 'ShapeN', 'Size', 'Rank']);

/** `node` → `node:0`; `node:1` stays. */
export const tensorOf = (t: string): string => (/:\d+$/.test(t) ? t : `${t}:0`);

/** The tensors computed from `input` (a Placeholder's name), in node order: what `shapes` must hold. */
export function computedTensors(json: GraphModelJson, input: string): string[] {
  return liveNodes(json, input).flatMap((n) => n.outputs);
}

interface Live {
  name: string;
  op: string;
  /** Computed data inputs (tensor names). */
  inputs: string[];
  /** Its outputs other nodes read (at least output 0). */
  outputs: string[];
}

function liveNodes(json: GraphModelJson, input: string): Live[] {
  const nodes = json.modelTopology.node;
  const live = new Set<string>([nodeOf(input)]);
  const meta = new Set<string>();
  const used = new Map<string, Set<string>>();
  const out: Live[] = [];
  for (const n of nodes) {
    if (n.name === nodeOf(input)) continue;
    const data = (n.input ?? []).filter((i) => !i.startsWith('^') && live.has(nodeOf(i)));
    if (data.length === 0) continue;
    live.add(n.name);
    if (SHAPE_OPS.has(n.op) || data.every((i) => meta.has(nodeOf(i)))) {
      meta.add(n.name);
      continue;
    }
    const inputs = data.filter((i) => !meta.has(nodeOf(i))).map(tensorOf);
    for (const t of inputs) {
      const s = used.get(nodeOf(t)) ?? new Set<string>();
      s.add(t);
      used.set(nodeOf(t), s);
    }
    out.push({ name: n.name, op: n.op, inputs, outputs: [] });
  }
  for (const l of out) l.outputs = [...new Set([`${l.name}:0`, ...(used.get(l.name) ?? [])])].sort();
  return out;
}

/** A tensor's shape without the batch axis, as the manifest takes it: [H, W, C], [C], else flattened. */
export function frameShape(shape: readonly number[]): number[] {
  const s = shape.length >= 2 && shape[0] === 1 ? shape.slice(1) : [...shape];
  return s.length === 3 || s.length === 1 ? s : [s.reduce((a, b) => a * b, 1)];
}

/**
 * The graph: `macs` (with their layer names `names`) become mac nodes; `shapes` maps every computed
 * tensor (computedTensors) to its shape as executed (with the batch axis).
 */
export function networkGraphOf(
  json: GraphModelJson,
  input: string,
  macs: readonly MacNode[],
  names: readonly string[],
  shapes: ReadonlyMap<string, readonly number[]>,
): TraceGraph {
  const byNode = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  const macOf = new Map(macs.map((m, i) => [m.node, { mac: m, name: names[i]! }]));
  const shapeOf = (t: string): number[] => {
    const s = shapes.get(t);
    if (!s) throw new Error(`no shape for tensor "${t}"`);
    return frameShape(s);
  };
  const taken = new Set(names);
  const nodeName = (base: string): string => {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const inputTensor = tensorOf(nodeOf(input));
  const nodes: TraceNode[] = [];
  for (const l of liveNodes(json, input)) {
    const m = macOf.get(l.name);
    if (m) {
      const output = `${l.name}:0`;
      const input = tensorOf(m.mac.input);
      if (m.mac.transposed) {
        // the GEMM view's column tensor, then the col2im that writes the node's output (as the ONNX graph)
        const [H, W] = shapeOf(input);
        const [kh, kw, co] = m.mac.weightShape;
        const columns = { name: `${l.name}/columns:0`, shape: [H!, W!, kh! * kw! * co!] };
        nodes.push({ name: m.name, op: 'mac', opType: l.op, inputs: [input], output: columns });
        nodes.push({
          name: nodeName(`${m.name}/col2im`),
          op: 'other',
          opType: 'Col2Im',
          inputs: [columns.name],
          output: { name: output, shape: shapeOf(output) },
        });
        continue;
      }
      nodes.push({ name: m.name, op: 'mac', opType: l.op, inputs: [input], output: { name: output, shape: shapeOf(output) } });
      continue;
    }
    const attr = byNode.get(l.name)?.attr ?? {};
    for (const output of l.outputs) {
      const shape = shapeOf(output);
      let op: GraphOp = OPS[l.op] ?? 'other';
      if (op === 'activation' && l.inputs.length > 1) op = 'other'; // e.g. Sub or Maximum of two computed tensors
      // Mean over H and W of an [H, W, C] map is a global average pool.
      if (l.op === 'Mean' && shape.length === 1 && l.inputs.length === 1 && shapeOf(l.inputs[0]!).length === 3) op = 'globalpool';
      const node: TraceNode = {
        name: nodeName(output.endsWith(':0') ? l.name : output),
        op,
        opType: l.op,
        inputs: l.inputs,
        output: { name: output, shape },
      };
      if (op === 'maxpool' || op === 'avgpool') {
        const k = (attr.ksize?.list?.i ?? []).map(Number);
        const s = (attr.strides?.list?.i ?? []).map(Number);
        node.kernel = [k[1] ?? 1, k[2] ?? 1];
        node.stride = [s[1] ?? 1, s[2] ?? 1];
        if (Buffer.from(attr.padding?.s ?? '', 'base64').toString() === 'SAME') {
          const [H, W] = shapeOf(l.inputs[0]!);
          node.padding = [...samePadding(H!, node.kernel[0], node.stride[0], 1), ...samePadding(W!, node.kernel[1], node.stride[1], 1)];
        }
      }
      nodes.push(node);
    }
  }
  return { inputs: [{ name: inputTensor, shape: shapeOf(inputTensor) }], nodes };
}
