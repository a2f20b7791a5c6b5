/**
 * buildReport: a run directory in, `report.html` and `charts/*.png` out. A simulation gets the
 * per-frame latency (frames.csv; two frames or more) and energy (summary.json) charts, and with
 * layers.csv the layer-sparsity chart and the per-layer table; a sweep gets its gain and Pareto
 * charts and its table. Both outputs are written atomically.
 */
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from '../../lib/atomic.js';
import { RUN_FILES } from '../../sim/run-dir.js';
import { energyBreakdownChart, frameLatencyChart, paretoChart, sparsityChart, sweepChart } from './charts.js';
import {
  energyBreakdown,
  frameLatency,
  layerSparsity,
  layerTable,
  loadRun,
  NO_LAYERS_NOTE,
  paretoMode,
  paretoPoints,
  summaryForDisplay,
  sweepSeries,
  type CsvTable,
  type DisplayTable,
  type RunData,
} from './data.js';
import { asNumber, formatNumber } from './format.js';
import { renderReport, type ReportChart } from './html.js';

/** Sweeps larger than this are shown in part in the HTML (the CSV has them all). */
const MAX_SWEEP_ROWS = 500;

export interface BuiltReport {
  reportPath: string;
  charts: string[];
}

/** Every chart the run's data supports, in report order. */
export function chartsFor(run: RunData): ReportChart[] {
  const charts: ReportChart[] = [];
  const add = (file: string, title: string, png: Buffer | undefined) => {
    if (png) charts.push({ file, title, png });
  };
  if (run.kind === 'simulation') {
    const lat = frameLatency(run);
    add('frame-latency.png', 'Latency per frame, per mode', lat && frameLatencyChart(lat, 'µs'));
    add('energy-breakdown.png', 'Energy per frame by component, per mode', energyBreakdownChart(energyBreakdown(run.summary)));
    const sp = run.layers && layerSparsity(run.layers);
    add('layer-sparsity.png', 'Spatial vs temporal sparsity per layer', sp && sparsityChart(sp));
  } else {
    for (const s of sweepSeries(run)) {
      add(`sweep-${s.parameter.replace(/[^\w.-]+/g, '_')}.png`, `Gain over dense vs ${s.parameter}`, sweepChart(s));
    }
    const pts = paretoPoints(run);
    add('pareto.png', `Latency–energy Pareto front over the sweep (${paretoMode(run.summary)} mode)`, pts && paretoChart(pts));
  }
  return charts;
}

function sweepTable(t: CsvTable): DisplayTable {
  const shown = t.rows.slice(0, MAX_SWEEP_ROWS);
  return {
    columns: [...t.columns],
    rows: shown.map((r) =>
      t.columns.map((c) => {
        const n = asNumber(r[c]);
        return n === undefined ? { text: r[c] ?? '' } : { text: formatNumber(c, n), numeric: true };
      }),
    ),
    ...(t.rows.length > shown.length ? { note: `First ${shown.length} of ${t.rows.length} points; ${RUN_FILES.sweep} has them all.` } : {}),
  };
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
    summary: run.kind === 'simulation' ? summaryForDisplay(run.summary) : run.summary,
    ...(run.kind === 'simulation'
      ? { layers: run.layers ? layerTable(run.layers, formatNumber) : { columns: [], rows: [], note: NO_LAYERS_NOTE } }
      : { sweep: sweepTable(run.sweep) }),
    charts,
  });
  const reportPath = join(runDir, RUN_FILES.report);
  writeFileAtomic(reportPath, html);
  return { reportPath, charts: charts.map((c) => join(chartsDir, c.file)) };
}
