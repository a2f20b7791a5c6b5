/**
 * Loading a tfjs graph model offline: model.json and its weight shards are read with fs (no
 * `file://` handler, which needs tfjs-node) and handed to `tf.loadGraphModel` from memory.
 * `human:NAME` names a model shipped in the `@vladmandic/human` package (models/NAME.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { tf } from '../../tf/backend.js';
import type { GraphModelJson } from './topology.js';

export interface LoadedGraphModel {
  /** Resolved path of model.json. */
  file: string;
  json: GraphModelJson;
  model: tf.GraphModel;
}

const HUMAN_PREFIX = 'human:';

/** Path of model.json for a path or a `human:NAME` reference. */
export function resolveModelFile(model: string): string {
  if (!model.startsWith(HUMAN_PREFIX)) return resolve(model);
  const name = model.slice(HUMAN_PREFIX.length);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new InputError(`bad model name ${JSON.stringify(model)}`);
  let pkgMain: string;
  try {
    // Resolving (not importing) the package's node entry locates its folder.
    pkgMain = createRequire(import.meta.url).resolve('@vladmandic/human');
  } catch {
    throw new InputError(`${model}: the @vladmandic/human package is not installed (npm install @vladmandic/human)`);
  }
  return join(dirname(dirname(pkgMain)), 'models', `${name}.json`);
}

/** Read and check model.json (a graph model: `modelTopology.node` and `weightsManifest`). */
export function readGraphModelJson(file: string): GraphModelJson {
  if (!existsSync(file)) throw new InputError('model file not found', { file });
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file });
  }
  const j = json as Partial<GraphModelJson> & { format?: string };
  const topo = j.modelTopology as { class_name?: unknown; model_config?: unknown } | undefined;
  if (j.format === 'layers-model' || topo?.class_name !== undefined || topo?.model_config !== undefined)
    throw new InputError('a Keras layers model, not a graph model (record it with --keras)', { file, pointer: '/modelTopology' });
  if (!Array.isArray(j.modelTopology?.node))
    throw new InputError('no modelTopology.node list: not a tfjs graph model', { file, pointer: '/modelTopology' });
  if (!Array.isArray(j.weightsManifest)) throw new InputError('no weightsManifest', { file, pointer: '/weightsManifest' });
  return j as GraphModelJson;
}

/** Read the weight shards named by the manifest (relative to model.json) into one buffer (graph and layers models alike). */
export function readWeights(file: string, json: Pick<GraphModelJson, 'weightsManifest'>): ArrayBuffer {
  const shards = json.weightsManifest.flatMap((g, gi) =>
    g.paths.map((p, pi) => {
      const path = join(dirname(file), p);
      if (!existsSync(path))
        throw new InputError(`weight file ${JSON.stringify(p)} not found (${path})`, {
          file,
          pointer: `/weightsManifest/${gi}/paths/${pi}`,
        });
      return readFileSync(path);
    }),
  );
  const all = Buffer.concat(shards);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

/** Load the graph model whose model.json (`file`) has been read as `json`. */
export async function loadGraphModel(file: string, json: GraphModelJson = readGraphModelJson(file)): Promise<LoadedGraphModel> {
  const weightData = readWeights(file, json);
  const artifacts = await tf.io.getModelArtifactsForJSON(json as unknown as tf.io.ModelJSON, async (m) => [
    m.flatMap((g) => g.weights),
    weightData,
  ]);
  try {
    return { file, json, model: await tf.loadGraphModel(tf.io.fromMemory(artifacts)) };
  } catch (e) {
    throw new InputError(`cannot load the graph model (${e instanceof Error ? e.message : String(e)})`, { file });
  }
}
