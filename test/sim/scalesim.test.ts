/** Dense cycles equal SCALE-Sim v2's own numbers, every row, from the CSV topologies and the .cfg. */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { computeLayer, denseFolds, gemmOf, layerMacs, loadTopology, parseScaleSimCfg, type Dataflow } from '../../sim/index.js';
import { simTopology } from '../support/sim.js';

const FIX = new URL('../fixtures/scalesim/', import.meta.url).pathname;
const cfgText = readFileSync(`${FIX}sa32x32_os.cfg`, 'utf8');
const cfgWith = (df: Dataflow) => parseScaleSimCfg(cfgText.replace(/Dataflow\s*:\s*os/, `Dataflow : ${df}`), `${FIX}sa32x32_${df}.cfg`);

interface Ref {
  topology: string;
  array_rows: string;
  array_cols: string;
  dataflow: Dataflow;
  layer: string;
  M: string;
  K: string;
  N: string;
  macs: string;
  total_cycles: string;
}
const refs = parse(readFileSync(`${FIX}alexnet_scalesim_v2_results.csv`, 'utf8'), { columns: true, trim: true }) as Ref[];

describe('SCALE-Sim v2 exactness (dense)', () => {
  it('has reference rows for all three dataflows', () => {
    expect(refs.length).to.equal(18);
    expect(new Set(refs.map((r) => r.dataflow))).to.deep.equal(new Set(['os', 'ws', 'is']));
  });
  for (const ref of refs) {
    it(`${ref.topology} ${ref.dataflow} ${ref.layer}: ${ref.total_cycles} cycles`, () => {
      const model = loadTopology(FIX + ref.topology);
      const layer = model.layers.find((l) => l.name === ref.layer)!;
      expect(layer, ref.layer).to.not.equal(undefined);
      const g = gemmOf(layer);
      expect([g.M, g.K, g.N, layerMacs(layer)]).to.deep.equal([+ref.M, +ref.K, +ref.N, +ref.macs]);
      const hw = cfgWith(ref.dataflow);
      expect([hw.kind === 'systolic' && hw.rows, hw.kind === 'systolic' && hw.cols]).to.deep.equal([+ref.array_rows, +ref.array_cols]);
      // Through the library entry point (dense mode on the .cfg model) ...
      const res = simTopology(model, hw, { mode: 'dense' });
      const r = res.layers.find((l) => l.layer === ref.layer)!;
      expect(r.computeCycles).to.equal(+ref.total_cycles);
      // SCALE-Sim's total (InterfaceBandwidth CALC: DRAM never stalls; its SRAMs keep up): no stall either.
      expect([r.cycles, r.stallCycles, r.bound]).to.deep.equal([+ref.total_cycles, 0, 'compute']);
      // ... and through the bare cycles function.
      expect(computeLayer(g, { rows: 32, cols: 32, dataflow: ref.dataflow }, denseFolds).computeCycles).to.equal(+ref.total_cycles);
    });
  }
  it('reads SCALE-Sim output sizes (no padding): AlexNet Conv1 is 55×55', () => {
    const conv1 = loadTopology(`${FIX}alexnet.csv`).layers[0]!;
    expect(conv1.output).to.deep.equal([55, 55, 96]);
    expect(conv1.padding).to.deep.equal([0, 3, 0, 3]);
  });
  it('the .cfg loads as a systolic model with its SRAM sizes and bandwidth', () => {
    const hw = cfgWith('os');
    expect(hw.kind).to.equal('systolic');
    expect([hw.memories.ifmap.kiB, hw.memories.filter.kiB, hw.memories.ofmap.kiB, hw.memories.dram.GBps]).to.deep.equal([64, 64, 64, 10]);
    expect(hw.name).to.equal('sa32x32_os');
  });
  it('accepts both "key: value" and "key = value" lines', () => {
    const hw = parseScaleSimCfg('[architecture_presets]\nArrayHeight = 8\nArrayWidth: 16\nDataflow = ws\n', 'x.cfg');
    expect(hw.kind === 'systolic' && [hw.rows, hw.cols, hw.dataflow]).to.deep.equal([8, 16, 'ws']);
  });
});
