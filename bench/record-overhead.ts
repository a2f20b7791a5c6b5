/**
 * Recording overhead of the pretrained-model recorders against their models' own inference (issue 16 item 8:
 * recording ≤ 1.3× the model's inference), in process CPU seconds (process.cpuUsage: every thread of the process,
 * so onnxruntime's and tfjs-wasm's too) and wall seconds, of
 *   - infer:  the model alone over the same decoded frames, fed the recorder's way:
 *             onnx:  readOnnxModel, one session with the recorder's options, session.run per frame;
 *             graph: loadGraphModel, frameToInput, model.execute (the model's own outputs, read back) per frame;
 *             keras: loadKerasModel, frameToInput, model.predict (read back) per frame;
 *   - record: recordOnnxTrace / recordGraphTrace / recordKerasTrace over the same frames, writing a complete trace
 *             in the CLI's default encoding (.deltas; --encoding npy for the other).
 * Each run is a fresh child process (no warm caches or JIT carried over), at two frame counts, the median of
 * --repeats runs each: per frame at the larger count, and the marginal cost per frame (difference of the two, setup
 * excluded). Module loading is counted in neither (every module both need is imported before the clock starts);
 * video decoding (an ffmpeg child process) in neither.
 *
 *   taskset -c 1 node --import tsx bench/record-overhead.ts [--kind onnx|graph|keras] MODEL [--video FILE]
 *       [--frames 5,20] [--threshold 0.05] [--repeats 3] [--encoding deltas|npy]
 *
 * MODEL: a .onnx file (onnx), a graph model.json or human:NAME (graph), a Keras model.json or nsfwjs:NAME (keras).
 * Prints a markdown section.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { Encoding } from '../traces/manifest.js';
import { recordGraphTrace } from '../src/record/from-model.js';
import { frameToInput, modelInput, type ModelInput } from '../src/record/graph/input.js';
import { loadGraphModel, readGraphModelJson, resolveModelFile } from '../src/record/graph/load.js';
import { loadKerasModel } from '../src/record/keras/load.js';
import { imageInput, recordKerasTrace } from '../src/record/keras-model.js';
import { readOnnxModel } from '../src/record/onnx/model.js';
import { onnxImageInput, recordOnnxTrace } from '../src/record/onnx-model.js';
import { openFrameSource, type FrameSource } from '../src/record/sources.js';
import { initBackend, tf } from '../src/tf/backend.js';
import { cpuModel } from './machine.js';

const VIDEO = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const KINDS = ['onnx', 'graph', 'keras'] as const;
type Kind = (typeof KINDS)[number];
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Run {
  /** CPU s of the whole run. */
  cpu: number;
  /** Wall s of the whole run. */
  wall: number;
  /** CPU s of the frame loop alone (infer only). */
  loop?: number;
}

/** Times `body`; it returns the CPU s at which its frame loop started (infer), if it has one. */
async function timed(body: () => Promise<number | undefined>): Promise<Run> {
  const t0 = cpuSeconds();
  const w0 = performance.now();
  const loopStart = await body();
  const cpu = cpuSeconds() - t0;
  return { cpu, wall: (performance.now() - w0) / 1e3, ...(loopStart !== undefined ? { loop: t0 + cpu - loopStart } : {}) };
}

async function inferOnnx(model: string, video: string, frames: number): Promise<number> {
  const m = readOnnxModel(model);
  const input = onnxImageInput(m);
  const session = await ort.InferenceSession.create(m.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  // As recordOnnxTrace opens it.
  const shape = (h: number, w: number) => [h, w, input.c] as const;
  const src = await openFrameSource(
    { video, frames },
    {
      video: input.h !== undefined && input.w !== undefined ? shape(input.h, input.w) : undefined,
      videoChannels: input.c,
      dataset: shape(64, 64),
    },
  );
  const [h, w, c] = src.frameShape;
  const data = new Float32Array(h * w * c);
  const dims = input.layout === 'NCHW' ? [1, c, h, w] : [1, h, w, c];
  const t1 = cpuSeconds();
  for await (const f of src.read()) {
    // As the recorder's feed: 8-bit pixel levels onto [0, 1], transposed for a channels-first input.
    for (let i = 0; i < f.length; i++) {
      const v = Math.round(Math.min(1, Math.max(0, f[i]!)) * 255) / 255;
      data[input.layout === 'NCHW' ? (i % c) * h * w + Math.floor(i / c) : i] = v;
    }
    await session.run({ [input.name]: new ort.Tensor('float32', data, dims) });
  }
  await session.release();
  return t1;
}

/** The tfjs models: one `step` per frame, fed as the recorder feeds it (frameToInput), outputs read back. */
async function inferTf(kind: 'graph' | 'keras', model: string, video: string, frames: number): Promise<number> {
  await initBackend({ quiet: true });
  let step: (x: tfjs.Tensor) => tfjs.Tensor | tfjs.Tensor[];
  let input: ModelInput;
  let src: FrameSource;
  if (kind === 'graph') {
    const file = resolveModelFile(model);
    const m = (await loadGraphModel(file, readGraphModelJson(file))).model;
    input = modelInput(m, file);
    step = (x) => m.execute({ [input.name]: x });
    // As recordGraphTrace opens it: the video at its own size (frameToInput resizes).
    src = await openFrameSource({ video, frames }, { dataset: [64, 64, 3] });
  } else {
    const loaded = await loadKerasModel(model);
    input = imageInput(loaded);
    step = (x) => loaded.model.predict(x) as tfjs.Tensor;
    const frameShape = [input.h, input.w, input.c] as const;
    src = await openFrameSource({ video, frames }, { video: frameShape, dataset: frameShape });
  }
  const [h, w, c] = src.frameShape;
  const t1 = cpuSeconds();
  for await (const f of src.read()) {
    const x = frameToInput(f, { h, w, c }, input);
    const r = step(x);
    const outs = Array.isArray(r) ? r : [r];
    for (const o of outs) await o.data();
    tf.dispose([x, ...outs]);
  }
  return t1;
}

async function record(kind: Kind, model: string, video: string, frames: number, threshold: number, encoding: Encoding): Promise<undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-bench-overhead-'));
  const common = { video, frames, threshold, encoding, out: join(dir, 'trace') };
  try {
    if (kind === 'onnx') await recordOnnxTrace({ ...common, onnx: model });
    else if (kind === 'graph') await recordGraphTrace({ ...common, graph: model });
    else await recordKerasTrace({ ...common, keras: model });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

if (args[0] === '--child') {
  const [, mode, kind, model, video, n, q, enc] = args as [string, string, Kind, string, string, string, string, Encoding];
  const frames = Number(n);
  const r = await timed(() =>
    mode === 'record'
      ? record(kind, model, video, frames, Number(q), enc)
      : kind === 'onnx'
        ? inferOnnx(model, video, frames)
        : inferTf(kind, model, video, frames),
  );
  process.stdout.write(JSON.stringify(r));
} else {
  const kind = opt('kind', 'onnx') as Kind;
  if (!KINDS.includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}`);
  const model = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
  if (!model)
    throw new Error(
      'usage: bench/record-overhead.ts [--kind onnx|graph|keras] MODEL [--video FILE] [--frames A,B] [--threshold q] [--repeats n] [--encoding deltas|npy]',
    );
  const video = opt('video', VIDEO);
  const [a, b] = opt('frames', '5,20').split(',').map(Number) as [number, number];
  const q = opt('threshold', '0.05');
  const encoding = opt('encoding', 'deltas');
  const repeats = Number(opt('repeats', '3'));
  const once = (mode: string, n: number): Run =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--child', mode, kind, model, video, String(n), q, encoding],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    );
  // Medians of `repeats` fresh runs (CPU time on a shared machine varies with what runs beside it), the variants
  // interleaved run by run so that a burst of load beside them falls on all alike.
  const variants = [
    ['infer', a],
    ['infer', b],
    ['record', a],
    ['record', b],
  ] as const;
  const runs: Run[][] = variants.map(() => []);
  for (let r = 0; r < repeats; r++) variants.forEach(([mode, n], i) => runs[i]!.push(once(mode, n)));
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
  const load0 = loadavg()[0]!;
  const [ia, ib, ra, rb] = runs.map((rs) => ({
    cpu: median(rs.map((r) => r.cpu)),
    wall: median(rs.map((r) => r.wall)),
    loop: median(rs.map((r) => r.loop ?? 0)),
  }));
  const f = (x: number) => x.toFixed(3);
  const row = (name: string, x: Run, y: Run, extra = '') =>
    `| ${name} | ${f(x.cpu)} | ${f(y.cpu)} | ${f(y.cpu / b)} | ${f((y.cpu - x.cpu) / (b - a))}${extra} | ${f(y.wall / b)} |`;
  console.log(
    `### Recording overhead: --${kind} ${model}, ${video.split('/').pop()}, threshold ${q}, ${encoding}, median of ${repeats} runs\n`,
  );
  console.log(
    `${new Date().toISOString()}, ${cpuModel()}, load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}, node ${process.version}\n`,
  );
  console.log(
    `| | CPU s, ${a} frames | CPU s, ${b} frames | CPU s per frame at ${b} | marginal CPU s per frame | wall s per frame at ${b} |`,
  );
  console.log('|---|---|---|---|---|---|');
  console.log(row('inference only', ia!, ib!, ` (loop alone: ${f(ib!.loop! / b)})`));
  console.log(row('recording', ra!, rb!));
  const ratio = (x: number, y: number) => `**${(x / y).toFixed(2)}×**`;
  console.log(`| ratio | | | ${ratio(rb!.cpu, ib!.cpu)} | ${ratio(rb!.cpu - ra!.cpu, ib!.cpu - ia!.cpu)} | ${ratio(rb!.wall, ib!.wall)} |`);
}
