/** `deltasim report RUN_DIR`: build the self-contained HTML report of a simulate / sweep run. */
import type { CommandModule } from 'yargs';
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
    const { reportPath } = await buildReport(argv['run-dir']);
    console.log(reportPath);
  },
};

export default report;
