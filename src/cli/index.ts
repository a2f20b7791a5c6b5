/** deltasim command-line entry point: runs the command line (./run.ts) and exits with its status. */
import { hideBin } from 'yargs/helpers';
import { runCli } from './run.js';

runCli(hideBin(process.argv)).then((code) => {
  if (code !== 0) process.exit(code);
});
