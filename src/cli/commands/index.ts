/**
 * The CLI's command registry: one module per command under src/cli/commands/, listed here.
 * Each module default-exports a yargs CommandModule.
 */
import type { CommandModule } from 'yargs';

export const commands: CommandModule<any, any>[] = [];
