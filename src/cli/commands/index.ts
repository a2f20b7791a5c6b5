/**
 * The CLI's command registry: one module per command under src/cli/commands/, listed here in
 * pipeline order (train → trace → simulate / sweep → report).
 * Each module default-exports a yargs CommandModule.
 */
import type { CommandModule } from 'yargs';
import train from './train.js';
import trace from './trace.js';
import simulate from './simulate.js';
import sweep from './sweep.js';
import merge from './merge.js';
import report from './report.js';
import arch from './arch.js';

// biome-ignore lint/suspicious/noExplicitAny: yargs types each command by its own arguments; the list holds them all
export const commands: CommandModule<any, any>[] = [train, trace, simulate, sweep, merge, report, arch];
