/**
 * Forward + backward time of conv2d and depthwise conv2d on a batch of 64×64 feature maps:
 * wasm (with the replacement gradient kernels of src/tf/kernels/) against tfjs' pure-JS cpu.
 * Also prints the max relative difference of the gradients between the two backends.
 *
 *   npx tsx bench/tf-kernels.ts [--batch 8] [--reps 5]
 */
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../src/tf/backend.js';

const { values: args } = parseArgs({
  options: { batch: { type: 'string', default: '8' }, reps: { type: 'string', default: '5' } },
});
const N = Number(args.batch);
const REPS = Number(args.reps);

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  layer: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
}

const cases: Case[] = [
  { name: 'conv2d 3×3 s1 same, 16→16', x: [N, 64, 64, 16], w: [3, 3, 16, 16], layer: (x, w) => tf.conv2d(x, w, 1, 'same') },
  { name: 'conv2d 3×3 s2 same, 16→32', x: [N, 64, 64, 16], w: [3, 3, 16, 32], layer: (x, w) => tf.conv2d(x, w, 2, 'same') },
  { name: 'depthwise 3×3 s1 same, 32×1', x: [N, 64, 64, 32], w: [3, 3, 32, 1], layer: (x, w) => tf.depthwiseConv2d(x, w, 1, 'same') },
  { name: 'depthwise 3×3 s2 same, 32×1', x: [N, 64, 64, 32], w: [3, 3, 32, 1], layer: (x, w) => tf.depthwiseConv2d(x, w, 2, 'same') },
];

function values(shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** One forward + backward pass (gradients w.r.t. input and filter); returns the gradients' values. */
function step(c: Case): Float32Array[] {
  // Read the values outside tidy: tidy walks its result, and walking a big typed array costs ~0.5 s.
  const grads = tf.tidy(() => {
    const x = tf.tensor4d(values(c.x, 1), c.x);
    const w = tf.tensor4d(values(c.w, 2), c.w);
    return tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.square(c.layer(xi as tf.Tensor4D, wi as tf.Tensor4D))))([x, w]);
  });
  const data = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(grads);
  return data;
}

/** Median wall time of `reps` steps after one warm-up, and the warm-up's gradients. */
async function time(backend: string, c: Case, reps: number): Promise<{ ms: number; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  const grads = step(c);
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    step(c);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[Math.floor(ms.length / 2)]!, grads };
}

function relError(ref: Float32Array[], got: Float32Array[]): number {
  let err = 0;
  ref.forEach((r, k) => {
    let diff = 0;
    let scale = 0;
    r.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - got[k]![i]!));
      scale = Math.max(scale, Math.abs(v));
    });
    err = Math.max(err, diff / scale);
  });
  return err;
}

const backend = await initBackend({ prefer: 'wasm' });
if (backend !== 'wasm') throw new Error(`wasm backend unavailable (got ${backend})`);
console.log(`forward + backward (dx and dW), batch ${N}, median of ${REPS} after a warm-up (cpu: 1 rep)`);
console.log(['layer', 'input', 'cpu ms', 'wasm ms', 'speed-up', 'max rel err'].join('\t'));
for (const c of cases) {
  const cpu = await time('cpu', c, 1);
  const wasm = await time('wasm', c, REPS);
  console.log(
    [
      c.name,
      c.x.join('×'),
      cpu.ms.toFixed(0),
      wasm.ms.toFixed(1),
      `${(cpu.ms / wasm.ms).toFixed(0)}×`,
      relError(cpu.grads, wasm.grads).toExponential(1),
    ].join('\t'),
  );
}
