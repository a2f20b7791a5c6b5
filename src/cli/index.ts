/** deltasim command-line entry point. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { isInputError } from '../../lib/errors.js';

export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('deltasim')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      console.error(`deltasim: ${msg}\n(run with --help for usage)`);
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c);
  await cli.parseAsync();
}

main(hideBin(process.argv)).catch((e: unknown) => {
  if (isInputError(e)) {
    console.error(`deltasim: ${e.message}`);
    process.exit(1);
  }
  console.error(e);
  process.exit(70);
});
