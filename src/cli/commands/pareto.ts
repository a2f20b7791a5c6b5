/**
 * `deltasim pareto <traces..>`: the drift–energy and drift–latency Pareto front of closed-loop
 * recordings at different thresholds (`trace --drift`, `--drift-budget`), each simulated on one
 * hw-model in one mode → pareto.csv, pareto.json, charts/*.png (src/report/drift-pareto.ts).
 * Not a `sweep` axis: a threshold changes the recording (closed loop), so each point is a trace.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CommandModule } from 'yargs';
import { writeDirAtomic } from '../../../lib/atomic.js';
import { InputError } from '../../../lib/errors.js';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import { loadHwModel, simulate, traceWorkload } from '../../../sim/index.js';
import { openTrace } from '../../../traces/reader.js';
import { driftOfManifest, paretoRows, writePareto, type DriftMeasure } from '../../report/drift-pareto.js';

interface Args {
  traces: string[];
  arch: string;
  mode: 'delta' | 'sparse' | 'dense';
  drift: DriftMeasure;
  out: string;
  force: boolean;
}

const OWN = new Set(['pareto.csv', 'pareto.json', 'charts']);

const command: CommandModule<object, Args> = {
  command: 'pareto <traces..>',
  describe:
    'Drift–energy and drift–latency Pareto front of closed-loop traces recorded at different thresholds (trace --drift) on a hw-model',
  builder: (y) =>
    y
      .positional('traces', { type: 'string', array: true, demandOption: true, describe: 'trace directories recorded with --drift' })
      .option('arch', { type: 'string', demandOption: true, describe: 'hw-model (name or .json/.cfg file)' })
      .option('mode', {
        choices: ['delta', 'sparse', 'dense'] as const,
        default: 'delta' as const,
        describe: 'the mode whose costs are plotted',
      })
      .option('drift', {
        choices: ['rel-l2', 'task'] as const,
        default: 'rel-l2' as DriftMeasure,
        describe: "the drift axis: mean relative L2 of the outputs, or the task metric's drift form (1 − agreement, or keypoint pixels)",
      })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (pareto.csv, pareto.json, charts/)' })
      .option('force', FORCE_OPTION)
      .example('$0 pareto runs/mv-q0.02 runs/mv-q0.05 runs/mv-q0.1 --arch delta-32x32 --out runs/pareto', ''),
  handler: async (a) => {
    if (a.traces.length < 1) throw new InputError('give at least one trace directory');
    guardOutputDir(a.out, a.force, { writes: 'replace', owns: (name) => OWN.has(name) });
    const hw = loadHwModel(a.arch);
    let frames: number | undefined;
    const points = a.traces.map((dir) => {
      const trace = openTrace(dir);
      const drift = driftOfManifest(trace.manifest, join(dir, 'manifest.json'), a.drift);
      if (frames !== undefined && trace.manifest.frames !== frames)
        throw new InputError(`${trace.manifest.frames} frames, the first trace has ${frames}: compare recordings of the same frames`, {
          file: join(dir, 'manifest.json'),
          pointer: '/frames',
        });
      frames = trace.manifest.frames;
      const r = simulate(traceWorkload(trace, { threshold: 0 }), hw, { mode: a.mode, frameRows: false });
      const summary = r.modes.find((m) => m.mode === a.mode)!;
      return { trace: dir, manifest: trace.manifest, drift, summary };
    });
    const rows = paretoRows(points);
    let files: string[] = [];
    await writeDirAtomic(a.out, (tmp) => {
      mkdirSync(join(tmp, 'charts'));
      files = writePareto(tmp, rows, { hwModel: hw.name, mode: a.mode, measure: a.drift, frames: frames! }).map((f) =>
        join(a.out, relative(tmp, f)),
      );
    });
    for (const f of files) console.log(f);
  },
};

export default command;
