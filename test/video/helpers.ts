/** Shared fixtures for the video tests: clips made by ffmpeg's own lavfi sources, and a zombie check. */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { FFMPEG_PATH } from '../../src/video/ffmpeg.js';

/** Encodes `seconds` of a lavfi source (e.g. "testsrc=size=128x96:rate=10") to `file`. */
export function makeClip(file: string, source: string, seconds: number): void {
  const r = spawnSync(FFMPEG_PATH, [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    source,
    '-t',
    String(seconds),
    file,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${r.stderr}`);
}

/** Child processes of this process named ffmpeg, running or zombie (Linux /proc; [] elsewhere). */
export function ffmpegChildren(): string[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const pid of pids) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid …"
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && Number(m[3]) === process.pid && m[1]!.includes('ffmpeg')) found.push(`${pid} ${m[1]} state ${m[2]}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
