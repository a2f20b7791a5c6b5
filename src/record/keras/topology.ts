/**
 * The MAC layers of a Keras layers model and their trace geometry (channels-last, shapes without the
 * batch axis, from the model's static shapes):
 *   - Conv2D → conv2d, DepthwiseConv2D → depthwise2d ('same' padding by TensorFlow's rule, the odd
 *     pixel after: graph/topology.ts samePadding);
 *   - SeparableConv2D → two layers, `<name>/depthwise` (depthwise2d) then `<name>/pointwise` (1×1
 *     conv2d reading the depthwise half's output, a tensor the model does not expose: the recorder
 *     computes it);
 *   - Dense → dense on a vector, a 1×1 conv2d on an [H, W, K] map (Keras applies it per pixel);
 *   - Conv2DTranspose → conv2d in its GEMM view, as the ONNX recorder does (onnx/topology.ts): 1×1,
 *     every input pixel times the kh·kw·Co weights, output the column tensor [H, W, kh·kw·Co]; the
 *     graph adds a Col2Im node after it.
 * Layers that would carry MACs we cannot describe (1-D / 3-D convolutions, recurrent layers, nested
 * models, shared layers, channels-first data) are refused rather than dropped.
 */
import { InputError } from '../../../lib/errors.js';
import { layerOf, outputHW, validateLayer, type LayerOp, type Pair } from '../../../traces/layer.js';
import type { tf } from '../../tf/backend.js';
import { samePadding, type NodeGeometry } from '../graph/topology.js';

export interface KerasMac {
  /** Trace layer name: the Keras layer's; `<name>/depthwise`, `<name>/pointwise` for a SeparableConv2D's halves. */
  name: string;
  layer: tf.layers.Layer;
  part: 'whole' | 'depthwise' | 'pointwise' | 'transpose';
  op: LayerOp;
  /** Graph name of the tensor it reads (`<layer>:<index>`; a pointwise half reads `<name>/depthwise:0`). */
  input: string;
  /** The model tensor it reads; undefined for a pointwise half. */
  tensor?: tf.SymbolicTensor;
  geometry: NodeGeometry;
  /** Graph name and shape of the tensor the MAC part writes (the layer's output unless it is a half or a column tensor). */
  output: { name: string; shape: number[] };
  weight: tf.LayerVariable;
  weightBits: number;
  /** Its input is computed from the image by layers without MACs (ZeroPadding2D, …): stored at the pixel step. */
  fromGraphInput: boolean;
}

const REFUSED = new Set([
  'Conv1D',
  'Conv3D',
  'Conv3DTranspose',
  'SeparableConv1D',
  'LocallyConnected1D',
  'LocallyConnected2D',
  'SimpleRNN',
  'LSTM',
  'GRU',
  'RNN',
  'ConvLSTM2D',
  'TimeDistributed',
  'Bidirectional',
  'Model',
  'Functional',
  'Sequential',
]);

const pair = (v: unknown): Pair => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

export const tensorName = (t: tf.SymbolicTensor): string => `${t.sourceLayer.name}:${t.outputTensorIndex ?? 0}`;

/** The one input of a layer (a MAC layer reads one tensor). */
function onlyInput(layer: tf.layers.Layer): tf.SymbolicTensor {
  const inp = layer.input;
  if (Array.isArray(inp)) throw new Error(`layer "${layer.name}" has ${inp.length} inputs`);
  return inp;
}

/** MAC layers of `model` in its layer (topological) order; `bits` maps weight names to their storage bits. */
export function kerasMacs(model: tf.LayersModel, bits: ReadonlyMap<string, number>, file: string): KerasMac[] {
  const fail = (layer: tf.layers.Layer, msg: string): never => {
    throw new InputError(`layer "${layer.name}" (${layer.getClassName()}): ${msg}`, { file });
  };
  const macNames = new Set<string>();
  const fromImage = new Map<string, boolean>();
  /** No MAC layer upstream of `t` (memoised over the model's layers). */
  const fedByImage = (t: tf.SymbolicTensor): boolean => {
    const src = t.sourceLayer as tf.layers.Layer;
    if (macNames.has(src.name)) return false;
    const known = fromImage.get(src.name);
    if (known !== undefined) return known;
    const ins = src.getClassName() === 'InputLayer' ? [] : src.inboundNodes.flatMap((n) => n.inputTensors);
    const r = ins.every(fedByImage);
    fromImage.set(src.name, r);
    return r;
  };
  const out: KerasMac[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (REFUSED.has(cls)) fail(layer, 'its MACs cannot be described as 2-D convolutions or dense layers (not supported)');
    const kinds = ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'Conv2DTranspose'];
    if (!kinds.includes(cls)) continue;
    if (layer.inboundNodes.length !== 1) fail(layer, `called ${layer.inboundNodes.length} times (shared layers are not supported)`);
    const cfg = layer.getConfig();
    if (cfg.dataFormat === 'channelsFirst') fail(layer, 'channels-first data is not supported');
    const tensor = onlyInput(layer);
    const inShape = (tensor.shape as (number | null)[]).slice(1);
    if (inShape.some((d) => d === null)) fail(layer, `input shape ${JSON.stringify(tensor.shape)} is not fixed`);
    const input = inShape as number[];
    const outShape = (layer.outputShape as number[]).slice(1);
    const weight = (suffix: string): tf.LayerVariable => {
      const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`));
      if (!w) return fail(layer, `no ${suffix} weight`);
      return w;
    };
    const base = {
      layer,
      tensor,
      input: tensorName(tensor),
      output: { name: `${layer.name}:0`, shape: outShape },
      fromGraphInput: fedByImage(tensor),
    };
    const mac = (m: Omit<KerasMac, 'weightBits'>): KerasMac => {
      const weightBits = bits.get(m.weight.originalName) ?? 32;
      validateLayer(layerOf({ name: m.name, ...m.geometry, weightBits, weightDensity: 1 }), { file });
      return { ...m, weightBits };
    };
    const check = (g: NodeGeometry, expected: number[]) => {
      if (JSON.stringify(g.output) !== JSON.stringify(expected))
        fail(layer, `computed output ${JSON.stringify(g.output)}, the model gives ${JSON.stringify(expected)}`);
    };
    if (cls === 'Dense') {
      const units = Number(cfg.units);
      const g: NodeGeometry =
        input.length === 1
          ? { op: 'dense', input, output: [units] }
          : input.length === 3
            ? conv('conv2d', input, [1, 1], [1, 1], [1, 1], 'valid', units, 1)
            : fail(layer, `input of rank ${input.length}; a vector or an [H, W, C] map is needed`);
      check(g, outShape);
      out.push(mac({ ...base, name: layer.name, part: 'whole', op: g.op, geometry: g, weight: weight('kernel') }));
    } else if (input.length !== 3) {
      fail(layer, `input ${JSON.stringify(input)}, expected [H, W, C]`);
    } else if (cls === 'Conv2DTranspose') {
      const [kh, kw] = pair(cfg.kernelSize);
      const g = conv('conv2d', input, [1, 1], [1, 1], [1, 1], 'valid', kh * kw * Number(cfg.filters), 1);
      const output = { name: `${layer.name}/columns:0`, shape: g.output };
      out.push(mac({ ...base, output, name: layer.name, part: 'transpose', op: 'conv2d', geometry: g, weight: weight('kernel') }));
    } else {
      const [k, s, d] = [pair(cfg.kernelSize), pair(cfg.strides ?? 1), pair(cfg.dilationRate ?? 1)];
      const padding = String(cfg.padding) as 'same' | 'valid';
      if (padding !== 'same' && padding !== 'valid') fail(layer, `padding ${JSON.stringify(padding)} is not supported`);
      const C = input[2]!;
      if (cls === 'Conv2D') {
        const g = conv('conv2d', input, k, s, d, padding, Number(cfg.filters), 1);
        check(g, outShape);
        out.push(mac({ ...base, name: layer.name, part: 'whole', op: 'conv2d', geometry: g, weight: weight('kernel') }));
      } else {
        const mult = Number(cfg.depthMultiplier ?? 1);
        const dw = conv('depthwise2d', input, k, s, d, padding, C * mult, C);
        if (cls === 'DepthwiseConv2D') {
          check(dw, outShape);
          out.push(mac({ ...base, name: layer.name, part: 'whole', op: 'depthwise2d', geometry: dw, weight: weight('depthwise_kernel') }));
        } else {
          const name = `${layer.name}/depthwise`;
          const mid = { name: `${name}:0`, shape: dw.output };
          const pw = conv('conv2d', dw.output, [1, 1], [1, 1], [1, 1], 'valid', Number(cfg.filters), 1);
          check(pw, outShape);
          out.push(
            mac({ ...base, output: mid, name, part: 'depthwise', op: 'depthwise2d', geometry: dw, weight: weight('depthwise_kernel') }),
            mac({
              ...base,
              tensor: undefined,
              input: mid.name,
              fromGraphInput: false,
              name: `${layer.name}/pointwise`,
              part: 'pointwise',
              op: 'conv2d',
              geometry: pw,
              weight: weight('pointwise_kernel'),
            }),
          );
        }
      }
    }
    macNames.add(layer.name);
  }
  return out;
}

function conv(
  op: LayerOp,
  input: number[],
  kernel: Pair,
  stride: Pair,
  dilation: Pair,
  rule: 'same' | 'valid',
  co: number,
  groups: number,
): NodeGeometry {
  const [H, W] = input as [number, number, number];
  const padding =
    rule === 'same'
      ? ([...samePadding(H, kernel[0], stride[0], dilation[0]), ...samePadding(W, kernel[1], stride[1], dilation[1])] as [
          number,
          number,
          number,
          number,
        ])
      : ([0, 0, 0, 0] as [number, number, number, number]);
  const [OH, OW] = outputHW({ op, input, kernel, stride, padding, dilation });
  return { op, input, output: [OH, OW, co], kernel, stride, padding, dilation, groups };
}
