/**
 * A model directory: model.json (tfjs layers format, weightsManifest → weights.bin), weights.bin and
 * meta.json (what the model is for: net, variant, class names, frame shape, seed, training args).
 * Written atomically; readable by tf.loadLayersModel('file://…/model.json') in tfjs-node as well.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from './backend.js';
import { writeDirAtomic } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import { parseJsonText } from '../../lib/json.js';
import './layers/index.js'; // registers the custom layers before any model.json is parsed

export interface ModelMeta {
  net: string;
  variant: string;
  classes: string[];
  /** One frame: [H, W, C]. */
  frameShape: [number, number, number];
  seed: number;
  /** The training run's arguments and results (free form, JSON). */
  training?: Record<string, unknown>;
}

export const MODEL_FILES = { model: 'model.json', weights: 'weights.bin', meta: 'meta.json' } as const;

/** Save `model` and `meta` to `dir`, replacing it only once everything is written. */
export async function saveModel(dir: string, model: tf.LayersModel, meta: ModelMeta): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const weights = new Uint8Array(a.weightData ? tf.io.CompositeArrayBuffer.join(a.weightData) : new ArrayBuffer(0));
  const modelJson = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: a.weightSpecs ?? [] }],
  };
  await writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, MODEL_FILES.model), JSON.stringify(modelJson));
    writeFileSync(join(tmp, MODEL_FILES.weights), weights);
    writeFileSync(join(tmp, MODEL_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
  });
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new InputError('file not found', { file });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  return parseJsonText(text, file) as Record<string, unknown>;
}

/** Load a model directory written by `saveModel` (meta.json optional for models made elsewhere: meta is then null). */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta | null }> {
  const modelFile = join(dir, MODEL_FILES.model);
  const json = readJson(modelFile);
  const manifest = json.weightsManifest as Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> | undefined;
  if (!json.modelTopology || !Array.isArray(manifest)) {
    throw new InputError('not a tfjs layers model (needs modelTopology and weightsManifest)', { file: modelFile });
  }
  const weightSpecs = manifest.flatMap((g) => g.weights);
  const buffers = manifest
    .flatMap((g) => g.paths)
    .map((p) => {
      const file = join(dir, p);
      if (!existsSync(file)) throw new InputError('weights file not found', { file });
      const b = readFileSync(file);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    });
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  // A truncated weights.bin would otherwise surface as an opaque tfjs error.
  const bytes: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  const plain = weightSpecs.every((s) => !s.quantization && bytes[s.dtype] !== undefined);
  const expected = weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (bytes[s.dtype] ?? 0), 0);
  if (plain && weightData.byteLength !== expected) {
    throw new InputError(`weights hold ${weightData.byteLength} bytes, the manifest needs ${expected}`, {
      file: join(dir, manifest[0]?.paths[0] ?? ''),
    });
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs, weightData }));
  } catch (e) {
    throw new InputError(`cannot build the model: ${(e as Error).message}`, { file: modelFile });
  }
  const metaFile = join(dir, MODEL_FILES.meta);
  const meta = existsSync(metaFile) ? (readJson(metaFile) as unknown as ModelMeta) : null;
  return { model, meta };
}
