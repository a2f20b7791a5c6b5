/**
 * Refresh the bundled models (src/tf/pretrained/, what `npm start` loads) from a paper-reproduction run:
 * copies one seed's baseline and delta model directories, byte for byte (model.json, weights.bin and
 * meta.json, which records the training command, recipe and held-out evaluation), and writes README.md
 * from their meta.json. The study itself (studies/paper-repro/run.ts) never writes there.
 * Refuses to replace a model or README.md already in the destination unless --force.
 *
 *   npx tsx studies/paper-repro/refresh-bundled-models.ts [--models reports/paper-repro/models] [--seed 1]
 *                                                         [--to src/tf/pretrained] [--force]
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDirAtomic, writeFileAtomic } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import { initBackend } from '../../src/tf/backend.js';
import type { Evaluation } from '../../src/tf/evaluate.js';
import { loadModel, MODEL_FILES, type ModelMeta } from '../../src/tf/persist.js';
import type { Recipe } from './recipe.js';

const BUNDLED = ['baseline', 'delta'] as const;
type Bundled = (typeof BUNDLED)[number];
type Figures = Pick<
  Evaluation,
  'clips' | 'accuracy' | 'spatialSparsity' | 'temporalSparsity' | 'spatialOperationSparsity' | 'operationSparsity'
>;
/** What the study records in each saved model's meta.json (studies/paper-repro/run.ts). */
interface StudyTraining {
  command: string;
  recipe: Recipe;
  evaluation: Figures;
}

const { values } = parseArgs({
  options: {
    /** A study run's saved models: seed-N/{baseline,l1,delta}. */
    models: { type: 'string', default: 'reports/paper-repro/models' },
    seed: { type: 'string', default: '1' },
    to: { type: 'string', default: 'src/tf/pretrained' },
    force: { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
if (!(Number.isInteger(seed) && seed >= 1)) throw new InputError(`--seed must be an integer >= 1, got "${values.seed}"`);
const from = (v: Bundled) => join(values.models, `seed-${seed}`, v);
const targets = [...BUNDLED.map((v) => join(values.to, v)), join(values.to, 'README.md')];
if (BUNDLED.some((v) => resolve(from(v)) === resolve(values.to, v))) throw new InputError('--models and --to name the same models');
const present = targets.filter((t) => existsSync(t));
if (present.length > 0 && !values.force) {
  throw new InputError(`would replace ${present.join(', ')}; pass --force to refresh the bundled models`);
}

await initBackend({ quiet: true });
/** Each model must load and carry the study's meta.json; both must come from the same training run. */
const metas = {} as Record<Bundled, ModelMeta & { training: StudyTraining }>;
for (const v of BUNDLED) {
  const { model, meta } = await loadModel(from(v));
  model.dispose();
  const training = meta?.training as Partial<StudyTraining> | undefined;
  if (!(meta && training?.command && training.recipe && training.evaluation)) {
    throw new InputError('no meta.json with the training command, recipe and evaluation (not saved by the paper-repro study?)', {
      file: join(from(v), MODEL_FILES.meta),
    });
  }
  if (meta.variant !== v || meta.seed !== seed) {
    throw new InputError(`meta.json says variant ${meta.variant}, seed ${meta.seed}; expected ${v}, seed ${seed}`, {
      file: join(from(v), MODEL_FILES.meta),
    });
  }
  metas[v] = meta as ModelMeta & { training: StudyTraining };
}
if (metas.baseline.training.command !== metas.delta.training.command) {
  throw new InputError(
    `baseline and delta come from different runs ("${metas.baseline.training.command}" vs "${metas.delta.training.command}")`,
  );
}

for (const v of BUNDLED) {
  await writeDirAtomic(join(values.to, v), (tmp) => {
    for (const f of Object.values(MODEL_FILES)) copyFileSync(join(from(v), f), join(tmp, f));
  });
}
const { command, recipe } = metas.baseline.training;
writeFileAtomic(
  join(values.to, 'README.md'),
  bundleReadme(recipe, { baseline: metas.baseline.training.evaluation, delta: metas.delta.training.evaluation }, seed, command),
);
process.stderr.write(
  `copied ${from('baseline')} and ${from('delta')} to ${values.to}/{baseline,delta}; wrote ${join(values.to, 'README.md')}\n`,
);

/** src/tf/pretrained/README.md: what the bundled models are, how they were made, what they measure. */
function bundleReadme(recipe: Recipe, e: Record<Bundled, Figures>, seed: number, cmd: string): string {
  const p = (x: number) => `${(100 * x).toFixed(1)} %`;
  const row = (v: Bundled) =>
    `| \`${v}/\` | ${p(e[v].accuracy)} | ${p(e[v].spatialSparsity)} | ${p(e[v].temporalSparsity)} | ${p(e[v].spatialOperationSparsity)} | ${p(e[v].operationSparsity)} |`;
  return [
    '# Bundled models (for `npm start`)',
    '',
    `A baseline (relu + fixed quantiser) and a Delta Activation Layer model refined from it, seed ${seed}, trained by`,
    '',
    '```',
    cmd,
    '```',
    '',
    `with the recipe of \`studies/paper-repro/recipe.ts\` (also in each \`meta.json\`): net \`${recipe.net}\` with MotionInput (each frame + its temporal`,
    `difference), frames ${recipe.frameShape.join('×')}, procedural classes ${(recipe.data.classes ?? []).join(', ')}, noise ${recipe.data.noise}, flicker ${recipe.data.flicker}.`,
    ...(recipe.fanOut
      ? [
          `Penalty fan-out: ${recipe.fanOut}; the delta model ${recipe.delta.inputDelta ? `has the input Delta Activation Layer on the frames (threshold init ${Number(recipe.delta.inputThreshold.toFixed(5))})` : 'has no input Delta Activation Layer'}.`,
        ]
      : []),
    'Load with `loadModel(dir)` from `src/tf/persist.ts`. Measured on the held-out split:',
    '',
    '| model | accuracy | spatial sparsity | temporal sparsity | spatial op. sparsity | temporal op. sparsity |',
    '|---|---|---|---|---|---|',
    row('baseline'),
    row('delta'),
    '',
    `Held-out clips: ${e.baseline.clips}. Operation sparsities are fan-out weighted (src/tf/evaluate.ts). Same command ⇒ same bytes.`,
    `Copied here, byte for byte, from that run's \`models/seed-${seed}/\` by \`studies/paper-repro/refresh-bundled-models.ts --seed ${seed}\`.`,
    '',
  ].join('\n');
}
