/**
 * Fine-tuning step time of delta-ised pretrained Keras networks (src/tf/deltaise-graph.ts) on the backend
 * initBackend picks (wasm, one thread, in this repo's set-up): nsfwjs MobileNetV2 (224²) and InceptionV3
 * (299²), delta variant, one clip of T frames (random pixels in [0, 1]) per step; one SGD-momentum step
 * as train.ts takes it (forward in training mode, the penalties, backward, update). After a warm-up step,
 * REPS steps are timed; the figure is the median, in seconds per step and per frame. Also the forward
 * pass alone (inference) per frame. With --profile, the 8 kernels that take longest in one step.
 *
 *   taskset -c 0 node --import tsx bench/deltaise-keras.ts [--frames 2] [--reps 3] [--profile]
 */
import { parseArgs } from 'node:util';
import { loadKerasModel, NSFWJS_MODELS } from '../src/record/keras/load.js';
import { initBackend, tf } from '../src/tf/backend.js';
import { deltaiseKeras } from '../src/tf/deltaise-graph.js';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    model: { type: 'string' },
  },
});
const T = Number(args.frames);
const REPS = Number(args.reps);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

const backend = await initBackend({ quiet: true });
const rows: string[] = [];
for (const name of args.model ? [args.model] : NSFWJS_MODELS) {
  const { model } = await loadKerasModel(`nsfwjs:${name}`);
  const d = deltaiseKeras(model, { spRate: 1e-6 });
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const x = tf.randomUniform([1, T, h!, w!, c!], 0, 1, 'float32', 1);
  const target = tf.tidy(() => d.predict(x) as tf.Tensor);
  const vars = d.trainableWeights.map((v) => v.read() as tf.Variable);
  const optimizer = tf.train.momentum(1e-4, 0.9);
  const step = () => {
    const loss = optimizer.minimize(
      () =>
        tf.addN([
          tf.losses.softmaxCrossEntropy(target, tf.log(tf.add(d.apply(x, { training: true }) as tf.Tensor, 1e-7))),
          ...d.calculateLosses(),
        ]) as tf.Scalar,
      true,
      vars,
    )!;
    loss.dataSync();
    loss.dispose();
  };
  const timed = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  step(); // warm-up
  const steps = [...Array(REPS)].map(() => timed(step));
  const fwd = [...Array(REPS)].map(() => timed(() => tf.tidy(() => (d.predict(x) as tf.Tensor).dataSync())));
  const s = median(steps);
  rows.push(
    `| ${name} | ${d.countParams()} | ${T} | ${s.toFixed(2)} | ${(s / T).toFixed(2)} | ${(median(fwd) / T).toFixed(3)} | ${steps.map((v) => v.toFixed(2)).join(', ')} |`,
  );
  if (args.profile) {
    const p = await tf.profile(step);
    const byKernel = new Map<string, number>();
    for (const k of p.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    const top = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 8);
    console.error(`${name}: ${top.map(([k, ms]) => `${k} ${(ms / 1000).toFixed(2)} s`).join(', ')}`);
  }
  tf.dispose([x, target]);
  d.dispose();
  model.dispose();
}
console.log(
  [
    '## Fine-tuning step time of delta-ised nsfwjs networks (`bench/deltaise-keras.ts`)',
    '',
    `Backend ${backend}; one clip of ${T} frames per step; medians of ${REPS} steps after a warm-up.`,
    '',
    '| network | parameters | frames | s / step | s / frame | forward s / frame | steps (s) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
