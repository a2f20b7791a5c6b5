/**
 * The paper-at-scale study's KL – cost plane (issue 18's "at equal agreement", read on KL): every variant of one
 * or more results.json files (studies/paper-at-scale/run.ts), KL to the teacher against the share of non-zero
 * operations, with the Pareto front. Threshold-only deltas at each θ (and at each relative r: a relative arm before
 * training), and each trained arm as its mean over seeds.
 *
 *   npx tsx studies/paper-at-scale/chart.ts --out reports/paper-at-scale/pareto.png RESULTS.json [RESULTS.json …]
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InputError } from '../../lib/errors.js';
import { driftParetoChart, type DriftCostPoint } from '../../src/report/charts.js';

interface Results {
  model: string;
  baseline: { kl: number; paperSparsity: number };
  thresholdOnly: Array<{ threshold: number; kl: number; paperSparsity: number }>;
  runs: Array<{
    variant: string;
    arm?: string;
    thresholdInit?: number;
    relativeThresholdInit?: number;
    before: { kl: number; paperSparsity: number };
    after: { kl: number; paperSparsity: number };
  }>;
  options: { thresholdLrScale?: number };
}

/**
 * One point per variant: the baseline, each θ of threshold-only deltas, each trained arm as the mean over its seeds in
 * all the files (a study's seeds may be run in parts); other duplicates across files once.
 */
export function klCostPoints(all: Results[]): DriftCostPoint[] {
  const points = new Map<string, DriftCostPoint>();
  const add = (label: string, kl: number, sparsity: number) => {
    if (!points.has(label)) points.set(label, { drift: kl, cost: 100 * (1 - sparsity), label });
  };
  const arms = new Map<string, Array<{ kl: number; paperSparsity: number }>>();
  for (const r of all) {
    add('baseline', r.baseline.kl, r.baseline.paperSparsity);
    for (const t of r.thresholdOnly) add(`θ = ${t.threshold}`, t.kl, t.paperSparsity);
    const scale = r.options.thresholdLrScale ?? 1;
    for (const run of r.runs) {
      // Before training, a relative arm is threshold-only deltas at relative thresholds (the same for every seed).
      if (run.relativeThresholdInit !== undefined) add(`r = ${run.relativeThresholdInit} × range`, run.before.kl, run.before.paperSparsity);
      const start = run.relativeThresholdInit !== undefined ? `${run.relativeThresholdInit} × range` : `${run.thresholdInit ?? 0.05}`;
      const name = run.variant === 'l1' ? 'L1' : `DAL θ₀ = ${start}${scale !== 1 ? `, thr. lr × ${scale}` : ''}`;
      arms.set(name, [...(arms.get(name) ?? []), run.after]);
    }
  }
  for (const [name, rows] of arms) {
    const mean = (f: (x: { kl: number; paperSparsity: number }) => number) => rows.reduce((n, x) => n + f(x), 0) / rows.length;
    add(
      name,
      mean((x) => x.kl),
      mean((x) => x.paperSparsity),
    );
  }
  return [...points.values()];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  if (!values.out || positionals.length === 0) throw new InputError('usage: chart.ts --out PNG RESULTS.json [RESULTS.json …]');
  const all = positionals.map((file) => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Results;
    } catch (e) {
      throw new InputError(`${file}: not a results.json (${(e as Error).message})`);
    }
  });
  const models = [...new Set(all.map((r) => r.model))];
  if (models.length !== 1) throw new InputError(`the results are of different models (${models.join(', ')}): one chart per model`);
  const png = driftParetoChart(klCostPoints(all), {
    title: `${models[0]} self-distilled on real video: KL to the teacher against non-zero operations`,
    subtitle: 'threshold-only deltas (θ; r × range) and distilled variants (DAL, mean over seeds); red: the Pareto front',
    drift: 'KL to the teacher on held-out frames (nats / frame, log)',
    cost: 'non-zero operations',
    unit: '% of all',
    logDrift: true,
  });
  const tmp = `${values.out}.tmp`;
  writeFileSync(tmp, png);
  renameSync(tmp, values.out);
  console.log(`wrote ${values.out}`);
}
