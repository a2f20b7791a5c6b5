/**
 * A small tmpfs for full-disk tests (test/fault/full-disk, test/traces/deltas-full-disk, the ONNX
 * recorder's): mounted on `mnt` (created here), or the reason it cannot be where mounting is not
 * permitted (the caller skips, saying why).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` (mount's syntax: 1m, 64k) on `mnt`; null when mounted, else why not. */
export function mountTmpfs(mnt: string, size: string): string | null {
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { encoding: 'utf8' });
  return m.status === 0 ? null : (m.stderr || m.error?.message || `exit ${m.status}`).trim();
}

export function unmount(mnt: string): void {
  spawnSync('umount', [mnt]);
}

/** Leave `bytes` free on the tmpfs at `mnt` (a filler file takes the rest). */
export function leaveFree(mnt: string, bytes: number): void {
  const s = statfsSync(mnt);
  writeFileSync(join(mnt, 'filler'), new Uint8Array(Math.max(0, s.bavail * s.bsize - bytes)));
}
