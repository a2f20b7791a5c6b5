/**
 * Temporary directories that do not outlive the process: `makeTempDir(prefix)` creates one under
 * os.tmpdir() and registers it for removal when the process exits normally (`process.exit`, an
 * uncaught error, the event loop running dry) or is stopped by SIGINT, SIGTERM or SIGHUP (Ctrl-C,
 * `kill`, the terminal closing). Its `remove()` deletes it at once and unregisters it.
 *
 * Signals: while at least one directory is registered, a listener for each of those signals is
 * installed (and taken off again soon after the last directory is removed, so the process otherwise
 * keeps Node's default behaviour). On a signal it removes every registered directory, takes its own
 * listeners off and, when no other listener for that signal is left, raises the signal again so the
 * process dies of it as it would have without us (a shell sees 130 for SIGINT, 143 for SIGTERM);
 * should it survive that (the signal ignored), it exits with 128 + the signal number. When other
 * code listens for the signal too, that code decides what happens next (and the exit listener
 * removes what is registered by then).
 *
 * Limits: a listener runs only when the event loop gets control, so a signal arriving during a
 * long synchronous computation is handled after it; SIGKILL (and a crash of the runtime itself)
 * cannot be caught, and leaves the directory behind. Signal listeners are installed on the main
 * thread only (a worker thread's directories are removed on normal exit of the process).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

export interface TempDir {
  /** The directory's absolute path. */
  readonly path: string;
  /** Deletes the directory and what it holds, and unregisters it; calling it again does nothing. */
  remove(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Signal = (typeof SIGNALS)[number];

const live = new Set<string>();
let installed = false;
/** Set while the listeners are about to come off (see uninstallSoon). */
let pendingOff: NodeJS.Immediate | undefined;

/** Best effort: the process is on its way out, and one directory that cannot go must not keep the others. */
function removeAll(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // left behind; nothing more can be done now
    }
  }
  live.clear();
}

function onExit(): void {
  removeAll();
}

function onSignal(signal: Signal): void {
  removeAll();
  uninstall();
  if (process.listenerCount(signal) > 0) return; // someone else handles it
  process.kill(process.pid, signal);
  // Still here: the signal is ignored (SIG_IGN inherited, or Windows); exit as a shell would report it.
  process.exit(128 + constants.signals[signal]);
}

const listeners = new Map<Signal, () => void>(SIGNALS.map((s) => [s, () => onSignal(s)]));

function install(): void {
  if (pendingOff) clearImmediate(pendingOff);
  pendingOff = undefined;
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  if (isMainThread) for (const [s, fn] of listeners) process.on(s, fn);
}

function uninstall(): void {
  if (pendingOff) clearImmediate(pendingOff);
  pendingOff = undefined;
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const [s, fn] of listeners) process.off(s, fn);
}

/**
 * Takes the listeners off after the event loop has polled once more: a signal that arrived while
 * they were on is delivered to them (and re-raised), not dropped with them.
 */
function uninstallSoon(): void {
  if (pendingOff) return;
  pendingOff = setImmediate(() => {
    pendingOff = setImmediate(uninstall);
  });
}

/** A new directory `os.tmpdir()/<prefix>XXXXXX`, removed on exit and on SIGINT / SIGTERM / SIGHUP unless removed before. */
export function makeTempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  live.add(path);
  install();
  return {
    path,
    remove(): void {
      if (!live.has(path)) return;
      rmSync(path, { recursive: true, force: true }); // if this throws, the exit listener tries again
      live.delete(path);
      if (live.size === 0) uninstallSoon();
    },
  };
}
