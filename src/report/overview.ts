/**
 * The report's summary section, read from summary.json (and frames.csv for the frame period): the facts
 * of the run in plain words, its warnings, and readable tables with plain headers, units in the header.
 * A simulation: one column per run (the hw-model's modes, then the baseline's dense run), one row per
 * measure, the two energies per frame named side by side. A sweep: its grid and its best points.
 * Keys the report has no table for (the main job's headline, …) are passed on as `extra`.
 */
import { lowUtilisationLine } from '../../sim/summary.js';
import type { EventSource, ModeSummary } from '../../sim/summary.js';
import { boundBy, overRangeLines, recordingText, simThresholdText, slowFramesLine, type Recording } from '../cli/sim-table.js';
import { plainNumber, showMeasure, sweepMeasure } from './columns.js';
import {
  energyComponentsOf,
  framesByRun,
  summaryRuns,
  sweepDimensions,
  type Cell,
  type DisplayTable,
  type SimulationData,
  type SweepData,
} from './data.js';

export interface Overview {
  /** What was run, as label → text. */
  facts: [string, string][];
  warnings: string[];
  tables: { title: string; table: DisplayTable }[];
  /** summary.json's keys that no table above shows. */
  extra: Record<string, unknown>;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const numOrNull = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));

/** The keys of `o` not in `known`. */
const rest = (o: object, known: readonly string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !known.includes(k)));

/** summary.json's `recording` (sim-table's Recording), when it has one of that shape. */
function recordingIn(s: object): Recording | undefined {
  const r = (s as { recording?: unknown }).recording;
  if (!isObj(r) || !(r.recorder === null || typeof r.recorder === 'string') || !numOrNull(r.threshold)) return undefined;
  const sc = r.scale;
  if (!(sc === null || (isObj(sc) && typeof sc.min === 'number' && typeof sc.max === 'number'))) return undefined;
  return r as unknown as Recording;
}

// --- a simulation --------------------------------------------------------------------------------

const SIMULATION_KEYS = [
  'format',
  'version',
  'kind',
  'model',
  'hwModel',
  'baseline',
  'clockMHz',
  'fps',
  'threshold',
  'quantStep',
  'densities',
  'frames',
  'precision',
  'modes',
  'baselineDense',
  'lowUtilisation',
  'recording',
] as const;

/** One row of the per-run table: a plain label (unit included) and each run's value. */
type Measure = [label: string, value: (m: ModeSummary, run: string) => number | string | null | Cell];

const kib = (bytes: number) => bytes / 1024;

function simulationFacts(run: SimulationData): [string, string][] {
  const s = run.summary;
  const p = s.precision;
  const recording = recordingIn(s);
  // summary.json's event source: a topology's densities or a trace's delta rule (SimResult's EventSource).
  const src = s as unknown as EventSource;
  const source: [string, string][] =
    'densities' in src
      ? [
          [
            'Densities',
            `activations ${src.densities.actDensity}, weights ${src.densities.weightDensity ?? 'per layer'}, deltas ${src.densities.deltaDensity} (uniform, statistical)`,
          ],
        ]
      : [
          ...(recording ? ([['Trace recorded', recordingText(recording)]] as [string, string][]) : []),
          ['Delta threshold', simThresholdText(src.threshold, src.quantStep)],
        ];
  return [
    ['Model', s.model],
    [
      'Workload',
      'densities' in src
        ? 'a topology: one expected frame from uniform densities'
        : `a trace: ${s.frames} frames of measured events (frame 0 is the key frame)`,
    ],
    ['Hardware model', `${s.hwModel} at ${plainNumber(s.clockMHz)} MHz`],
    ['Baseline', s.baseline ? `dense @ ${s.baseline}` : 'none'],
    [
      'Frame rate',
      s.fps ? `${s.fps} fps: a frame period of ${plainNumber(1e3 / s.fps)} ms` : 'none: no average power and no frame-period energy',
    ],
    ...source,
    ['Precision', `activations ${p.activationBits} b, weights ${p.weightBits} b, accumulators ${p.accumulatorBits} b (the hw-model's)`],
  ];
}

function simulationWarnings(run: SimulationData, latencies: Map<string, number[]>): string[] {
  const s = run.summary;
  const slow = s.fps ? [...latencies].flatMap(([label, lat]) => slowFramesLine(label, lat, s.fps!) ?? []) : [];
  return [...slow, ...overRangeLines(s), ...(s.lowUtilisation ?? []).map(lowUtilisationLine)];
}

/** The measures of the per-run table, those that say something for this run. */
function runMeasures(run: SimulationData, latencies: Map<string, number[]>): Measure[] {
  const s = run.summary;
  const fps = s.fps;
  const multi = s.frames > 1;
  const hasSparse = s.modes.some((m) => m.speedupVsSparse !== null);
  const base = s.baseline;
  const slow = (label: string): Cell | null => {
    const lat = latencies.get(label);
    if (!fps || !lat) return null;
    const n = lat.filter((x) => x > 1e6 / fps).length;
    return { text: `${n} of ${lat.length}`, numeric: true, ...(n > 0 ? { flag: true } : {}) };
  };
  // summary.json's realTime: every frame within 1/fps (null without a frame rate).
  const realTime = (m: ModeSummary): Cell | null =>
    m.realTime === null ? null : m.realTime ? { text: 'yes' } : { text: 'NO: frames miss the frame period', flag: true };
  const measures: (Measure | false)[] = [
    ['latency per frame, mean (µs)', (m) => m.latencyUs.mean],
    multi && ['latency per frame, p50 (µs)', (m) => m.latencyUs.p50],
    multi && ['latency per frame, p95 (µs)', (m) => m.latencyUs.p95],
    multi && ['latency per frame, max (µs)', (m) => m.latencyUs.max],
    fps !== null && [`real time at ${fps} fps (every frame within the ${plainNumber(1e3 / fps)} ms period)`, (m) => realTime(m)],
    fps !== null && [`frames slower than the frame period (${plainNumber(1e3 / fps)} ms)`, (_m, label) => slow(label)],
    ['cycles per frame', (m) => m.cycles],
    ['bound by (share of cycles)', (m) => boundBy(m)],
    ['energy of the active frame (µJ)', (m) => m.energy.totalPJ / 1e6],
    fps !== null && [`energy per frame period, idle leakage up to 1/fps included (µJ)`, (m) => m.frameEnergyUJ],
    fps !== null && [`average power at ${fps} fps (mW)`, (m) => m.averagePowerMW],
    ['energy-delay product (pJ·s)', (m) => m.edpPJs],
    ['speedup vs dense on the same hw-model (×)', (m) => m.speedupVsDense],
    ['energy gain vs dense, active frame (×)', (m) => m.energyGainVsDense],
    fps !== null && ['energy gain vs dense, frame period (×)', (m) => m.periodEnergyGainVsDense],
    hasSparse && ['speedup vs sparse on the same hw-model (×)', (m) => m.speedupVsSparse],
    hasSparse && ['energy gain vs sparse, active frame (×)', (m) => m.energyGainVsSparse],
    base !== null && [`speedup vs dense @ ${base}, by time (×)`, (m) => m.speedupVsBaseline],
    base !== null && [`energy gain vs dense @ ${base}, active frame (×)`, (m) => m.energyGainVsBaseline],
    ['MACs per frame', (m) => m.macs],
    ['effective MACs per frame', (m) => m.effectiveMacs],
    ['DRAM traffic per frame (KiB)', (m) => kib(m.dramBytes)],
    ['weights (KiB)', (m) => kib(m.footprint.weightBytes)],
    ['delta state (KiB)', (m) => kib(m.footprint.stateBytes)],
    ['weights re-fetched per frame (%)', (m) => 100 * m.footprint.weightRefetch],
    ['delta state in DRAM (%)', (m) => 100 * m.footprint.stateSpill],
  ];
  return measures.filter((x): x is Measure => x !== false);
}

const valueCell = (v: number | string | null | Cell): Cell =>
  v === null ? { text: '—' } : typeof v === 'number' ? { text: plainNumber(v), numeric: true } : typeof v === 'string' ? { text: v } : v;

/** The runs side by side, one row per measure. */
function runTable(run: SimulationData, latencies: Map<string, number[]>): DisplayTable {
  const runs = summaryRuns(run.summary);
  return {
    columns: ['per frame (means over frames)', ...runs.map((r) => r.label)],
    rows: runMeasures(run, latencies).map(([label, f]) => [{ text: label, head: true }, ...runs.map((r) => valueCell(f(r.m, r.label)))]),
    note:
      'The energy of the active frame is what computing one frame costs; the energy per frame period adds the idle leakage ' +
      'until the next frame is due (1/fps). Gains and speedups: > 1 is better.',
  };
}

/** Each run's active-frame energy by component, beside its total and its frame-period energy. */
function energyTable(run: SimulationData): DisplayTable {
  const s = run.summary;
  const runs = summaryRuns(s);
  const parts = Object.keys(energyComponentsOf(runs[0]!.m));
  return {
    columns: [
      'run',
      ...parts.map((p) => `${p} (µJ)`),
      'active frame, total (µJ)',
      ...(s.fps !== null ? ['frame period, idle leakage included (µJ)'] : []),
    ],
    rows: runs.map(({ label, m }) => [
      { text: label, head: true },
      ...Object.values(energyComponentsOf(m)).map(valueCell),
      valueCell(m.energy.totalPJ / 1e6),
      ...(s.fps !== null ? [valueCell(m.frameEnergyUJ)] : []),
    ]),
  };
}

export function simulationOverview(run: SimulationData): Overview {
  const latencies = framesByRun(run);
  return {
    facts: simulationFacts(run),
    warnings: simulationWarnings(run, latencies),
    tables: [
      { title: 'Per run', table: runTable(run, latencies) },
      { title: 'Energy of the active frame by component', table: energyTable(run) },
    ],
    extra: rest(run.summary, SIMULATION_KEYS),
  };
}

// --- a sweep -----------------------------------------------------------------------------------

const SWEEP_KEYS = [
  'format',
  'version',
  'kind',
  'grid',
  'workload',
  'model',
  'hwModel',
  'points',
  'parameters',
  'zip',
  'mode',
  'modes',
  'fps',
  'sim',
  'frames',
  'quantStep',
  'baseline',
  'best',
] as const;

/** A dimension's size in words: `arch.rows (3 values)`, `arch.rows, arch.cols (3 values, zipped)`. */
const dimensionText = (d: string[], s: SweepData['summary']) =>
  `${d.join(', ')} (${s.parameters[d[0]!]!.length} values${d.length > 1 ? ', zipped' : ''})`;

function sweepFacts(run: SweepData): [string, string][] {
  const s = run.summary as SweepData['summary'] & Record<string, unknown>;
  const b = s.baseline;
  const dims = sweepDimensions(s);
  const fixed = isObj(s.sim) ? Object.entries(s.sim).map(([k, v]) => `${k} ${v}`) : [];
  return [
    ['Model', s.model],
    ['Workload', s.workload === 'trace' ? `a trace: ${s.frames ?? '?'} frames per point` : 'a topology (statistical densities)'],
    ['Hardware model', `${s.hwModel}, patched at every point`],
    [
      'Baseline',
      b
        ? `dense @ ${b.hwModel}: ${plainNumber(b.latencyUs)} µs and ${plainNumber(b.energyPJ / 1e6)} µJ per active frame`
        : 'none (`deltasim sweep --baseline NAME` adds a fixed design to compare every point with)',
    ],
    ['Points', `${s.points ?? run.sweep.rows.length}${dims.length ? `: ${dims.map((d) => dimensionText(d, s)).join(' × ')}` : ''}`],
    ['Modes', s.modes.join(', ')],
    ['Frame rate', s.fps !== null ? `${s.fps} fps` : 'none'],
    ['Fixed options', fixed.length ? fixed.join(', ') : 'none'],
    ...(s.workload === 'trace' ? ([['Quantisation step', s.quantStep === null ? 'none' : String(s.quantStep)]] as [string, string][]) : []),
    ['Grid hash', String(s.grid ?? '—')],
  ];
}

function parameterTable(run: SweepData): DisplayTable {
  const s = run.summary;
  const zipOf = (p: string) => (s.zip ?? []).find((g) => g.includes(p))?.filter((n) => n !== p) ?? [];
  return {
    columns: ['parameter', 'values', 'number of values', 'zipped with'],
    rows: Object.entries(s.parameters).map(([p, vs]) => [
      { text: p, head: true },
      { text: vs.map(String).join(', ') },
      { text: String(vs.length), numeric: true },
      { text: zipOf(p).join(', ') || '—' },
    ]),
  };
}

function bestTable(run: SweepData): DisplayTable | undefined {
  const s = run.summary;
  const best = (s as unknown as { best?: unknown }).best;
  if (!isObj(best)) return undefined;
  const o = { fps: s.fps !== null, trace: s.workload === 'trace' };
  const rows = Object.entries(best).flatMap(([column, b]) => {
    if (!isObj(b) || typeof b.value !== 'number' || typeof b.point !== 'number') return [];
    const m = sweepMeasure(column, s.modes, o);
    const params = isObj(b.parameters) ? Object.entries(b.parameters).map(([k, v]) => `${k}=${v}`) : [];
    return [
      [
        { text: m.header, head: true },
        { text: showMeasure(m, b.value), numeric: true },
        { text: String(b.point), numeric: true },
        { text: params.join(', ') },
      ],
    ];
  });
  return { columns: ['figure of merit', 'best', 'at point', 'parameters there'], rows };
}

export function sweepOverview(run: SweepData): Overview {
  const best = bestTable(run);
  return {
    facts: sweepFacts(run),
    warnings: [],
    tables: [
      { title: 'Parameters', table: parameterTable(run) },
      ...(best ? [{ title: 'Best point per figure of merit', table: best }] : []),
    ],
    extra: rest(run.summary, SWEEP_KEYS),
  };
}
