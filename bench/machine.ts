/** What the benchmark reports say about the machine they ran on. */
import { execSync } from 'node:child_process';
import { cpus } from 'node:os';

/** The CPU's model name (lscpu's, else Node's). */
export function cpuModel(): string {
  try {
    return execSync("lscpu | sed -n 's/^Model name: *//p'", { encoding: 'utf8' }).trim();
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}
