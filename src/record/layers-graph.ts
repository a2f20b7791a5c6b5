/**
 * The network graph (traces/graph.ts) of a tfjs layers model we train (src/tf/models.ts): one node per
 * per-frame layer in the model's (topological) layer order, tensors named `<layer>:<index>`, shapes
 * without the batch and time axes. Layers whose output has lost the time axis (the clip's mean over
 * frames) are after the per-frame network and are left out, with everything downstream of them.
 */
import type { tf } from '../tf/backend.js';
import { FrameWise } from '../tf/layers/index.js';
import type { MacLayer } from '../tf/models.js';
import type { GraphNode, GraphOp, TraceGraph } from '../../traces/graph.js';
import { samePadding } from './graph/topology.js';

/** Layer classes (the FrameWise-wrapped one for wrapped layers) and the graph op each is; anything else (MotionInput, Softmax) is `other`. */
const OPS: Record<string, GraphOp> = {
  MaxPooling2D: 'maxpool',
  AveragePooling2D: 'avgpool',
  GlobalAveragePooling2D: 'globalpool',
  Add: 'add',
  Multiply: 'mul',
  Concatenate: 'concat',
  Flatten: 'reshape',
  Reshape: 'reshape',
  Dropout: 'reshape',
  ZeroPadding2D: 'pad',
  ReLU: 'activation',
  LeakyReLU: 'activation',
  Activation: 'activation',
  BatchNormalization: 'activation',
  QuantisedActivation: 'activation',
  DeltaActivation: 'activation',
  L1Activation: 'activation',
};

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/** A per-frame shape as the manifest takes it: [H, W, C] or [C] (anything else flattened to [elements]). */
function frameShape(shape: readonly (number | null)[], lead: number): number[] | null {
  if (shape.length <= lead) return null; // no time axis left
  const s = shape.slice(lead).map(Number);
  return s.length === 3 || s.length === 1 ? s : [s.reduce((a, b) => a * b, 1)];
}

const tensorName = (t: tf.SymbolicTensor) => `${t.sourceLayer.name}:${t.outputTensorIndex ?? 0}`;

export interface LayersGraphOptions {
  /** Axes before a frame's own: 2 (batch, time) for our clip models (default), 1 (batch) for per-image Keras models. */
  lead?: number;
  /** The graph nodes of a MAC layer (default: one mac node named after it); e.g. a SeparableConv2D is two. */
  macNodes?: (layer: tf.layers.Layer, node: GraphNode) => GraphNode[];
}

/** The graph of `model`, whose MAC layers are `macs` (macLayers, or any layers named so). */
export function layersGraphOf(model: tf.LayersModel, macs: readonly Pick<MacLayer, 'name'>[], opts: LayersGraphOptions = {}): TraceGraph {
  const lead = opts.lead ?? 2;
  const macNames = new Set(macs.map((m) => m.name));
  const inputs: TraceGraph['inputs'] = [];
  const nodes: GraphNode[] = [];
  const known = new Set<string>();
  for (const layer of model.layers) {
    const shape = frameShape(layer.outputShape as (number | null)[], lead);
    const name = `${layer.name}:0`;
    if (shape === null) continue;
    if (layer.getClassName() === 'InputLayer') {
      inputs.push({ name, shape });
      known.add(name);
      continue;
    }
    const ins = (Array.isArray(layer.input) ? layer.input : [layer.input]).map(tensorName);
    if (!ins.every((t) => known.has(t))) continue; // downstream of a left-out layer
    const inner = layer instanceof FrameWise ? layer.layer : layer;
    const cls = inner.getClassName();
    const op: GraphOp = macNames.has(layer.name) ? 'mac' : (OPS[cls] ?? 'other');
    const node: GraphNode = { name: layer.name, op, opType: cls, inputs: ins, output: { name, shape } };
    if (op === 'maxpool' || op === 'avgpool') {
      const cfg = inner.getConfig();
      const k = pair(cfg.poolSize);
      const s = pair(cfg.strides ?? cfg.poolSize);
      const [H, W] = ((Array.isArray(layer.input) ? layer.input[0]! : layer.input).shape as number[]).slice(lead);
      node.kernel = k;
      node.stride = s;
      if (cfg.padding === 'same') node.padding = [...samePadding(H!, k[0], s[0], 1), ...samePadding(W!, k[1], s[1], 1)];
    }
    nodes.push(...(op === 'mac' && opts.macNodes ? opts.macNodes(layer, node) : [node]));
    known.add(name);
  }
  return { inputs, nodes };
}
