import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';
import {
  activityWorkload,
  loadHwModel,
  loadTopology,
  numericKeys,
  parseHwModelJson,
  SENSITIVITY_COLUMNS,
  sensitivity,
  sensitivityCsv,
  sensitivityJson,
  sensitivityMode,
  simulate,
  topologyWorkload,
  type HwModel,
  type Sensitivity,
} from '../../sim/index.js';
import { patchSpec, specOf } from '../../sim/sweep/patch.js';
import { pattern, sizes, small, workOf } from '../support/small-net.js';

/** The small three-layer network over four frames of level patterns, replayable. */
const net = () =>
  activityWorkload(
    workOf(
      small,
      [0, 1, 2, 3].map((f) => sizes.map((n, i) => pattern(n, f + i))),
    ),
  );

/** A hw-model with one key changed, through the same path a hw-model file takes. */
const withKey = (hw: HwModel, path: string, value: number) =>
  parseHwModelJson(JSON.stringify(patchSpec(specOf(hw), path, value, 'test')), hw.source);

const param = (s: Sensitivity, name: string) => {
  const i = s.parameters.findIndex((p) => p.parameter === name);
  if (i < 0) throw new Error(`${name} not among the varied parameters`);
  return { rank: i, ...s.parameters[i]! };
};

describe('sensitivity (one key at a time)', function () {
  this.timeout(120_000);
  // DRAM at 0.05 GB/s: the small network's delta run waits on DRAM.
  const hw = withKey(loadHwModel('delta-32x32'), 'memories.dram.GBps', 0.05);
  const s = sensitivity(net(), hw, { mode: 'delta' });

  it('the run is DRAM-bound, and DRAM bandwidth ranks above a key with no effect', () => {
    const d = simulate(net(), hw, { mode: 'delta' }).modes[0]!;
    expect(d.boundCycles.dram).to.be.greaterThan(d.boundCycles.compute);
    const dram = param(s, 'memories.dram.GBps');
    // The ofmap's banks never bound this run: no gain moves.
    const idle = param(s, 'memories.ofmap.banks');
    expect(idle.swing).to.deep.equal({ speedup: 0, energyGain: 0, periodEnergyGain: 0 });
    expect(dram.swing.energyGain).to.be.greaterThan(0.1);
    expect(dram.rank).to.be.lessThan(idle.rank);
    // Low, nominal and high are the values said, and the gains are the simulated ones at each.
    expect([dram.low.value, dram.nominal, dram.high.value]).to.deep.equal([0.025, 0.05, 0.1]);
    const at = (v: number) => simulate(net(), withKey(hw, 'memories.dram.GBps', v), { mode: 'delta' }).modes[0]!.energyGainVsDense;
    expect('gains' in dram.high && dram.high.gains.energyGain).to.equal(Number(at(0.1).toPrecision(6)));
    expect(s.nominal.energyGain).to.equal(Number(at(0.05).toPrecision(6)));
  });

  it('ranks by the largest swing, and every numeric key is varied or said skipped, once', () => {
    const top = s.parameters.map((p) => Math.max(p.swing.speedup ?? 0, p.swing.energyGain ?? 0, p.swing.periodEnergyGain ?? 0));
    expect(top).to.deep.equal([...top].sort((a, b) => b - a));
    const keys = numericKeys(specOf(hw)).map((k) => k.path);
    expect([...s.parameters.map((p) => p.parameter), ...s.skipped.map((k) => k.parameter)].sort()).to.deep.equal([...keys].sort());
    expect(s.reference).to.equal('dense');
    expect(s.fps).to.equal(30);
  });

  it('a side the schema refuses is reported with its key, not run; a key at 0 is skipped with the reason', () => {
    const ports = param(s, 'memories.ifmap.ports');
    expect(ports.low).to.deep.equal({ value: 0.5, error: '/memories/ifmap/ports: must be integer' });
    expect('gains' in ports.high).to.equal(true);
    // zero-skip-32x32 keeps no state: its state buffer's capacity is 0, which no factor moves.
    const z = sensitivity(topologyWorkload(loadTopology('tiny')), loadHwModel('zero-skip-32x32'), { mode: 'sparse' });
    expect(z.skipped).to.deep.include({
      parameter: 'memories.state.kiB',
      nominal: 0,
      reason: 'nominal 0: scaling by 2 leaves it unchanged',
    });
  });

  it('derives the keys from the hw-model: an event machine varies its own', () => {
    const e = sensitivity(topologyWorkload(loadTopology('tiny')), loadHwModel('seneca-like'), { mode: 'delta' });
    const names = [...e.parameters, ...e.skipped].map((p) => p.parameter);
    expect(names).to.include.members(['cores', 'synOpsPerCyclePerCore', 'eventOverheadCycles', 'neuronUpdateCycles', 'clockMHz']);
    expect(names).not.to.include('rows');
    // More cores speed an event machine up: its delta speedup over dense moves.
    expect(param(e, 'cores').swing.speedup).to.be.greaterThan(0);
  });

  it('flags a flip exactly when a gain is above 1× at one of low / nominal / high and below it at another', () => {
    // A constructed case: on delta-32x32 the small network's delta run is slower than dense (its state SRAM's
    // 4 banks bound it) …
    const f = sensitivity(net(), loadHwModel('delta-32x32'), { mode: 'delta' });
    expect(f.nominal.speedup).to.be.lessThan(1);
    expect(simulate(net(), loadHwModel('delta-32x32'), { mode: 'delta' }).modes[0]!.boundCycles.state).to.be.greaterThan(0);
    // … and twice the banks make it faster: the verdict flips.
    const banks = param(f, 'memories.state.banks');
    expect(banks.flips).to.include('speedup');
    expect('gains' in banks.high && banks.high.gains.speedup).to.be.greaterThan(1);
    expect(param(f, 'memories.ofmap.banks').flips).to.deep.equal([]);
    for (const r of [s, f])
      for (const p of r.parameters)
        for (const m of ['speedup', 'energyGain'] as const) {
          const vs = [r.nominal[m], ...[p.low, p.high].map((x) => ('gains' in x ? x.gains[m] : null))].filter(
            (v): v is number => v !== null,
          );
          expect(p.flips.includes(m), `${p.parameter} ${m}: ${vs}`).to.equal(vs.some((v) => v > 1) && vs.some((v) => v < 1));
        }
  });

  it('is deterministic: the same inputs give byte-identical CSV and JSON', () => {
    const again = sensitivity(net(), hw, { mode: 'delta' });
    expect(sensitivityCsv(again)).to.equal(sensitivityCsv(s));
    expect(sensitivityJson(again)).to.equal(sensitivityJson(s));
    const [head, ...rows] = sensitivityCsv(s).trimEnd().split('\n');
    expect(head).to.equal(SENSITIVITY_COLUMNS.join(','));
    expect(rows).to.have.length(s.parameters.length + s.skipped.length);
  });

  it('studies delta, or the mode asked for; a reference mode or a dense-only hw-model is refused', () => {
    expect(sensitivityMode(loadHwModel('delta-32x32'), 'all')).to.equal('delta');
    expect(sensitivityMode(loadHwModel('zero-skip-32x32'), 'all')).to.equal('sparse');
    expect(sensitivityMode(loadHwModel('delta-32x32'), 'sparse')).to.equal('sparse');
    expect(() => sensitivityMode(loadHwModel('delta-32x32'), 'dense')).to.throw(InputError, /--mode sparse, delta or all/);
    expect(() => sensitivityMode(loadHwModel('dense-32x32'), 'all')).to.throw(InputError, /runs only dense/);
  });
});
