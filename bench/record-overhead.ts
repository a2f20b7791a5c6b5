/**
 * Recording overhead of the ONNX recorder (issue 16 item 8: recording ≤ 1.3× the model's own inference):
 * process CPU seconds (process.cpuUsage: every thread of the process, so onnxruntime's too) of
 *   - infer:  the model alone (readOnnxModel, one session with the recorder's options, the frames fed
 *             the recorder's way), over the same decoded frames;
 *   - record: recordOnnxTrace over the same frames, writing a complete trace (default .deltas).
 * Each run is a fresh child process (no warm caches or JIT carried over), at two frame counts, the median of
 * --repeats runs each: per frame at the larger count, and the marginal cost per frame (difference of the two, setup
 * excluded).
 * Video decoding (an ffmpeg child process) is not counted in either.
 *
 *   taskset -c 1 node --import tsx bench/record-overhead.ts MODEL.onnx [--video FILE] [--frames 5,20] [--threshold 0.05] [--repeats 3]
 *
 * Prints a markdown section.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readOnnxModel } from '../src/record/onnx/model.js';
import { onnxImageInput, recordOnnxTrace } from '../src/record/onnx-model.js';
import { videoSource } from '../src/record/sources.js';
import { cpuModel } from './machine.js';

const VIDEO = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
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
  /** CPU s of the frame loop alone (infer only). */
  loop?: number;
}

async function infer(model: string, video: string, frames: number): Promise<Run> {
  const t0 = cpuSeconds();
  const m = readOnnxModel(model);
  const input = onnxImageInput(m);
  const session = await ort.InferenceSession.create(m.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const src = await videoSource(video, {
    frames,
    ...(input.h !== undefined && input.w !== undefined ? { frameShape: [input.h, input.w, input.c] as const } : { channels: input.c }),
  });
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
  const t2 = cpuSeconds();
  await session.release();
  return { cpu: t2 - t0, loop: t2 - t1 };
}

async function record(model: string, video: string, frames: number, threshold: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'deltasim-bench-overhead-'));
  try {
    const t0 = cpuSeconds();
    await recordOnnxTrace({ onnx: model, video, frames, threshold, out: join(dir, 'trace') } as Parameters<typeof recordOnnxTrace>[0]);
    return { cpu: cpuSeconds() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args[0] === '--child') {
  const [, mode, model, video, n, q] = args;
  const r = mode === 'infer' ? await infer(model!, video!, Number(n)) : await record(model!, video!, Number(n), Number(q));
  process.stdout.write(JSON.stringify(r));
} else {
  const model = args[0];
  if (!model || model.startsWith('--'))
    throw new Error('usage: bench/record-overhead.ts MODEL.onnx [--video FILE] [--frames A,B] [--threshold q]');
  const video = opt('video', VIDEO);
  const [a, b] = opt('frames', '5,20').split(',').map(Number) as [number, number];
  const q = opt('threshold', '0.05');
  const repeats = Number(opt('repeats', '3'));
  const once = (mode: string, n: number): Run =>
    JSON.parse(
      execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', mode, model, video, String(n), q], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
  // The median CPU time of `repeats` fresh runs (CPU time on a shared machine varies with what runs beside it).
  const child = (mode: string, n: number): Run => {
    const runs = Array.from({ length: repeats }, () => once(mode, n)).sort((x, y) => x.cpu - y.cpu);
    return runs[runs.length >> 1]!;
  };
  const load0 = loadavg()[0]!;
  const ia = child('infer', a);
  const ib = child('infer', b);
  const ra = child('record', a);
  const rb = child('record', b);
  const f = (x: number) => x.toFixed(3);
  const inferPer = ib.cpu / b;
  const recPer = rb.cpu / b;
  const inferMarg = (ib.cpu - ia.cpu) / (b - a);
  const recMarg = (rb.cpu - ra.cpu) / (b - a);
  console.log(`### Recording overhead: ${model}, ${video.split('/').pop()}, threshold ${q}, median of ${repeats} runs\n`);
  console.log(
    `${new Date().toISOString()}, ${cpuModel()}, load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}, node ${process.version}\n`,
  );
  console.log(`| | CPU s, ${a} frames | CPU s, ${b} frames | per frame at ${b} | marginal per frame |`);
  console.log('|---|---|---|---|---|');
  console.log(`| inference only | ${f(ia.cpu)} | ${f(ib.cpu)} | ${f(inferPer)} | ${f(inferMarg)} (loop alone: ${f(ib.loop! / b)}) |`);
  console.log(`| recording | ${f(ra.cpu)} | ${f(rb.cpu)} | ${f(recPer)} | ${f(recMarg)} |`);
  console.log(`| ratio | | | **${(recPer / inferPer).toFixed(2)}×** | **${(recMarg / inferMarg).toFixed(2)}×** |`);
}
