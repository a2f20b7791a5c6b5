/**
 * The deltasim package directory: the nearest ancestor of this module that holds a package.json. It is the
 * same whether deltasim runs from its TypeScript sources (traces/) or from the build (dist/traces/; dist/
 * has no package.json), so the data files that ship with deltasim (hw-models/, sim/topologies/, the trace
 * schema, the bundled models) live in one place and are never copied into the build.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`deltasim: no package.json in ${start} or above it`);
  }
}

export const PACKAGE_DIR = findPackageDir(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package directory. */
export const packagePath = (...parts: string[]): string => join(PACKAGE_DIR, ...parts);
