/** `deltasim report RUN_DIR`: build the self-contained HTML report of a simulate / sweep run. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { guardOutputDir, guardOutputFile } from '../../../lib/output-guard.js';
import { RUN_FILES } from '../../../sim/run-dir.js';
import { buildReport } from '../../report/build.js';

interface Args {
  'run-dir': string;
}

const report: CommandModule<object, Args> = {
  command: 'report <run-dir>',
  describe: 'Write RUN_DIR/report.html (tables, embedded charts, command and versions) and RUN_DIR/charts/*.png',
  builder: (y) =>
    y
      .positional('run-dir', {
        type: 'string',
        demandOption: true,
        describe: 'a directory written by `deltasim simulate` or `sweep` (holds summary.json)',
      })
      .example('$0 report reports/runs/tiny-delta', 'then open reports/runs/tiny-delta/report.html in a browser'),
  handler: async (argv) => {
    // report.html and charts/*.png are the report's own: rebuilt every time (no --force), never anything else there.
    const dir = argv['run-dir'];
    if (existsSync(dir) && statSync(dir).isDirectory()) {
      guardOutputFile(join(dir, RUN_FILES.report));
      guardOutputDir(join(dir, RUN_FILES.charts), true, { writes: 'replace', owns: (name) => name.endsWith('.png'), flag: null });
    }
    const { reportPath } = await buildReport(argv['run-dir']);
    console.log(reportPath);
  },
};

export default report;
