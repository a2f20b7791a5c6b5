/**
 * Reading a TensorFlow graph (the `modelTopology.node` list of a tfjs graph model.json) for what a
 * trace needs: the MAC nodes (convolutions, depthwise convolutions, matrix products with a
 * constant weight operand), the tensor each one consumes, and their static geometry (kernel,
 * strides, dilations, padding rule). Shapes that depend on the input are filled in later from one
 * execution (see `layerGeometryFor`).
 */
import { InputError } from '../../../lib/errors.js';
import { layerOf, outputHW, validateLayer, type LayerOp, type Padding, type Pair } from '../../../traces/layer.js';
import type { LayerSpec } from '../../../traces/manifest.js';

/** The parts of a tfjs `AttrValue` we read (strings are base64 in model.json). */
interface AttrValue {
  s?: string;
  i?: string | number;
  b?: boolean;
  list?: { s?: string[]; i?: (string | number)[] };
  tensor?: { tensorShape?: { dim?: { size?: string | number }[] } };
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string };
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightEntry[];
}

/** The subset of a tfjs graph model.json this module reads. */
export interface GraphModelJson {
  format?: string;
  modelTopology: { node: GraphNode[] };
  weightsManifest: WeightsGroup[];
  signature?: unknown;
}

export type PaddingRule = { kind: 'SAME' | 'VALID' } | { kind: 'EXPLICIT'; pads: Padding };

/** A MAC node as found in the graph, before shapes are known. */
export interface MacNode {
  node: string;
  /** model.json, for errors. */
  file: string;
  op: LayerOp;
  /** Tensor name of the activation operand, as the graph names it ("node" or "node:1"). */
  input: string;
  /** Weight constant: its name and shape (Conv2D [kh,kw,Cin/g,Co]; depthwise [kh,kw,C,mult]; MatMul [K,N] or [N,K]). */
  weight: string;
  weightShape: number[];
  weightBits: number;
  /** MatMul with transpose_b: the weight is stored [N, K]. */
  transposeWeight: boolean;
  stride: Pair;
  dilation: Pair;
  padding: PaddingRule;
  /** True when the input is computed from the graph input by preprocessing alone (no MAC node upstream). */
  fromGraphInput: boolean;
  /**
   * A transposed convolution (Conv2DBackpropInput, filter [kh, kw, Co, Ci]), recorded in its GEMM view as the
   * ONNX recorder records ConvTranspose (onnx/topology.ts): 1×1, output the column tensor [H, W, kh·kw·Co].
   */
  transposed?: boolean;
}

const CONV_OPS = new Set(['Conv2D', '_FusedConv2D']);
const DEPTHWISE_OPS = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);
const MATMUL_OPS = new Set(['MatMul', '_FusedMatMul']);
const TRANSPOSED_OPS = new Set(['Conv2DBackpropInput']);

const decode = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const ints = (a: AttrValue | undefined): number[] => (a?.list?.i ?? []).map(Number);

/** Node name of a tensor name: "node:1" → "node", "^node" (control input) → "node". */
export function nodeOf(tensor: string): string {
  return tensor.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** Bits of a stored weight dtype (a quantised one's `quantization.dtype`). */
export const WEIGHT_BITS: Record<string, number> = { float32: 32, int32: 32, float16: 16, uint16: 16, int16: 16, uint8: 8, int8: 8 };

/**
 * The MAC nodes of a graph in the graph's node order (a topological order for converter output).
 * `file` names model.json in errors. MatMuls between two computed tensors (attention) and ops we
 * cannot map (NCHW layouts) are errors rather than silently dropped when they would change the
 * workload; a MatMul without a constant operand has no weights and is not a layer.
 */
export function findMacNodes(json: GraphModelJson, file: string): MacNode[] {
  const nodes = json.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const weights = new Map(json.weightsManifest.flatMap((g) => g.weights).map((w) => [w.name, w]));
  const constShape = (tensor: string): { shape: number[]; bits: number } | undefined => {
    const name = nodeOf(tensor);
    const w = weights.get(name);
    if (w) return { shape: w.shape, bits: WEIGHT_BITS[w.quantization?.dtype ?? w.dtype] ?? 32 };
    const n = byName.get(name);
    const dims = n?.op === 'Const' ? n.attr?.value?.tensor?.tensorShape?.dim : undefined;
    return dims ? { shape: dims.map((d) => Number(d.size ?? 1)), bits: 32 } : undefined;
  };
  const isMac = (n: GraphNode) => CONV_OPS.has(n.op) || DEPTHWISE_OPS.has(n.op) || MATMUL_OPS.has(n.op) || TRANSPOSED_OPS.has(n.op);

  // Which nodes have a MAC node upstream (memoised walk over data inputs).
  const macUpstream = new Map<string, boolean>();
  const hasMacUpstream = (name: string): boolean => {
    const known = macUpstream.get(name);
    if (known !== undefined) return known;
    macUpstream.set(name, false); // cycles (there are none in converter output) end here
    const n = byName.get(name);
    const r =
      !!n &&
      (n.input ?? [])
        .filter((i) => !i.startsWith('^'))
        .some((i) => {
          const up = byName.get(nodeOf(i));
          return !!up && (isMac(up) || hasMacUpstream(up.name));
        });
    macUpstream.set(name, r);
    return r;
  };

  const macs: MacNode[] = [];
  nodes.forEach((n, index) => {
    if (!isMac(n)) return;
    const where = { file, pointer: `/modelTopology/node/${index}` };
    const inputs = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const attr = n.attr ?? {};
    const common = { node: n.name, file };
    if (MATMUL_OPS.has(n.op)) {
      const w = constShape(inputs[1] ?? '');
      if (!w) return; // product of two computed tensors: no weights, not a layer
      if (attr.transpose_a?.b) throw new InputError(`${n.op} "${n.name}" with transpose_a is not supported`, where);
      if (w.shape.length !== 2) throw new InputError(`${n.op} "${n.name}": weight of rank ${w.shape.length}, expected 2`, where);
      macs.push({
        ...common,
        op: 'dense',
        input: inputs[0]!,
        weight: nodeOf(inputs[1]!),
        weightShape: w.shape,
        weightBits: w.bits,
        transposeWeight: !!attr.transpose_b?.b,
        stride: [1, 1],
        dilation: [1, 1],
        padding: { kind: 'VALID' },
        fromGraphInput: !hasMacUpstream(nodeOf(inputs[0]!)),
      });
      return;
    }
    const format = decode(attr.data_format?.s) || 'NHWC';
    if (format !== 'NHWC') throw new InputError(`${n.op} "${n.name}": data_format ${format} is not supported (only NHWC)`, where);
    if (TRANSPOSED_OPS.has(n.op)) {
      // inputs: output size, filter, the activation
      const w = constShape(inputs[1] ?? '');
      if (w?.shape.length !== 4) throw new InputError(`${n.op} "${n.name}": its filter is not a constant of rank 4`, where);
      macs.push({
        ...common,
        op: 'conv2d',
        input: inputs[2]!,
        weight: nodeOf(inputs[1]!),
        weightShape: w.shape,
        weightBits: w.bits,
        transposeWeight: false,
        stride: [1, 1],
        dilation: [1, 1],
        padding: { kind: 'VALID' },
        fromGraphInput: !hasMacUpstream(nodeOf(inputs[2]!)),
        transposed: true,
      });
      return;
    }
    const w = constShape(inputs[1] ?? '');
    if (w?.shape.length !== 4) throw new InputError(`${n.op} "${n.name}": its filter is not a constant of rank 4`, where);
    const strides = ints(attr.strides);
    const dil = ints(attr.dilations);
    macs.push({
      ...common,
      op: DEPTHWISE_OPS.has(n.op) ? 'depthwise2d' : 'conv2d',
      input: inputs[0]!,
      weight: nodeOf(inputs[1]!),
      weightShape: w.shape,
      weightBits: w.bits,
      transposeWeight: false,
      stride: [strides[1] ?? 1, strides[2] ?? 1],
      dilation: [dil[1] ?? 1, dil[2] ?? 1],
      padding: paddingRule(decode(attr.padding?.s), ints(attr.explicit_paddings), n.name, where),
      fromGraphInput: !hasMacUpstream(nodeOf(inputs[0]!)),
    });
  });
  return macs;
}

function paddingRule(kind: string, explicit: number[], node: string, where: { file: string; pointer: string }): PaddingRule {
  if (kind === 'SAME' || kind === 'VALID') return { kind };
  // explicit_paddings holds (before, after) per NHWC dimension.
  if (kind === 'EXPLICIT' && explicit.length === 8) return { kind, pads: [explicit[2]!, explicit[3]!, explicit[4]!, explicit[5]!] };
  throw new InputError(`"${node}": padding ${JSON.stringify(kind)} is not supported`, where);
}

/** TensorFlow's SAME rule along one axis: output ⌈in/stride⌉, the extra pixel (if odd) goes after. */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The manifest geometry of a MAC node once its input shape (without batch) is known. */
export type NodeGeometry = Pick<LayerSpec, 'op' | 'input' | 'output' | 'kernel' | 'stride' | 'padding' | 'dilation' | 'groups'>;

/**
 * Geometry from the static attributes and the runtime input shape ([H,W,C] or [K]), checked as
 * every layer is (validateLayer; errors name model.json and the node).
 */
export function layerGeometryFor(m: MacNode, input: number[]): NodeGeometry {
  const g = nodeGeometry(m, input);
  // The weight density is measured later, from the loaded weights; 1 stands in for the shape check.
  validateLayer(layerOf({ name: m.node, ...g, weightBits: m.weightBits, weightDensity: 1 }), { file: m.file });
  return g;
}

function nodeGeometry(m: MacNode, input: number[]): NodeGeometry {
  if (m.op === 'dense') {
    const [k, n] = m.transposeWeight ? [m.weightShape[1]!, m.weightShape[0]!] : [m.weightShape[0]!, m.weightShape[1]!];
    if (input.length !== 1 || input[0] !== k)
      throw new Error(`"${m.node}": input ${JSON.stringify(input)} does not fit weight ${JSON.stringify(m.weightShape)}`);
    return { op: 'dense', input: [k], output: [n] };
  }
  const [H, W, C] = input as [number, number, number];
  const [kh, kw, cin, mult] = m.weightShape as [number, number, number, number];
  if (m.transposed) {
    if (mult !== C) throw new Error(`"${m.node}": input channels ${C}, the filter holds ${mult}`);
    const one: Pair = [1, 1];
    return {
      op: 'conv2d',
      input: [H, W, C],
      output: [H, W, kh * kw * cin],
      kernel: one,
      stride: one,
      padding: [0, 0, 0, 0],
      dilation: one,
      groups: 1,
    };
  }
  const kernel: Pair = [kh, kw];
  const padding: Padding =
    m.padding.kind === 'EXPLICIT'
      ? m.padding.pads
      : m.padding.kind === 'VALID'
        ? [0, 0, 0, 0]
        : [...samePadding(H, kh, m.stride[0], m.dilation[0]), ...samePadding(W, kw, m.stride[1], m.dilation[1])];
  const groups = m.op === 'depthwise2d' ? C : C / cin;
  if (!Number.isInteger(groups)) throw new Error(`"${m.node}": input channels ${C} not a multiple of the filter's ${cin}`);
  const Co = m.op === 'depthwise2d' ? C * mult : mult;
  const [Ho, Wo] = outputHW({ op: m.op, input, kernel, stride: m.stride, padding, dilation: m.dilation });
  return { op: m.op, input: [H, W, C], output: [Ho, Wo, Co], kernel, stride: m.stride, padding, dilation: m.dilation, groups };
}
