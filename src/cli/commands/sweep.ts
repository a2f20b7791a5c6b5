/**
 * `deltasim sweep`: simulate a model (statistical densities) or a trace (its real per-frame events)
 * over the cartesian grid of hw-model and simulation parameters (--grid file and/or --set; --zip takes
 * some of them pairwise), on worker threads, resumable, shardable across a cluster's array job.
 */
import { basename, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { CommandModule } from 'yargs';
import {
  defaultWorkers,
  describeGrid,
  loadGrid,
  mergeAxes,
  parseSet,
  parseShard,
  parseZip,
  prepareSweep,
  runSweep,
  shardName,
  inspectSweepDir,
  isRunEntry,
  zipAxes,
} from '../../../sim/sweep/index.js';
import { InputError } from '../../../lib/errors.js';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import { openTrace } from '../../../traces/reader.js';
import { loadHwModel, runJson } from '../../../sim/index.js';
import { checkWorkload, topologyOf, workloadOptions, type WorkloadArgs } from '../workload-options.js';

interface Args extends WorkloadArgs {
  grid?: string;
  set?: string[];
  zip?: string[];
  baseline?: string;
  out?: string;
  workers?: number;
  shard?: string;
  resume: boolean;
  force: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'sweep',
  describe: 'Simulate a model or a trace over a grid of hw-model parameters (parallel, resumable, shardable) → sweep.csv',
  builder: (y) =>
    workloadOptions(y)
      .option('grid', { type: 'string', describe: 'grid spec JSON ({"parameters": {"rows": [8, 16], …}}; see hw-models/grids/)' })
      .option('set', {
        type: 'string',
        array: true,
        describe:
          'an axis: dotted hw-model path or sim option = values (rows=8,16,32, memories.dram.GBps=4,16; --model: deltaDensity=0.05,0.1; --trace: threshold=0,2,4); repeatable; replaces a --grid axis of the same name',
      })
      .option('zip', {
        type: 'string',
        array: true,
        describe:
          'take these axes pairwise, as one dimension, instead of as a product (rows,cols: 8×8, 16×16, …); they need as many values each; repeatable',
      })
      .option('baseline', {
        type: 'string',
        describe: 'hw-model whose dense run (once) every point is also compared with in the report (speedup by time, energy gain)',
      })
      .option('out', { type: 'string', describe: 'output directory (default reports/runs/sweep-MODEL-ARCH, or sweep-TRACEDIR-ARCH)' })
      .option('workers', {
        type: 'number',
        describe: `worker threads (default: one per core, here ${defaultWorkers()}; 0 = run in this thread)`,
      })
      .option('shard', {
        type: 'string',
        describe:
          'run shard k of n (k from 1): points i with i mod n = k−1 → OUT/shard-k-of-n.csv; auto/n takes k from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID',
      })
      .option('resume', {
        type: 'boolean',
        default: false,
        describe: 'continue an interrupted run from the journal in OUT (finished points are kept)',
      })
      .option('force', FORCE_OPTION)
      .example('$0 sweep --model alexnet --arch delta-32x32 --set rows=8,16,32 --set cols=8,16,32 --fps 30', '9 points on every core')
      .example(
        '$0 sweep --trace traces/samples/tiny --arch delta-32x32 --set threshold=0,2,8 --set rows=8,32',
        'a trace: 6 points, its work gathered once per threshold',
      )
      .example(
        '$0 sweep --model alexnet --arch delta-32x32 --set rows=8,16,32 --set cols=8,16,32 --zip rows,cols --baseline dense-32x32',
        'square arrays only: 3 points, each also against dense-32x32',
      )
      .example(
        '$0 sweep --model resnet50 --arch delta-32x32 --grid hw-models/grids/array-sram.json --out runs/s --shard auto/8',
        'one task of an 8-way array job; then `deltasim merge runs/s runs/s`',
      ),
  handler: async (a) => {
    if (!a.grid && !a.set?.length) throw new InputError('name the parameters to sweep: --grid FILE and/or --set name=v1,v2,…');
    if (a.force && a.resume) throw new InputError('--force starts OUT afresh and --resume continues the run there: give one of them');
    if (a.workers !== undefined && !(Number.isInteger(a.workers) && a.workers >= 0))
      throw new InputError(`--workers must be a whole number ≥ 0, got ${a.workers}`);
    const axes = zipAxes(mergeAxes(a.grid ? loadGrid(a.grid) : [], (a.set ?? []).map(parseSet)), (a.zip ?? []).map(parseZip));
    const shard = a.shard !== undefined ? parseShard(a.shard) : undefined;
    checkWorkload(a, [], 'sweeps');
    const arch = loadHwModel(a.arch);
    const job = prepareSweep({
      ...(a.trace !== undefined ? { trace: openTrace(a.trace) } : { topology: topologyOf(a) }),
      hwModel: arch,
      axes,
      mode: a.mode,
      ...(a.fps !== undefined ? { fps: a.fps } : {}),
      ...(a['quant-step'] !== undefined ? { quantStep: a['quant-step'] } : {}),
      ...(a.frames !== undefined ? { frames: a.frames } : {}),
      ...(a.baseline !== undefined ? { baseline: loadHwModel(a.baseline) } : {}),
      sim: { actDensity: a['act-density'], weightDensity: a['weight-density'], deltaDensity: a['delta-density'], threshold: a.threshold },
    });
    const name = a.trace !== undefined ? basename(resolve(a.trace)) : job.meta.model;
    const out = a.out ?? `reports/runs/sweep-${basename(name)}-${basename(arch.name)}`;
    // OUT may hold this sweep already (a resume, the other shards of an array job); anything else needs --force.
    guardOutputDir(out, a.force, {
      writes: 'in-place',
      owns: isRunEntry,
      inspect: (dir, names) => inspectSweepDir(dir, names, job.meta.grid, shard ? shardName(shard) : null),
    });
    const bar = new cliProgress.SingleBar(
      { format: 'sweep |{bar}| {value}/{total} points | {eta_formatted} left', stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let result;
    try {
      result = await runSweep(job, {
        out,
        ...(a.workers !== undefined ? { workers: a.workers } : {}),
        ...(shard ? { shard } : {}),
        resume: a.resume,
        run: JSON.parse(runJson(process.argv.slice(2))),
        onStart: (total, done) => bar.start(total, done),
        onPoint: () => bar.increment(),
      });
    } finally {
      bar.stop();
    }
    const part = shard ? ` (${shardName(shard)} of ${job.meta.points})` : '';
    console.log(`${result.points} points${part}, ${result.resumed} from the journal; parameters ${describeGrid(axes)}`);
    for (const f of result.files) console.log(f);
  },
};

export default command;
