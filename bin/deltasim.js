#!/usr/bin/env node
// Launcher: run the compiled CLI in dist/ (`npm run build`; `npm ci` and `npm pack` run it). Not the sources through
// tsx: tsx's loader hooks slow the simulator's hot loops (reports/bench-sim-trace.md measures by how much).
//
// Where it runs decides what it checks, and tsconfig.json next to package.json tells the two apart:
// - A development checkout (a clone, a worktree, a source archive; `npm link` and `npm install <dir>` link one, so
//   they count too) has tsconfig.json, which the build needs. There a build older than a source file is refused, not
//   run, so an edit is never silently ignored.
// - An installed package (`npm install -g deltasim`, or the tarball of `npm pack`) has no tsconfig.json: package.json
//   `files` ships dist/ and the data files, not tsconfig.json or the TypeScript sources. Its files carry the time they
//   were unpacked, not built, and it has no devDependencies to rebuild with, so its dist/ runs as it is.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function refuse(why, fix) {
  console.error(`deltasim: ${why}; ${fix}`);
  process.exit(1);
}

if (existsSync(join(root, 'tsconfig.json'))) {
  const stamp = join(root, 'dist', '.built'); // touched by `npm run build` after tsc succeeds
  const rebuild = `run \`npm run build\` in ${root}`;
  if (!existsSync(stamp)) refuse(`no build in ${join(root, 'dist')}`, rebuild);
  const built = statSync(stamp).mtimeMs;
  for (const dir of ['lib', 'src', 'sim', 'traces']) {
    if (!existsSync(join(root, dir))) continue;
    for (const name of readdirSync(join(root, dir), { recursive: true })) {
      const file = join(root, dir, name);
      if (file.endsWith('.ts') && statSync(file).mtimeMs > built) refuse(`${relative(root, file)} changed after the last build`, rebuild);
    }
  }
} else if (!existsSync(join(root, 'dist', 'src', 'cli', 'index.js'))) {
  refuse(`no build in ${join(root, 'dist')}`, 'this package was packed without one: reinstall deltasim');
}
await import('../dist/src/cli/index.js');
