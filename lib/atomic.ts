/**
 * Atomic writes: nothing half-written is ever visible under the final name.
 * Files go to a sibling temp file and are renamed; directories are built in a sibling temp
 * directory and renamed into place (replacing an existing directory only after success).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

function tmpSibling(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpSibling(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Build a directory atomically: `build` receives a temp directory to fill; on success it replaces
 * `path`, on failure it is removed and `path` is left as it was.
 */
export async function writeDirAtomic(path: string, build: (tmpDir: string) => void | Promise<void>): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tmpSibling(path);
  mkdirSync(tmp);
  try {
    await build(tmp);
    if (existsSync(path)) {
      const old = tmpSibling(path);
      renameSync(path, old);
      renameSync(tmp, path);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, path);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
