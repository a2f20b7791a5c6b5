/**
 * The trace manifest (DESIGN §3): types, JSON Schema validation (ajv) and the consistency checks a
 * schema cannot express (output shape from the conv geometry, groups, per-channel scales).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { InputError } from './errors.js';
import { packagePath } from './package-dir.js';
import type { Dtype } from './npy.js';

export type LayerOp = 'conv2d' | 'depthwise2d' | 'dense';
export type Pair = [number, number];
/** [top, bottom, left, right] */
export type Padding = [number, number, number, number];

export interface ActSpec {
  file: string;
  dtype: Dtype;
  /** value = level × scale; one number or one per input channel. */
  scale: number | number[];
  signed: boolean;
}

export interface LayerSpec {
  name: string;
  op: LayerOp;
  /** [H, W, C] for conv2d / depthwise2d, [C] for dense. */
  input: number[];
  /** [Ho, Wo, Co] for conv2d / depthwise2d, [N] for dense. */
  output: number[];
  /** Required for conv2d / depthwise2d; optional (and trivial) for dense. */
  kernel?: Pair;
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  weightBits: number;
  weightDensity: number;
  act: ActSpec;
  /** sha256 (hex) of the whole .npy file. */
  sha256: string;
}

export interface Manifest {
  format: 'deltasim-trace';
  version: 1;
  model: { name: string; source?: string; [key: string]: unknown };
  frames: number;
  fps: number;
  clip?: { source: string; firstFrame?: number; [key: string]: unknown };
  layers: LayerSpec[];
}

/** A layer's geometry with dense normalised to a 1×1 conv on a 1×1 image, so one code path serves all ops. */
export interface LayerGeometry {
  op: LayerOp;
  input: [number, number, number];
  output: [number, number, number];
  kernel: Pair;
  stride: Pair;
  padding: Padding;
  dilation: Pair;
  groups: number;
}

export const MANIFEST_FILE = 'manifest.json';

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

export function layerGeometry(
  layer: Pick<LayerSpec, 'op' | 'input' | 'output' | 'kernel' | 'stride' | 'padding' | 'dilation' | 'groups'>,
): LayerGeometry {
  if (layer.op === 'dense') {
    return {
      op: 'dense',
      input: [1, 1, layer.input[0]!],
      output: [1, 1, layer.output[0]!],
      kernel: [1, 1],
      stride: [1, 1],
      padding: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
    };
  }
  const [H, W, C] = layer.input as [number, number, number];
  return {
    op: layer.op,
    input: [H, W, C],
    output: layer.output as [number, number, number],
    kernel: layer.kernel!,
    stride: layer.stride!,
    padding: layer.padding!,
    dilation: layer.dilation!,
    groups: layer.groups!,
  };
}

/** [Ho, Wo] that kernel, stride, padding and dilation give for this input. */
export function expectedOutputHW(g: LayerGeometry): Pair {
  return [
    convOutputSize(g.input[0], g.kernel[0], g.stride[0], g.padding[0], g.padding[1], g.dilation[0]),
    convOutputSize(g.input[1], g.kernel[1], g.stride[1], g.padding[2], g.padding[3], g.dilation[1]),
  ];
}

/** Dense MACs of one frame, padding taps included (SCALE-Sim's M·K·N). */
export function denseMacs(g: LayerGeometry): number {
  const [Ho, Wo, Co] = g.output;
  return Ho * Wo * Co * g.kernel[0] * g.kernel[1] * (g.input[2] / g.groups);
}

/** Elements of one frame of the layer's input. */
export function frameElements(layer: Pick<LayerSpec, 'input'>): number {
  return layer.input.reduce((a, b) => a * b, 1);
}

// strictRequired off: the schema's if/then/else requires keys declared in the enclosing object
const ajv = new Ajv({ strict: true, strictRequired: false });
const schema: unknown = JSON.parse(readFileSync(packagePath('traces', 'manifest.schema.json'), 'utf8'));
const validateSchema = ajv.compile<Manifest>(schema as object);

function schemaError(e: ErrorObject, file: string): InputError {
  let pointer = e.instancePath;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') pointer += `/${String(p.missingProperty)}`;
  if (e.keyword === 'additionalProperties') {
    return new InputError(`unknown key "${String(p.additionalProperty)}"`, { file, pointer: `${pointer}/${String(p.additionalProperty)}` });
  }
  const detail =
    e.keyword === 'enum'
      ? ` (${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})`
      : e.keyword === 'const'
        ? ` ${JSON.stringify(p.allowedValue)}`
        : '';
  const message = e.keyword === 'required' ? 'required key is missing' : `expected: ${e.message ?? e.keyword}${detail}`;
  return new InputError(message, { file, pointer });
}

/** Schema and consistency checks; returns the manifest typed. `file` names it in errors. */
export function validateManifest(json: unknown, file: string): Manifest {
  if (!validateSchema(json)) throw schemaError(validateSchema.errors![0]!, file);
  const m = json;
  const names = new Set<string>();
  const files = new Set<string>();
  m.layers.forEach((layer, i) => {
    const at = (key: string, msg: string): never => {
      throw new InputError(msg, { file, pointer: `/layers/${i}${key}` });
    };
    if (names.has(layer.name)) at('/name', `duplicate layer name "${layer.name}"`);
    if (files.has(layer.act.file)) at('/act/file', `file "${layer.act.file}" is used by two layers`);
    names.add(layer.name);
    files.add(layer.act.file);
    if (layer.act.dtype === 'uint8' && layer.act.signed) at('/act/signed', 'uint8 levels cannot be signed');

    const g = layerGeometry(layer);
    const C = g.input[2];
    if (Array.isArray(layer.act.scale) && layer.act.scale.length !== C) {
      at('/act/scale', `per-channel scale has ${layer.act.scale.length} entries, input has ${C} channels`);
    }
    if (layer.op === 'dense') {
      const trivial =
        (layer.kernel ?? [1, 1]).concat(layer.stride ?? [1, 1], layer.dilation ?? [1, 1], [layer.groups ?? 1]).every((v) => v === 1) &&
        (layer.padding ?? [0, 0, 0, 0]).every((v) => v === 0);
      if (!trivial) at('', 'a dense layer has kernel [1,1], stride [1,1], dilation [1,1], padding 0 and groups 1');
      return;
    }
    const Co = g.output[2];
    if (layer.op === 'depthwise2d' && g.groups !== C) at('/groups', `depthwise2d needs groups = input channels (${C}), got ${g.groups}`);
    if (C % g.groups !== 0 || Co % g.groups !== 0) {
      at('/groups', `groups ${g.groups} must divide input channels ${C} and output channels ${Co}`);
    }
    const [Ho, Wo] = expectedOutputHW(g);
    if (Ho < 1 || Wo < 1) at('/kernel', `the dilated kernel does not fit the padded input ${g.input[0]}×${g.input[1]}`);
    if (Ho !== g.output[0] || Wo !== g.output[1]) {
      at('/output', `output is ${g.output[0]}×${g.output[1]} but kernel/stride/padding/dilation give ${Ho}×${Wo}`);
    }
  });
  return m;
}

/** Parse manifest text (JSON syntax errors become InputErrors naming the file). */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, { file });
  }
  return validateManifest(json, file);
}

/** Read and validate `<dir>/manifest.json`. */
export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new InputError('trace manifest not found', { file });
    throw e;
  }
  return parseManifest(text, file);
}
