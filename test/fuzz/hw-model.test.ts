/** Fuzz: hw-model JSON (parseHwModelJson) and energy tables (loadEnergyTable). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadEnergyTable, parseHwModelJson } from '../../sim/index.js';
import { ENERGY_DIR, HW_MODELS_DIR } from '../../sim/paths.js';
import { fuzz } from './mutate.js';
import { filesIn, logStats, tempDir, text } from './helpers.js';

describe('fuzz: hw-model JSON', function () {
  this.timeout(60_000);

  it('400 mutants of the shipped hw-models parse or are refused in one line', () => {
    // Named inside hw-models/ so that "energy" resolves as it does for the shipped files.
    const file = join(HW_MODELS_DIR, 'fuzzed.json');
    const bases = filesIn(HW_MODELS_DIR, /^(?!schema).*\.json$/);
    expect(bases).to.have.length.greaterThan(2);
    const s = fuzz({ seed: 0x4877, count: 400, bases, jsonShare: 0.4 }, (b) => () => parseHwModelJson(text(b), file), file);
    logStats('hw-model', s);
    expect(s.parsed).to.be.greaterThan(0);
  });

  it('300 mutants of the shipped energy tables load or are refused in one line', () => {
    const file = join(tempDir(), 'energy.json');
    const bases = filesIn(ENERGY_DIR, /^(?!schema).*\.json$/);
    const s = fuzz(
      { seed: 0x656e, count: 300, bases, jsonShare: 0.4 },
      (b) => {
        writeFileSync(file, b);
        return () => loadEnergyTable(file);
      },
      file,
    );
    logStats('energy table', s);
    expect(s.parsed).to.be.greaterThan(0);
  });
});
