/**
 * buildReport: a run directory in, `report.html` and `charts/*.png` out. A simulation gets the
 * per-frame latency (frames.csv; two frames or more) and energy (summary.json) charts, and with
 * layers.csv the per-layer sparsity, latency and energy charts and the per-layer tables, with sensitivity.json
 * (`simulate --sensitivity`) a tornado chart of speedup and of energy gain and the ranked table; a sweep gets
 * its gain charts (against dense on each point, and against the fixed baseline), its Pareto chart over
 * every mode, heat maps when two dimensions vary, and its points table. Both outputs are written atomically.
 */
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../../lib/atomic.js';
import { RUN_FILES } from '../../sim/run-dir.js';
import {
  energyBreakdownChart,
  frameLatencyChart,
  heatmapChart,
  layerCostChart,
  paretoChart,
  sparsityChart,
  sweepChart,
  tornadoChart,
  type SweepSeries,
} from './charts.js';
import { plainNumber, showMeasure, sweepMeasure } from './columns.js';
import {
  baselineSeries,
  energyBreakdown,
  frameLatency,
  layerCosts,
  layerOverview,
  layerSparsity,
  layerTable,
  loadRun,
  NO_LAYERS_NOTE,
  paretoBaseline,
  paretoPoints,
  sensitivityTable,
  sensitivityTornados,
  sweepHeatmaps,
  sweepSeries,
  type CsvTable,
  type DisplayTable,
  type RunData,
  type SimulationData,
  type SweepData,
} from './data.js';
import { asNumber } from './format.js';
import { renderReport, type ReportChart, type ReportContent } from './html.js';
import { simulationOverview, sweepOverview } from './overview.js';

/** Sweeps larger than this are shown in part in the HTML (the CSV has them all). */
const MAX_SWEEP_ROWS = 500;

export interface BuiltReport {
  reportPath: string;
  charts: string[];
}

/** A file name for a parameter or column: what is not a word character, dot or dash becomes `_`. */
const fileKey = (s: string) => s.replace(/[^\w.-]+/g, '_');

function simulationCharts(run: SimulationData, add: (file: string, title: string, png: Buffer | undefined) => void): void {
  const lat = frameLatency(run);
  const fps = run.summary.fps;
  // The frame period is drawn only where a frame comes near it: far above, it would flatten every line.
  const maxUs = Math.max(0, ...(lat ?? []).flatMap((s) => s.values));
  const periodUs = fps && maxUs >= 0.5e6 / fps ? 1e6 / fps : undefined;
  add('frame-latency.png', 'Latency per frame, per mode', lat && frameLatencyChart(lat, 'µs', undefined, periodUs));
  add('energy-breakdown.png', 'Energy of the active frame by component, per mode', energyBreakdownChart(energyBreakdown(run.summary)));
  if (run.sensitivity)
    for (const { metric, tornado } of sensitivityTornados(run.sensitivity))
      add(`sensitivity-${metric === 'speedup' ? 'speedup' : 'energy-gain'}.png`, tornado.title, tornadoChart(tornado));
  if (!run.layers) return;
  const t = run.layers;
  const sp = layerSparsity(t);
  add('layer-sparsity.png', 'Spatial vs temporal sparsity per layer', sp && sparsityChart(sp));
  for (const [file, column, scale, what, unit] of [
    ['layer-latency.png', 'latency_us', 1, 'Latency', 'µs'],
    ['layer-energy.png', 'energy_pj', 1e-3, 'Energy', 'nJ'],
  ] as const) {
    const c = layerCosts(t, column, scale);
    // The other layers' sum would dwarf each bar: it is said in the subtitle instead.
    const others = c.others
      ? `; the ${c.layers.length} costliest of ${c.total} layers, in network order (the other ${c.others.layers} together: ${Object.entries(
          c.others.values,
        )
          .map(([m, v]) => `${m} ${plainNumber(v)}`)
          .join(', ')} ${unit})`
      : '';
    add(
      file,
      `${what} per layer, per mode`,
      layerCostChart(c.layers, {
        title: `${what} per layer, per mode`,
        subtitle: `mean per frame${others}`,
        axis: `${what.toLowerCase()} per frame (${unit})`,
      }),
    );
  }
}

function sweepCharts(run: SweepData, add: (file: string, title: string, png: Buffer | undefined) => void): void {
  const gain = (s: SweepSeries, suffix: string) =>
    add(
      `sweep-${fileKey(s.parameter.split(' ')[0]!)}${suffix}.png`,
      `Gain over ${s.reference ?? 'dense on the same point'} vs ${s.parameter}`,
      sweepChart(s),
    );
  for (const s of sweepSeries(run)) gain(s, '');
  for (const s of baselineSeries(run)) gain(s, '-vs-baseline');
  const pts = paretoPoints(run);
  add(
    'pareto.png',
    'Latency–energy Pareto front over the sweep, every mode',
    pts && paretoChart(pts, undefined, 12, paretoBaseline(run.summary)),
  );
  for (const { key, heatmap } of sweepHeatmaps(run)) add(`heatmap-${fileKey(key)}.png`, heatmap.title, heatmapChart(heatmap));
}

/** Every chart the run's data supports, in report order. */
export function chartsFor(run: RunData): ReportChart[] {
  const charts: ReportChart[] = [];
  const add = (file: string, title: string, png: Buffer | undefined) => {
    if (png) charts.push({ file, title, png });
  };
  if (run.kind === 'simulation') simulationCharts(run, add);
  else sweepCharts(run, add);
  return charts;
}

/** sweep.csv as a table with plain headers (the first MAX_SWEEP_ROWS points). */
function sweepTable(run: SweepData): DisplayTable {
  const t: CsvTable = run.sweep;
  const s = run.summary;
  const o = { fps: s.fps !== null, trace: s.workload === 'trace' };
  const measures = t.columns.map((c) => sweepMeasure(c, s.modes, o));
  const shown = t.rows.slice(0, MAX_SWEEP_ROWS);
  return {
    columns: measures.map((m) => m.header),
    rows: shown.map((r) =>
      t.columns.map((c, j) => {
        const n = asNumber(r[c]);
        if (j === 0) return { text: r[c] ?? '', head: true };
        return n === undefined ? { text: r[c] || '—' } : { text: showMeasure(measures[j]!, n), numeric: true };
      }),
    ),
    ...(t.rows.length > shown.length ? { note: `First ${shown.length} of ${t.rows.length} points; ${RUN_FILES.sweep} has them all.` } : {}),
  };
}

/** The sections after the charts: the per-layer tables, or the sweep's points. */
function sectionsFor(run: RunData): ReportContent['sections'] {
  if (run.kind === 'sweep') return [{ id: 'sweep', title: 'Sweep points', tables: [{ table: sweepTable(run) }] }];
  const tables = run.layers
    ? [
        { table: layerOverview(run.layers) },
        { table: layerTable(run.layers), folded: `Every column of ${RUN_FILES.layers}, per layer and mode` },
      ]
    : [{ table: { columns: [], rows: [], note: NO_LAYERS_NOTE } }];
  const sensitivity = run.sensitivity
    ? [{ id: 'sensitivity', title: 'Sensitivity to the hw-model parameters', tables: [{ table: sensitivityTable(run.sensitivity) }] }]
    : [];
  return [...sensitivity, { id: 'layers', title: 'Per-layer results', tables }];
}

/** Build `runDir/report.html` (and `runDir/charts/`) from what the run directory holds. */
/** `name` titles the report (default: the directory's name; a writer building in a temp directory gives the final one). */
export async function buildReport(runDir: string, name = basename(resolve(runDir))): Promise<BuiltReport> {
  const run = loadRun(runDir);
  const charts = chartsFor(run);
  const chartsDir = join(runDir, RUN_FILES.charts);
  // Rewritten whole, so charts a previous build drew from data since removed do not linger.
  await writeDirAtomic(chartsDir, (tmp) => {
    for (const c of charts) writeFileSync(join(tmp, c.file), c.png);
  });
  const html = renderReport({
    title: `deltasim report: ${name}`,
    run: run.run,
    overview: run.kind === 'simulation' ? simulationOverview(run) : sweepOverview(run),
    charts,
    sections: sectionsFor(run),
  });
  const reportPath = join(runDir, RUN_FILES.report);
  writeFileAtomic(reportPath, html);
  return { reportPath, charts: charts.map((c) => join(chartsDir, c.file)) };
}
