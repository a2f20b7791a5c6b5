/**
 * `deltasim simulate`: a topology (--model, statistical densities) or a trace (--trace, the real
 * events of every frame) × a hw-model × modes → console table, layers.csv, summary.json
 * (+ frames.csv for traces).
 */
import type { CommandModule } from 'yargs';
import { loadHwModel, loadModel, simulate, simulateTrace, MODES, type Mode } from '../../../sim/index.js';
import { openTrace } from '../../../traces/reader.js';
import { InputError } from '../../../traces/errors.js';
import { summaryJson, summaryTable, traceSummaryJson, traceSummaryTable, writeSimOutput, writeTraceSimOutput } from '../sim-output.js';

interface Args {
  model?: string;
  trace?: string;
  arch: string;
  mode: Mode | 'all';
  fps?: number;
  out?: string;
  json: boolean;
  baseline?: string;
  threshold?: number;
  'quant-step'?: number;
  frames?: number;
  'act-density'?: number;
  'weight-density'?: number;
  'delta-density'?: number;
}

const TRACE_ONLY = ['baseline', 'threshold', 'quant-step', 'frames'] as const;
const MODEL_ONLY = ['act-density', 'delta-density'] as const;
const DEFAULT_BASELINE = 'dense-32x32';

const command: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a model (statistical) or a trace (per frame, real events) on a hw-model: dense, zero-skipping, delta',
  builder: (y) =>
    y
      .option('model', { type: 'string', describe: 'topology CSV (SCALE-Sim format, extended) or built-in model name (statistical densities)' })
      .option('trace', { type: 'string', describe: 'trace directory (format v1): its layers are the workload, its frames the data' })
      .option('arch', { type: 'string', demandOption: true, describe: 'hw-model: .json, SCALE-Sim .cfg, or built-in name (see `deltasim arch list`)' })
      .option('mode', { choices: [...MODES, 'all'] as const, default: 'all' as const, describe: 'mode(s); all = every mode the hw-model supports' })
      .option('baseline', { type: 'string', describe: `--trace: hw-model whose dense run is the baseline (default ${DEFAULT_BASELINE})` })
      .option('threshold', { type: 'number', describe: '--trace: a delta is zero when |level − reference| ≤ threshold (required for float32 traces; default 0)' })
      .option('quant-step', { type: 'number', describe: '--trace: quantise float values to round(value / step) first' })
      .option('frames', { type: 'number', describe: '--trace: simulate only the first N frames' })
      .option('act-density', { type: 'number', describe: '--model, sparse mode: fraction of non-zero activations (uniform; default 0.5)' })
      .option('weight-density', { type: 'number', describe: 'fraction of non-zero weights (default: per layer)' })
      .option('delta-density', { type: 'number', describe: '--model, delta mode: fraction of non-zero input deltas (uniform; default 0.1)' })
      .option('fps', { type: 'number', describe: 'frame rate for average power (--trace default: the trace fps)' })
      .option('out', { type: 'string', describe: 'directory for layers.csv, summary.json, run.json (+ frames.csv) (written atomically)' })
      .option('json', { type: 'boolean', default: false, describe: 'print summary.json to stdout instead of the table' }),
  handler: async (a) => {
    if ((a.model === undefined) === (a.trace === undefined)) throw new InputError('give exactly one of --model (a topology) or --trace (a trace directory)');
    const misplaced = (a.trace ? MODEL_ONLY : TRACE_ONLY).find((k) => a[k] !== undefined);
    if (misplaced) throw new InputError(`--${misplaced} applies to ${a.trace ? '--model' : '--trace'} runs only`);
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
