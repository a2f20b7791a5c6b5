/**
 * A small three-layer network (conv, strided depthwise, dense), level patterns for it, and its activity from
 * given frames: the fixture of the engines' limit and state-accounting tests.
 */
import {
  layerActivityCounter,
  validateLayer,
  type EventStats,
  type FrameActivity,
  type Layer,
  type TraceActivity,
} from '../../sim/index.js';

export const small: Layer[] = [
  validateLayer({
    name: 'c1',
    op: 'conv2d',
    input: [8, 8, 2],
    output: [8, 8, 4],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
  }),
  validateLayer({
    name: 'dw',
    op: 'depthwise2d',
    input: [8, 8, 4],
    output: [4, 4, 4],
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 4,
    weightBits: 8,
    weightDensity: 1,
  }),
  validateLayer({
    name: 'fc',
    op: 'dense',
    input: [64],
    output: [10],
    kernel: [1, 1],
    stride: [1, 1],
    padding: [0, 0, 0, 0],
    dilation: [1, 1],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
  }),
];
export const sizes = small.map((l) => l.input.reduce((a, b) => a * b, 1));
export const pattern = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 5 === 0 ? 0 : (i * 13 + seed) % 4));

export function workOf(layers: Layer[], frames: number[][][]): TraceActivity {
  const counters = layers.map((l) => layerActivityCounter(l));
  return {
    model: 'test',
    fps: 30,
    threshold: 0,
    quantStep: null,
    layers,
    frames: frames.map((f): FrameActivity<EventStats> => f.map((x, i) => counters[i]!(Float64Array.from(x)))),
  };
}
