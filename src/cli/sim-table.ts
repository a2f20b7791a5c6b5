/**
 * The one console report of a simulation (topology or trace): notes on the workload and the memory,
 * one row per mode (and the baseline's dense run), then the energy per frame by component.
 * Columns that say nothing for a run are left out: percentiles for a one-frame run, power without a
 * frame rate, the baseline comparison without a baseline. The notes' phrases (frames slower than the
 * frame period, levels over range, the recording's threshold) are the HTML report's too.
 */
import { table } from '../../lib/table.js';
import {
  BOUNDS,
  BUFFERS,
  lowUtilisationLine,
  MODE_TABLE,
  type AreaBreakdown,
  type Bound,
  type LevelOverRange,
  type ModeSummary,
  type SimResult,
} from '../../sim/index.js';
import type { Recording } from '../../traces/manifest.js';
export type { Recording } from '../../traces/manifest.js';

const fmt = (x: number, digits = 3): string =>
  Math.abs(x) >= 1e6 ? x.toExponential(digits - 1) : x.toFixed(Number.isInteger(x) || Math.abs(x) >= 1000 ? 0 : digits);
const times = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);

type Column = [head: string, cell: (s: ModeSummary) => string];

/** How the trace was recorded, in words: the recorder's threshold q (or its threshold mode), else its level steps; then its knobs. */
export function recordingText(rec: Recording): string {
  const by = rec.recorder ? ` by ${rec.recorder}` : '';
  return `${recordingThresholdText(rec, by)}${recordingKnobs(rec)
    .map((k) => `; ${k}`)
    .join('')}`;
}

function recordingThresholdText(rec: Recording, by: string): string {
  const th = rec.thresholds;
  if (th?.mode === 'relative')
    return `recorded${by} with relative delta thresholds q = ${th.value} × P${th.percentile ?? '?'}(|a|) per layer over ${th.calibrationFrames ?? '?'} frames (levels = round(a / q); steps ${stepRange(rec)})`;
  if (th?.mode === 'per-layer')
    return `recorded${by} with per-layer delta thresholds${th.value !== undefined ? ` (q = ${th.value} for layers not listed)` : ''} (levels = round(a / q); steps ${stepRange(rec)})`;
  if (rec.threshold !== null) return `recorded${by} with delta threshold q = ${rec.threshold} (levels = round(a / q))`;
  if (!rec.scale) return `recorded${by}`;
  return `recorded${by} as levels of step ${stepRange(rec)} (value = level × step)`;
}

const stepRange = (rec: Recording): string =>
  !rec.scale ? '?' : rec.scale.min === rec.scale.max ? `${rec.scale.min}` : `${rec.scale.min}–${rec.scale.max}`;

/** The recording's other knobs (manifest keys, traces/README.md), each in words. */
function recordingKnobs(rec: Recording): string[] {
  const k: string[] = [];
  if (rec.keyFrameEvery !== undefined) k.push(`a key frame every ${rec.keyFrameEvery} frames`);
  if (rec.updateMask) k.push(`updates in ${rec.updateMask.tile}×${rec.updateMask.tile} tiles, mask dilated by ${rec.updateMask.dilation}`);
  if (rec.nativeFps !== undefined)
    k.push(
      `video at ${rec.fps ?? '?'} fps (native ${rec.nativeFps} fps)${rec.duplicatedFrames ? `, ${rec.duplicatedFrames} duplicated frames` : ''}`,
    );
  else if (rec.duplicatedFrames) k.push(`${rec.duplicatedFrames} duplicated frames`);
  if (rec.drift) k.push(driftText(rec.drift));
  return k;
}

/** The closed-loop recording's output drift in words (frames 1.., key frames left out). */
function driftText(d: NonNullable<Recording['drift']>): string {
  const f = (v: number | null) => (v === null ? '—' : v.toPrecision(3));
  const task = d.task ? `, ${d.task.kind} ${d.task.metric} ${f(d.task.mean)}` : '';
  const search = d.search ? `, thresholds searched for ${d.search.on} ≤ ${d.search.budget}` : '';
  return `drift (closed loop, against dense, over ${d.countedFrames} frames t ≥ 1 not key frames): relative L2 mean ${f(d.relL2Mean)} max ${f(d.relL2Max)}${task}${search}`;
}

/** The simulation's delta rule in words (the threshold is in levels). */
export function simThresholdText(threshold: number, quantStep: number | null): string {
  const quant = quantStep !== null ? `, values quantised with step ${quantStep} first` : '';
  return `simulated with delta threshold ${threshold} (in levels: a delta counts when |Δlevel| > ${threshold})${quant}`;
}

/** The trace's delta rule: the one it was recorded with (when known) beside the simulation's. */
export function thresholdLine(threshold: number, quantStep: number | null, rec?: Recording | null): string {
  return `${rec ? `${recordingText(rec)}; ` : ''}${simThresholdText(threshold, quantStep)}`;
}

/** One run's frames slower than the frame period (latency > 1/fps), in words; null when none is. */
export function slowFramesLine(run: string, latenciesUs: ArrayLike<number>, fps: number): string | null {
  const periodUs = 1e6 / fps;
  const lat = Array.from(latenciesUs);
  const slow = lat.filter((x) => x > periodUs).length;
  if (slow === 0) return null;
  const ms = Number((periodUs / 1e3).toPrecision(3));
  return `${run}: ${slow} of ${lat.length} frames exceed the ${ms} ms frame period at ${fps} fps (max ${Math.round(Math.max(...lat)).toLocaleString('en-US')} µs)`;
}

/** Per run (`mode @ arch`, in row order), its frames' latencies (µs) from the result's frame rows. */
function frameLatencies(res: SimResult): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of res.frameRows) {
    const k = `${r.mode} @ ${r.arch}`;
    const lat = out.get(k);
    if (lat) lat.push(r.latencyUs);
    else out.set(k, [r.latencyUs]);
  }
  return out;
}

/**
 * The console report. `recording` (recordingOf the trace's manifest) adds how the trace was recorded
 * to the notes; a result that carries its own `recording` (summary.json's) needs none.
 */
export function summaryTable(res: SimResult, recording?: Recording): string {
  // The baseline's row, unless it is the simulated hw-model itself (then it is the dense row).
  const baselineRow = res.baselineDense && res.baseline !== res.hwModel ? [res.baselineDense] : [];
  const all: ModeSummary[] = [...res.modes, ...baselineRow];
  const perFrame = res.frames > 1;
  const columns: Column[] = [
    ['mode @ hw-model', (s) => `${s.mode} @ ${s.arch}`],
    ['lat mean µs', (s) => s.latencyUs.mean.toFixed(1)],
    ...(perFrame
      ? ([
          ['p50', (s) => s.latencyUs.p50.toFixed(1)],
          ['p95', (s) => s.latencyUs.p95.toFixed(1)],
          ['max', (s) => s.latencyUs.max.toFixed(1)],
        ] as Column[])
      : ([
          ['cycles', (s) => fmt(s.cycles)],
          ['effective MACs', (s) => fmt(s.effectiveMacs)],
        ] as Column[])),
    ['bound by', boundBy],
    ...(res.fps !== null ? ([['real time', realTimeCell]] as Column[]) : []),
    ['energy µJ/frame', (s) => (s.energy.totalPJ / 1e6).toFixed(3)],
    ...(res.fps !== null
      ? ([
          ['µJ/period', (s) => s.frameEnergyUJ.toFixed(3)],
          [`power mW @${res.fps}fps`, (s) => (s.averagePowerMW === null ? '-' : s.averagePowerMW.toFixed(2))],
        ] as Column[])
      : []),
    ['speedup', (s) => times(s.speedupVsDense)],
    ['energy gain', (s) => times(s.energyGainVsDense)],
    ...(res.fps !== null ? ([['gain/period', (s) => times(s.periodEnergyGainVsDense)]] as Column[]) : []),
    ...(res.modes.some((s) => s.speedupVsSparse !== null)
      ? ([
          ['speedup vs sparse', (s) => times(s.speedupVsSparse)],
          ['gain vs sparse', (s) => times(s.energyGainVsSparse)],
        ] as Column[])
      : []),
    ...(res.baseline !== null
      ? ([
          [`speedup vs ${res.baseline}`, (s) => times(s.speedupVsBaseline)],
          ['gain vs baseline', (s) => times(s.energyGainVsBaseline)],
        ] as Column[])
      : []),
    ['EDP pJ·s', (s) => fmt(s.edpPJs)],
    ['DRAM B/frame', (s) => fmt(s.dramBytes)],
    ['footprint B', (s) => fmt(s.footprint.weightBytes + s.footprint.stateBytes)],
  ];
  type Part = [string, (s: ModeSummary) => number];
  const parts: Part[] = [
    ['compute', (s) => s.energy.computePJ],
    ...BUFFERS.map((b): Part => [`${b} SRAM`, (s) => s.energy.sramPJ[b]]),
    ['DRAM', (s) => s.energy.dramPJ],
    ['static', (s) => s.energy.staticPJ],
  ];
  const name = (s: ModeSummary) => `${s.mode} @ ${s.arch}`;
  return [
    ...notes(res, recording ?? (res as { recording?: Recording }).recording),
    '',
    table(
      columns.map(([h]) => h),
      all.map((s) => columns.map(([, c]) => c(s))),
    ),
    ...(res.fps !== null ? [realTimeLegend(res.fps)] : []),
    '',
    'energy per active frame by component (µJ; µJ/period adds idle leakage up to 1/fps)',
    table(
      ['mode @ hw-model', ...parts.map(([n]) => n)],
      all.map((s) => [name(s), ...parts.map(([, f]) => (f(s) / 1e6).toFixed(3))]),
    ),
    ...areaTable(res),
  ].join('\n');
}

/** A mode's real-time cell: every frame within 1/fps, or MISSED (null without an fps). */
export function realTimeCell(s: Pick<ModeSummary, 'realTime'>): string {
  return s.realTime === null ? '-' : s.realTime ? 'yes' : 'MISSED';
}

/** The legend under the table's real-time column. */
export function realTimeLegend(fps: number): string {
  const ms = Number((1e3 / fps).toPrecision(3));
  return `real time: yes = every frame done within 1/fps (${ms} ms at ${fps} fps); MISSED = at least one frame slower (see the warning above)`;
}

/** Silicon area by component (mm²) of the hw-model and the baseline, and the state SRAM's share; none without area figures. */
function areaTable(res: SimResult): string[] {
  const rows: [string, AreaBreakdown][] = [];
  if (res.area) rows.push([res.hwModel, res.area]);
  if (res.baselineArea && res.baseline !== null && res.baseline !== res.hwModel) rows.push([res.baseline, res.baselineArea]);
  if (rows.length === 0) return [];
  const mm = (x: number) => x.toFixed(3);
  return [
    '',
    'area by component (mm²; SRAM by size class, PEs or cores; DRAM off chip): state share = state SRAM / total; state adds = state SRAM / the rest',
    table(
      ['hw-model', 'node', 'PEs / cores', ...BUFFERS.map((b) => `${b} SRAM`), 'total', 'state share', 'state adds'],
      rows.map(([n, a]) => [
        n,
        `${a.technologyNm} nm`,
        mm(a.logicMm2),
        ...BUFFERS.map((b) => mm(a.sramMm2[b])),
        mm(a.totalMm2),
        a.sramMm2.state > 0 ? `${(100 * a.stateShare).toFixed(1)} %` : '-',
        a.sramMm2.state > 0 ? `+${(100 * a.stateOverhead).toFixed(1)} %` : '-',
      ]),
    ),
  ];
}

/** Layers named one by one when levels do not fit; past them the rest are summed in one line (a real network has dozens). */
export const OVER_RANGE_NAMED = 3;

/**
 * Where the recorded levels do not fit the hardware's activation width: a line per layer, or, past OVER_RANGE_NAMED + 1
 * layers, the layers with the most such levels and one line for the rest (every layer is in precision.overRange).
 */
export function overRangeLines(res: Pick<SimResult, 'precision'>): string[] {
  const bits = res.precision.activationBits;
  const all = res.precision.overRange;
  const need = (levels: number, maxBits: number) =>
    `${fmt(levels)} recorded levels need more than the hardware's ${bits} activation bits (up to ${maxBits})`;
  const line = (o: LevelOverRange) => `layer "${o.layer}": ${need(o.levels, o.maxBits)}`;
  if (all.length <= OVER_RANGE_NAMED + 1) return all.map(line);
  const named = [...all].sort((a, b) => b.levels - a.levels).slice(0, OVER_RANGE_NAMED);
  const rest = all.filter((o) => !named.includes(o));
  const levels = rest.reduce((n, o) => n + o.levels, 0);
  const widest = Math.max(...rest.map((o) => o.maxBits));
  return [
    ...named.map(line),
    `${rest.length} more layers: ${need(levels, widest)} (each layer: precision.overRange in summary.json or --json)`,
  ];
}

/** The resource that bounds most of a run's cycles, with its share: "compute 71 %", "state SRAM 64 %". */
export function boundBy(s: Pick<ModeSummary, 'boundCycles'>): string {
  let best: Bound = 'compute';
  let total = 0;
  for (const k of BOUNDS) {
    total += s.boundCycles[k];
    if (s.boundCycles[k] > s.boundCycles[best]) best = k;
  }
  const name = best === 'compute' || best === 'dram' || best === 'compactor' ? best : `${best} SRAM`;
  return total > 0 ? `${name} ${((100 * s.boundCycles[best]) / total).toFixed(0)} %` : '-';
}

function notes(res: SimResult, recording: Recording | undefined): string[] {
  const out =
    'densities' in res
      ? [
          `model ${res.model} on ${res.hwModel}${res.fps !== null ? ` at ${res.fps} fps` : ''}`,
          `densities: activations ${res.densities.actDensity}, weights ${res.densities.weightDensity ?? 'per layer'}, ` +
            `deltas ${res.densities.deltaDensity} (uniform, statistical)`,
        ]
      : [
          `trace ${res.model} (${res.frames} frames) on ${res.hwModel}${res.fps !== null ? ` at ${res.fps} fps` : ''}; frame 0 is a key frame${recording?.keyFrameEvery ? ` (and every ${recording.keyFrameEvery}-th after it)` : ''}; means are per frame`,
          thresholdLine(res.threshold, res.quantStep, recording),
        ];
  const p = res.precision;
  out.push(
    `precision (the hw-model's, for MACs, SRAM, DRAM and footprint): activations ${p.activationBits} b, weights ${p.weightBits} b, accumulators ${p.accumulatorBits} b`,
  );
  for (const line of overRangeLines(res)) out.push(`warning: ${line}`);
  for (const u of res.lowUtilisation ?? []) out.push(`warning: ${lowUtilisationLine(u)}`);
  if (res.fps !== null)
    for (const [run, lat] of frameLatencies(res)) {
      const line = slowFramesLine(run, lat, res.fps);
      if (line) out.push(`warning: ${line}`);
    }
  for (const s of res.modes)
    if (s.footprint.stateSpill > 0 || s.footprint.weightRefetch > 0)
      out.push(
        `${s.mode}: ${(s.footprint.weightRefetch * 100).toFixed(0)} % of weights re-fetched per frame` +
          (MODE_TABLE[s.mode].stateful
            ? `, ${(s.footprint.stateSpill * 100).toFixed(0)} % of delta state (${fmt(s.footprint.stateBytes)} B) in DRAM`
            : ''),
      );
  return out;
}
