/** Fuzz: trace manifests (parseManifest in memory; openTrace on a trace directory holding the mutant). */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { packagePath } from '../../lib/package-dir.js';
import type { Rng } from '../../lib/prng.js';
import { MANIFEST_FILE, parseManifest } from '../../traces/manifest.js';
import { openTrace } from '../../traces/reader.js';
import { fuzz, mutateBytes, type Mutant } from './mutate.js';
import { logStats, tempDir, text } from './helpers.js';

const SAMPLE = packagePath('traces', 'samples', 'tiny');
const base = readFileSync(join(SAMPLE, MANIFEST_FILE));

/** act.file values that must never reach the file system as a path outside the trace directory, or crash open(2). */
const FILE_NAMES = [
  'a\0.npy',
  '\0',
  'conv1.npy\0',
  `${'n'.repeat(300)}.npy`,
  `${'x'.repeat(251)}.npy`,
  `${'x'.repeat(252)}.npy`,
  `${'é'.repeat(126)}.npy`,
  `${'d/'.repeat(3000)}x.npy`,
  '../conv1.npy',
  '../../../../../../etc/passwd.npy',
  '/etc/passwd.npy',
  '/tmp/conv1.npy',
  'C:conv1.npy',
  'C:\\conv1.npy',
  '..\\conv1.npy',
  '\\\\server\\share\\x.npy',
  'sub/conv1.npy',
  '.',
  '..',
  '..npy',
  '.npy',
  '',
  'conv1.npy\n',
  'con\nv1.npy',
  '\u202eypn.1vnoc',
  'manifest.json',
  'dw2.npy',
  'missing.npy',
  'CONV1.NPY',
  ' conv1.npy',
];

/** Set one layer's act.file to a name from FILE_NAMES, sometimes mutated further. */
function actFile(r: Rng, baseText: string): Mutant {
  const doc = JSON.parse(baseText) as { layers: { act: { file: string } }[] };
  const i = r.int(doc.layers.length);
  let name = r.pick(FILE_NAMES);
  if (r.int(4) === 0) name = new TextDecoder().decode(mutateBytes(r, new TextEncoder().encode(name)).bytes);
  doc.layers[i]!.act.file = name;
  return {
    ops: [`/layers/${i}/act/file = ${JSON.stringify(name).slice(0, 40)}`],
    bytes: new TextEncoder().encode(JSON.stringify(doc, null, 2)),
  };
}

describe('fuzz: trace manifest', function () {
  this.timeout(60_000);

  it('500 mutants of the sample manifest parse or are refused in one line', () => {
    const file = 'trace/manifest.json';
    const s = fuzz(
      { seed: 0x6d616e, count: 500, bases: [base], jsonShare: 0.4, custom: { share: 0.2, make: actFile } },
      (b) => () => parseManifest(text(b), file),
      file,
    );
    logStats('manifest', s);
    expect(s.parsed).to.be.greaterThan(0);
  });

  it('300 mutants in a copy of the sample trace open or are refused in one line (act.file reaches the file system)', () => {
    const dir = join(tempDir(), 'trace');
    cpSync(SAMPLE, dir, { recursive: true });
    const file = join(dir, MANIFEST_FILE);
    const s = fuzz(
      { seed: 0x747263, count: 300, bases: [base], jsonShare: 0.4, custom: { share: 0.4, make: actFile } },
      (b) => {
        writeFileSync(file, b);
        return () => openTrace(dir);
      },
      dir,
    );
    logStats('trace directory', s);
    expect(s.parsed).to.be.greaterThan(0);
  });

  it('act.file names that leave the trace directory, hold a NUL or are too long are refused by the manifest', () => {
    const refused = [
      'a\0.npy',
      `${'n'.repeat(300)}.npy`,
      `${'x'.repeat(252)}.npy`,
      `${'é'.repeat(126)}.npy`,
      '../conv1.npy',
      '/tmp/conv1.npy',
    ];
    refused.push('C:conv1.npy', '..\\conv1.npy', 'conv1.npy\n', '.npy');
    for (const name of refused) {
      const m = JSON.parse(text(base));
      m.layers[0].act.file = name;
      let err: unknown;
      try {
        parseManifest(JSON.stringify(m), 'manifest.json');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(name)).to.be.instanceOf(Error).with.property('name', 'InputError');
      expect((err as Error).message, JSON.stringify(name)).to.match(/^manifest\.json, at \/layers\/0\/act\/file: /);
    }
    const ok = JSON.parse(text(base));
    ok.layers[0].act.file = `${'x'.repeat(251)}.npy`;
    expect(parseManifest(JSON.stringify(ok), 'manifest.json').layers[0]!.act.file).to.have.length(255);
  });
});
