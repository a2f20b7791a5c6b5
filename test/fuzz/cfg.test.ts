/** Fuzz: SCALE-Sim .cfg files (parseScaleSimCfg). */
import { join } from 'node:path';
import { expect } from 'chai';
import { parseScaleSimCfg } from '../../sim/index.js';
import { HW_MODELS_DIR } from '../../sim/paths.js';
import { fuzz } from './mutate.js';
import { filesIn, logStats, text } from './helpers.js';

describe('fuzz: SCALE-Sim .cfg', function () {
  this.timeout(60_000);

  it('500 mutants of the .cfg files parse or are refused in one line', () => {
    const file = join(HW_MODELS_DIR, 'fuzzed.cfg');
    const bases = [...filesIn(HW_MODELS_DIR, /\.cfg$/), ...filesIn(new URL('../fixtures/scalesim', import.meta.url).pathname, /\.cfg$/)];
    const s = fuzz({ seed: 0x636667, count: 500, bases }, (b) => () => parseScaleSimCfg(text(b), file), file);
    logStats('.cfg', s);
    expect(s.parsed).to.be.greaterThan(0);
    expect(s.rejected).to.be.greaterThan(0);
  });
});
