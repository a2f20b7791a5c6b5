/**
 * The import rules of docs/design.md §2: data flows src → sim → traces, everything may import lib/, and
 * lib/, traces/ and sim/ stay pure TypeScript (no tfjs, canvas, charts or CLI packages).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import { PACKAGE_DIR } from '../lib/package-dir.js';

/** Folders each pure part may import from (relative imports), besides itself. */
const MAY_IMPORT: Record<string, string[]> = { lib: ['lib'], traces: ['traces', 'lib'], sim: ['sim', 'traces', 'lib'] };
const BANNED = /^(@tensorflow\/|@napi-rs\/|chart\.js|yargs|cli-progress|@vladmandic\/)/;

function sources(dir: string): string[] {
  return readdirSync(join(PACKAGE_DIR, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .map((f) => join(dir, f));
}

/** Every module specifier a file's text imports (static imports, re-exports, dynamic imports). */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

/** The imports of `file` (path from the package directory) that break its part's rule. */
function violations(file: string, text: string, allowed: readonly string[]): string[] {
  const bad: string[] = [];
  for (const s of specifiers(text)) {
    if (s.startsWith('.')) {
      const top = relative(PACKAGE_DIR, resolve(PACKAGE_DIR, dirname(file), s)).split(/[\\/]/)[0]!;
      if (!allowed.includes(top)) bad.push(`${file} imports ${s} (${top}/)`);
    } else if (BANNED.test(s)) bad.push(`${file} imports ${s}`);
  }
  return bad;
}

describe('import rules (docs/design.md §2)', () => {
  for (const [part, allowed] of Object.entries(MAY_IMPORT))
    it(`${part}/ imports only ${allowed.join(', ')} and no tfjs, canvas, chart or CLI package`, () => {
      const files = sources(part);
      expect(files.length).to.be.greaterThan(0);
      expect(files.flatMap((f) => violations(f, readFileSync(join(PACKAGE_DIR, f), 'utf8'), allowed))).to.deep.equal([]);
    });

  it('the check finds a violation (control)', () => {
    const text = "import { x } from '../../src/cli/index.js';\nexport * from './ok.js';\nconst tf = await import('@tensorflow/tfjs');\n";
    expect(violations('sim/engines/x.ts', text, MAY_IMPORT.sim!)).to.deep.equal([
      'sim/engines/x.ts imports ../../src/cli/index.js (src/)',
      'sim/engines/x.ts imports @tensorflow/tfjs',
    ]);
  });
});
