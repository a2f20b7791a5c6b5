/**
 * Fair comparisons: the shipped systolic family differs only in the feature, the node option scales energy and
 * area by one sourced rule (and refuses a node it has no figures for, naming the key), and the area model adds
 * up the buffers and compute units at the hw-model's node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  areaOf,
  BUFFERS,
  denseBaselineFor,
  type HwModel,
  loadEnergyTable,
  loadHwModel,
  nodeScaling,
  parseHwModelJson,
  simulate,
  sramAccessPJ,
  sramMm2PerKiB,
  summaryJson,
  SUPPORTED_NODES,
  tableAtNode,
  traceWorkload,
} from '../../sim/index.js';
import { ENERGY_DIR, HW_MODELS_DIR } from '../../sim/paths.js';
import { openTrace } from '../../traces/reader.js';
import { throwsInput } from '../support/input-error.js';

const raw = (name: string): Record<string, any> => JSON.parse(readFileSync(join(HW_MODELS_DIR, `${name}.json`), 'utf8'));
const horowitz = loadEnergyTable(join(ENERGY_DIR, 'horowitz-45nm.json'));
const seneca = loadEnergyTable(join(ENERGY_DIR, 'seneca-22nm.json'));

/** A hw-model document without the keys named: what must be equal across an iso-configured pair. */
function without(doc: Record<string, any>, keys: string[], buffers: string[] = []): Record<string, any> {
  const d = structuredClone(doc);
  for (const k of keys) delete d[k];
  for (const b of buffers) delete d.memories[b];
  return d;
}

describe('iso-configured hw-models', () => {
  // rowSync says how the skipping rows step (sim/mapping.ts): part of the zero-skip feature, absent on dense.
  const FEATURES = ['skipZeroActivations', 'skipZeroWeights', 'gateZeroOperands', 'rowSync', 'delta'];

  it('dense-32x32, zero-skip-32x32 and delta-32x32 differ only in the feature keys and the state SRAM', () => {
    const family = ['dense-32x32', 'zero-skip-32x32', 'delta-32x32'].map(raw);
    const core = family.map((d) => without(d, ['name', 'description', ...FEATURES], ['state']));
    expect(core[1]).to.deep.equal(core[0]);
    expect(core[2]).to.deep.equal(core[0]);
    const [dense, skip, delta] = family as [Record<string, any>, Record<string, any>, Record<string, any>];
    // Each step adds its feature: dense → zero skipping → zero skipping + delta state.
    expect(FEATURES.map((k) => dense[k])).to.deep.equal([false, false, false, undefined, false]);
    expect(FEATURES.map((k) => skip[k])).to.deep.equal([true, true, true, 'lockstep', false]);
    expect(FEATURES.map((k) => delta[k])).to.deep.equal([true, true, true, 'lockstep', true]);
    expect(dense.memories).to.not.have.property('state');
    expect(skip.memories).to.not.have.property('state');
    expect(delta.memories.state.kiB).to.be.greaterThan(0);
    // An edge-class DRAM: one LPDDR4 interface's bandwidth (the energy table's, JEDEC).
    expect(dense.memories.dram).to.deep.equal({ GBps: horowitz.dram.LPDDR4.interfaceGBps.GBps, interface: 'LPDDR4' });
  });

  it('dense-32x32-22nm is dense-32x32 at 22 nm, and nothing else', () => {
    const d22 = raw('dense-32x32-22nm');
    expect(d22.technologyNm).to.equal(22);
    expect(without(d22, ['name', 'description', 'technologyNm'])).to.deep.equal(without(raw('dense-32x32'), ['name', 'description']));
    expect(loadHwModel('dense-32x32-22nm').energyTable.technologyNm).to.equal(seneca.technologyNm);
  });

  it('the default baseline is the dense array at the hw-model own node', () => {
    for (const name of ['delta-32x32', 'zero-skip-32x32', 'seneca-like']) {
      const hw = loadHwModel(name);
      const base = loadHwModel(denseBaselineFor(hw.energyTable.technologyNm)!);
      expect(base.energyTable.technologyNm, name).to.equal(hw.energyTable.technologyNm);
      expect(base.kind === 'systolic' && !base.skipZeroActivations && !base.delta, name).to.equal(true);
    }
    expect(denseBaselineFor(14)).to.equal(undefined);
  });

  it('simulate: a trace run defaults to the baseline at its node, and warns when a baseline is at another', () => {
    const bin = new URL('../../bin/deltasim.js', import.meta.url).pathname;
    const tiny = new URL('../../traces/samples/tiny', import.meta.url).pathname;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'simulate', '--trace', tiny, '--arch', 'seneca-like', '--json', ...args], { encoding: 'utf8' });
    const own = cli();
    expect(own.status, own.stderr).to.equal(0);
    expect(JSON.parse(own.stdout).baseline).to.equal('dense-32x32-22nm');
    expect(own.stderr).to.not.include('warning: baseline');
    const across = cli('--baseline', 'dense-32x32');
    expect(across.status, across.stderr).to.equal(0);
    expect(across.stderr).to.include('warning: baseline dense-32x32 is at 45 nm, seneca-like at 22 nm');
  });
});

describe('technology-node scaling', () => {
  it('is 1 at the same node, and composes: 45 → 32 → 22 = 45 → 22', () => {
    for (const nm of SUPPORTED_NODES) expect(nodeScaling(nm, nm)).to.deep.equal({ energy: 1, area: 1 });
    const a = nodeScaling(45, 32);
    const b = nodeScaling(32, 22);
    const c = nodeScaling(45, 22);
    expect(a.energy * b.energy).to.be.closeTo(c.energy, 1e-12);
    expect(a.area * b.area).to.be.closeTo(c.area, 1e-12);
    // Smaller nodes cost less energy and area.
    for (let i = 1; i < SUPPORTED_NODES.length; i++) {
      const s = nodeScaling(SUPPORTED_NODES[i - 1]!, SUPPORTED_NODES[i]!);
      expect(s.energy).to.be.lessThan(1);
      expect(s.area).to.be.lessThan(1);
    }
    expect(() => nodeScaling(45, 28)).to.throw(RangeError, '28 nm');
  });

  it('45 → 22 nm reproduces the seneca-22nm table, written by hand with the same rule (x0.348)', () => {
    const t = tableAtNode(horowitz, 22);
    expect(t.technologyNm).to.equal(22);
    for (const k of ['mac8', 'mac16', 'mac32', 'macGated', 'macSkipped', 'activate', 'deltaCompare'] as const)
      expect(t.actions[k].pJ / seneca.actions[k].pJ, k).to.be.closeTo(1, 0.002);
    for (const kiB of [8, 64, 1024]) expect(sramAccessPJ(t, kiB, 64) / sramAccessPJ(seneca, kiB, 64)).to.be.closeTo(1, 0.002);
    // The area table was written from the 22 nm bit cell directly: the same as the scaled 45 nm one.
    for (const kiB of [8, 32, 1024]) expect(sramMm2PerKiB(t.area!, kiB) / sramMm2PerKiB(seneca.area!, kiB)).to.be.closeTo(1, 0.002);
    // Leakage and DRAM are not scaled; every scaled entry says so.
    expect(t.leakage).to.deep.equal(horowitz.leakage);
    expect(t.dram).to.deep.equal(horowitz.dram);
    expect(t.actions.mac8.source).to.include('scaled 45 -> 22 nm');
    expect(t.actions.nocHop.assumed).to.include('scaled 45 -> 22 nm');
    expect(tableAtNode(horowitz, 45)).to.equal(horowitz);
  });

  describe('the hw-model key technologyNm', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'deltasim-node-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const dense = readFileSync(join(HW_MODELS_DIR, 'dense-32x32.json'), 'utf8');
    const withNode = (v: unknown, energy?: string): string =>
      JSON.stringify({ ...JSON.parse(dense), technologyNm: v, ...(energy && { energy }) });

    it('scales energy and area from the table node', () => {
      const at45 = parseHwModelJson(withNode(45), 'x.json');
      const at22 = parseHwModelJson(withNode(22), 'x.json');
      expect(at45.energyTable).to.deep.equal(loadHwModel('dense-32x32').energyTable);
      const f = nodeScaling(45, 22);
      expect(at22.energyTable.actions.mac8.pJ).to.be.closeTo(horowitz.actions.mac8.pJ * f.energy, 1e-12);
      expect(areaOf(at22)!.totalMm2).to.be.closeTo(areaOf(at45)!.totalMm2 * f.area, 1e-9);
      expect(areaOf(at22)!.technologyNm).to.equal(22);
      // An event table moved to 45 nm: SENeCA's synaptic op at the baseline's node.
      const ev = readFileSync(join(HW_MODELS_DIR, 'seneca-like.json'), 'utf8');
      const ev45 = parseHwModelJson(JSON.stringify({ ...JSON.parse(ev), technologyNm: 45 }), 'e.json');
      expect(ev45.energyTable.actions.synOp.pJ).to.be.closeTo(seneca.actions.synOp.pJ / nodeScaling(45, 22).energy, 1e-9);
    });

    it('refuses an unsupported node, a non-number or a non-positive one, naming the key', () => {
      throwsInput(
        () => parseHwModelJson(withNode(28), 'bad.json'),
        'bad.json',
        'at /technologyNm',
        '"technologyNm" 28',
        '45, 32, 22, 14 nm',
      );
      throwsInput(() => parseHwModelJson(withNode('22nm'), 'bad.json'), 'bad.json', 'at /technologyNm');
      throwsInput(() => parseHwModelJson(withNode(0), 'bad.json'), 'bad.json', 'at /technologyNm');
      // A table at a node without figures cannot be moved, and the message says which node.
      const t = JSON.parse(readFileSync(join(ENERGY_DIR, 'horowitz-45nm.json'), 'utf8'));
      t.technologyNm = 28;
      const file = join(dir, 't28.json');
      writeFileSync(file, JSON.stringify(t));
      throwsInput(() => parseHwModelJson(withNode(22, file), join(dir, 'm.json')), 'at /technologyNm', 'is at 28 nm');
      // The table's own node needs no scaling, supported or not.
      expect(parseHwModelJson(withNode(28, file), join(dir, 'm.json')).energyTable.technologyNm).to.equal(28);
    });
  });
});

describe('area model', () => {
  const dense = loadHwModel('dense-32x32');
  const skip = loadHwModel('zero-skip-32x32');
  const delta = loadHwModel('delta-32x32');

  it('SRAM density: exact at the size classes, log-linear between them, the end class beyond the ends', () => {
    const a = horowitz.area!;
    for (const p of a.sram) expect(sramMm2PerKiB(a, p.kiB)).to.equal(p.mm2PerKiB);
    const [p8, p32] = a.sram as [(typeof a.sram)[0], (typeof a.sram)[0]];
    expect(sramMm2PerKiB(a, 16)).to.be.closeTo((p8.mm2PerKiB + p32.mm2PerKiB) / 2, 1e-12);
    expect(sramMm2PerKiB(a, 1)).to.equal(p8.mm2PerKiB);
    expect(sramMm2PerKiB(a, 8192)).to.equal(a.sram[a.sram.length - 1]!.mm2PerKiB);
    // Larger macros are denser (periphery amortised), so area per KiB never rises with size.
    for (let k = 1; k <= 4096; k *= 2) expect(sramMm2PerKiB(a, 2 * k)).to.be.at.most(sramMm2PerKiB(a, k));
  });

  it('adds up the buffers (one bank = one macro) and the compute units', () => {
    const a = areaOf(delta)!;
    const t = delta.energyTable.area!;
    for (const b of BUFFERS) {
      const m = delta.memories[b];
      expect(a.sramMm2[b], b).to.be.closeTo(m.kiB * sramMm2PerKiB(t, m.kiB / m.banks), 1e-12);
    }
    expect(a.logicMm2).to.equal(32 * 32 * t.perPE.mm2);
    expect(a.units).to.equal(1024);
    expect(a.unit).to.equal('PE');
    expect(a.totalMm2).to.be.closeTo(a.logicMm2 + BUFFERS.reduce((s, b) => s + a.sramMm2[b], 0), 1e-12);
    expect(a.stateShare).to.be.closeTo(a.sramMm2.state / a.totalMm2, 1e-12);
  });

  it('in the iso family, delta support costs exactly its state SRAM and zero skipping costs no area', () => {
    const [ad, as, ax] = [dense, skip, delta].map((h) => areaOf(h)!) as [
      NonNullable<ReturnType<typeof areaOf>>,
      ...NonNullable<ReturnType<typeof areaOf>>[],
    ];
    expect(as).to.deep.equal(ad);
    expect(ax.totalMm2 - ad.totalMm2).to.be.closeTo(ax.sramMm2.state, 1e-12);
    expect(ax.stateOverhead).to.be.closeTo(ax.sramMm2.state / ad.totalMm2, 1e-12);
    expect(ad.stateShare).to.equal(0);
    expect(ad.sramMm2.state).to.equal(0);
  });

  it('is null for a table without area figures', () => {
    const { area: _a, ...noArea } = dense.energyTable;
    expect(areaOf({ ...dense, energyTable: noArea } as HwModel)).to.equal(null);
  });

  it('is reported in a simulation summary, for the hw-model and the baseline', () => {
    const trace = openTrace(new URL('../../traces/samples/tiny', import.meta.url).pathname);
    const res = simulate(traceWorkload(trace), delta, { mode: 'all', fps: 15, baseline: dense });
    expect(res.area).to.deep.equal(areaOf(delta));
    expect(res.baselineArea).to.deep.equal(areaOf(dense));
    const doc = JSON.parse(summaryJson(res));
    expect(doc.area.sramMm2.state).to.be.greaterThan(0);
    expect(doc.baselineArea.sramMm2.state).to.equal(0);
  });
});
