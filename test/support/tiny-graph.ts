/** A hand-written tfjs graph model (conv with explicit padding, then a dense MatMul), shared by the graph-recorder tests. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../src/tf/backend.js';

export const b64 = (s: string) => Buffer.from(s).toString('base64');
export const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });

/**
 * A hand-written graph: x[?,5,5,2] → Conv2D (3×3, stride 2, EXPLICIT pads t1 b2 l0 r1) → Relu →
 * Reshape [-1, 24] → MatMul [24, 3]. Weights are seeded uniform in [-1, 1].
 */
export function writeTinyGraph(dir: string): string {
  const w1 = tf.randomUniform([3, 3, 2, 4], -1, 1, 'float32', 5).dataSync() as Float32Array;
  const w2 = tf.randomUniform([24, 3], -1, 1, 'float32', 6).dataSync() as Float32Array;
  const shape = new Int32Array([-1, 24]);
  const bin = Buffer.concat([Buffer.from(w1.buffer), Buffer.from(shape.buffer), Buffer.from(w2.buffer)]);
  writeFileSync(join(dir, 'w.bin'), bin);
  const f = { type: 'DT_FLOAT' };
  const json = {
    format: 'graph-model',
    generatedBy: 'test',
    convertedBy: 'test',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { shape: { shape: dims(-1, 5, 5, 2) }, dtype: f } },
        { name: 'w1', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 3, 2, 4) } }, dtype: f } },
        {
          name: 'net/conv',
          op: 'Conv2D',
          input: ['x', 'w1'],
          attr: {
            strides: { list: { i: ['1', '2', '2', '1'] } },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
            padding: { s: b64('EXPLICIT') },
            explicit_paddings: { list: { i: ['0', '0', '1', '2', '0', '1', '0', '0'] } },
            data_format: { s: b64('NHWC') },
            T: f,
          },
        },
        { name: 'net/relu', op: 'Relu', input: ['net/conv'], attr: { T: f } },
        {
          name: 'shape',
          op: 'Const',
          attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } }, dtype: { type: 'DT_INT32' } },
        },
        { name: 'net/flat', op: 'Reshape', input: ['net/relu', 'shape'], attr: { T: f } },
        { name: 'w2', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(24, 3) } }, dtype: f } },
        { name: 'net/fc', op: 'MatMul', input: ['net/flat', 'w2'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: f } },
        { name: 'Identity', op: 'Identity', input: ['net/fc'], attr: { T: f } },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['w.bin'],
        weights: [
          { name: 'w1', shape: [3, 3, 2, 4], dtype: 'float32' },
          { name: 'shape', shape: [2], dtype: 'int32' },
          { name: 'w2', shape: [24, 3], dtype: 'float32' },
        ],
      },
    ],
  };
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}
