/** Fuzz: .npy files, header and data (readNpy on a temp file). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { packagePath } from '../../lib/package-dir.js';
import { encodeNpy, readNpy } from '../../traces/npy.js';
import { fuzz } from './mutate.js';
import { filesIn, logStats, tempDir } from './helpers.js';

/** Header-shaped tokens besides the generic ones: dict syntax, dtypes, shapes. */
const NPY_TOKENS = [
  "'",
  '"',
  '\0',
  '\n',
  '{',
  '}',
  '(',
  ')',
  ',',
  ':',
  ' ',
  "'descr': '>i2', ",
  "'descr': '<f8', ",
  "'fortran_order': True, ",
  "'shape': (), ",
  "'shape': (99999999999999999999, 2), ",
  "'shape': (-1,), ",
  '9007199254740993',
  '0',
  '\u00ff\u00fe',
  'a'.repeat(70000),
  '\x93NUMPY\x01\x00',
  '\x93NUMPY\x02\x00\xff\xff\xff\xff',
];

describe('fuzz: .npy header and data', function () {
  this.timeout(60_000);

  it('600 mutants of .npy files read or are refused in one line', () => {
    const bases = [
      ...filesIn(packagePath('traces', 'samples', 'tiny'), /\.npy$/),
      encodeNpy('int16', [2, 3], Int16Array.from([1, -2, 3, -4, 5, -6])),
      encodeNpy('float32', [4], Float32Array.from([0.5, -1, 3e38, 0]), 2),
      encodeNpy('int8', [1, 1, 2], Int8Array.from([-1, 1]), 3),
    ];
    const file = join(tempDir(), 'fuzzed.npy');
    const s = fuzz(
      { seed: 0x6e7079, count: 600, bases, tokens: NPY_TOKENS },
      (b) => {
        writeFileSync(file, b);
        return () => readNpy(file);
      },
      file,
    );
    logStats('.npy', s);
    expect(s.parsed).to.be.greaterThan(0);
    expect(s.rejected).to.be.greaterThan(0);
  });
});
