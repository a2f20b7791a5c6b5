/**
 * The trace manifest (docs/design.md §3): types, JSON Schema validation (ajv) and the consistency checks a
 * schema cannot express (output shape from the conv geometry, groups, per-channel scales; a version-2
 * manifest's graph: traces/graph.ts).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, win32 } from 'node:path';
import { Ajv } from 'ajv';
import { InputError, quote } from '../lib/errors.js';
import { parseJsonText } from '../lib/json.js';
import { packagePath } from '../lib/package-dir.js';
import { schemaError } from '../lib/schema-error.js';
import type { Dtype } from './npy.js';
import { validateGraph, type TraceGraph } from './graph.js';
import { layerOf, validateLayer, spatial, type LayerOp, type Padding, type Pair } from './layer.js';

export interface ActSpec {
  file: string;
  dtype: Dtype;
  /** value = level × scale; one number or one per input channel. */
  scale: number | number[];
  signed: boolean;
  /** How act.file stores the levels: `npy` (the default when absent) or `deltas` (traces/deltas.ts). */
  encoding?: Encoding;
}

/** Layer file encodings; each has its file extension. */
export type Encoding = 'npy' | 'deltas';
export const ENCODING_EXT: Readonly<Record<Encoding, string>> = { npy: '.npy', deltas: '.deltas' };

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
  /** sha256 (hex) of the whole layer file. */
  sha256: string;
}

export interface Manifest {
  format: 'deltasim-trace';
  /** 1: the layers form a chain in layers[] order; 2: `graph` says which layer reads which tensor. */
  version: 1 | 2;
  model: { name: string; source?: string; [key: string]: unknown };
  frames: number;
  fps: number;
  clip?: { source: string; firstFrame?: number; [key: string]: unknown };
  layers: LayerSpec[];
  /** Version 2 only (and required there). */
  graph?: TraceGraph;
}

export const MANIFEST_FILE = 'manifest.json';

// strictRequired off: the schema's if/then/else requires keys declared in the enclosing object
// verbose: errors carry their schema, so a pattern error can quote the key's description
const ajv = new Ajv({ strict: true, strictRequired: false, verbose: true });
const schema: unknown = JSON.parse(readFileSync(packagePath('traces', 'manifest.schema.json'), 'utf8'));
const validateSchema = ajv.compile<Manifest>(schema as object);

/** Schema and consistency checks; returns the manifest typed. `file` names it in errors. */
export function validateManifest(json: unknown, file: string): Manifest {
  if (!validateSchema(json)) throw schemaError(validateSchema.errors, file);
  const m = json;
  if ((m.version === 2) !== (m.graph !== undefined))
    throw new InputError(m.graph ? 'a graph needs "version": 2' : 'missing required key "graph" (version 2 carries the network graph)', {
      file,
      pointer: '/graph',
    });
  const names = new Set<string>();
  const files = new Set<string>();
  m.layers.forEach((layer, i) => {
    const at = (key: string, msg: string): never => {
      throw new InputError(msg, { file, pointer: `/layers/${i}${key}` });
    };
    if (names.has(layer.name)) at('/name', `duplicate layer name ${quote(layer.name)}`);
    const fileProblem = actFileProblem(layer.act.file);
    if (fileProblem) at('/act/file', `${quote(layer.act.file)} ${fileProblem}`);
    if (files.has(layer.act.file)) at('/act/file', `file ${quote(layer.act.file)} is used by two layers`);
    const ext = ENCODING_EXT[layer.act.encoding ?? 'npy'];
    if (!layer.act.file.endsWith(ext))
      at('/act/file', `${quote(layer.act.file)} does not end in ${ext} (act.encoding ${layer.act.encoding ?? 'npy'})`);
    names.add(layer.name);
    files.add(layer.act.file);
    if (layer.act.dtype === 'uint8' && layer.act.signed) at('/act/signed', 'uint8 levels cannot be signed');

    const l = layerOf(layer);
    const { C } = spatial(l);
    if (Array.isArray(layer.act.scale) && layer.act.scale.length !== C) {
      at('/act/scale', `per-channel scale has ${layer.act.scale.length} entries, input has ${C} channels`);
    }
    validateLayer(l, { file, pointer: `/layers/${i}` });
  });
  if (m.graph) validateGraph(m.graph, m.layers, file);
  return m;
}

/** Longest file name most file systems take (bytes of UTF-8). */
const NAME_MAX = 255;

/**
 * Why `file` cannot be a layer's act.file, or undefined: it must name a file in the trace directory
 * itself (not absolute, no separator, not `.`/`..`), hold no NUL or control character, and fit
 * NAME_MAX. The schema's pattern says most of this; this check is the one the reader relies on.
 */
export function actFileProblem(file: string): string | undefined {
  if (Buffer.byteLength(file) > NAME_MAX) return `is longer than ${NAME_MAX} bytes`;
  if (/\p{Cc}/u.test(file)) return 'holds a control character';
  if (isAbsolute(file) || win32.isAbsolute(file) || /[/\\:]/.test(file) || file === '.' || file === '..')
    return 'is not a plain file name in the trace directory';
  return undefined;
}

/** Parse manifest text (JSON syntax errors become InputErrors naming the file). */
export function parseManifest(text: string, file: string): Manifest {
  return validateManifest(parseJsonText(text, file), file);
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

/**
 * How a trace was recorded, as far as its manifest says: the recorder's delta threshold (a graph
 * recording's q: levels = round(a / q)) and the range of the layers' level steps (act.scale).
 */
export interface Recording {
  recorder: string | null;
  threshold: number | null;
  scale: { min: number; max: number } | null;
  /** model.thresholds: how the steps were chosen (absolute / relative / per-layer), when the recorder says. */
  thresholds?: { mode: string; value?: number; percentile?: number; calibrationFrames?: number };
  /** model.keyFrameEvery: every N-th frame is a key frame (absent: frame 0 only). */
  keyFrameEvery?: number;
  /** model.updateMask: DeltaCNN tile-granular updates (src/record/update-mask.ts). */
  updateMask?: { tile: number; dilation: number };
  /** clip.nativeFps, the manifest's fps, and clip.duplicatedFrames (recorded frames equal to the one before). */
  nativeFps?: number;
  fps?: number;
  duplicatedFrames?: number;
  /** model.drift: recorded closed loop, the output drift against dense inference (drift.json; src/record/drift/). */
  drift?: {
    countedFrames: number;
    relL2Mean: number | null;
    relL2Max: number | null;
    task?: { kind: string; metric: string; mean: number | null };
    search?: { budget: number; on: string };
  };
}

/** The key-frame period of a manifest (model.keyFrameEvery), undefined for frame 0 only. */
export function keyFrameEvery(m: Pick<Manifest, 'model'>): number | undefined {
  const n = m.model.keyFrameEvery;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** Frame t is a key frame (the delta reference restarts from zeros, every output is evaluated): t = 0, or t a multiple of `every`. */
export function isKeyFrame(t: number, every: number | undefined): boolean {
  return t === 0 || (every !== undefined && t % every === 0);
}

/** A manifest's Recording (traces/manifest.ts: model.recorder, model.threshold, each layer's act.scale). */
export function recordingOf(m: Pick<Manifest, 'model' | 'layers'> & Partial<Pick<Manifest, 'clip' | 'fps'>>): Recording {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const scales = m.layers.flatMap((l) => (Array.isArray(l.act.scale) ? l.act.scale : [l.act.scale]));
  const th = m.model.thresholds as Recording['thresholds'] | undefined;
  const mask = m.model.updateMask as Recording['updateMask'] | undefined;
  const every = keyFrameEvery(m);
  const nativeFps = num(m.clip?.nativeFps);
  const dup = num(m.clip?.duplicatedFrames);
  const drift = m.model.drift as Recording['drift'] | undefined;
  return {
    recorder: typeof m.model.recorder === 'string' ? m.model.recorder : null,
    threshold: num(m.model.threshold),
    scale: scales.length ? { min: Math.min(...scales), max: Math.max(...scales) } : null,
    // only the keys a manifest has: summaries of older traces stay as they were
    ...(th && typeof th.mode === 'string'
      ? { thresholds: { mode: th.mode, ...pick(th, ['value', 'percentile', 'calibrationFrames']) } }
      : {}),
    ...(every !== undefined ? { keyFrameEvery: every } : {}),
    ...(mask && typeof mask.tile === 'number' ? { updateMask: { tile: mask.tile, dilation: mask.dilation } } : {}),
    ...(nativeFps !== null ? { nativeFps, ...(m.fps !== undefined ? { fps: m.fps } : {}) } : {}),
    ...(dup !== null ? { duplicatedFrames: dup } : {}),
    ...(drift && typeof drift.countedFrames === 'number' ? { drift: driftOf(drift) } : {}),
  };
}

function driftOf(d: NonNullable<Recording['drift']>): NonNullable<Recording['drift']> {
  return {
    countedFrames: d.countedFrames,
    relL2Mean: d.relL2Mean,
    relL2Max: d.relL2Max,
    ...(d.task ? { task: { kind: d.task.kind, metric: d.task.metric, mean: d.task.mean } } : {}),
    ...(d.search ? { search: { budget: d.search.budget, on: d.search.on } } : {}),
  };
}

function pick<T extends object>(o: T, keys: readonly (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.filter((k) => typeof o[k] === 'number').map((k) => [k, o[k]])) as Partial<T>;
}
