/** Fuzz: sweep grid files (loadGrid on a temp file). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { HW_MODELS_DIR } from '../../sim/paths.js';
import { loadGrid } from '../../sim/sweep/index.js';
import { fuzz, VALUES } from './mutate.js';
import { filesIn, logStats, tempDir } from './helpers.js';

const GRID_VALUES = [...VALUES, 'sim.actDensity', 'sim.nope', 'arch.', 'rows', 'a..b', [8, 8], [8, 'x'], [true, false]];

describe('fuzz: sweep grid', function () {
  this.timeout(60_000);

  it('400 mutants of the shipped grids load or are refused in one line', () => {
    const bases = filesIn(join(HW_MODELS_DIR, 'grids'), /^(?!schema).*\.json$/);
    const file = join(tempDir(), 'grid.json');
    const s = fuzz(
      { seed: 0x677264, count: 400, bases, jsonShare: 0.5, values: GRID_VALUES },
      (b) => {
        writeFileSync(file, b);
        return () => loadGrid(file);
      },
      file,
    );
    logStats('grid', s);
    expect(s.parsed).to.be.greaterThan(0);
  });
});
