/**
 * The paper reproduction, training half (issue 6): trains baseline, spatial L1 and Delta Activation Layer
 * models per seed with the recipe of bench/repro/recipe.ts, evaluates them on held-out clips and writes
 * results.json + results.md. `--bundle DIR` also saves the first seed's baseline and delta models there
 * (src/tf/pretrained/ for `npm start`).
 *
 *   npx tsx bench/repro.ts [--seeds 1,2,3] [--smoke] [--out reports/paper-repro] [--bundle src/tf/pretrained]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { initBackend } from '../src/tf/backend.js';
import { saveModel } from '../src/tf/persist.js';
import { VARIANTS, type Variant } from '../src/tf/models.js';
import type { Evaluation } from '../src/tf/evaluate.js';
import { writeFileAtomic } from '../traces/atomic.js';
import { RECIPE, runSeed, smoke, type Recipe } from './repro/recipe.js';
import { markdown, summarise, verdict, type VariantSummary } from './repro/table.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'reports/paper-repro' },
    bundle: { type: 'string' },
    /** Top-level recipe keys to replace, as JSON (for trying variations; recorded in the results). */
    recipe: { type: 'string' },
  },
});
const seeds = values.smoke ? [1] : values.seeds.split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds: integers separated by commas, got "${values.seeds}"`);
const base = values.recipe ? { ...RECIPE, ...(JSON.parse(values.recipe) as Partial<Recipe>) } : RECIPE;
const recipe = values.smoke ? smoke(base) : base;
const command = ['npx tsx bench/repro.ts', ...process.argv.slice(2)].join(' ');

await initBackend({ quiet: true });
const log = (line: string) => process.stderr.write(`${line}\n`);
const evals: Record<Variant, Evaluation[]> = { baseline: [], l1: [], delta: [] };
for (const seed of seeds) {
  const run = await runSeed(recipe, seed, log);
  for (const v of VARIANTS) {
    evals[v].push(run.evaluations[v]);
    const e = run.evaluations[v];
    log(`seed ${seed} ${v}: accuracy ${(100 * e.accuracy).toFixed(1)} %, spatial op. sparsity ${(100 * e.spatialOperationSparsity).toFixed(1)} %, temporal op. sparsity ${(100 * e.operationSparsity).toFixed(1)} %`);
  }
  if (values.bundle && seed === seeds[0]) {
    writeFileAtomic(join(values.bundle, 'README.md'), bundleReadme(run.evaluations, seed, command));
    for (const v of ['baseline', 'delta'] as const) {
      const classes = [...(recipe.data.classes ?? [])];
      const e = run.evaluations[v];
      await saveModel(join(values.bundle, v), run.models[v], {
        net: recipe.net, variant: v, classes, frameShape: recipe.frameShape, seed,
        training: { command, recipe, evaluation: { clips: e.clips, accuracy: e.accuracy, spatialSparsity: e.spatialSparsity, temporalSparsity: e.temporalSparsity, spatialOperationSparsity: e.spatialOperationSparsity, operationSparsity: e.operationSparsity } },
      });
    }
  }
}
const summary = Object.fromEntries(VARIANTS.map((v) => [v, summarise(v, evals[v])])) as Record<Variant, VariantSummary>;
const clips = evals.baseline[0]!.clips;
writeFileAtomic(join(values.out, 'results.json'), `${JSON.stringify({ command, seeds, recipe, verdict: verdict(summary), summary, evaluations: evals }, null, 2)}\n`);
writeFileAtomic(join(values.out, 'results.md'), markdown(summary, seeds, { command, recipe, clips }));
const v = verdict(summary);
log(`baseline ÷ delta non-zero operations ${v.opsReduction.toFixed(2)}×, delta accuracy drop ${v.deltaAccuracyDrop.toFixed(1)} points, L1 in between: ${v.l1InBetween}`);
log(`wrote ${join(values.out, 'results.json')} and results.md`);

/** src/tf/pretrained/README.md: what the bundled models are, how they were made, what they measure. */
function bundleReadme(e: Record<Variant, Evaluation>, seed: number, cmd: string): string {
  const p = (x: number) => `${(100 * x).toFixed(1)} %`;
  const row = (v: 'baseline' | 'delta') =>
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
    `with the recipe of \`bench/repro/recipe.ts\` (also in each \`meta.json\`): net \`${recipe.net}\` with MotionInput (each frame + its temporal`,
    `difference), frames ${recipe.frameShape.join('×')}, procedural classes ${(recipe.data.classes ?? []).join(', ')}, noise ${recipe.data.noise}, flicker ${recipe.data.flicker}.`,
    'Load with `loadModel(dir)` from `src/tf/persist.ts`. Measured on the held-out split:',
    '',
    '| model | accuracy | spatial sparsity | temporal sparsity | spatial op. sparsity | temporal op. sparsity |',
    '|---|---|---|---|---|---|',
    row('baseline'),
    row('delta'),
    '',
    `Held-out clips: ${e.baseline.clips}. Operation sparsities are fan-out weighted (src/tf/evaluate.ts). Same command ⇒ same bytes.`,
    '',
  ].join('\n');
}
