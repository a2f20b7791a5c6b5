/**
 * Results of the reproduction: per-seed evaluations → mean ± sd per variant and per layer, and the
 * Markdown page with the paper's Table 1 beside ours. What is compared (as the paper counts it):
 * non-zero operations = 1 − operation sparsity, fan-out weighted; for baseline and L1 the SPATIAL
 * operation sparsity (zero skipping of activations), for delta the TEMPORAL one (zero deltas, frame 0 left out).
 */
import type { Variant } from '../../src/tf/models.js';
import { paperOperationSparsity, type Evaluation } from '../../src/tf/evaluate.js';

export const VARIANT_NAMES: Record<Variant, string> = {
  baseline: 'baseline (relu + quantiser)',
  l1: 'spatial L1',
  delta: 'Delta Activation Layer',
};

/** Paper Table 1 (ResNet-50, UCF101), docs/design.md §7. */
export const PAPER: Record<Variant, { accuracy: number; operationSparsity: number }> = {
  baseline: { accuracy: 0.73, operationSparsity: 0.491 },
  l1: { accuracy: 0.654, operationSparsity: 0.653 },
  delta: { accuracy: 0.676, operationSparsity: 0.931 },
};

export interface Stat {
  mean: number;
  sd: number;
}

export function stat(xs: number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

export interface VariantSummary {
  accuracy: Stat;
  /** As the paper counts it (see above). */
  operationSparsity: Stat;
  spatialSparsity: Stat;
  temporalSparsity: Stat;
  spatialOperationSparsity: Stat;
  temporalOperationSparsity: Stat;
  layers: Array<{ name: string; nOutputs: number; spatialSparsity: Stat; temporalSparsity: Stat }>;
}

export function summarise(v: Variant, evals: Evaluation[]): VariantSummary {
  const over = (f: (e: Evaluation) => number) => stat(evals.map(f));
  return {
    accuracy: over((e) => e.accuracy),
    operationSparsity: over((e) => paperOperationSparsity(v, e)),
    spatialSparsity: over((e) => e.spatialSparsity),
    temporalSparsity: over((e) => e.temporalSparsity),
    spatialOperationSparsity: over((e) => e.spatialOperationSparsity),
    temporalOperationSparsity: over((e) => e.operationSparsity),
    layers: evals[0]!.layers.map((l, i) => ({
      name: l.name,
      nOutputs: l.nOutputs,
      spatialSparsity: over((e) => e.layers[i]!.spatialSparsity),
      temporalSparsity: over((e) => e.layers[i]!.temporalSparsity),
    })),
  };
}

const pct = (s: Stat) => `${(100 * s.mean).toFixed(1)} ± ${(100 * s.sd).toFixed(1)} %`;

export interface Verdict {
  /** Non-zero operations of baseline ÷ delta (target ≥ 5). */
  opsReduction: number;
  /** Accuracy points lost by delta (target ≤ 6). */
  deltaAccuracyDrop: number;
  /** L1's operation sparsity lies between baseline's and delta's. */
  l1InBetween: boolean;
}

export function verdict(s: Record<Variant, VariantSummary>): Verdict {
  const nz = (v: Variant) => 1 - s[v].operationSparsity.mean;
  return {
    opsReduction: nz('baseline') / nz('delta'),
    deltaAccuracyDrop: 100 * (s.baseline.accuracy.mean - s.delta.accuracy.mean),
    l1InBetween: nz('l1') < nz('baseline') && nz('l1') > nz('delta'),
  };
}

export function markdown(
  s: Record<Variant, VariantSummary>,
  seeds: number[],
  context: { command: string; evaluatedBy?: string; recipe: unknown; clips: number; split?: 'held-out' | 'validation' },
): string {
  const v = verdict(s);
  const variants = ['baseline', 'l1', 'delta'] as const;
  const rows = variants.map(
    (k) =>
      `| ${VARIANT_NAMES[k]} | ${pct(s[k].accuracy)} | ${pct(s[k].operationSparsity)} | ${(100 * PAPER[k].accuracy).toFixed(1)} % | ${(100 * PAPER[k].operationSparsity).toFixed(1)} % |`,
  );
  const layerRows = variants.flatMap((k) =>
    s[k].layers.map((l) => `| ${k} | ${l.name} | ${l.nOutputs} | ${pct(l.spatialSparsity)} | ${pct(l.temporalSparsity)} |`),
  );
  const allRows = variants.map(
    (k) =>
      `| ${k} | ${pct(s[k].spatialSparsity)} | ${pct(s[k].temporalSparsity)} | ${pct(s[k].spatialOperationSparsity)} | ${pct(s[k].temporalOperationSparsity)} |`,
  );
  return [
    '# Paper reproduction — training side',
    '',
    `Command: \`${context.command}\`${context.evaluatedBy ? ` (evaluated again by \`${context.evaluatedBy}\`)` : ''} · seeds ${seeds.join(', ')} (mean ± sd over seeds) · ${context.clips} ${context.split ?? 'held-out'} clips.`,
    '',
    "## Beside the paper's Table 1",
    '',
    'Operation sparsity = 1 − non-zero operations / all operations, each activation weighted by its fan-out;',
    'spatial (zero activations) for baseline and L1, temporal (zero deltas, frame 0 left out) for delta — as the paper counts them.',
    '',
    '| variant | accuracy (ours) | operation sparsity (ours) | accuracy (paper) | operation sparsity (paper) |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Non-zero operations, baseline ÷ delta: **${v.opsReduction.toFixed(2)}×** (target ≥ 5×; paper 50.9 % / 6.9 % = 7.4×).`,
    `Accuracy drop of delta: **${v.deltaAccuracyDrop.toFixed(1)} points** (target ≤ 6; paper 5.4). L1 in between: **${v.l1InBetween ? 'yes' : 'no'}**.`,
    '',
    '## Whole network, both kinds of sparsity',
    '',
    '| variant | spatial sparsity | temporal sparsity | spatial op. sparsity | temporal op. sparsity |',
    '|---|---|---|---|---|',
    ...allRows,
    '',
    '## Per layer',
    '',
    '| variant | layer | fan-out | spatial sparsity | temporal sparsity |',
    '|---|---|---|---|---|',
    ...layerRows,
    '',
    '## Recipe',
    '',
    '```json',
    JSON.stringify(context.recipe, null, 2),
    '```',
    '',
  ].join('\n');
}
