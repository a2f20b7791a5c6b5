/**
 * `deltasim trace <subcommand>`: work with trace directories (format v1, traces/README.md).
 * Each subcommand is a yargs CommandModule in `subcommands`; adding one is one line there.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../../traces/errors.js';
import { openTrace } from '../../../traces/reader.js';
import { traceStats, type SparsitySummary, type TraceStats } from '../../../traces/stats.js';
import { parseSynthLayers, SYNTH_PRESETS, writeSyntheticTrace } from '../../../traces/synthetic.js';

interface InspectArgs { dir: string; json: boolean; threshold: number; 'quant-step'?: number; verify: boolean; 'per-frame': boolean }

const inspect: CommandModule<object, InspectArgs> = {
  command: 'inspect <dir>',
  describe: 'Check a trace (manifest, .npy headers, sha256) and print spatial, temporal and operation sparsity per layer and overall',
  builder: (y) =>
    y.positional('dir', { type: 'string', demandOption: true, describe: 'trace directory (holds manifest.json)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the full statistics (per frame too) as JSON' })
      .option('threshold', { type: 'number', default: 0, describe: 'a delta is zero when |Δ| ≤ threshold (levels; needed for float32 traces)' })
      .option('quant-step', { type: 'number', describe: 'quantise values to round(value / step) before comparing (float32 traces)' })
      .option('verify', { type: 'boolean', default: true, describe: 'check sha256 of every .npy (--no-verify skips it)' })
      .option('per-frame', { type: 'boolean', default: false, describe: 'also print one row per frame (all layers together)' })
      .example('$0 trace inspect traces/samples/tiny', ''),
  handler: (argv) => {
    if (!(argv.threshold >= 0)) throw new InputError('--threshold: expected a number ≥ 0');
    const q = argv['quant-step'];
    if (q !== undefined && !(q > 0)) throw new InputError('--quant-step: expected a number > 0');
    const trace = openTrace(argv.dir, { verify: argv.verify });
    const stats = traceStats(trace, { threshold: argv.threshold, ...(q === undefined ? {} : { quantStep: q }) });
    console.log(argv.json ? JSON.stringify(stats, null, 2) : formatStats(stats, trace.manifest.frames, argv['per-frame']));
  },
};

interface SynthArgs {
  out: string; seed: number; frames: number; layers: string; density: number; 'change-rate': number; blobs: number;
  'blob-radius': number; 'blob-speed': number; fps: number; force: boolean;
}

const synth: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Write a seeded synthetic trace: random background, a fraction redrawn per frame, moving blobs on top',
  builder: (y) =>
    y.option('out', { type: 'string', demandOption: true, describe: 'trace directory to write' })
      .option('seed', { type: 'number', default: 0 })
      .option('frames', { type: 'number', default: 16 })
      .option('layers', { type: 'string', default: 'tiny', describe: `a preset (${Object.keys(SYNTH_PRESETS).join(', ')}), a JSON layer list, or a .json file holding one` })
      .option('density', { type: 'number', default: 0.3, describe: 'fraction of non-zero background levels' })
      .option('change-rate', { type: 'number', default: 0.05, describe: 'fraction of background levels redrawn each frame' })
      .option('blobs', { type: 'number', default: 2, describe: 'moving discs (spatially clustered change)' })
      .option('blob-radius', { type: 'number', default: 0.15, describe: 'disc radius, fraction of the image side' })
      .option('blob-speed', { type: 'number', default: 0.04, describe: 'disc speed, image sides per frame' })
      .option('fps', { type: 'number', default: 15 })
      .option('force', { type: 'boolean', default: false, describe: 'replace --out if it exists' })
      .example('$0 trace synth --out /tmp/t --layers cnn64 --frames 100 --seed 7', ''),
  handler: async (argv) => {
    if (existsSync(argv.out) && !argv.force) throw new InputError('exists; pass --force to replace it', { file: argv.out });
    const isFile = argv.layers.endsWith('.json') && !SYNTH_PRESETS[argv.layers];
    const text = isFile ? readUserFile(argv.layers) : argv.layers;
    const layers = parseSynthLayers(text, isFile ? argv.layers : '--layers');
    await writeSyntheticTrace(argv.out, layers, {
      seed: argv.seed, frames: argv.frames, fps: argv.fps, density: argv.density, changeRate: argv['change-rate'],
      blobs: argv.blobs, blobRadius: argv['blob-radius'], blobSpeed: argv['blob-speed'],
    });
    console.log(argv.out);
  },
};

const subcommands: CommandModule<any, any>[] = [inspect, synth];

const trace: CommandModule = {
  command: 'trace',
  describe: 'Trace directories (format v1): inspect sparsity, write synthetic traces',
  builder: (y: Argv) => subcommands.reduce((acc, c) => acc.command(c), y).demandCommand(1, 'Name a trace subcommand; see --help.'),
  handler: () => {},
};

export default trace;

function readUserFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new InputError('cannot read file', { file: path });
  }
}

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);

function formatStats(s: TraceStats, frames: number, perFrame: boolean): string {
  const head = ['layer', 'MACs/frame', 'spatial', 'temporal', 'temporal t≥1', 'operation', 'operation t≥1', 'op (zeros)', 'frame min', 'frame max'];
  const row = (name: string, macs: number, m: SparsitySummary) => [
    name, String(macs), pct(m.spatial), pct(m.temporal), pct(m.temporalNoKey), pct(m.operation), pct(m.operationNoKey),
    pct(m.operationSpatial), range(m.frameMin), range(m.frameMax),
  ];
  const rows = s.layers.map((l) => row(l.name, l.macsPerFrame, l.summary));
  rows.push(row('overall', s.layers.reduce((a, l) => a + l.macsPerFrame, 0), s.overall));
  const lines = [
    `${frames} frames; zero delta: |Δ| ≤ ${s.threshold}${s.quantStep === null ? '' : ` after quantising to step ${s.quantStep}`};` +
      ' frame 0 is a key frame (t≥1 columns leave it out); sparsities are fractions of zeros, operation ones fan-out weighted',
    table(head, rows),
  ];
  if (perFrame) {
    lines.push('', table(['frame', 'spatial', 'temporal', 'operation', 'min', 'max'], s.frames.map((f, t) => [
      String(t), pct(1 - f.nonZero / f.elements), pct(1 - f.nonZeroDeltas / f.elements),
      pct(1 - f.fanoutNonZeroDeltas / f.fanout), String(f.min), String(f.max),
    ])));
  }
  return lines.join('\n');
}

const range = ([lo, hi]: [number, number]) => (lo === hi ? fmt(lo) : `${fmt(lo)}..${fmt(hi)}`);
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
