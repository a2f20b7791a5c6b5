/** Shared by the fault tests: the CLI as a child process (sync or async, killable), temp directories, file listings. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_DIR } from '../../lib/package-dir.js';

export const BIN = join(PACKAGE_DIR, 'bin', 'deltasim.js');
export const TRACE = join(PACKAGE_DIR, 'traces', 'samples', 'tiny');
/** A sweep of tiny × delta-32x32 over 96 points (4 rows × 4 cols × 3 state sizes × 2 densities), without --out. */
export const SWEEP_96 = [
  'sweep',
  '--model',
  'tiny',
  '--arch',
  'delta-32x32',
  '--set',
  'rows=4,8,16,32',
  '--set',
  'cols=4,8,16,32',
  '--set',
  'memories.state.kiB=1,64,1024',
  '--set',
  'deltaDensity=0.05,0.1',
];

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI started in the background; `done` settles when it exits. */
export function start(args: string[], cwd: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

const made: string[] = [];
/** A fresh temp directory, removed by `removeTemps` (each suite calls it in `after`). */
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `deltasim-fault-${tag}-`));
  made.push(d);
  return d;
}
export function removeTemps(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Names in `dir` left by an atomic write or a lock: temp siblings and journal locks. */
export const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.tmp-') || n.endsWith('.lock'));

/** Complete lines of a file ('' when it is missing). */
export function lines(file: string): string[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {}
  return text.split('\n').slice(0, -1);
}

/** A clean refusal: exit 1, one line on stderr starting "deltasim: ", no stack frame. */
export function refusal(r: Run): string | null {
  const l = r.stderr.trimEnd().split('\n');
  if (r.code !== 1) return `exit ${r.code ?? r.signal}`;
  if (l.length !== 1) return `${l.length} lines on stderr`;
  if (!l[0]!.startsWith('deltasim: ')) return 'no "deltasim: " prefix';
  if (/^\s+at /m.test(r.stderr)) return 'a stack frame';
  return null;
}
