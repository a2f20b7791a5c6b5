/**
 * `deltasim simulate`: a topology (--model, statistical densities) or a trace (--trace, the real
 * events of every frame) × a hw-model × modes → console table; with --out a run directory
 * (sim/run-dir.ts: summary.json, frames.csv, run.json, and layers.csv with --layers).
 */
import type { CommandModule } from 'yargs';
import { InputError } from '../../../lib/errors.js';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import {
  activityWorkload,
  eventKindsOf,
  denseBaselineFor,
  loadHwModel,
  RUN_FILES,
  sensitivity,
  sensitivityCsv,
  sensitivityJson,
  sensitivityMode,
  traceActivity,
  scaleSimReportFiles,
  simulate,
  topologyWorkload,
  traceWorkload,
  writeRun,
  summaryJson,
  type LayerSink,
  type Sensitivity,
  type SimResult,
} from '../../../sim/index.js';
import { isRunEntry } from '../../../sim/sweep/output.js';
import { openTrace } from '../../../traces/reader.js';
import { sensitivityTable } from '../sensitivity-table.js';
import { overRangeLines, summaryTable } from '../sim-table.js';
import { checkWorkload, topologyOf, workloadOptions, type WorkloadArgs } from '../workload-options.js';

interface Args extends WorkloadArgs {
  out?: string;
  force: boolean;
  layers: boolean;
  json: boolean;
  strict: boolean;
  baseline?: string;
  sensitivity: boolean;
}

/** A trace run's default baseline: the shipped dense array at the hw-model's node (technology.ts), else this one. */
const DEFAULT_BASELINE = 'dense-32x32';

const command: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a model (statistical) or a trace (per frame, real events) on a hw-model: dense, zero-skipping, delta',
  builder: (y) =>
    workloadOptions(y)
      .option('baseline', {
        type: 'string',
        describe: `hw-model whose dense run is the baseline for speedup and energy gain (--trace default: the shipped dense array at the hw-model's node, ${DEFAULT_BASELINE} at 45 nm, dense-32x32-22nm at 22 nm)`,
      })
      .option('out', { type: 'string', describe: 'run directory: summary.json, frames.csv, run.json (written atomically)' })
      .option('force', FORCE_OPTION)
      .option('layers', {
        type: 'boolean',
        default: false,
        describe: 'with --out, also layers.csv: one row per layer, frame and mode (streamed to disk; it grows with the frames)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print summary.json to stdout instead of the table' })
      .option('strict', {
        type: 'boolean',
        default: false,
        describe: "a recorded level wider than the hw-model's activations is an error (default: a warning with a count)",
      })
      .option('sensitivity', {
        type: 'boolean',
        default: false,
        describe:
          'also vary every numeric hw-model key ÷2 and ×2, one at a time, and rank the keys by how much they move the speedup and energy gain of delta (or of --mode) vs dense on the same hw-model (with --out: sensitivity.csv, sensitivity.json)',
      }),
  handler: async (a) => {
    checkWorkload(a);
    if (a.layers && !a.out) throw new InputError('--layers writes layers.csv into the run directory: give --out DIR too');
    if (a.sensitivity && a.json)
      throw new InputError(
        '--json prints summary.json, which holds no sensitivity: give --sensitivity with --out DIR (sensitivity.json, sensitivity.csv)',
      );
    // A run directory replaces deltasim's run files (a simulation's or a sweep's, and their report): never the user's.
    if (a.out) guardOutputDir(a.out, a.force, { writes: 'replace', owns: isRunEntry });
    const hw = loadHwModel(a.arch);
    const studied = a.sensitivity ? sensitivityMode(hw, a.mode) : undefined;
    const nm = hw.energyTable.technologyNm;
    const baselineName = a.baseline ?? (a.trace !== undefined ? (denseBaselineFor(nm) ?? DEFAULT_BASELINE) : undefined);
    const baseline = baselineName !== undefined ? loadHwModel(baselineName) : undefined;
    if (baseline && baseline.energyTable.technologyNm !== nm)
      console.error(
        `warning: baseline ${baseline.name} is at ${baseline.energyTable.technologyNm} nm, ${hw.name} at ${nm} nm: ` +
          'gains against it include the node (give the baseline "technologyNm", see docs/design.md §4)',
      );
    const trace = a.trace !== undefined ? openTrace(a.trace) : undefined;
    const activity = { threshold: a.threshold, quantStep: a['quant-step'], frames: a.frames };
    const workload = trace
      ? traceWorkload(trace, activity)
      : topologyWorkload(topologyOf(a), { actDensity: a['act-density'], deltaDensity: a['delta-density'] });
    let sens: Sensitivity | undefined;
    const run = (onLayers?: LayerSink): SimResult => {
      const r = simulate(workload, hw, { mode: a.mode, fps: a.fps, baseline, weightDensity: a['weight-density'], onLayers });
      // Under --strict nothing is written: the run directory is committed only after this returns.
      if (a.strict && r.precision.overRange.length > 0)
        throw new InputError(`${overRangeLines(r).join('; ')} (--strict)`, { file: a.trace ?? a.arch });
      // The sensitivity replays the workload ~50 times: a trace's activity is gathered once, for the studied mode.
      if (studied) {
        const replay = trace ? activityWorkload(traceActivity(trace, { ...activity, kinds: eventKindsOf([studied]) })) : workload;
        sens = sensitivity(replay, hw, { mode: studied, fps: a.fps, weightDensity: a['weight-density'] });
      }
      return r;
    };
    // Beside a run on a SCALE-Sim .cfg (its DRAM model), SCALE-Sim's own three reports of the same layers.
    const scaleSim = hw.kind === 'systolic' && hw.memories.dram.model === 'scalesim';
    const extra = () => ({
      ...(scaleSim ? scaleSimReportFiles(workload.layers, hw) : {}),
      ...(sens ? { [RUN_FILES.sensitivity]: sensitivityCsv(sens), [RUN_FILES.sensitivityJson]: sensitivityJson(sens) } : {}),
    });
    const res = a.out ? await writeRun(a.out, run, process.argv.slice(2), { layers: a.layers, extra }) : run();
    // The table's notes carry them; JSON has no notes, so they go to stderr (once either way).
    if (a.json) for (const line of overRangeLines(res)) console.error(`warning: ${line}`);
    console.log(a.json ? summaryJson(res).trimEnd() : summaryTable(res));
    if (sens) console.log(`\n${sensitivityTable(sens, a.out ? RUN_FILES.sensitivity : 'sensitivity.csv (with --out)')}`);
  },
};

export default command;
