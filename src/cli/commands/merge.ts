/** `deltasim merge OUT SHARD…`: join `sweep --shard` outputs into the sweep.csv of the unsharded run. */
import type { CommandModule } from 'yargs';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import { inspectSweepDir, isRunEntry, mergeShards, writeSweepOutput } from '../../../sim/sweep/index.js';
import { runJson } from '../../../sim/index.js';

interface Args {
  out: string;
  shards: string[];
  force: boolean;
}

const command: CommandModule<object, Args> = {
  command: 'merge <out> <shards..>',
  describe: 'Merge sweep shards (shard-K-of-N.json/.csv files or directories holding them) into OUT/sweep.csv, summary.json, run.json',
  builder: (y) =>
    y
      .positional('out', { type: 'string', demandOption: true, describe: 'output directory (may be the shards directory)' })
      .positional('shards', { type: 'string', array: true, demandOption: true, describe: 'shard files or directories' })
      .option('force', FORCE_OPTION)
      .example('$0 merge runs/s runs/s', 'merge every shard in runs/s into runs/s/sweep.csv'),
  handler: (a) => {
    const m = mergeShards(a.shards);
    // OUT may hold this sweep already (its shards, an earlier merge); anything else needs --force.
    guardOutputDir(a.out, a.force, {
      writes: 'in-place',
      owns: isRunEntry,
      flag: 'OUT',
      inspect: (dir, names) => inspectSweepDir(dir, names, m.meta.grid, null),
    });
    const run = { ...(JSON.parse(runJson(process.argv.slice(2))) as object), shards: m.shards };
    for (const f of writeSweepOutput(a.out, m.meta, m.rows, run)) console.log(f);
  },
};

export default command;
