/**
 * The MAC nodes of an ONNX graph and their trace geometry. ONNX convolutions are channels-first
 * (NCHW activations, OIHW weights); trace layers are channels-last ([H, W, C]), so shapes are
 * turned and pads reordered: ONNX `pads` are [top, left, bottom, right], a trace layer's
 * [top, bottom, left, right].
 *
 *   - Conv → conv2d (depthwise2d when group = input channels > 1), auto_pad SAME_UPPER / SAME_LOWER
 *     resolved to explicit padding (the odd pixel after / before).
 *   - ConvTranspose → conv2d in its GEMM view, the way runtimes compute it: every input pixel is
 *     multiplied by the kh·kw·Co/g weights of its group (a 1×1 convolution with kh·kw·Co output
 *     channels, the "column" tensor), then col2im adds the columns into the strided output. The
 *     layer's input is the transposed convolution's own input (recorded as it is, so its deltas are
 *     the true ones), its MACs and weights are exactly the transposed convolution's; its output is
 *     the column tensor [H, W, kh·kw·Co] (the graph adds a col2im node after it). Stride, pads,
 *     dilation and output_padding shape only the col2im, not the MACs.
 *   - Gemm (transA = 0) and MatMul with a constant weight → dense; a product of two computed
 *     tensors has no weights and is not a layer.
 */
import { InputError } from '../../../lib/errors.js';
import { layerOf, outputHW, validateLayer, type Padding, type Pair } from '../../../traces/layer.js';
import { samePadding, type NodeGeometry } from '../graph/topology.js';
import { attrInt, attrInts, attrString, elementBits, nonZeroFraction, tensorDims, type OnnxModel, type OnnxNode } from './model.js';

export interface OnnxMac {
  node: OnnxNode;
  kind: 'conv' | 'convTranspose' | 'dense';
  /** The activation tensor it reads, and the tensor it writes. */
  input: string;
  output: string;
  /** Weight shape as stored: Conv [Co, Ci/g, kh, kw]; ConvTranspose [Ci, Co/g, kh, kw]; Gemm [K, N] ([N, K] with transB); MatMul [K, N]. */
  weightShape: number[];
  weightBits: number;
  weightDensity: number;
  /** Gemm with transB = 1. */
  transposeWeight: boolean;
  group: number;
  stride: Pair;
  dilation: Pair;
  /** ONNX pads [t, l, b, r], or an auto_pad rule. */
  pads: [number, number, number, number];
  autoPad: 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';
  /** Computed from the graph input without a MAC node upstream (stored at the input's step). */
  fromGraphInput: boolean;
}

const MAC_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** MAC nodes in graph order (ONNX graphs are topologically sorted). */
export function findOnnxMacs(model: OnnxModel): OnnxMac[] {
  const { file, consts } = model;
  const producer = new Map<string, OnnxNode>();
  for (const n of model.nodes) for (const o of n.outputs) producer.set(o, n);
  const upstream = new Map<string, boolean>(); // tensor → a MAC node computes it, directly or not
  const macUpstream = (tensor: string): boolean => {
    const known = upstream.get(tensor);
    if (known !== undefined) return known;
    upstream.set(tensor, false);
    const p = producer.get(tensor);
    const r = !!p && (MAC_OPS.has(p.opType) || p.inputs.some((i) => i !== '' && macUpstream(i)));
    upstream.set(tensor, r);
    return r;
  };
  const macs: OnnxMac[] = [];
  for (const n of model.nodes) {
    if (!MAC_OPS.has(n.opType)) continue;
    const where = { file, pointer: `/graph/node/${n.index}` };
    const bad = (msg: string): never => {
      throw new InputError(`${n.opType} "${n.name}": ${msg}`, where);
    };
    const w = consts.get(n.inputs[1] ?? '');
    const dense = n.opType === 'Gemm' || n.opType === 'MatMul';
    if (dense && !w) continue; // two computed operands (attention): no weights
    if (!w) bad('its weight is not a constant (initializer or Constant node)');
    const weightShape = tensorDims(w!);
    const base = {
      node: n,
      input: n.inputs[0]!,
      output: n.outputs[0]!,
      weightShape,
      weightBits: elementBits(w!.dataType ?? 1),
      weightDensity: nonZeroFraction(w!),
      fromGraphInput: !macUpstream(n.inputs[0]!),
    };
    if (dense) {
      if (attrInt(n, 'transA', 0)) bad('transA = 1 is not supported');
      if (weightShape.length !== 2) bad(`weight of rank ${weightShape.length}, expected 2`);
      macs.push({
        ...base,
        kind: 'dense',
        transposeWeight: !!attrInt(n, 'transB', 0),
        group: 1,
        stride: [1, 1],
        dilation: [1, 1],
        pads: [0, 0, 0, 0],
        autoPad: 'NOTSET',
      });
      continue;
    }
    if (weightShape.length !== 4) bad(`a ${weightShape.length - 2}-D convolution; only 2-D ones are recorded`);
    const pair = (name: string): Pair => {
      const v = attrInts(n, name) ?? [1, 1];
      if (v.length !== 2) bad(`${name} ${JSON.stringify(v)} is not 2-D`);
      return [v[0]!, v[1]!];
    };
    const pads = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4) bad(`pads ${JSON.stringify(pads)} are not 2-D`);
    const autoPad = attrString(n, 'auto_pad', 'NOTSET');
    if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) bad(`auto_pad ${autoPad} is not known`);
    macs.push({
      ...base,
      kind: n.opType === 'Conv' ? 'conv' : 'convTranspose',
      transposeWeight: false,
      group: attrInt(n, 'group', 1),
      stride: pair('strides'),
      dilation: pair('dilations'),
      pads: pads as [number, number, number, number],
      autoPad: autoPad as OnnxMac['autoPad'],
    });
  }
  return macs;
}

/** [H, W, C] of an NCHW tensor shape, [K] of a [N, K] one (batch 1). */
export function channelsLast(dims: readonly number[]): number[] {
  if (dims.length === 4) return [dims[2]!, dims[3]!, dims[1]!];
  return [dims.slice(1).reduce((a, b) => a * b, 1)];
}

/**
 * Trace geometry of a MAC node from its input's and output's runtime shapes (ONNX order, batch
 * first), checked as every layer is (validateLayer) and against the output the runtime computed.
 */
export function onnxLayerGeometry(m: OnnxMac, file: string, inDims: readonly number[], outDims: readonly number[]): NodeGeometry {
  const where = { file, pointer: `/graph/node/${m.node.index}` };
  const fail = (msg: string): never => {
    throw new InputError(`${m.node.opType} "${m.node.name}": ${msg}`, where);
  };
  if (inDims[0] !== 1) fail(`input batch ${inDims[0]}, expected 1`);
  const g = geometry(m, inDims, fail);
  validateLayer(layerOf({ name: m.node.name, ...g, weightBits: m.weightBits, weightDensity: 1 }), where);
  const expected = m.kind === 'convTranspose' ? [outDims[0], outDims[1]] : [outDims[0], ...channelsLast(outDims)];
  const computed = m.kind === 'convTranspose' ? [1, g.output[2]! / (m.weightShape[2]! * m.weightShape[3]!)] : [1, ...g.output];
  if (JSON.stringify(computed) !== JSON.stringify(expected))
    fail(`computed output ${JSON.stringify(computed)} but the runtime gives ${JSON.stringify(expected)} (batch, channels-last)`);
  return g;
}

function geometry(m: OnnxMac, inDims: readonly number[], fail: (msg: string) => never): NodeGeometry {
  if (m.kind === 'dense') {
    if (inDims.length !== 2) fail(`input of rank ${inDims.length}; only [1, K] inputs of matrix products are recorded`);
    const [k, n] = m.transposeWeight ? [m.weightShape[1]!, m.weightShape[0]!] : [m.weightShape[0]!, m.weightShape[1]!];
    if (inDims[1] !== k) fail(`input ${JSON.stringify(inDims)} does not fit weight ${JSON.stringify(m.weightShape)}`);
    return { op: 'dense', input: [k], output: [n] };
  }
  if (inDims.length !== 4) fail(`input of rank ${inDims.length}, expected NCHW`);
  const input = channelsLast(inDims) as [number, number, number];
  const [H, W, C] = input;
  const [w0, w1, kh, kw] = m.weightShape as [number, number, number, number];
  const kernel: Pair = [kh, kw];
  const g = m.group;
  const trivial = { stride: [1, 1] as Pair, padding: [0, 0, 0, 0] as Padding, dilation: [1, 1] as Pair };
  if (m.kind === 'convTranspose') {
    // GEMM view (module comment): 1×1, every input pixel times the kh·kw·Co/g weights of its group.
    if (w0 !== C) fail(`input channels ${C}, the weight holds ${w0}`);
    return { op: 'conv2d', input, output: [H, W, kh * kw * w1 * g], kernel: [1, 1], ...trivial, groups: g };
  }
  if (w1 * g !== C) fail(`input channels ${C}, the weight holds ${w1} per group × ${g} groups`);
  const same = (size: number, k: number, s: number, d: number): [number, number] => {
    const [a, b] = samePadding(size, k, s, d);
    return m.autoPad === 'SAME_LOWER' ? [b, a] : [a, b];
  };
  const [pt, pl, pb, pr] = m.pads;
  const padding: Padding =
    m.autoPad === 'VALID'
      ? [0, 0, 0, 0]
      : m.autoPad === 'NOTSET'
        ? [pt, pb, pl, pr]
        : [...same(H, kh, m.stride[0], m.dilation[0]), ...same(W, kw, m.stride[1], m.dilation[1])];
  const op = g === C && g > 1 ? 'depthwise2d' : 'conv2d';
  const [OH, OW] = outputHW({ op, input, kernel, stride: m.stride, padding, dilation: m.dilation });
  return { op, input, output: [OH, OW, w0], kernel, stride: m.stride, padding, dilation: m.dilation, groups: g };
}
