/**
 * `deltasim simulate`: a topology (--model, statistical densities) or a trace (--trace, the real
 * events of every frame) × a hw-model × modes → console table, layers.csv, summary.json
 * (+ frames.csv for traces).
 */
import type { CommandModule } from 'yargs';
import { loadHwModel, loadModel, simulate, simulateTrace } from '../../../sim/index.js';
import { openTrace } from '../../../traces/reader.js';
import { checkWorkload, workloadOptions, type WorkloadArgs } from '../workload-options.js';
import { summaryJson, summaryTable, traceSummaryJson, traceSummaryTable, writeSimOutput, writeTraceSimOutput } from '../sim-output.js';

interface Args extends WorkloadArgs {
  out?: string;
  json: boolean;
  baseline?: string;
}

const DEFAULT_BASELINE = 'dense-32x32';

const command: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a model (statistical) or a trace (per frame, real events) on a hw-model: dense, zero-skipping, delta',
  builder: (y) =>
    workloadOptions(y)
      .option('baseline', { type: 'string', describe: `--trace: hw-model whose dense run is the baseline (default ${DEFAULT_BASELINE})` })
      .option('out', { type: 'string', describe: 'directory for layers.csv, summary.json, run.json (+ frames.csv) (written atomically)' })
      .option('json', { type: 'boolean', default: false, describe: 'print summary.json to stdout instead of the table' }),
  handler: async (a) => {
    checkWorkload(a, ['baseline']);
    const hw = loadHwModel(a.arch);
    if (a.trace !== undefined) {
      const res = simulateTrace(openTrace(a.trace), hw, {
        mode: a.mode,
        fps: a.fps,
        baseline: loadHwModel(a.baseline ?? DEFAULT_BASELINE),
        weightDensity: a['weight-density'],
        threshold: a.threshold,
        quantStep: a['quant-step'],
        frames: a.frames,
        keepLayers: a.out !== undefined,
      });
      if (a.out) await writeTraceSimOutput(a.out, res, process.argv.slice(2));
      console.log(a.json ? traceSummaryJson(res).trimEnd() : traceSummaryTable(res));
      return;
    }
    const res = simulate(loadModel(a.model!), hw, {
      mode: a.mode,
      actDensity: a['act-density'],
      weightDensity: a['weight-density'],
      deltaDensity: a['delta-density'],
      fps: a.fps,
    });
    if (a.out) await writeSimOutput(a.out, res, process.argv.slice(2));
    console.log(a.json ? summaryJson(res).trimEnd() : summaryTable(res));
  },
};

export default command;
