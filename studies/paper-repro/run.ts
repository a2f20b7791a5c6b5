/**
 * The paper reproduction (issue 6). Training half: trains baseline, spatial L1 and Delta Activation Layer
 * models per seed with the recipe of studies/paper-repro/recipe.ts, evaluates them on held-out clips and
 * writes results.json + results.md; every seed's models are saved (OUT/models/seed-N/<variant>, ~0.2 MB a seed).
 * Simulation half (studies/paper-repro/simulation.ts): traces of those models on held-out clips and real video,
 * replayed on the shipped hw-models → simulation.json + simulation.md + charts, and README-table.md.
 * `--models DIR` skips training and simulates the models an earlier run saved (its results.json in OUT
 * feeds README-table.md); with `--reevaluate` it first evaluates them again on the held-out clips and rewrites
 * results.{json,md} (after a change to how evaluate() counts, without retraining). The study writes only under OUT (and the traces directory); copying a seed's
 * models into src/tf/pretrained/ is studies/paper-repro/refresh-bundled-models.ts.
 *
 *   npx tsx studies/paper-repro/run.ts [--seeds 1,2,3] [--smoke] [--select] [--recipe JSON] [--out reports/paper-repro]
 *                          [--models DIR [--reevaluate]] [--clips 4] [--frames 16] [--video-frames 32] [--videos a.avi,b.avi]
 *                          [--traces reports/runs/paper-repro/traces] [--date YYYY-MM-DD]
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tf/backend.js';
import { loadModel, saveModel } from '../../src/tf/persist.js';
import { VARIANTS, type Variant } from '../../src/tf/models.js';
import { evaluate, type Evaluation } from '../../src/tf/evaluate.js';
import { writeFileAtomic } from '../../lib/atomic.js';
import { InputError } from '../../lib/errors.js';
import { RECIPE, runSeed, smoke, testSet, type Recipe } from './recipe.js';
import { markdown, summarise, verdict, type VariantSummary, type Verdict } from './table.js';
import { SIM_DEFAULTS, simulateStudy, summariseSimulation, type SimStudyOptions } from './simulation.js';
import { readmeTable, simulationCharts, simulationMarkdown } from './sim-report.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string', default: 'reports/paper-repro' },
    /** Top-level recipe keys to replace, as JSON (for trying variations; recorded in the results). */
    recipe: { type: 'string' },
    /** Recipe selection: evaluate on validation clips (another data seed), write OUT/validation.{json,md}, no simulation. */
    select: { type: 'boolean', default: false },
    /** Where every seed's three models are saved (seed-N/{baseline,l1,delta}); default OUT/models. */
    'save-models': { type: 'string' },
    /** Skip training: simulate the models an earlier run saved here (seed-N/<variant>). */
    models: { type: 'string' },
    /** With --models: evaluate the saved models again and rewrite results.{json,md}. */
    reevaluate: { type: 'boolean', default: false },
    clips: { type: 'string' },
    frames: { type: 'string' },
    'video-frames': { type: 'string' },
    /** Comma-separated video files (default: opencv-doc's vtest.avi and Megamind.avi, at their native rates); '' for none. */
    videos: { type: 'string' },
    traces: { type: 'string', default: 'reports/runs/paper-repro/traces' },
    /** Date printed in README-table.md (the only line that depends on when the study ran). */
    date: { type: 'string', default: new Date().toISOString().slice(0, 10) },
  },
});
const seeds = values.smoke ? [1] : values.seeds.split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s))) throw new InputError(`--seeds: integers separated by commas, got "${values.seeds}"`);
const int = (name: string, v: string | undefined, fallback: number) => {
  const n = v === undefined ? fallback : Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(`--${name} must be an integer >= 1, got "${v}"`);
  return n;
};
const simOptions: SimStudyOptions = {
  ...SIM_DEFAULTS,
  clips: int('clips', values.clips, values.smoke ? 1 : SIM_DEFAULTS.clips),
  frames: int('frames', values.frames, values.smoke ? 4 : SIM_DEFAULTS.frames),
  videoFrames: int('video-frames', values['video-frames'], values.smoke ? 4 : SIM_DEFAULTS.videoFrames),
  videos: values.videos === undefined ? SIM_DEFAULTS.videos : values.videos.split(',').filter((v) => v !== ''),
  tracesDir: values.traces,
};
const command = ['npx tsx studies/paper-repro/run.ts', ...process.argv.slice(2)].join(' ');
const modelsDir = values.models ?? values['save-models'] ?? join(values.out, 'models');
const modelDir = (seed: number, v: Variant) => join(modelsDir, `seed-${seed}`, v);
const log = (line: string) => process.stderr.write(`${line}\n`);
const backend = await initBackend({ quiet: true });

/** Train every seed, save its models, write results.{json,md}; the figures README-table.md needs. */
async function trainStudy(recipe: Recipe): Promise<Training> {
  const evals: Record<Variant, Evaluation[]> = { baseline: [], l1: [], delta: [] };
  for (const seed of seeds) {
    const run = await runSeed(recipe, seed, log, values.select ? 'validation' : 'test');
    for (const v of VARIANTS) {
      evals[v].push(run.evaluations[v]);
      const e = run.evaluations[v];
      log(
        `seed ${seed} ${v}: accuracy ${(100 * e.accuracy).toFixed(1)} %, spatial op. sparsity ${(100 * e.spatialOperationSparsity).toFixed(1)} %, temporal op. sparsity ${(100 * e.operationSparsity).toFixed(1)} %`,
      );
    }
    if (!values.select)
      for (const v of VARIANTS) {
        const e = run.evaluations[v];
        await saveModel(modelDir(seed, v), run.models[v], {
          net: recipe.net,
          variant: v,
          classes: [...(recipe.data.classes ?? [])],
          frameShape: recipe.frameShape,
          seed,
          training: {
            command,
            recipe,
            // the keys `deltasim train` writes, so a `--from` refinement keeps these options
            fanOut: recipe.fanOut,
            inputDelta: v === 'delta' && recipe.delta.inputDelta,
            ...(v === 'delta' && recipe.delta.inputDelta ? { inputThreshold: recipe.delta.inputThreshold } : {}),
            evaluation: {
              clips: e.clips,
              accuracy: e.accuracy,
              spatialSparsity: e.spatialSparsity,
              temporalSparsity: e.temporalSparsity,
              spatialOperationSparsity: e.spatialOperationSparsity,
              operationSparsity: e.operationSparsity,
            },
          },
        });
      }
    for (const m of Object.values(run.models)) m.dispose();
  }
  return writeTraining(recipe, evals, command);
}

/** results.{json,md} from every seed's evaluations; `trainedBy`: the command that trained the models, when not this one. */
function writeTraining(recipe: Recipe, evals: Record<Variant, Evaluation[]>, trainedBy = command): Training {
  const summary = Object.fromEntries(VARIANTS.map((v) => [v, summarise(v, evals[v])])) as Record<Variant, VariantSummary>;
  const clips = evals.baseline[0]!.clips;
  const name = values.select ? 'validation' : 'results';
  writeFileAtomic(
    join(values.out, `${name}.json`),
    `${JSON.stringify({ command: trainedBy, ...(trainedBy !== command ? { evaluatedBy: command } : {}), seeds, split: values.select ? 'validation' : 'test', recipe, verdict: verdict(summary), summary, evaluations: evals }, null, 2)}\n`,
  );
  writeFileAtomic(
    join(values.out, `${name}.md`),
    markdown(summary, seeds, {
      command: trainedBy,
      ...(trainedBy !== command ? { evaluatedBy: command } : {}),
      recipe,
      clips,
      split: values.select ? 'validation' : 'held-out',
    }),
  );
  const v = verdict(summary);
  log(
    `baseline ÷ delta non-zero operations ${v.opsReduction.toFixed(2)}×, delta accuracy drop ${v.deltaAccuracyDrop.toFixed(1)} points, L1 in between: ${v.l1InBetween}`,
  );
  log(`wrote ${join(values.out, `${name}.json`)} and ${name}.md`);
  return { command: trainedBy, summary, verdict: v, clips, recipe };
}

/** The saved models evaluated again on the held-out clips (`--reevaluate`). */
async function reevaluate(recipe: Recipe, trainedBy: string): Promise<Training> {
  const evals: Record<Variant, Evaluation[]> = { baseline: [], l1: [], delta: [] };
  for (const seed of seeds)
    for (const v of VARIANTS) {
      const { model } = await loadModel(modelDir(seed, v));
      evals[v].push(await evaluate(model, testSet(recipe)));
      model.dispose();
    }
  return writeTraining(recipe, evals, trainedBy);
}

interface Training {
  command: string;
  summary: Record<Variant, VariantSummary>;
  verdict: Verdict;
  clips: number;
  recipe: Recipe;
}

/** An earlier run's training figures (OUT/results.json), or null when there is none. */
function readTraining(): Training | null {
  const file = join(values.out, 'results.json');
  if (!existsSync(file)) return null;
  const r = JSON.parse(readFileSync(file, 'utf8')) as Training & { evaluations: Record<Variant, Evaluation[]> };
  return { command: r.command, summary: r.summary, verdict: r.verdict, clips: r.evaluations.baseline[0]!.clips, recipe: r.recipe };
}

if (values.reevaluate && !values.models) throw new InputError('--reevaluate needs --models DIR (the saved models to evaluate again)');
if (values.models) {
  for (const seed of seeds)
    for (const v of VARIANTS) {
      if (!existsSync(join(modelDir(seed, v), 'model.json')))
        throw new InputError(`--models: no ${v} model for seed ${seed}`, { file: modelDir(seed, v) });
    }
}
let training: Training | null;
let recipe: Recipe;
if (values.models) {
  training = readTraining();
  const { meta } = await loadModel(modelDir(seeds[0]!, 'baseline'));
  recipe = (meta?.training?.recipe as Recipe | undefined) ?? training?.recipe ?? RECIPE;
  if (values.reevaluate) training = await reevaluate(recipe, training?.command ?? String(meta?.training?.command ?? 'unknown'));
} else {
  const base = values.recipe ? { ...RECIPE, ...(JSON.parse(values.recipe) as Partial<Recipe>) } : RECIPE;
  recipe = values.smoke ? smoke(base) : base;
  training = await trainStudy(recipe);
  if (values.select) process.exit(0);
}

const sim = await simulateStudy(
  recipe,
  seeds,
  async (seed) => {
    const models = {} as Record<Variant, Awaited<ReturnType<typeof loadModel>>['model']>;
    for (const v of VARIANTS) models[v] = (await loadModel(modelDir(seed, v))).model;
    return models;
  },
  simOptions,
  log,
);
const configs = summariseSimulation(sim.clips);
const { tracesDir: _traces, ...shownOptions } = simOptions;
const charts = simulationCharts(sim.clips, configs);
for (const [name, png] of Object.entries(charts)) writeFileAtomic(join(values.out, name), png);
writeFileAtomic(
  join(values.out, 'simulation.json'),
  `${JSON.stringify({ command, seeds, options: shownOptions, notes: sim.notes, configs, clips: sim.clips.map(({ runs, ...c }) => ({ ...c, runs: runs.map(({ latencyUs: _l, energyUJ: _e, ...r }) => r) })) }, null, 2)}\n`,
);
writeFileAtomic(
  join(values.out, 'simulation.md'),
  simulationMarkdown(configs, { command, seeds, options: shownOptions, notes: sim.notes, charts: Object.keys(charts), clips: sim.clips }),
);
if (training) {
  const cpu = cpus();
  writeFileAtomic(
    join(values.out, 'README-table.md'),
    readmeTable({
      summary: training.summary,
      verdict: training.verdict,
      trainingCommand: training.command,
      clipsEvaluated: training.clips,
      seeds,
      configs,
      simCommand: command,
      options: shownOptions,
      notes: sim.notes,
      date: values.date,
      machine: `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, tfjs backend ${backend}`,
    }),
  );
} else {
  log(`no ${join(values.out, 'results.json')}: README-table.md not written (run the training first)`);
}
log(`wrote ${join(values.out, 'simulation.json')}, simulation.md, ${Object.keys(charts).join(', ')}${training ? ', README-table.md' : ''}`);
