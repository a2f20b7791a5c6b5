/**
 * The network graph of an ONNX model for a trace manifest (version 2; the types mirror the agreed
 * graph schema, traces/graph.ts once merged): which layer reads which tensor, and the pooling, adds, concatenations and
 * element-wise ops between them. Pure: it takes the decoded nodes, the MAC nodes with their layer
 * names, and every tensor's runtime shape (ONNX order, batch first; rank-4 tensors are NCHW and
 * become [H, W, C], others [K]).
 *
 * Only the data path is kept: nodes that compute from constants alone (shape arithmetic) and the
 * outputs of Shape / Size are dropped, and a node's `inputs` are its computed tensors (weights,
 * biases and shape operands left out). A ConvTranspose becomes its MAC node (the column tensor,
 * see topology.ts) followed by an `other` node with opType Col2Im that writes the real output.
 * A node with several used outputs (Split) becomes one graph node per output.
 */
import { samePadding } from '../graph/topology.js';
import { attrInts, attrString, type OnnxNode } from './model.js';
import { channelsLast, type OnnxMac } from './topology.js';
import type { GraphNode, GraphTensor, TraceGraph } from '../../../traces/graph.js';

export type { GraphNode, GraphOp, GraphTensor, TraceGraph } from '../../../traces/graph.js';

export interface GraphSource {
  nodes: readonly OnnxNode[];
  /** The image input: its name, and its shape already channels-last ([H, W, C]). */
  input: GraphTensor;
  /** Graph output names. */
  outputs: readonly string[];
}

const ACTIVATIONS = new Set(
  (
    'Relu LeakyRelu PRelu Sigmoid HardSigmoid HardSwish Tanh Clip Elu Selu Celu Gelu Softplus Softsign Mish Erf Exp Log ' +
    'Abs Neg Sqrt Reciprocal Floor Ceil Round Sign BatchNormalization Cast'
  ).split(' '),
);
const RESHAPES = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);
const ELEMENTWISE_BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum']);
/** Their outputs describe a tensor's shape, not its values. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

/**
 * `names[i]` is the graph name of `source.nodes[i]` (a MAC node's is its layer's name); `shapes`
 * holds every computed tensor's runtime dims.
 */
export function onnxGraph(
  source: GraphSource,
  macs: readonly OnnxMac[],
  names: readonly string[],
  shapes: ReadonlyMap<string, readonly number[]>,
): TraceGraph {
  const macByNode = new Map(macs.map((m) => [m.node.index, m]));
  const live = new Set<string>([source.input.name]);
  const consumed = new Set<string>();
  const nodes: GraphNode[] = [];
  const shapeOf = (t: string): number[] => {
    const s = shapes.get(t);
    if (!s) throw new Error(`no runtime shape for tensor "${t}"`);
    return channelsLast(s);
  };
  for (const n of source.nodes) {
    const inputs = n.inputs.filter((i) => live.has(i));
    if (inputs.length === 0 || SHAPE_OPS.has(n.opType)) continue;
    const name = names[n.index]!;
    const mac = macByNode.get(n.index);
    for (const i of inputs) consumed.add(i);
    if (mac) {
      const out = n.outputs[0]!;
      if (mac.kind === 'convTranspose') {
        const [H, W] = shapeOf(mac.input);
        const [kh, kw] = [mac.weightShape[2]!, mac.weightShape[3]!];
        const cols = `${name}:columns`;
        nodes.push({
          name,
          op: 'mac',
          inputs: [mac.input],
          output: { name: cols, shape: [H!, W!, kh * kw * shapeOf(out)[2]!] },
          opType: n.opType,
        });
        nodes.push({ name: `${name}/col2im`, op: 'other', inputs: [cols], output: { name: out, shape: shapeOf(out) }, opType: 'Col2Im' });
      } else {
        nodes.push({ name, op: 'mac', inputs: [mac.input], output: { name: out, shape: shapeOf(out) }, opType: n.opType });
      }
      live.add(out);
      continue;
    }
    // Secondary outputs (MaxPool indices, Dropout mask) are not data, except a Split's parts.
    const outs = n.outputs.filter((o) => o !== '' && shapes.has(o));
    (n.opType === 'Split' ? outs : outs.slice(0, 1)).forEach((o, k) => {
      const { op, ...pool } = opOf(n, inputs, shapes);
      nodes.push({ name: k === 0 ? name : `${name}#${k}`, op, inputs, output: { name: o, shape: shapeOf(o) }, ...pool, opType: n.opType });
      live.add(o);
    });
  }
  const produced = new Set(nodes.map((n) => n.output.name));
  const outputs = source.outputs.filter((o) => produced.has(o));
  return {
    inputs: [source.input],
    nodes,
    outputs: outputs.length ? outputs : nodes.filter((n) => !consumed.has(n.output.name)).map((n) => n.output.name),
  };
}

/** The graph op of a non-MAC node, with a pool's window. */
function opOf(
  n: OnnxNode,
  inputs: string[],
  shapes: ReadonlyMap<string, readonly number[]>,
): Pick<GraphNode, 'op' | 'kernel' | 'stride' | 'padding'> {
  const t = n.opType;
  if (ACTIVATIONS.has(t)) return { op: 'activation' };
  if (RESHAPES.has(t)) return { op: 'reshape' };
  if (t === 'Concat') return { op: 'concat' };
  if (t === 'Pad') return { op: 'pad' };
  if (t === 'GlobalAveragePool') return { op: 'globalpool' };
  if (t === 'ReduceMean' && JSON.stringify(attrInts(n, 'axes')) === '[2,3]') return { op: 'globalpool' };
  if (ELEMENTWISE_BINARY.has(t)) {
    // With one computed operand (the other a constant: a bias, a scale) it is element-wise on one tensor.
    if (inputs.length === 1) return { op: 'activation' };
    if (t === 'Add' || t === 'Sum') return { op: 'add' };
    if (t === 'Mul') return { op: 'mul' };
    return { op: 'other' };
  }
  if (t === 'MaxPool' || t === 'AveragePool') {
    const k = attrInts(n, 'kernel_shape') ?? [];
    if (k.length !== 2) return { op: 'other' };
    const kernel: [number, number] = [k[0]!, k[1]!];
    const s = attrInts(n, 'strides') ?? [1, 1];
    const stride: [number, number] = [s[0]!, s[1]!];
    const auto = attrString(n, 'auto_pad', 'NOTSET');
    const p = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    let padding: [number, number, number, number] = [p[0]!, p[2]!, p[1]!, p[3]!];
    if (auto === 'VALID') padding = [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const dims = shapes.get(inputs[0]!) ?? [];
      const same = (size: number, kk: number, ss: number): [number, number] => {
        const [a, b] = samePadding(size, kk, ss, 1);
        return auto === 'SAME_LOWER' ? [b, a] : [a, b];
      };
      padding = [...same(dims[2] ?? 1, kernel[0], stride[0]), ...same(dims[3] ?? 1, kernel[1], stride[1])];
    }
    const pad = padding.some((x) => x !== 0) ? { padding } : {};
    return { op: t === 'MaxPool' ? 'maxpool' : 'avgpool', kernel, stride, ...pad };
  }
  return { op: 'other' };
}
