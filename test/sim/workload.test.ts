/** Workloads: layer shapes, GEMM mapping (groups, depthwise, dense), built-in topologies. */
import { expect } from 'chai';
import {
  computeLayer,
  denseFolds,
  gemmOf,
  layerMacs,
  listBuiltinModels,
  loadTopology,
  parseTopologyCsv,
  weightCount,
} from '../../sim/index.js';

const HEADER = 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides, Padding, Groups, Type,';

describe('workloads', () => {
  it('ships alexnet, resnet50, mobilenet-64 and tiny', () => {
    expect(listBuiltinModels()).to.include.members(['alexnet', 'resnet50', 'mobilenet-64', 'tiny']);
  });
  it('resnet50 has the usual 53 conv + 1 fc layers, ~4.1 GMACs and ~25.5 M weights', () => {
    const m = loadTopology('resnet50');
    expect(m.layers.length).to.equal(54);
    const macs = m.layers.reduce((s, l) => s + layerMacs(l), 0);
    const weights = m.layers.reduce((s, l) => s + weightCount(l), 0);
    expect(macs / 1e9).to.be.within(4.0, 4.2);
    expect(weights / 1e6).to.be.within(25.4, 25.6); // without biases and batch-norm
    expect(m.layers.at(-1)!.op).to.equal('dense');
  });
  it('tiny: 64×64×1 → 32×32×16 → 16×16×32 → 8×8×64 → 10 classes', () => {
    const m = loadTopology('tiny');
    expect(m.layers.map((l) => l.output)).to.deep.equal([[32, 32, 16], [16, 16, 32], [8, 8, 64], [10]]);
    expect(m.layers[0]!.input).to.deep.equal([64, 64, 1]);
  });
  it('depthwise rows map to `groups` GEMMs with K = kh·kw and N = multiplier', () => {
    const dw = loadTopology('mobilenet-64').layers.find((l) => l.op === 'depthwise2d')!;
    expect(dw.groups).to.equal(dw.input[2]);
    expect(gemmOf(dw)).to.deep.equal({ M: 32 * 32, K: 9, N: 1, groups: 16 });
    expect(layerMacs(dw)).to.equal(32 * 32 * 9 * 16);
  });
  it('a grouped layer costs its groups GEMMs back to back (one −1 per layer)', () => {
    const text = `${HEADER}\ng, 8, 8, 3, 3, 8, 16, 1, 1, 2,\n`;
    const l = parseTopologyCsv(text, 'g.csv').layers[0]!;
    const one = computeLayer({ ...gemmOf(l), groups: 1 }, { rows: 4, cols: 4, dataflow: 'ws' }, denseFolds).computeCycles;
    expect(computeLayer(gemmOf(l), { rows: 4, cols: 4, dataflow: 'ws' }, denseFolds).computeCycles).to.equal(2 * (one + 1) - 1);
  });
  it('explicit padding uses the standard output size; a dense row is a [C] → [N] layer', () => {
    const m = parseTopologyCsv(`${HEADER}\nc, 7, 7, 3, 3, 2, 4, 2, 1,\nfc, 1, 1, 1, 1, 64, 10, 1, , , dense,\n`, 'p.csv');
    expect(m.layers[0]!.output).to.deep.equal([4, 4, 4]);
    expect(m.layers[0]!.padding).to.deep.equal([1, 1, 1, 1]);
    expect(m.layers[1]).to.deep.include({ op: 'dense', input: [64], output: [10] });
    expect(gemmOf(m.layers[1]!)).to.deep.equal({ M: 1, K: 64, N: 10, groups: 1 });
  });
});
