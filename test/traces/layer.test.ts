import { expect } from 'chai';
import {
  inputCount,
  layerMacs,
  layerOf,
  outputCount,
  outputHW,
  spatial,
  validateLayer,
  weightCount,
  type Layer,
} from '../../traces/layer.js';
import { throwsInput } from '../support/input-error.js';

const conv = (): Layer =>
  layerOf({
    name: 'c',
    op: 'conv2d',
    input: [8, 8, 4],
    output: [8, 8, 6],
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 2,
    weightBits: 8,
    weightDensity: 1,
  });

describe('traces/layer', () => {
  it('layerOf normalises: fresh arrays, dense gets the trivial geometry, extra keys dropped', () => {
    const spec = { name: 'fc', op: 'dense' as const, input: [12], output: [5], weightBits: 4, weightDensity: 0.5, act: {} };
    const l = layerOf(spec);
    expect(l).to.deep.equal({
      name: 'fc',
      op: 'dense',
      input: [12],
      output: [5],
      kernel: [1, 1],
      stride: [1, 1],
      padding: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
      weightBits: 4,
      weightDensity: 0.5,
    });
    expect(l.input).to.not.equal(spec.input);
    expect(spatial(l)).to.deep.equal({ H: 1, W: 1, C: 12, OH: 1, OW: 1, OC: 5 });
    expect([inputCount(l), outputCount(l), weightCount(l), layerMacs(l)]).to.deep.equal([12, 5, 60, 60]);
    expect(validateLayer(l)).to.equal(l);
  });

  it('grouped conv: MACs include padding taps (M·K·N·groups), weights K·N·groups', () => {
    const l = validateLayer(conv());
    expect(outputHW(l)).to.deep.equal([8, 8]);
    expect(layerMacs(l)).to.equal(64 * (9 * 2) * 3 * 2);
    expect(weightCount(l)).to.equal(9 * 2 * 3 * 2);
  });

  const bad: [string, (l: Layer) => void, string, RegExp][] = [
    ['a zero input size', (l) => (l.input[0] = 0), 'input', /input must be positive integers/],
    ['a 2-D conv input', (l) => (l.input = [8, 8]), 'input', /input must have 3 entries/],
    ['negative padding', (l) => (l.padding[2] = -1), 'padding', /padding must be non-negative integers/],
    ['weightBits 33', (l) => (l.weightBits = 33), 'weightBits', /integer in 1\.\.32, got 33/],
    ['weightDensity 0', (l) => (l.weightDensity = 0), 'weightDensity', /in \(0, 1\], got 0/],
    [
      'groups not dividing channels',
      (l) => (l.groups = 3),
      'groups',
      /groups 3 must divide the input channels \(4\) and output channels \(6\)/,
    ],
    [
      'depthwise with groups ≠ C',
      (l) => Object.assign(l, { op: 'depthwise2d', output: [8, 8, 4] }),
      'groups',
      /groups = input channels \(4\), got 2/,
    ],
    [
      'a kernel that does not fit',
      (l) => Object.assign(l, { kernel: [5, 5], dilation: [3, 1] }),
      'kernel',
      /kernel \[5,5\] \(dilated 13×5\) is larger than the padded input 10×10/,
    ],
    [
      'a wrong output shape',
      (l) => (l.output[1] = 7),
      'output',
      /output is 8×7 but the 8×8 input, kernel, stride, padding and dilation give 8×8/,
    ],
  ];
  for (const [what, edit, key, message] of bad)
    it(`rejects ${what}: JSON pointer + key, or CSV line`, () => {
      const l = conv();
      edit(l);
      const e = throwsInput(() => validateLayer(l, { file: 'm.json', pointer: '/layers/2' }), 'm.json', 'layer "c"', message);
      expect(e.where.pointer).to.equal(`/layers/2/${key}`);
      const csv = throwsInput(() => validateLayer(l, { file: 't.csv', line: 4 }), 't.csv, line 4: layer "c"', message);
      expect(csv.where.pointer).to.equal(undefined);
    });

  it('rejects a dense layer with any non-trivial geometry key, naming that key', () => {
    for (const [key, v] of [
      ['kernel', [3, 1]],
      ['stride', [2, 2]],
      ['padding', [0, 1, 0, 0]],
      ['dilation', [1, 2]],
      ['groups', 2],
    ] as const) {
      const l = { ...layerOf({ name: 'fc', op: 'dense', input: [4], output: [2], weightBits: 8, weightDensity: 1 }), [key]: v };
      const e = throwsInput(
        () => validateLayer(l as Layer, { file: 'm.json', pointer: '/layers/3' }),
        `${key} of a dense layer must be trivial`,
      );
      expect(e.where.pointer).to.equal(`/layers/3/${key}`);
    }
  });
});
