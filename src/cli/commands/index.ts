/**
 * The CLI's command registry: one module per command under src/cli/commands/, listed here.
 * Each module default-exports a yargs CommandModule.
 */
import type { CommandModule } from 'yargs';
import report from './report.js';
import trace from './trace.js';
import simulate from './simulate.js';
import arch from './arch.js';
import sweep from './sweep.js';
import merge from './merge.js';
import train from './train.js';

export const commands: CommandModule<any, any>[] = [report, trace, simulate, arch, sweep, merge, train];
