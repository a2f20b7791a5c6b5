/**
 * The one MAC layer type of deltasim and its geometry: what a trace manifest layer (docs/design.md §3), a
 * topology CSV row and a recorded graph node all become, and what the simulator runs.
 *
 * A `Layer` is normalised: every geometry key is present (a dense layer has the trivial geometry:
 * kernel, stride and dilation [1,1], padding 0, groups 1). Shapes keep their rank ([H, W, C] for
 * convolutions, [C] for dense); `spatial` views any layer as a map, dense as 1×1.
 *
 * A layer is an M×K · K×N product per channel group: M = OH·OW output pixels,
 * K = kh·kw·C/groups, N = OC/groups. `validateLayer` is the one place its shapes are checked.
 */
import { InputError, quote, type InputErrorWhere } from '../lib/errors.js';

export type LayerOp = 'conv2d' | 'depthwise2d' | 'dense';
export const LAYER_OPS: readonly LayerOp[] = ['conv2d', 'depthwise2d', 'dense'];
export type Pair = [number, number];
/** [top, bottom, left, right] */
export type Padding = [number, number, number, number];

export interface Layer {
  name: string;
  op: LayerOp;
  /** [H, W, C] for convolutions, [C] for dense. */
  input: number[];
  /** [H, W, C] for convolutions, [C] for dense. */
  output: number[];
  /** [kh, kw] */
  kernel: Pair;
  /** [sh, sw] */
  stride: Pair;
  /** [top, bottom, left, right] */
  padding: Padding;
  /** [dh, dw] */
  dilation: Pair;
  groups: number;
  weightBits: number;
  /** Fraction of non-zero weights (1 = dense). */
  weightDensity: number;
}

/** What `layerOf` normalises: a manifest layer, a topology row, a draft (geometry keys optional; extra keys ignored). */
export type LayerLike = Pick<Layer, 'name' | 'op' | 'input' | 'output' | 'weightBits' | 'weightDensity'> &
  Partial<Pick<Layer, 'kernel' | 'stride' | 'padding' | 'dilation' | 'groups'>>;

/** The normalised Layer of a manifest layer or topology row: fresh arrays, missing geometry keys trivial (dense). */
export function layerOf(s: LayerLike): Layer {
  return {
    name: s.name,
    op: s.op,
    input: [...s.input],
    output: [...s.output],
    kernel: s.kernel ? [...s.kernel] : [1, 1],
    stride: s.stride ? [...s.stride] : [1, 1],
    padding: s.padding ? [...s.padding] : [0, 0, 0, 0],
    dilation: s.dilation ? [...s.dilation] : [1, 1],
    groups: s.groups ?? 1,
    weightBits: s.weightBits,
    weightDensity: s.weightDensity,
  };
}

/** Output length along one axis (the usual conv arithmetic; ≤ 0 means the kernel does not fit). */
export function convOutputSize(
  inSize: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
): number {
  return Math.floor((inSize + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** [OH, OW] that the kernel, stride, padding and dilation give for the layer's input ([1, 1] for dense). */
export function outputHW(l: Pick<Layer, 'op' | 'input' | 'kernel' | 'stride' | 'padding' | 'dilation'>): Pair {
  if (l.op === 'dense') return [1, 1];
  return [
    convOutputSize(l.input[0]!, l.kernel[0], l.stride[0], l.padding[0], l.padding[1], l.dilation[0]),
    convOutputSize(l.input[1]!, l.kernel[1], l.stride[1], l.padding[2], l.padding[3], l.dilation[1]),
  ];
}

/** Spatial view of any layer: dense layers are 1×1 maps with a 1×1 kernel. */
export function spatial(l: Pick<Layer, 'op' | 'input' | 'output'>): {
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  OC: number;
} {
  if (l.op === 'dense') return { H: 1, W: 1, C: l.input[0]!, OH: 1, OW: 1, OC: l.output[0]! };
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW, OC] = l.output as [number, number, number];
  return { H, W, C, OH, OW, OC };
}

/** Elements of one frame of the layer's input. */
export function inputCount(l: Pick<Layer, 'input'>): number {
  return l.input.reduce((a, b) => a * b, 1);
}

/** Elements of one frame of the layer's output. */
export function outputCount(l: Pick<Layer, 'output'>): number {
  return l.output.reduce((a, b) => a * b, 1);
}

/** Weights of the layer (all groups): K·N·groups. */
export function weightCount(l: Layer): number {
  const s = spatial(l);
  const K = (l.kernel[0] * l.kernel[1] * s.C) / l.groups;
  return K * (s.OC / l.groups) * l.groups;
}

/** Dense MACs of one frame (all groups), padding taps included: SCALE-Sim's M·K·N, times groups. */
export function layerMacs(l: Layer): number {
  const s = spatial(l);
  const K = (l.kernel[0] * l.kernel[1] * s.C) / l.groups;
  return s.OH * s.OW * K * (s.OC / l.groups) * l.groups;
}

/**
 * Check a layer's shapes and return it; throws an InputError naming `where` (file, line or JSON
 * pointer), the layer and the key. With `where.pointer` set (a JSON layer) the key is appended to it.
 */
export function validateLayer(l: Layer, where: InputErrorWhere = {}): Layer {
  const bad = (key: string, msg: string): never => {
    const w: InputErrorWhere = { ...where };
    if (w.pointer !== undefined) w.pointer = `${w.pointer}/${key}`;
    throw new InputError(`layer ${quote(l.name)}: ${msg}`, w);
  };
  const ints = (key: string, v: readonly number[], n: number, min: 0 | 1): void => {
    if (!Array.isArray(v) || v.length !== n) bad(key, `${key} must have ${n} entries, got ${JSON.stringify(v)}`);
    for (const x of v)
      if (!Number.isInteger(x) || x < min)
        bad(key, `${key} must be ${min === 0 ? 'non-negative' : 'positive'} integers, got ${JSON.stringify(v)}`);
  };
  if (!LAYER_OPS.includes(l.op)) bad('op', `op must be ${LAYER_OPS.join(', ')}, got ${JSON.stringify(l.op)}`);
  const rank = l.op === 'dense' ? 1 : 3;
  ints('input', l.input, rank, 1);
  ints('kernel', l.kernel, 2, 1);
  ints('stride', l.stride, 2, 1);
  ints('padding', l.padding, 4, 0);
  ints('dilation', l.dilation, 2, 1);
  if (!Number.isInteger(l.groups) || l.groups < 1) bad('groups', `groups must be a positive integer, got ${l.groups}`);
  if (!Number.isInteger(l.weightBits) || l.weightBits < 1 || l.weightBits > 32)
    bad('weightBits', `weightBits must be an integer in 1..32, got ${l.weightBits}`);
  if (!(l.weightDensity > 0 && l.weightDensity <= 1)) bad('weightDensity', `weightDensity must be in (0, 1], got ${l.weightDensity}`);
  if (l.op === 'dense') {
    ints('output', l.output, rank, 1);
    const trivial: [keyof Layer, readonly number[], number][] = [
      ['kernel', l.kernel, 1],
      ['stride', l.stride, 1],
      ['padding', l.padding, 0],
      ['dilation', l.dilation, 1],
      ['groups', [l.groups], 1],
    ];
    for (const [key, v, one] of trivial)
      if (v.some((x) => x !== one))
        bad(
          key,
          `${key} of a dense layer must be trivial, got ${JSON.stringify(key === 'groups' ? l.groups : v)} (a dense layer has kernel [1,1], stride [1,1], padding 0, dilation [1,1] and groups 1)`,
        );
    return l;
  }
  const { H, W, C, OH, OW, OC } = spatial(l);
  if (l.op === 'depthwise2d' && l.groups !== C) bad('groups', `depthwise2d needs groups = input channels (${C}), got ${l.groups}`);
  if (C % l.groups !== 0 || OC % l.groups !== 0)
    bad('groups', `groups ${l.groups} must divide the input channels (${C}) and output channels (${OC})`);
  const [pt, pb, pl, pr] = l.padding;
  const effK = [l.dilation[0] * (l.kernel[0] - 1) + 1, l.dilation[1] * (l.kernel[1] - 1) + 1] as const;
  if (effK[0] > H + pt + pb || effK[1] > W + pl + pr)
    bad(
      'kernel',
      `kernel ${JSON.stringify(l.kernel)} (dilated ${effK[0]}×${effK[1]}) is larger than the padded input ${H + pt + pb}×${W + pl + pr}`,
    );
  ints('output', l.output, rank, 1);
  const [oh, ow] = outputHW(l);
  if (oh !== OH || ow !== OW)
    bad('output', `output is ${OH}×${OW} but the ${H}×${W} input, kernel, stride, padding and dilation give ${oh}×${ow}`);
  return l;
}
