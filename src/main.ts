/** `npm start`: the main job on embedded defaults (see src/main-job.ts and the README). */
import { MAIN_DEFAULTS, runMainJob } from './main-job.js';
import { isInputError } from '../lib/errors.js';

runMainJob({ ...MAIN_DEFAULTS, log: (l) => console.log(l) }).catch((e: unknown) => {
  console.error(isInputError(e) ? `deltasim: ${e.message}` : e);
  process.exit(isInputError(e) ? 1 : 70);
});
