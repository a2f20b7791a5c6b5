/**
 * `deltasim trace <subcommand>`: work with trace directories (manifest version 1 or 2, .npy or .deltas layer files; traces/README.md).
 * Each subcommand is a yargs CommandModule in `subcommands`; adding one is one line there.
 * `record` is the default: `deltasim trace --model M --data D --out T` records.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { InputError } from '../../../lib/errors.js';
import { FORCE_OPTION, guardOutputDir } from '../../../lib/output-guard.js';
import { table } from '../../../lib/table.js';
import { keyFrameEvery, MANIFEST_FILE, recordingOf, type Encoding, type Manifest } from '../../../traces/manifest.js';
import { packTrace } from '../../../traces/pack.js';
import { openTrace } from '../../../traces/reader.js';
import { storageOf, type TraceStorage } from '../../../traces/storage.js';
import { traceStats, type SparsitySummary, type TraceStats } from '../../../traces/stats.js';
import { parseSynthLayers, SYNTH_PRESETS, writeSyntheticTrace } from '../../../traces/synthetic.js';
import { recordGraphTrace, recordModelTrace } from '../../record/from-model.js';
import { recordKerasTrace } from '../../record/keras-model.js';
import { recordOnnxTrace } from '../../record/onnx-model.js';
import { checkKnobs } from '../../record/knobs.js';
import { DEFAULT_CALIBRATION_FRAMES, DEFAULT_PERCENTILE, thresholdSpecOf } from '../../record/thresholds.js';
import { DRIFT_FILE, TASK_CHOICES, taskChoice } from '../../record/drift/metrics.js';
import { DEFAULT_SEARCH_FRAMES, THRESHOLDS_FILE, type DriftOptions } from '../../record/drift/recording.js';
import type { BudgetOn } from '../../record/drift/threshold-search.js';
import { recordingText } from '../sim-table.js';
import { startProgress } from '../progress.js';
import { commandLine, editDistance, UsageError } from '../run.js';

interface InspectArgs {
  dir: string;
  json: boolean;
  threshold: number;
  'quant-step'?: number;
  verify: boolean;
  'per-frame': boolean;
}

const inspect: CommandModule<object, InspectArgs> = {
  command: 'inspect <dir>',
  describe:
    'Check a trace (manifest, layer file headers, sha256) and print its storage (encoding, size against dense .npy) and spatial, temporal and operation sparsity per layer and overall',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'trace directory (holds manifest.json)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the full statistics (per frame too) as JSON' })
      .option('threshold', {
        type: 'number',
        default: 0,
        describe: 'a delta is zero when |Δ| ≤ threshold (levels; needed for float32 traces)',
      })
      .option('quant-step', { type: 'number', describe: 'quantise values to round(value / step) before comparing (float32 traces)' })
      .option('verify', { type: 'boolean', default: true, describe: 'check sha256 of every layer file (--no-verify skips it)' })
      .option('per-frame', { type: 'boolean', default: false, describe: 'also print one row per frame (all layers together)' })
      .example('$0 trace inspect traces/samples/tiny', ''),
  handler: (argv) => {
    if (!(argv.threshold >= 0)) throw new InputError('--threshold: expected a number ≥ 0');
    const q = argv['quant-step'];
    if (q !== undefined && !(q > 0)) throw new InputError('--quant-step: expected a number > 0');
    const trace = openTrace(argv.dir, { verify: argv.verify });
    const stats = traceStats(trace, { threshold: argv.threshold, ...(q === undefined ? {} : { quantStep: q }) });
    warnAboutRecording(trace.manifest);
    const storage = storageOf(trace);
    if (argv.json) console.log(JSON.stringify({ ...stats, recording: recordingOf(trace.manifest), storage }, null, 2));
    else
      console.log(
        `${recordingText(recordingOf(trace.manifest))}\n${formatStats(stats, trace.manifest.frames, argv['per-frame'], keyFrameEvery(trace.manifest))}\n${formatStorage(storage)}`,
      );
  },
};

const ENCODINGS = ['deltas', 'npy'] as const satisfies readonly Encoding[];
const ENCODING_OPTION = {
  choices: ENCODINGS,
  describe: 'layer files: deltas (per frame the changed levels, compressed; traces/README.md) or npy (dense NumPy arrays)',
} as const;

interface PackArgs {
  dir: string;
  out: string;
  encoding: Encoding;
  verify: boolean;
  force: boolean;
}

const pack: CommandModule<object, PackArgs> = {
  command: 'pack <dir>',
  describe: 'Re-encode a trace (dense .npy ⇄ compact .deltas): same manifest and levels, other layer files',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'trace directory to read' })
      .option('out', { type: 'string', demandOption: true, describe: 'trace directory to write' })
      .option('encoding', { ...ENCODING_OPTION, default: 'deltas' as Encoding })
      .option('verify', { type: 'boolean', default: true, describe: 'check sha256 of every layer file read (--no-verify skips it)' })
      .option('force', FORCE_OPTION)
      .example('$0 trace pack runs/t --out runs/t-packed', ''),
  handler: async (argv) => {
    guardTraceOut(argv.out, argv.force);
    await packTrace(argv.dir, argv.out, argv.encoding, { verify: argv.verify });
    console.error(formatStorage(storageOf(openTrace(argv.out, { verify: false }))));
    console.log(argv.out);
  },
};

interface SynthArgs {
  out: string;
  seed: number;
  frames: number;
  layers: string;
  density: number;
  'change-rate': number;
  blobs: number;
  'blob-radius': number;
  'blob-speed': number;
  fps: number;
  force: boolean;
}

const synth: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Write a seeded synthetic trace: random background, a fraction redrawn per frame, moving blobs on top',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'trace directory to write' })
      .option('seed', { type: 'number', default: 0 })
      .option('frames', { type: 'number', default: 16 })
      .option('layers', {
        type: 'string',
        default: 'tiny',
        describe: `a preset (${Object.keys(SYNTH_PRESETS).join(', ')}), a JSON layer list, or a .json file holding one`,
      })
      .option('density', { type: 'number', default: 0.3, describe: 'fraction of non-zero background levels' })
      .option('change-rate', { type: 'number', default: 0.05, describe: 'fraction of background levels redrawn each frame' })
      .option('blobs', { type: 'number', default: 2, describe: 'moving discs (spatially clustered change)' })
      .option('blob-radius', { type: 'number', default: 0.15, describe: 'disc radius, fraction of the image side' })
      .option('blob-speed', { type: 'number', default: 0.04, describe: 'disc speed, image sides per frame' })
      .option('fps', { type: 'number', default: 15 })
      .option('force', FORCE_OPTION)
      .example('$0 trace synth --out /tmp/t --layers cnn64 --frames 100 --seed 7', ''),
  handler: async (argv) => {
    checkNumbers(argv, { frames: 'count', fps: 'positive' });
    guardTraceOut(argv.out, argv.force);
    const isFile = argv.layers.endsWith('.json') && !SYNTH_PRESETS[argv.layers];
    const text = isFile ? readUserFile(argv.layers) : argv.layers;
    const layers = parseSynthLayers(text, isFile ? argv.layers : '--layers');
    await writeSyntheticTrace(argv.out, layers, {
      seed: argv.seed,
      frames: argv.frames,
      fps: argv.fps,
      density: argv.density,
      changeRate: argv['change-rate'],
      blobs: argv.blobs,
      blobRadius: argv['blob-radius'],
      blobSpeed: argv['blob-speed'],
    });
    console.log(argv.out);
  },
};

interface RecordArgs {
  model?: string;
  graph?: string;
  onnx?: string;
  keras?: string;
  'input-size'?: string;
  threshold?: number;
  size: number;
  video?: string;
  data?: string;
  clip: number;
  split?: 'train' | 'test';
  frames: number;
  start: number;
  fps?: number;
  channels?: number;
  seed: number;
  out: string;
  force: boolean;
  chunk: number;
  'weight-bits'?: number;
  encoding: Encoding;
  quiet: boolean;
  thresholds?: string;
  'relative-threshold'?: number;
  percentile?: number;
  'calibration-frames'?: number;
  'key-frame-every'?: number;
  'update-tile'?: number;
  'mask-dilation'?: number;
  drift: boolean;
  task: string;
  'drift-budget'?: number;
  'budget-on': BudgetOn;
  'search-frames': number;
  'search-rounds': number;
}

const record: CommandModule<object, RecordArgs> = {
  command: ['record', '$0'],
  describe:
    "Run a trained model (or a pretrained graph model with a delta threshold) over a video or a dataset clip and record every MAC layer's input levels as a trace",
  builder: (y) =>
    y
      .option('model', { type: 'string', describe: 'model directory (written by deltasim train)' })
      .option('graph', {
        type: 'string',
        describe: 'instead of --model: a pretrained tfjs graph model.json, or human:NAME (@vladmandic/human)',
      })
      .option('onnx', {
        type: 'string',
        describe: 'instead of --model: an ONNX model file (e.g. torch.onnx.export), channels-first or -last',
      })
      .option('keras', {
        type: 'string',
        describe:
          'instead of --model: a pretrained Keras layers model.json (tfjs layers format, weights beside it), or nsfwjs:mobilenet_v2 / nsfwjs:inception_v3',
      })
      .conflicts('model', ['graph', 'onnx', 'keras'])
      .conflicts('graph', ['onnx', 'keras'])
      .conflicts('onnx', 'keras')
      .option('threshold', {
        type: 'number',
        describe: 'with --graph / --onnx / --keras: delta threshold q, levels = round(activation / q)',
      })
      .option('thresholds', {
        type: 'string',
        describe:
          'with --graph / --onnx / --keras: q per layer, "layer=q,…" or a .json file {"layer": q} (e.g. the thresholds.json of --drift-budget); --threshold (if given) for the rest',
      })
      .option('relative-threshold', {
        type: 'number',
        describe:
          "with --graph / --onnx / --keras: q = r × the layer input's range (the --percentile of |a| over the first --calibration-frames frames)",
      })
      .option('percentile', {
        type: 'number',
        describe: `with --relative-threshold: the range's percentile of |a| (default ${DEFAULT_PERCENTILE})`,
      })
      .option('calibration-frames', {
        type: 'number',
        describe: `with --relative-threshold: frames the range is measured over (default ${DEFAULT_CALIBRATION_FRAMES})`,
      })
      .option('key-frame-every', {
        type: 'number',
        describe: 'every N-th frame is a key frame (the delta reference restarts; recorded, simulate follows it)',
      })
      .option('update-tile', {
        type: 'number',
        describe: 'with --graph / --onnx / --keras: DeltaCNN tile-granular updates, tiles of N×N pixels (default 1 with --mask-dilation)',
      })
      .option('mask-dilation', {
        type: 'number',
        describe:
          'with --graph / --onnx / --keras: dilate the mask of changed pixels by N pixels before tiling (default 0 with --update-tile)',
      })
      .option('drift', {
        type: 'boolean',
        default: false,
        describe: `with --graph / --keras: record CLOSED LOOP (each MAC layer reads the quantised levels computed from the quantised layers before it, as delta hardware) and write ${DRIFT_FILE}: output drift against dense inference of the same frames`,
      })
      .option('task', {
        type: 'string',
        default: 'auto',
        describe: `with --drift: the outputs' task metric (classifier: top-1 agreement; keypoints: displacement in pixels; heatmap: peak agreement over the channels with a peak), one of ${TASK_CHOICES.join(', ')}; auto from the output shapes; KIND:OUTPUT names the output (e.g. heatmap:tower_0/keypoints)`,
      })
      .option('drift-budget', {
        type: 'number',
        describe: `with --graph / --keras (implies --drift): greedy per-layer threshold search from the thresholds given (--threshold, --thresholds, --relative-threshold) for the fewest operations with drift ≤ B on the first --search-frames frames; the result is recorded with and written as ${THRESHOLDS_FILE}`,
      })
      .option('budget-on', {
        choices: ['rel-l2', 'task'] as const,
        default: 'rel-l2' as BudgetOn,
        describe:
          "what --drift-budget bounds: mean relative L2 of the outputs (rel-l2) or the task metric's drift (1 − agreement, or pixels of displacement)",
      })
      .option('search-frames', {
        type: 'number',
        default: DEFAULT_SEARCH_FRAMES,
        describe: 'with --drift-budget: calibration frames of the search (each evaluation runs them closed loop)',
      })
      .option('search-rounds', {
        type: 'number',
        default: 16,
        describe: 'with --drift-budget: most threshold raises (×2); at most 1 + rounds × layers evaluations',
      })
      .option('size', {
        type: 'number',
        default: 64,
        describe:
          'with --graph --data: dataset frame size (the graph resizes to its input); with --onnx: for inputs of open height and width',
      })
      .option('input-size', {
        type: 'string',
        describe: 'with --graph: H,W (or HxW) for a graph input of free height and width; frames are resized to it',
      })
      .option('video', { type: 'string', describe: "video file (decoded by ffmpeg, resized to the model's frame size)" })
      .option('data', { type: 'string', describe: 'dataset spec (procedural[:k=v,…], file:PATH, ucf101:ROOT) to take one clip from' })
      .conflicts('video', 'data')
      .option('clip', { type: 'number', default: 0, describe: 'clip index in the dataset split (--data)' })
      .option('split', { choices: ['train', 'test'] as const, describe: 'dataset split (default: test where there is one)' })
      .option('frames', { type: 'number', default: 32, describe: 'frames to record' })
      .option('start', { type: 'number', default: 0, describe: 'first video frame (--video)' })
      .option('fps', {
        type: 'number',
        describe:
          "video: resample to this rate (default: every decoded frame once, at the file's native rate; above it frames are duplicated, counted in the manifest and warned about); dataset: the rate written to the manifest (default 15)",
      })
      .option('channels', {
        type: 'number',
        choices: [1, 3],
        describe: "channels of the clip (1 gray, 3 RGB); must equal the model's (default: the model's)",
      })
      .option('seed', { type: 'number', default: 0, describe: 'dataset seed (procedural)' })
      .option('out', { type: 'string', demandOption: true, describe: 'trace directory to write' })
      .option('force', FORCE_OPTION)
      .option('chunk', { type: 'number', default: 64, describe: 'frames per model call' })
      .option('weight-bits', {
        type: 'number',
        describe:
          "weight precision written to the manifest, for the record (simulate computes in the hw-model's precisions); default 8 with --model, the graph's storage format with --graph",
      })
      .option('encoding', { ...ENCODING_OPTION, default: 'deltas' as Encoding })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .example('$0 trace --model runs/m --data procedural --clip 3 --frames 64 --out runs/t', '')
      .example('$0 trace record --model runs/m --video clip.mp4 --frames 300 --out runs/t', '')
      .example(
        '$0 trace --graph human:emotion --threshold 0.05 --video clip.mp4 --frames 100 --out runs/g',
        'no retraining, DeltaCNN-style',
      )
      .example(
        '$0 trace --keras nsfwjs:mobilenet_v2 --threshold 0.05 --video clip.mp4 --frames 100 --out runs/k',
        'a Keras model, multi-branch too',
      )
      .example(
        '$0 trace --keras nsfwjs:mobilenet_v2 --relative-threshold 0.02 --key-frame-every 30 --update-tile 4 --video clip.mp4 --out runs/k',
        'DeltaCNN knobs: q per layer from its range, key frames, 4×4 tile updates',
      )
      .example('$0 trace --onnx resnet18.onnx --threshold 0.05 --video clip.mp4 --frames 100 --out runs/r', 'a PyTorch export'),
  handler: async (argv) => {
    checkNumbers(argv, {
      frames: 'count',
      size: 'count',
      chunk: 'count',
      clip: 'index',
      start: 'index',
      seed: 'integer',
      fps: 'positive',
      threshold: 'positive',
      'relative-threshold': 'positive',
      'calibration-frames': 'count',
      'key-frame-every': 'count',
      'update-tile': 'count',
      'mask-dilation': 'index',
      'drift-budget': 'positive',
      'search-frames': 'count',
      'search-rounds': 'count',
    });
    const drift = driftOptionsOf(argv);
    guardTraceOut(argv.out, argv.force);
    const weightBits = argv['weight-bits'];
    if (weightBits !== undefined && !(Number.isInteger(weightBits) && weightBits >= 1 && weightBits <= 32))
      throw new InputError('--weight-bits: expected an integer in 1..32');
    if ([argv.model, argv.graph, argv.onnx, argv.keras].filter((x) => x !== undefined).length !== 1)
      throw new InputError('give exactly one of --model DIR, --graph PATH|human:NAME, --onnx FILE and --keras FILE|nsfwjs:NAME');
    if (argv.model !== undefined)
      for (const flag of [
        'threshold',
        'thresholds',
        'relative-threshold',
        'percentile',
        'calibration-frames',
        'update-tile',
        'mask-dilation',
      ] as const)
        if (argv[flag] !== undefined)
          throw new InputError(`--${flag} applies to --graph, --onnx and --keras models (trained models carry their own quantisers)`);
    const tile = argv['update-tile'];
    const dilation = argv['mask-dilation'];
    const knobs = {
      keyFrameEvery: argv['key-frame-every'],
      ...(tile !== undefined || dilation !== undefined ? { updateMask: { tile: tile ?? 1, dilation: dilation ?? 0 } } : {}),
    };
    checkKnobs(knobs);
    const thresholds = (who: string) =>
      thresholdSpecOf(
        {
          threshold: argv.threshold,
          thresholds: argv.thresholds,
          relativeThreshold: argv['relative-threshold'],
          percentile: argv.percentile,
          calibrationFrames: argv['calibration-frames'],
        },
        who,
      );
    const inputSize = argv['input-size'] === undefined ? undefined : parseInputSize(argv['input-size']);
    if (inputSize && argv.graph === undefined) throw new InputError('--input-size applies to --graph models (--onnx takes --size)');
    const common = {
      video: argv.video,
      data: argv.data,
      frames: argv.frames,
      out: argv.out,
      clip: argv.clip,
      split: argv.split,
      seed: argv.seed,
      start: argv.start,
      fps: argv.fps,
      channels: argv.channels,
      encoding: argv.encoding,
    };
    if (argv.onnx !== undefined) {
      const { manifest: m } = await recordOnnxTrace({
        ...common,
        ...knobs,
        thresholds: thresholds('--onnx'),
        onnx: argv.onnx,
        size: argv.size,
        weightBits,
        onNote: (n) => console.error(`note: ${n}`),
      });
      if (!argv.quiet) console.error(`recorded ${m.frames} frames × ${m.layers.length} layers`);
      warnAboutRecording(m);
      console.log(argv.out);
      return;
    }
    if (argv.keras !== undefined) {
      const m = await recordKerasTrace({
        ...common,
        ...knobs,
        thresholds: thresholds('--keras'),
        keras: argv.keras,
        drift,
        weightBits,
        onNote: (n) => console.error(`note: ${n}`),
      });
      if (!argv.quiet) console.error(`recorded ${m.frames} frames × ${m.layers.length} layers`);
      warnAboutRecording(m);
      console.log(argv.out);
      return;
    }
    if (argv.graph !== undefined) {
      const spec = thresholds('--graph');
      if (!argv.graph.startsWith('human:') && !existsSync(argv.graph))
        throw new InputError('no such graph model file (a tfjs graph model.json, or human:NAME)', { file: argv.graph });
      const m = await recordGraphTrace({
        ...common,
        ...knobs,
        thresholds: spec,
        graph: argv.graph,
        size: argv.size,
        inputSize,
        weightBits,
        drift,
        onNote: (n) => console.error(`note: ${n}`),
      });
      if (!argv.quiet) console.error(`recorded ${m.frames} frames × ${m.layers.length} layers`);
      warnAboutRecording(m);
      console.log(argv.out);
      return;
    }
    const progress = startProgress({ label: 'recording', total: argv.frames, quiet: argv.quiet });
    const t0 = performance.now();
    try {
      const r = await recordModelTrace({
        ...common,
        modelDir: argv.model!,
        keyFrameEvery: knobs.keyFrameEvery,
        chunkFrames: argv.chunk,
        weightBits: weightBits ?? 8,
        onNote: (n) => progress.log(`note: ${n}`),
        onProgress: (done) => progress.update(done, { 'frames/s': (done / ((performance.now() - t0) / 1000)).toFixed(0) }),
      });
      progress.stop();
      if (!argv.quiet)
        console.error(
          `recorded ${r.manifest.frames} frames × ${r.manifest.layers.length} layers in ${r.seconds.toFixed(1)} s (${(r.manifest.frames / r.seconds).toFixed(0)} frames/s)`,
        );
      warnAboutRecording(r.manifest);
    } catch (e) {
      progress.stop();
      throw e;
    }
    console.log(argv.out);
  },
};

/** The subcommands, `record` (the default) first; exported for the tests that run every flag of every command. */
// biome-ignore lint/suspicious/noExplicitAny: yargs types each subcommand by its own arguments
export const subcommands: CommandModule<any, any>[] = [record, inspect, synth, pack];

const trace: CommandModule = {
  command: 'trace',
  describe:
    'Trace directories: record from a model (the default subcommand), inspect sparsity and storage, re-encode, write synthetic traces',
  builder: (y: Argv) =>
    subcommands
      .reduce((acc, c) => acc.command(c), y)
      // `trace inpsect DIR` would otherwise run the default subcommand and complain about --out.
      .middleware((argv) => {
        const word = argv._[1];
        if (word === undefined) return;
        // Only a word right after `trace` names a subcommand; a later one (`trace --quiet abc …`) is a stray value.
        const line = commandLine();
        if (line[line.indexOf('trace') + 1] !== String(word)) return;
        const names = subcommands.map((c) => String(Array.isArray(c.command) ? c.command[0] : c.command).split(' ')[0]!);
        if (names.includes(String(word))) return;
        const near = names.find((n) => editDistance(n, String(word)) <= 2);
        throw new UsageError(`unknown trace subcommand "${String(word)}"${near ? `; did you mean "${near}"?` : ''} (${names.join(', ')})`);
      }, true),
  handler: () => {},
};

export default trace;

/**
 * A trace directory replaces a trace's files: manifest.json and the layer files its manifest lists
 * (read now, before they are replaced); every other file there is kept.
 */
function guardTraceOut(out: string, force: boolean): void {
  const own = new Set<string>([MANIFEST_FILE, DRIFT_FILE, THRESHOLDS_FILE]);
  try {
    const m = JSON.parse(readFileSync(join(out, MANIFEST_FILE), 'utf8')) as { layers?: { act?: { file?: unknown } }[] };
    for (const l of m.layers ?? []) if (typeof l?.act?.file === 'string') own.add(l.act.file);
  } catch {
    // no (readable) manifest: only manifest.json itself is a trace's
  }
  guardOutputDir(out, force, { writes: 'replace', owns: (name) => own.has(name) });
}

const NUMBER_RULES = {
  count: ['an integer >= 1', (v: number) => Number.isInteger(v) && v >= 1],
  index: ['an integer >= 0', (v: number) => Number.isInteger(v) && v >= 0],
  integer: ['an integer', (v: number) => Number.isInteger(v)],
  positive: ['a number > 0', (v: number) => v > 0],
} as const;

/** Each named number flag (when given) against its rule, before anything is read or written. */
function checkNumbers(argv: object, rules: Record<string, keyof typeof NUMBER_RULES>): void {
  for (const [flag, rule] of Object.entries(rules)) {
    const v = (argv as Record<string, unknown>)[flag];
    if (v === undefined) continue;
    const [what, ok] = NUMBER_RULES[rule];
    if (typeof v !== 'number' || !ok(v)) throw new InputError(`--${flag}: expected ${what}, got ${v}`);
  }
}

/** The --drift options, or undefined; refused for recorders that cannot run closed loop (before anything is written). */
function driftOptionsOf(argv: RecordArgs): DriftOptions | undefined {
  const budget = argv['drift-budget'];
  const asked = argv.drift || budget !== undefined;
  if (!asked) {
    for (const flag of ['task', 'budget-on', 'search-frames', 'search-rounds'] as const)
      if (commandLine().some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`)))
        throw new InputError(`--${flag} applies with --drift or --drift-budget`);
    return undefined;
  }
  const flag = budget !== undefined ? '--drift-budget' : '--drift';
  if (argv.onnx !== undefined)
    throw new InputError(
      `${flag} is not supported with --onnx: onnxruntime cannot feed an intermediate tensor, so the model cannot run closed loop (use --graph or --keras)`,
    );
  if (argv.model !== undefined)
    throw new InputError(
      `${flag} applies to --graph and --keras models (a trained --model carries its own quantisers, already closed loop)`,
    );
  if (budget !== undefined && argv['search-frames'] < 2)
    throw new InputError('--search-frames: expected an integer >= 2 (drift is counted from frame 1)');
  return {
    task: taskChoice(argv.task),
    ...(budget !== undefined
      ? { search: { budget, on: argv['budget-on'], frames: argv['search-frames'], rounds: argv['search-rounds'] } }
      : {}),
  };
}

/** `--input-size H,W` or `HxW`: two integers ≥ 1. */
function parseInputSize(text: string): [number, number] {
  const m = /^\s*(\d+)\s*[,x×]\s*(\d+)\s*$/i.exec(text);
  const [h, w] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!(h >= 1 && w >= 1)) throw new InputError(`--input-size: expected H,W (or HxW) with integers >= 1, got ${JSON.stringify(text)}`);
  return [h, w];
}

function readUserFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new InputError('cannot read file', { file: path });
  }
}

/** Frames that are copies of the one before inflate temporal sparsity: say so on stderr. */
function warnAboutRecording(m: Manifest): void {
  const dup = m.clip?.duplicatedFrames;
  if (typeof dup === 'number' && dup > 0) {
    const native = m.clip?.nativeFps;
    console.error(
      `warning: ${dup} of ${m.frames} recorded frames are copies of the frame before them` +
        (typeof native === 'number' ? ` (recorded at ${m.fps} fps, the video's native rate is ${native} fps)` : '') +
        '; their zero deltas are not motion. Record at the native rate (omit --fps) for honest temporal sparsity.',
    );
  }
  // The float recorders spool int16 levels: a step too small for a tensor's range clamps its largest values.
  const clamped = m.model.clampedLevels;
  if (typeof clamped === 'number' && clamped > 0)
    console.error(
      `warning: ${clamped} recorded levels exceeded the int16 range (±32767 steps) and were clamped: the trace` +
        `${m.model.drift ? ' and its closed-loop drift' : ''} hold the clamped values, not the network's. Use a larger threshold for the` +
        ' tensors with the widest range (--relative-threshold sets each step from its own range).',
    );
}

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);

function formatStats(s: TraceStats, frames: number, perFrame: boolean, keyEvery?: number): string {
  const head = [
    'layer',
    'MACs/frame',
    'spatial',
    'temporal',
    'temporal t≥1',
    'operation',
    'operation t≥1',
    'op (zeros)',
    'frame min',
    'frame max',
  ];
  const row = (name: string, macs: number, m: SparsitySummary) => [
    name,
    String(macs),
    pct(m.spatial),
    pct(m.temporal),
    pct(m.temporalNoKey),
    pct(m.operation),
    pct(m.operationNoKey),
    pct(m.operationSpatial),
    range(m.frameMin),
    range(m.frameMax),
  ];
  const rows = s.layers.map((l) => row(l.name, l.macsPerFrame, l.summary));
  rows.push(
    row(
      'overall',
      s.layers.reduce((a, l) => a + l.macsPerFrame, 0),
      s.overall,
    ),
  );
  const lines = [
    `${frames} frames; zero delta: |Δ| ≤ ${s.threshold}${s.quantStep === null ? '' : ` after quantising to step ${s.quantStep}`};` +
      ` frame 0 is a key frame${keyEvery ? ` (and every ${keyEvery}-th after it)` : ''} (t≥1 columns leave it out); sparsities are fractions of zeros, operation ones fan-out weighted`,
    table(head, rows),
  ];
  if (perFrame) {
    lines.push(
      '',
      table(
        ['frame', 'spatial', 'temporal', 'operation', 'min', 'max'],
        s.frames.map((f, t) => [
          String(t),
          pct(1 - f.nonZero / f.elements),
          pct(1 - f.nonZeroDeltas / f.elements),
          pct(1 - f.fanoutNonZeroDeltas / f.fanout),
          String(f.min),
          String(f.max),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

const MB = (b: number) => (b < 1e6 ? `${(b / 1e3).toFixed(1)} kB` : `${(b / 1e6).toFixed(1)} MB`);

function formatStorage(s: TraceStorage): string {
  const by = Object.entries(s.layersByEncoding)
    .map(([e, n]) => `${n} ${e}`)
    .join(', ');
  return `storage: ${by} layer files, ${MB(s.fileBytes)}; as dense .npy ${MB(s.npyBytes)} (${pct(s.fileBytes / s.npyBytes)})`;
}

const range = ([lo, hi]: [number, number]) => (lo === hi ? fmt(lo) : `${fmt(lo)}..${fmt(hi)}`);
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));
