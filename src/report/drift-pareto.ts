/**
 * The drift–energy (and drift–latency) Pareto front of closed-loop recordings at different
 * thresholds (`deltasim pareto`): each trace's output drift (its manifest's model.drift, written by
 * `trace --drift`) against what it costs per frame on one hw-model in one mode (the simulator's
 * per-frame means over the same frames). A threshold is a recording, not a simulation parameter, so
 * the points are traces, not `sweep` grid points.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { stringify } from 'csv-stringify/sync';
import type { ModeSummary } from '../../sim/summary.js';
import type { Manifest } from '../../traces/manifest.js';
import { driftParetoChart, paretoFront } from './charts.js';

export type DriftMeasure = 'rel-l2' | 'task';

export interface ParetoRow {
  trace: string;
  /** The recording's thresholds in words: q, or the mode (relative, per-layer). */
  thresholds: string;
  drift: number;
  energyUJ: number;
  latencyUs: number;
  /** On the drift–energy front. */
  frontEnergy: boolean;
  /** On the drift–latency front. */
  frontLatency: boolean;
}

/** The drift a manifest records, by `measure` (task: the task metric's drift form, 1 − agreement or pixels). */
export function driftOfManifest(m: Manifest, file: string, measure: DriftMeasure): number {
  const d = m.model.drift as { relL2Mean?: number | null; task?: { kind: string; mean: number | null } } | undefined;
  if (!d) throw new InputError('the trace has no drift: record it with `deltasim trace … --drift`', { file, pointer: '/model/drift' });
  if (measure === 'rel-l2') {
    if (typeof d.relL2Mean !== 'number')
      throw new InputError('no relL2Mean (fewer than 2 frames?)', { file, pointer: '/model/drift/relL2Mean' });
    return d.relL2Mean;
  }
  if (!d.task || typeof d.task.mean !== 'number')
    throw new InputError('no task metric in the drift (record with --task)', { file, pointer: '/model/drift/task' });
  return d.task.kind === 'keypoints' ? d.task.mean : 1 - d.task.mean;
}

/** Rows in the given order, each marked when it is on a front. */
export function paretoRows(points: { trace: string; manifest: Manifest; drift: number; summary: ModeSummary }[]): ParetoRow[] {
  const rows = points.map((p) => ({
    trace: p.trace,
    thresholds: thresholdsText(p.manifest),
    drift: p.drift,
    energyUJ: p.summary.energy.totalPJ * 1e-6,
    latencyUs: p.summary.latencyUs.mean,
  }));
  const on = (cost: (r: (typeof rows)[number]) => number) =>
    new Set(paretoFront(rows.map((r) => ({ latencyUs: r.drift, energyUj: cost(r), label: r.trace }))));
  const fe = on((r) => r.energyUJ);
  const fl = on((r) => r.latencyUs);
  return rows.map((r, i) => ({ ...r, frontEnergy: fe.has(i), frontLatency: fl.has(i) }));
}

function thresholdsText(m: Manifest): string {
  const th = m.model.thresholds as { mode?: string; value?: number } | undefined;
  if (typeof m.model.threshold === 'number') return `q=${m.model.threshold}`;
  return th?.mode ? `${th.mode}${th.value !== undefined ? ` ${th.value}` : ''}` : '';
}

/** pareto.csv, pareto.json, charts/drift-energy.png and charts/drift-latency.png in `out`; returns the paths. */
export function writePareto(
  out: string,
  rows: ParetoRow[],
  meta: { hwModel: string; mode: string; measure: DriftMeasure; frames: number },
): string[] {
  const head = ['trace', 'thresholds', 'drift', 'energy_uJ_per_frame', 'latency_us_per_frame', 'front_energy', 'front_latency'];
  const csv = stringify([
    head,
    ...rows.map((r) => [r.trace, r.thresholds, r.drift, r.energyUJ, r.latencyUs, r.frontEnergy, r.frontLatency]),
  ]);
  const files = [
    join(out, 'pareto.csv'),
    join(out, 'pareto.json'),
    join(out, 'charts', 'drift-energy.png'),
    join(out, 'charts', 'drift-latency.png'),
  ];
  writeFileSync(files[0]!, csv);
  writeFileSync(files[1]!, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  const drift = meta.measure === 'rel-l2' ? 'output drift (mean relative L2 vs dense)' : "output drift (task metric's drift form)";
  const sub = `${meta.hwModel}, ${meta.mode} mode, per-frame means over ${meta.frames} frames; front: no other recording has less drift and less cost`;
  const label = (r: ParetoRow) => (r.thresholds ? `${r.thresholds}` : r.trace);
  writeFileSync(
    files[2]!,
    driftParetoChart(
      rows.map((r) => ({ drift: r.drift, cost: r.energyUJ, label: label(r) })),
      { title: 'Output drift vs energy per frame', subtitle: sub, drift, cost: 'energy per frame', unit: 'µJ' },
    ),
  );
  writeFileSync(
    files[3]!,
    driftParetoChart(
      rows.map((r) => ({ drift: r.drift, cost: r.latencyUs, label: label(r) })),
      { title: 'Output drift vs latency per frame', subtitle: sub, drift, cost: 'latency per frame', unit: 'µs' },
    ),
  );
  return files;
}
