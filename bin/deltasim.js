#!/usr/bin/env node
// Launcher: run the compiled CLI in dist/ (`npm run build`; `npm ci` runs it). Not the sources through tsx:
// tsx's loader hooks slow the simulator's hot loops (reports/bench-sim-trace.md measures by how much). A build older
// than a source file is refused, not run, so an edit is never silently ignored.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.built'); // touched by `npm run build` after tsc succeeds

function refuse(why) {
  console.error(`deltasim: ${why}; run \`npm run build\` in ${root}`);
  process.exit(1);
}

if (!existsSync(stamp)) refuse(`no build in ${join(root, 'dist')}`);
const built = statSync(stamp).mtimeMs;
for (const dir of ['lib', 'src', 'sim', 'traces']) {
  for (const name of readdirSync(join(root, dir), { recursive: true })) {
    const file = join(root, dir, name);
    if (file.endsWith('.ts') && statSync(file).mtimeMs > built) refuse(`${relative(root, file)} changed after the last build`);
  }
}
await import('../dist/src/cli/index.js');
