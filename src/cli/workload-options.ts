/**
 * The options `simulate` and `sweep` share: what to simulate (a topology or a trace), on which
 * hw-model, in which modes, with which densities / delta threshold. One definition, so the two
 * commands name, describe and check them the same way.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { InputError } from '../../lib/errors.js';
import { loadTopology, MODES, type Mode, type Topology } from '../../sim/index.js';
import { MANIFEST_FILE } from '../../traces/manifest.js';

export interface WorkloadArgs {
  model?: string;
  trace?: string;
  arch: string;
  mode: Mode | 'all';
  fps?: number;
  'act-density'?: number;
  'weight-density'?: number;
  'delta-density'?: number;
  threshold?: number;
  'quant-step'?: number;
  frames?: number;
}

export function workloadOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      describe: 'topology CSV (SCALE-Sim format, extended) or built-in model name (statistical densities)',
    })
    .option('trace', {
      type: 'string',
      describe: 'trace directory (traces/README.md): its layers are the workload, its frames the data (instead of --model)',
    })
    .option('arch', {
      type: 'string',
      demandOption: true,
      describe: 'hw-model: .json, SCALE-Sim .cfg, or built-in name (see `deltasim arch list`)',
    })
    .option('mode', {
      choices: [...MODES, 'all'] as const,
      default: 'all' as const,
      describe: 'mode(s); all = every mode the hw-model supports',
    })
    .option('act-density', { type: 'number', describe: '--model, sparse mode: fraction of non-zero activations (uniform; default 0.5)' })
    .option('weight-density', { type: 'number', describe: 'fraction of non-zero weights (default: per layer)' })
    .option('delta-density', { type: 'number', describe: '--model, delta mode: fraction of non-zero input deltas (uniform; default 0.1)' })
    .option('threshold', {
      type: 'number',
      describe: '--trace: a delta is zero when |level − reference| ≤ threshold (required for float32 traces; default 0)',
    })
    .option('quant-step', { type: 'number', describe: '--trace: quantise float values to round(value / step) first' })
    .option('frames', { type: 'number', describe: '--trace: simulate only the first N frames' })
    .option('fps', { type: 'number', describe: 'frame rate for average power (--trace default: the trace fps)' });
}

const TRACE_ONLY = ['threshold', 'quant-step', 'frames'] as const;
const MODEL_ONLY = ['act-density', 'delta-density'] as const;

/**
 * What `--model` names, as users give it: a topology file or built-in name, or a directory — a trace
 * (taken as --trace) or a trained model (which must be traced first: say how).
 */
export function resolveModelArg(a: WorkloadArgs, command: 'simulate' | 'sweep' = 'simulate'): void {
  const m = a.model;
  if (m === undefined || !existsSync(m) || !statSync(m).isDirectory()) return;
  if (existsSync(join(m, MANIFEST_FILE))) {
    if (a.trace !== undefined) throw new InputError('give exactly one of --model (a topology) or --trace (a trace directory)');
    a.trace = m;
    a.model = undefined;
    return;
  }
  if (existsSync(join(m, 'model.json'))) {
    const dir = m.replace(/[/\\]+$/, '') || m;
    const trace = `${dir}-trace`;
    const data = trainingData(dir) ?? 'procedural';
    throw new InputError(
      `a trained model, not a topology: record a trace with it first, \`deltasim trace --model ${shellWord(dir)} --data ${shellWord(data)} --out ${shellWord(trace)}\` ` +
        `(or --video FILE instead of --data), then ${command} the trace: \`deltasim ${command} --trace ${shellWord(trace)} --arch ${shellWord(a.arch ?? 'HW')} …\``,
      { file: m },
    );
  }
  throw new InputError(`a directory, but neither a trace (no ${MANIFEST_FILE}) nor a trained model (no model.json)`, { file: m });
}

/** The dataset spec a model directory was trained on (its meta.json, written by `deltasim train`), if it says. */
function trainingData(dir: string): string | undefined {
  try {
    const data = (JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { training?: { data?: unknown } }).training?.data;
    return typeof data === 'string' && data !== '' ? data : undefined;
  } catch {
    return undefined;
  }
}

/** `s` as one word of a POSIX shell command line (quoted only when it needs to be). */
const shellWord = (s: string): string => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** The topology `--model` names (after checkWorkload). */
export const topologyOf = (a: WorkloadArgs): Topology => loadTopology(a.model!);

/** Exactly one of --model / --trace (a trace directory given as --model counts as --trace), and no option that belongs to the other. */
export function checkWorkload(a: WorkloadArgs, traceOnly: readonly string[] = [], what = 'runs'): void {
  resolveModelArg(a, what === 'sweeps' ? 'sweep' : 'simulate');
  if ((a.model === undefined) === (a.trace === undefined))
    throw new InputError('give exactly one of --model (a topology) or --trace (a trace directory)');
  if (a.trace !== undefined && !existsSync(a.trace)) throw new InputError('no such trace directory', { file: a.trace });
  const rec = a as unknown as Record<string, unknown>;
  const misplaced = (a.trace ? MODEL_ONLY : [...TRACE_ONLY, ...traceOnly]).find((k) => rec[k] !== undefined);
  if (misplaced) throw new InputError(`--${misplaced} applies to ${a.trace ? '--model' : '--trace'} ${what} only`);
}
