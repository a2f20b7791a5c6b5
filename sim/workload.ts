/**
 * Workloads: the MAC layers a simulation runs, and how each one becomes a GEMM for the array.
 *
 * `Layer` has exactly the fields of a trace manifest layer (DESIGN §3), so a manifest maps onto it
 * directly. A layer is an M×K · K×N product: M output pixels, K = kh·kw·Cin/groups, N output
 * channels per group.
 *
 * Grouped / depthwise layers: the array runs `groups` independent GEMMs one after another, each
 * M×(K)·(K)×(Cout/groups) (for depthwise K = kh·kw and N = 1). A group's GEMM is the unit the dataflow
 * folds; cycles, folds and accesses are those of one group times `groups`. For groups = 1 this is
 * exactly SCALE-Sim's single GEMM.
 */
import { InputError, type InputErrorWhere } from '../traces/errors.js';
import { convOutputSize } from '../traces/manifest.js';

export type LayerOp = 'conv2d' | 'depthwise2d' | 'dense';

export interface Layer {
  name: string;
  op: LayerOp;
  /** [H, W, C] for convolutions, [C] for dense. */
  input: number[];
  /** [H, W, C] for convolutions, [C] for dense. */
  output: number[];
  /** [kh, kw] */
  kernel: [number, number];
  /** [sh, sw] */
  stride: [number, number];
  /** [top, bottom, left, right] */
  padding: [number, number, number, number];
  /** [dh, dw] */
  dilation: [number, number];
  groups: number;
  weightBits: number;
  /** Fraction of non-zero weights (1 = dense). */
  weightDensity: number;
}

/** The GEMM one group of a layer runs: (M×K)·(K×N), repeated `groups` times. */
export interface Gemm {
  M: number;
  K: number;
  N: number;
  groups: number;
}

export interface Model {
  name: string;
  layers: Layer[];
}

/** Spatial view of any layer: dense layers are 1×1 maps with a 1×1 kernel. */
export function spatial(l: Layer): { H: number; W: number; C: number; OH: number; OW: number; OC: number } {
  if (l.op === 'dense') return { H: 1, W: 1, C: l.input[0]!, OH: 1, OW: 1, OC: l.output[0]! };
  const [H, W, C] = l.input as [number, number, number];
  const [OH, OW, OC] = l.output as [number, number, number];
  return { H, W, C, OH, OW, OC };
}

export function gemmOf(l: Layer): Gemm {
  const s = spatial(l);
  return { M: s.OH * s.OW, K: (l.kernel[0] * l.kernel[1] * s.C) / l.groups, N: s.OC / l.groups, groups: l.groups };
}

/** Dense MACs of the layer (all groups). */
export function layerMacs(l: Layer): number {
  const g = gemmOf(l);
  return g.M * g.K * g.N * g.groups;
}

export function weightCount(l: Layer): number {
  const g = gemmOf(l);
  return g.K * g.N * g.groups;
}

export function inputCount(l: Layer): number {
  return l.input.reduce((a, b) => a * b, 1);
}

export function outputCount(l: Layer): number {
  return l.output.reduce((a, b) => a * b, 1);
}

/**
 * Check a layer's shapes; throws InputError naming `where` (file/line or pointer) and the key.
 * With `where.pointer` set (a JSON layer), the key is appended to it.
 */
export function validateLayer(l: Layer, where: InputErrorWhere = {}): Layer {
  const bad = (key: string, msg: string): never => {
    const w: InputErrorWhere = { ...where };
    if (w.pointer !== undefined) w.pointer = `${w.pointer}/${key}`;
    throw new InputError(`layer "${l.name}": ${key} ${msg}`, w);
  };
  const posInts = (key: string, v: readonly number[], n: number, allowZero = false): void => {
    if (!Array.isArray(v) || v.length !== n) bad(key, `must have ${n} entries, got ${JSON.stringify(v)}`);
    for (const x of v)
      if (!Number.isInteger(x) || x < (allowZero ? 0 : 1))
        bad(key, `must be ${allowZero ? 'non-negative' : 'positive'} integers, got ${JSON.stringify(v)}`);
  };
  const rank = l.op === 'dense' ? 1 : 3;
  posInts('input', l.input, rank);
  posInts('kernel', l.kernel, 2);
  posInts('stride', l.stride, 2);
  posInts('padding', l.padding, 4, true);
  posInts('dilation', l.dilation, 2);
  if (!Number.isInteger(l.groups) || l.groups < 1) bad('groups', `must be a positive integer, got ${l.groups}`);
  if (!Number.isInteger(l.weightBits) || l.weightBits < 1 || l.weightBits > 32)
    bad('weightBits', `must be an integer in 1..32, got ${l.weightBits}`);
  if (!(l.weightDensity > 0 && l.weightDensity <= 1)) bad('weightDensity', `must be in (0, 1], got ${l.weightDensity}`);
  const s = spatial(l);
  if (l.op === 'dense') {
    posInts('output', l.output, rank);
    if (l.kernel[0] !== 1 || l.kernel[1] !== 1 || l.groups !== 1) bad('kernel', 'of a dense layer must be [1,1] with groups 1');
    return l;
  }
  if (l.op === 'depthwise2d' && (l.groups !== s.C || s.OC % s.C !== 0))
    bad('groups', `of a depthwise layer must equal the input channels (${s.C}) and divide the output channels (${s.OC})`);
  if (s.C % l.groups !== 0 || s.OC % l.groups !== 0)
    bad('groups', `(${l.groups}) must divide input channels (${s.C}) and output channels (${s.OC})`);
  const [pt, pb, pl, pr] = l.padding;
  const effK = [l.dilation[0] * (l.kernel[0] - 1) + 1, l.dilation[1] * (l.kernel[1] - 1) + 1];
  if (effK[0]! > s.H + pt + pb || effK[1]! > s.W + pl + pr)
    bad(
      'kernel',
      `${JSON.stringify(l.kernel)} (dilated ${effK[0]}×${effK[1]}) is larger than the padded input ${s.H + pt + pb}×${s.W + pl + pr}`,
    );
  posInts('output', l.output, rank);
  const oh = convOutputSize(s.H, l.kernel[0], l.stride[0], pt, pb, l.dilation[0]);
  const ow = convOutputSize(s.W, l.kernel[1], l.stride[1], pl, pr, l.dilation[1]);
  if (oh !== s.OH || ow !== s.OW)
    bad('output', `${JSON.stringify(l.output)} does not match the input, kernel, stride and padding (expected ${oh}×${ow})`);
  return l;
}
