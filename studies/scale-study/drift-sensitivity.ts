/**
 * Which tensors make a graph model drift under closed-loop delta inference: each recorded tensor (a
 * MAC layer's input) is quantised ALONE at step q, every other one kept exact, and the output's
 * relative L2 against dense inference of the same frame is measured; then all of them together.
 * Plain rounding round(a/q)·q in float (no int16 clamping, unlike a recording), so what it shows is
 * the network's own sensitivity, not the trace format's.
 *
 *   npx tsx studies/scale-study/drift-sensitivity.ts [--graph human:centernet] [--video FILE] [--frames 2]
 *       [--q 0.05] [--output N] [--top 15]
 *
 * Prints, worst first, the mean relative L2 of output N (default: the model's second output, centernet's
 * keypoint heat map) over the first --frames frames, with each tensor's range and mean |a| on them.
 */
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../../src/tf/backend.js';
import { graphClosedLoop } from '../../src/record/drift/closed-loop.js';
import { relativeL2 } from '../../src/record/drift/metrics.js';
import { framesOf, frameStreamOf } from '../../src/record/graph-model.js';
import { frameToInput, modelInput } from '../../src/record/graph/input.js';
import { loadGraphModel, readGraphModelJson, resolveModelFile } from '../../src/record/graph/load.js';
import { findMacNodes } from '../../src/record/graph/topology.js';
import { openFrameSource } from '../../src/record/sources.js';

const { values } = parseArgs({
  options: {
    graph: { type: 'string', default: 'human:centernet' },
    video: { type: 'string', default: '/usr/share/doc/opencv-doc/examples/data/vtest.avi' },
    frames: { type: 'string', default: '2' },
    q: { type: 'string', default: '0.05' },
    output: { type: 'string', default: '1' },
    top: { type: 'string', default: '15' },
  },
});
const q = Number(values.q);
const nFrames = Number(values.frames);
const outIndex = Number(values.output);
await initBackend({ quiet: true });
const file = resolveModelFile(values.graph);
const json = readGraphModelJson(file);
const { model } = await loadGraphModel(file, json);
const input = modelInput(model, file);
const tensors = [...new Set(findMacNodes(json, file).map((m) => m.input))];
const net = graphClosedLoop(model, json, input.name, tensors);
const stream = frameStreamOf(await openFrameSource({ video: values.video, frames: nFrames }, { dataset: [input.h, input.w, input.c] }));

const round = (v: Float32Array): Float32Array => v.map((a) => Math.round(a / q) * q);
interface Row {
  tensor: string;
  drift: number;
  lo: number;
  hi: number;
  absSum: number;
  n: number;
}
const rows = new Map<string, Row>(tensors.map((t) => [t, { tensor: t, drift: 0, lo: Infinity, hi: -Infinity, absSum: 0, n: 0 }]));
let all = 0;
let outputName = '';
let frames = 0;
for await (const frame of framesOf(stream, nFrames)) {
  const x = frameToInput(frame, stream, input);
  const dense = net.dense(x)[outIndex]!;
  outputName = dense.name;
  for (const target of tensors) {
    const row = rows.get(target)!;
    const out = net.closedLoop(x, (t, v) => {
      if (t !== target) return v;
      for (const a of v) {
        if (a < row.lo) row.lo = a;
        if (a > row.hi) row.hi = a;
        row.absSum += Math.abs(a);
      }
      row.n += v.length;
      return round(v);
    });
    row.drift += relativeL2(out[outIndex]!.values, dense.values);
  }
  all += relativeL2(net.closedLoop(x, (_t, v) => round(v))[outIndex]!.values, dense.values);
  x.dispose();
  frames++;
}
model.dispose();

const sorted = [...rows.values()].sort((a, b) => b.drift - a.drift);
console.log(
  `${values.graph}, ${values.video}, ${frames} frame(s), q = ${q}, output ${outputName}: relative L2 against dense, mean over frames`,
);
console.log(`all ${tensors.length} tensors quantised: ${(all / frames).toFixed(4)}`);
console.log('\n| rel. L2, this tensor alone | range | mean abs value | q / mean abs | tensor |\n|---|---|---|---|---|');
for (const r of sorted.slice(0, Number(values.top))) {
  const mean = r.absSum / r.n;
  console.log(
    `| ${(r.drift / frames).toFixed(4)} | [${r.lo.toFixed(3)}, ${r.hi.toFixed(3)}] | ${mean.toFixed(4)} | ${(q / mean).toFixed(3)} | ${r.tensor} |`,
  );
}
tf.disposeVariables();
