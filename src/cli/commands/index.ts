/**
 * The CLI's command registry: one module per command under src/cli/commands/, listed here in
 * pipeline order (train → trace → simulate / sweep → report).
 * Each module default-exports a yargs CommandModule.
 *
 * The modules load lazily: a command's module, and all it imports (tfjs for train and trace, the simulator,
 * canvas for the report), is imported only when yargs runs that command's builder — when the command runs
 * or shows its own help. `deltasim --version`, `deltasim --help` and a mistyped command load none of them.
 * So the registry repeats what yargs needs without the module: the command string (name and positionals)
 * and the one-line description. test/bin/commands.test.ts checks they match each module's own.
 */
import type { Argv, CommandModule } from 'yargs';

// biome-ignore lint/suspicious/noExplicitAny: yargs types each command by its own arguments; the list holds them all
type AnyCommand = CommandModule<any, any>;

/** A command yargs can list without loading its module: the module's builder and handler run once it has loaded. */
export interface LazyCommand extends AnyCommand {
  command: string;
  describe: string;
  /** The command's module (loaded once). */
  load: () => Promise<AnyCommand>;
}

function lazy(command: string, describe: string, importer: () => Promise<{ default: AnyCommand }>): LazyCommand {
  let loaded: Promise<AnyCommand> | undefined;
  const load = () => (loaded ??= importer().then((m) => m.default));
  return {
    command,
    describe,
    load,
    // yargs awaits a builder that returns a promise (parseAsync), then parses with the options it declared
    builder: async (y: Argv, helpOrVersionSet?: boolean) => {
      const { builder } = await load();
      if (typeof builder === 'function') return (builder as (y: Argv, helpOrVersionSet?: boolean) => Argv)(y, helpOrVersionSet);
      return builder ? y.options(builder) : y;
    },
    handler: async (argv) => {
      await (await load()).handler(argv);
    },
  };
}

export const commands: LazyCommand[] = [
  lazy(
    'train',
    'Train a video CNN for temporal sparsity (baseline, L1 or Delta Activation Layer) and evaluate it',
    () => import('./train.js'),
  ),
  lazy(
    'trace',
    'Trace directories: record from a model (the default subcommand), inspect sparsity and storage, re-encode, write synthetic traces',
    () => import('./trace.js'),
  ),
  lazy(
    'simulate',
    'Simulate a model (statistical) or a trace (per frame, real events) on a hw-model: dense, zero-skipping, delta',
    () => import('./simulate.js'),
  ),
  lazy(
    'sweep',
    'Simulate a model or a trace over a grid of hw-model parameters (parallel, resumable, shardable) → sweep.csv',
    () => import('./sweep.js'),
  ),
  lazy(
    'merge <out> <shards..>',
    'Merge sweep shards (shard-K-of-N.json/.csv files or directories holding them) into OUT/sweep.csv, summary.json, run.json',
    () => import('./merge.js'),
  ),
  lazy(
    'report <run-dir>',
    'Write RUN_DIR/report.html (tables, embedded charts, command and versions) and RUN_DIR/charts/*.png',
    () => import('./report.js'),
  ),
  lazy(
    'pareto <traces..>',
    'Drift–energy and drift–latency Pareto front of closed-loop traces recorded at different thresholds (trace --drift) on a hw-model',
    () => import('./pareto.js'),
  ),
  lazy('arch <action> [name]', 'List the hw-models that ship, or show one (name or .json/.cfg file)', () => import('./arch.js')),
];
