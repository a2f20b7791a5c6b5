import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layerMacs, layerOf, spatial } from '../../traces/layer.js';
import { parseManifest, readManifest, validateManifest, type Manifest } from '../../traces/manifest.js';
import { expectInputError, tempDir, validTrace } from './helpers.js';

const F = 'm.json';

describe('traces/manifest', () => {
  let good: Manifest;
  before(async () => {
    good = readManifest(await validTrace());
  });
  const variant = (edit: (m: any) => void): unknown => {
    const m = structuredClone(good) as any;
    edit(m);
    return m;
  };

  it('accepts a valid manifest and computes geometry', () => {
    expect(validateManifest(structuredClone(good), F).layers).to.have.length(4);
    const dense = layerOf(good.layers[3]!);
    expect(dense).to.deep.include({ input: [128], output: [10], kernel: [1, 1], stride: [1, 1], padding: [0, 0, 0, 0], groups: 1 });
    expect(dense).to.not.have.property('act');
    expect(spatial(dense)).to.deep.equal({ H: 1, W: 1, C: 128, OH: 1, OW: 1, OC: 10 });
    expect(layerMacs(dense)).to.equal(1280);
    expect(layerMacs(layerOf(good.layers[0]!))).to.equal(8 * 8 * 4 * 9 * 1);
  });

  const cases: [string, (m: any) => void, string, RegExp][] = [
    ['a missing key', (m) => delete m.layers[1].op, '/layers/1/op', /required/],
    ['a wrong op', (m) => (m.layers[0].op = 'pool'), '/layers/0/op', /conv2d/],
    ['an unknown key', (m) => (m.layers[0].bias = 1), '/layers/0/bias', /unknown key "bias"/],
    ['a wrong format', (m) => (m.format = 'x'), '/format', /deltasim-trace/],
    ['a bad dtype', (m) => (m.layers[2].act.dtype = 'float64'), '/layers/2/act/dtype', /int8/],
    ['a path in act.file', (m) => (m.layers[2].act.file = '../x.npy'), '/layers/2/act/file', /plain file name/],
    ['a bad sha256', (m) => (m.layers[0].sha256 = 'abc'), '/layers/0/sha256', /pattern/],
    ['conv without kernel', (m) => delete m.layers[0].kernel, '/layers/0/kernel', /required/],
    ['an output shape the geometry does not give', (m) => (m.layers[1].output = [5, 4, 4]), '/layers/1/output', /give 4×4/],
    ['stride that changes the output', (m) => (m.layers[0].stride = [2, 1]), '/layers/0/output', /give 4×8/],
    ['depthwise with groups ≠ C', (m) => (m.layers[1].groups = 2), '/layers/1/groups', /groups = input channels \(4\)/],
    [
      'groups not dividing channels',
      (m) => {
        m.layers[2].groups = 3;
      },
      '/layers/2/groups',
      /must divide/,
    ],
    ['per-channel scale of the wrong length', (m) => (m.layers[0].act.scale = [0.1, 0.2]), '/layers/0/act/scale', /2 entries, input has 1/],
    ['signed uint8', (m) => (m.layers[0].act.signed = true), '/layers/0/act/signed', /cannot be signed/],
    [
      'a non-trivial dense geometry',
      (m) => (m.layers[3].stride = [2, 2]),
      '/layers/3/stride',
      /stride of a dense layer must be trivial, got \[2,2\]/,
    ],
    ['a zero weight density', (m) => (m.layers[0].weightDensity = 0), '/layers/0/weightDensity', /must be > 0/],
    ['a duplicate name', (m) => (m.layers[1].name = 'conv1'), '/layers/1/name', /duplicate/],
    ['a 2-D dense input', (m) => (m.layers[3].input = [4, 32]), '/layers/3/input', /must NOT have more than 1/],
  ];
  for (const [what, edit, pointer, message] of cases) {
    it(`rejects ${what} with file + JSON pointer + expectation`, () => {
      const e = expectInputError(() => validateManifest(variant(edit), F), F, message);
      expect(e.where.pointer).to.equal(pointer);
    });
  }

  it('accepts a per-channel scale and a dense layer without geometry keys', () => {
    const m = validateManifest(
      variant((m) => {
        m.layers[1].act.scale = [0.1, 0.2, 0.3, 0.4];
      }),
      F,
    );
    expect(m.layers[3]).to.not.have.property('kernel');
  });

  it('reports JSON syntax errors and a missing manifest with the file name', async () => {
    expectInputError(() => parseManifest('{"format": ', F), F, /malformed JSON/);
    const dir = tempDir();
    expectInputError(() => readManifest(dir), join(dir, 'manifest.json'), /not found/);
    const t = await validTrace();
    writeFileSync(join(t, 'manifest.json'), readFileSync(join(t, 'manifest.json'), 'utf8').replace('"frames": 8', '"frames": 0'));
    const e = expectInputError(() => readManifest(t), join(t, 'manifest.json'), />= 1/);
    expect(e.where.pointer).to.equal('/frames');
  });
});
