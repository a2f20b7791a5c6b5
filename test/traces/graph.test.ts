/** The version-2 manifest's graph (traces/graph.ts): valid graphs pass, bad ones name the file and the key. */
import { expect } from 'chai';
import { readManifest, validateManifest, type Manifest } from '../../traces/manifest.js';
import type { TraceGraph } from '../../traces/graph.js';
import { expectInputError, validTrace } from './helpers.js';

const F = 'm.json';

/** The tiny sample as a graph: conv1 → relu (fused) → dw2 → maxpool-free chain → flatten → fc4, plus a pool side branch. */
const TINY_GRAPH: TraceGraph = {
  inputs: [{ name: 'frame', shape: [8, 8, 1] }],
  nodes: [
    { name: 'conv1', op: 'mac', inputs: ['frame'], output: { name: 'conv1:0', shape: [8, 8, 4] } },
    { name: 'relu1', op: 'activation', opType: 'Relu', inputs: ['conv1:0'], output: { name: 'relu1:0', shape: [8, 8, 4] } },
    { name: 'dw2', op: 'mac', inputs: ['relu1:0'], output: { name: 'dw2:0', shape: [4, 4, 4] } },
    { name: 'pw3', op: 'mac', inputs: ['dw2:0'], output: { name: 'pw3:0', shape: [4, 4, 8] } },
    { name: 'flat', op: 'reshape', inputs: ['pw3:0'], output: { name: 'flat:0', shape: [128] } },
    { name: 'fc4', op: 'mac', inputs: ['flat:0'], output: { name: 'fc4:0', shape: [10] } },
  ],
};

describe('traces/graph (manifest version 2)', () => {
  let good: Manifest;
  before(async () => {
    good = { ...readManifest(await validTrace()), version: 2, graph: structuredClone(TINY_GRAPH) };
  });
  const variant = (edit: (m: any) => void): unknown => {
    const m = structuredClone(good) as any;
    edit(m);
    return m;
  };

  it('accepts a graph in version 2, and version 1 without one', () => {
    expect(
      validateManifest(
        variant(() => {}),
        F,
      ).graph!.nodes,
    ).to.have.length(6);
    const v1 = variant((m) => {
      m.version = 1;
      delete m.graph;
    });
    expect(validateManifest(v1, F).graph).to.equal(undefined);
  });

  const cases: [string, (m: any) => void, string, RegExp][] = [
    ['a graph in version 1', (m) => (m.version = 1), '/graph', /a graph needs "version": 2/],
    ['version 2 without a graph', (m) => delete m.graph, '/graph', /missing required key "graph"/],
    ['an unknown op', (m) => (m.graph.nodes[1].op = 'relu'), '/graph/nodes/1/op', /maxpool/],
    ['an unknown node key', (m) => (m.graph.nodes[1].axis = 3), '/graph/nodes/1/axis', /unknown key "axis"/],
    ['a maxpool without kernel', (m) => (m.graph.nodes[1].op = 'maxpool'), '/graph/nodes/1/kernel', /kernel/],
    [
      'a kernel on an add',
      (m) => (m.graph.nodes[1] = { ...m.graph.nodes[1], op: 'add', kernel: [2, 2] }),
      '/graph/nodes/1/kernel',
      /kernel belongs to maxpool/,
    ],
    ['a 2-D shape', (m) => (m.graph.inputs[0].shape = [8, 8]), '/graph/inputs/0/shape', /a shape is \[H, W, C\] or \[C\], got \[8,8\]/],
    [
      'an input read before it is made',
      (m) => (m.graph.nodes[2].inputs = ['pw3:0']),
      '/graph/nodes/2/inputs/0',
      /neither a graph input nor the output of an earlier node/,
    ],
    [
      'a duplicate tensor name',
      (m) => (m.graph.nodes[1].output.name = 'conv1:0'),
      '/graph/nodes/1/output/name',
      /duplicate tensor name "conv1:0"/,
    ],
    ['a mac node that is no layer', (m) => (m.graph.nodes[2].name = 'dw9'), '/graph/nodes/2/name', /"dw9" is not a layer/],
    ['a layer without a mac node', (m) => (m.graph.nodes[2].op = 'other'), '/layers/1/name', /"dw2" has no mac node/],
    ['a mac node reading two tensors', (m) => m.graph.nodes[2].inputs.push('frame'), '/graph/nodes/2/inputs', /exactly one tensor/],
    [
      'a mac input of the wrong shape',
      (m) => (m.graph.nodes[5].inputs = ['pw3:0']),
      '/graph/nodes/5/inputs/0',
      /shape \[4,4,8\], layer "fc4" reads \[128\]/,
    ],
    [
      'a mac output of the wrong shape',
      (m) => (m.graph.nodes[3].output.shape = [4, 4, 9]),
      '/graph/nodes/3/output/shape',
      /layer "pw3" outputs \[4,4,8\]/,
    ],
    ['an unknown graph output', (m) => (m.graph.outputs = ['nope']), '/graph/outputs/0', /no tensor "nope"/],
  ];
  for (const [what, edit, pointer, message] of cases) {
    it(`rejects ${what} with file + JSON pointer`, () => {
      const e = expectInputError(() => validateManifest(variant(edit), F), F, message);
      expect(e.where.pointer ?? '').to.equal(pointer);
    });
  }
});
