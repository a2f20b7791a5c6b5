/**
 * Progress reporting for long CLI runs (training, recording), always on stderr so that stdout stays
 * the command's result. On a terminal: a cli-progress bar with ETA and the caller's fields, and
 * `log` lines that stay above it. Elsewhere (pipes, CI, tests): plain lines, at most one every
 * `intervalMs` plus the final one, so logs stay readable.
 */
import cliProgress from 'cli-progress';

export type ProgressFields = Record<string, string>;

export interface ProgressOptions {
  label: string;
  total: number;
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Plain-line mode: least time between lines (default 5000 ms). */
  intervalMs?: number;
  /** Print nothing at all. */
  quiet?: boolean;
}

export interface Progress {
  /** Absolute progress (0..total) and the fields to show beside it. */
  update(value: number, fields?: ProgressFields): void;
  /** A line that stays (e.g. an epoch summary). */
  log(line: string): void;
  stop(): void;
}

const joinFields = (f: ProgressFields) =>
  Object.entries(f)
    .map(([k, v]) => `${k} ${v}`)
    .join(' | ');

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function startProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  if (o.quiet) return { update() {}, log() {}, stop() {} };
  if (stream.isTTY) return ttyProgress(o, stream);
  return lineProgress(o, stream);
}

function ttyProgress(o: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      format: `${o.label} [{bar}] {percentage}% {value}/{total} | ETA {eta_formatted} | {info}`,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(o.total, 0, { info: '' });
  return {
    update: (value, fields = {}) => bar.update(value, { info: joinFields(fields) }),
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}

function lineProgress(o: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const started = performance.now();
  const interval = o.intervalMs ?? 5000;
  let last = -Infinity;
  let lastValue = 0;
  let lastFields: ProgressFields = {};
  const line = (value: number, fields: ProgressFields) => {
    const elapsed = (performance.now() - started) / 1000;
    const eta = value > 0 ? (elapsed / value) * (o.total - value) : NaN;
    const pct = o.total > 0 ? Math.floor((100 * value) / o.total) : 100;
    stream.write(
      `${o.label} ${value}/${o.total} (${pct}%) | elapsed ${formatDuration(elapsed)} | ETA ${formatDuration(eta)}${Object.keys(fields).length ? ` | ${joinFields(fields)}` : ''}\n`,
    );
  };
  return {
    update(value, fields = {}) {
      lastValue = value;
      lastFields = fields;
      const now = performance.now();
      if (now - last >= interval) {
        last = now;
        line(value, fields);
      }
    },
    log: (text) => void stream.write(`${text}\n`),
    stop() {
      if (last !== -Infinity || lastValue > 0) line(lastValue, lastFields);
    },
  };
}
