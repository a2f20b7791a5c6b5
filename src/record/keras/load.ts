/**
 * Loading a Keras model in the tfjs layers format (model.json: `modelTopology` + `weightsManifest`,
 * weight shards beside it) offline: files read with our own fs code (graph/load.ts readWeights) and
 * handed to `tf.loadLayersModel` from memory (a `file://` handler needs tfjs-node).
 *
 * `nsfwjs:NAME` names a layers model shipped in the nsfwjs package (mobilenet_v2 at 224², inception_v3
 * at 299²; pixels / 255 in, as nsfwjs feeds them). nsfwjs ships them as browserify bundles, not JSON:
 * `models/NAME/model.min.js` exports the model.json object and each `<shard>.min.js` the shard's bytes
 * as base64 text; they are required from the installed package (nothing is fetched) and decoded here.
 * Used by the Keras recorder (keras-model.ts) and by anything else that starts from a pretrained
 * Keras network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { tf } from '../../tf/backend.js';
import { readWeights } from '../graph/load.js';
import { WEIGHT_BITS, type WeightsGroup } from '../graph/topology.js';

/** The subset of a layers model.json read here. */
export interface KerasModelJson {
  format?: string;
  modelTopology: Record<string, unknown>;
  weightsManifest: WeightsGroup[];
}

export interface LoadedKerasModel {
  /** What the user gave: a path or `nsfwjs:NAME`. */
  source: string;
  /** model.json (or the bundle standing for it), for errors. */
  file: string;
  /** A short name for the manifest: `nsfwjs:NAME`, or the model file's / folder's name. */
  name: string;
  json: KerasModelJson;
  model: tf.LayersModel;
  /** Model input values of pixel levels 0 and 255 when the source says (nsfwjs: [0, 1]). */
  inputRange?: [number, number];
  /** Storage bits of each weight, by its manifest name (`layer/kernel`). */
  weightBits: Map<string, number>;
}

const NSFWJS_PREFIX = 'nsfwjs:';
/** nsfwjs's layers models (its mobilenet_v2_mid is a graph model, a different format). */
export const NSFWJS_MODELS = ['mobilenet_v2', 'inception_v3'] as const;

/** Load `ref`: a path to a Keras layers model.json, or `nsfwjs:NAME`. */
export async function loadKerasModel(ref: string): Promise<LoadedKerasModel> {
  const src = ref.startsWith(NSFWJS_PREFIX) ? readNsfwjs(ref) : readFiles(ref);
  const weightSpecs = src.json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  let model: tf.LayersModel;
  try {
    const artifacts: tf.io.ModelArtifacts = { modelTopology: src.json.modelTopology, weightSpecs, weightData: src.weightData };
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new InputError(`cannot build the Keras model (${e instanceof Error ? e.message : String(e)})`, { file: src.file });
  }
  const weightBits = new Map(weightSpecs.map((w) => [w.name, WEIGHT_BITS[w.quantization?.dtype ?? w.dtype] ?? 32]));
  return { source: ref, ...src, model, weightBits };
}

interface Read {
  file: string;
  name: string;
  json: KerasModelJson;
  weightData: ArrayBuffer;
  inputRange?: [number, number];
}

function readFiles(path: string): Read {
  const file = resolve(path);
  if (!existsSync(file)) throw new InputError('model file not found (a Keras layers model.json, or nsfwjs:NAME)', { file: path });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file });
  }
  const checked = checkJson(json, file);
  const name = basename(file) === 'model.json' ? basename(dirname(file)) : basename(file, '.json');
  return { file, name, json: checked, weightData: readWeights(file, checked) };
}

/** A layers model.json: `modelTopology` a Keras model config (not a graph's node list) and a weightsManifest. */
function checkJson(json: unknown, file: string): KerasModelJson {
  const j = json as Partial<KerasModelJson> | null;
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new InputError('not a JSON object', { file });
  const topo = j.modelTopology as { node?: unknown; class_name?: unknown; model_config?: unknown } | undefined;
  if (j.format === 'graph-model' || Array.isArray(topo?.node))
    throw new InputError('a tfjs graph model, not a Keras layers model (record it with --graph)', { file, pointer: '/modelTopology' });
  if (typeof topo !== 'object' || topo === null || (topo.class_name === undefined && topo.model_config === undefined))
    throw new InputError('no Keras modelTopology (class_name / model_config): not a tfjs layers model', {
      file,
      pointer: '/modelTopology',
    });
  if (!Array.isArray(j.weightsManifest)) throw new InputError('no weightsManifest', { file, pointer: '/weightsManifest' });
  return j as KerasModelJson;
}

/** The folder of nsfwjs's model bundles, from its resolved entry (the package does not export package.json). */
function nsfwjsModelsDir(ref: string): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('nsfwjs'); // <pkg>/dist/cjs/index.js
  } catch {
    throw new InputError(`${ref}: the nsfwjs package is not installed (npm install nsfwjs)`);
  }
  return join(dirname(dirname(entry)), 'models');
}

function readNsfwjs(ref: string): Read {
  const name = ref.slice(NSFWJS_PREFIX.length);
  if (!(NSFWJS_MODELS as readonly string[]).includes(name))
    throw new InputError(
      `unknown nsfwjs model ${JSON.stringify(name)} (nsfwjs's layers models: ${NSFWJS_MODELS.map((m) => NSFWJS_PREFIX + m).join(', ')})`,
    );
  const dir = join(nsfwjsModelsDir(ref), name);
  const file = join(dir, 'model.min.js');
  const json = checkJson(requireBundle(file), file);
  const shards = json.weightsManifest.flatMap((g, gi) =>
    g.paths.map((p, pi) => {
      const text = requireBundle(join(dir, `${p}.min.js`));
      if (typeof text !== 'string')
        throw new InputError('weight bundle does not hold base64 text', {
          file: join(dir, `${p}.min.js`),
          pointer: `/weightsManifest/${gi}/paths/${pi}`,
        });
      return Buffer.from(text, 'base64');
    }),
  );
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { file, name: ref, json, weightData, inputRange: [0, 1] };
}

/** The value a CommonJS bundle exports, not kept in require's cache (the shards are megabytes of text). */
function requireBundle(file: string): unknown {
  if (!existsSync(file)) throw new InputError('nsfwjs model bundle not found (is nsfwjs 4.x installed?)', { file });
  const req = createRequire(import.meta.url);
  try {
    return req(file);
  } catch (e) {
    throw new InputError(`cannot read the bundle (${e instanceof Error ? e.message : String(e)})`, { file });
  } finally {
    delete req.cache[file];
  }
}
