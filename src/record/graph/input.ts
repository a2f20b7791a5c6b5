/**
 * Turning clip frames (H×W×C, values in [0, 1]) into what a graph model's input expects: resized
 * (bilinear, half-pixel centres), gray ↔ RGB converted, quantised to 8 bits as a camera delivers
 * them, then mapped linearly onto the model's value range. The range is the one thing a graph
 * does not say: it comes from the caller, from a table of known models, or from the input dtype
 * (int32 inputs take 0..255 pixels, float inputs [0, 1]).
 *
 * An input of free height and width ([-1, -1, -1, 3]) takes the size the caller gives (`--input-size`);
 * a channels-first input [N, C, H, W] (C of 1 or 3, the last dimension not) is fed transposed: the
 * frame is built channels-last as always, then turned NCHW (the graph transposes it back before its
 * NHWC convolutions, which are what is recorded).
 */
import { basename } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { tf } from '../../tf/backend.js';

export interface ModelInput {
  /** Graph input name. */
  name: string;
  h: number;
  w: number;
  c: number;
  dtype: 'float32' | 'int32';
  /** Values of pixel level 0 and 255. */
  range: [number, number];
  /** The graph's layout of the input (frames are fed in it). */
  layout?: 'NHWC' | 'NCHW';
}

/**
 * Input ranges of known models, by model.json base name: what @vladmandic/human (src/, 3.x) feeds them, its
 * images being float 0..255. emotion: gray (2·y − 1) with y the luminance in [0, 1] (gear/emotion.ts);
 * centernet: the resized pixels as they are, 0..255 (object/centernet.ts; fed [0, 1] it sees a near-black
 * frame: on vtest.avi's first frame its best detection scored 0.013 against 0.635, a person, at 0..255);
 * efficientpose: 2·x − 1 of those pixels (body/efficientpose.ts); posenet: x / 127.5 − 1
 * (body/posenet.ts); blazeface: x / 127 − 1 (face/blazeface.ts). movenet takes int32 0..255 and
 * normalises in-graph, blazepose x / 255 (body/blazepose.ts): the dtype defaults cover them.
 */
export const KNOWN_RANGES: Readonly<Record<string, [number, number]>> = {
  'emotion.json': [-1, 1],
  'centernet.json': [0, 255],
  'efficientpose.json': [-1, 509],
  'posenet.json': [-1, 1],
  'blazeface.json': [-1, 255 / 127 - 1],
};

/** BT.601 luma weights, as human's rgb → gray. */
const LUMA = [0.299, 0.587, 0.114];

/** `size`: [H, W] for an input of free height and width (it must match a fixed one). */
export function modelInput(model: tf.GraphModel, file: string, range?: [number, number], size?: [number, number]): ModelInput {
  if (model.inputs.length !== 1)
    throw new InputError(`the graph has ${model.inputs.length} inputs; only single-input models can be recorded`, { file });
  const inp = model.inputs[0]!;
  const given = inp.shape ?? [];
  const isC = (d: number | undefined) => d === 1 || d === 3;
  const nchw = given.length === 4 && isC(given[1]) && !isC(given[3]);
  // [N, H, W, C] whatever the graph's layout
  const nhwc = nchw ? [given[0]!, given[2]!, given[3]!, given[1]!] : [...given];
  if (nhwc.length !== 4 || !(nhwc[3]! > 0)) {
    throw new InputError(
      `graph input "${inp.name}" has shape ${JSON.stringify(given)}; an image input [N, H, W, C] (or [N, C, H, W]) with fixed C is needed`,
      { file },
    );
  }
  for (const i of [1, 2]) {
    const fixed = nhwc[i]! > 0;
    if (!fixed && size === undefined)
      throw new InputError(`graph input "${inp.name}" has shape ${JSON.stringify(given)}: a free image size, give --input-size H,W`, {
        file,
      });
    if (fixed && size !== undefined && size[i - 1] !== nhwc[i])
      throw new InputError(`--input-size ${size.join(',')} does not fit graph input "${inp.name}" of shape ${JSON.stringify(given)}`, {
        file,
      });
    if (!fixed) nhwc[i] = size![i - 1]!;
  }
  const shape = nhwc as number[];
  if (inp.dtype !== 'float32' && inp.dtype !== 'int32') throw new InputError(`graph input "${inp.name}" has dtype ${inp.dtype}`, { file });
  const chosen = range ?? KNOWN_RANGES[basename(file)] ?? (inp.dtype === 'int32' ? [0, 255] : [0, 1]);
  if (!(chosen[1] > chosen[0])) throw new InputError(`input range ${JSON.stringify(chosen)} is empty`);
  return { name: inp.name, h: shape[1]!, w: shape[2]!, c: shape[3]!, dtype: inp.dtype, range: chosen, layout: nchw ? 'NCHW' : 'NHWC' };
}

/** A frame in the model's input space, batch 1. */
export function frameToInput(frame: Float32Array, src: { h: number; w: number; c: number }, to: ModelInput): tf.Tensor4D {
  if (src.c !== to.c && !(src.c === 1 && to.c === 3) && !(src.c === 3 && to.c === 1)) {
    throw new InputError(`frames have ${src.c} channels; the model takes ${to.c}`);
  }
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(frame, [1, src.h, src.w, src.c]);
    if (src.h !== to.h || src.w !== to.w) x = tf.image.resizeBilinear(x, [to.h, to.w], false, true);
    if (src.c === 1 && to.c === 3) x = tf.tile(x, [1, 1, 1, 3]);
    if (src.c === 3 && to.c === 1) x = tf.sum(tf.mul(x, tf.tensor1d(LUMA)), -1, true);
    const pixel: tf.Tensor4D = tf.round(tf.mul(tf.clipByValue(x, 0, 1), 255));
    return pixelsToInput(pixel, to);
  });
}

/** A uniform image at one 8-bit pixel level (for probing the input's step). */
export function uniformInput(level: number, to: ModelInput): tf.Tensor4D {
  return tf.tidy(() => pixelsToInput(tf.fill([1, to.h, to.w, to.c], level) as tf.Tensor4D, to));
}

function pixelsToInput(pixel: tf.Tensor4D, to: ModelInput): tf.Tensor4D {
  const [lo, hi] = to.range;
  const v: tf.Tensor4D = tf.add(tf.mul(pixel, (hi - lo) / 255), lo);
  const typed = to.dtype === 'int32' ? tf.cast(tf.round(v), 'int32') : v;
  return to.layout === 'NCHW' ? tf.transpose(typed, [0, 3, 1, 2]) : typed;
}
