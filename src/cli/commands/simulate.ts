/** `deltasim simulate`: a topology × a hw-model × modes → console table, layers.csv, summary.json. */
import type { CommandModule } from 'yargs';
import { loadHwModel, loadModel, simulate, MODES, type Mode } from '../../../sim/index.js';
import { summaryJson, summaryTable, writeSimOutput } from '../sim-output.js';

interface Args {
  model: string;
  arch: string;
  mode: Mode | 'all';
  fps?: number;
  out?: string;
  json: boolean;
  'act-density'?: number;
  'weight-density'?: number;
  'delta-density'?: number;
}

const command: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a model on a hw-model (dense, zero-skipping, delta) and report cycles, memory and energy',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'topology CSV (SCALE-Sim format, extended) or built-in model name' })
      .option('arch', { type: 'string', demandOption: true, describe: 'hw-model: .json, SCALE-Sim .cfg, or built-in name (see `deltasim arch list`)' })
      .option('mode', { choices: [...MODES, 'all'] as const, default: 'all' as const, describe: 'mode(s); all = every mode the hw-model supports' })
      .option('act-density', { type: 'number', describe: 'sparse mode: fraction of non-zero activations (uniform; default 0.5)' })
      .option('weight-density', { type: 'number', describe: 'fraction of non-zero weights (default: per layer, 1 for topologies)' })
      .option('delta-density', { type: 'number', describe: 'delta mode: fraction of non-zero input deltas (uniform; default 0.1)' })
      .option('fps', { type: 'number', describe: 'frame rate for average power' })
      .option('out', { type: 'string', describe: 'directory for layers.csv, summary.json, run.json (written atomically)' })
      .option('json', { type: 'boolean', default: false, describe: 'print summary.json to stdout instead of the table' }),
  handler: async (a) => {
    const res = simulate(loadModel(a.model), loadHwModel(a.arch), {
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
