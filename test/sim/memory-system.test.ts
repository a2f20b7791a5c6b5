/**
 * The memory system as hardware: SRAM buffers with width, banks and ports bound a layer's time;
 * energy per word access; bad buffer specs; one precision end to end (the hw-model's), with a
 * trace's levels checked against it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  BUFFERS,
  layerActivityCounter,
  layerOf,
  levelsWiderThan,
  loadHwModel,
  loadTopology,
  packedWords,
  parseHwModelJson,
  scatteredWords,
  simulate,
  sramAccessPJ,
  traceWorkload,
  withSystolic,
  type HwModel,
  type SystolicSpec,
} from '../../sim/index.js';
import { specOf } from '../../sim/sweep/patch.js';
import { openTrace } from '../../traces/reader.js';
import { writeWideTrace } from '../support/wide-trace.js';
import { throwsInput } from '../support/input-error.js';
import { simTopology } from '../support/sim.js';

const OPTS = { seed: 14, verbose: 1 } as const;
const delta = loadHwModel('delta-32x32') as HwModel & SystolicSpec;
const tiny = loadTopology('tiny');

describe('memory system: SRAM buffers as hardware', () => {
  it('a layer lasts max(compute, DRAM, every buffer’s ⌈word accesses / (banks · ports)⌉) + overhead, and says which bound it', () => {
    const res = simTopology(tiny, delta, { mode: 'all', deltaDensity: 0.3 });
    expect(res.layers.length).to.be.greaterThan(0);
    for (const r of res.layers) {
      for (const b of BUFFERS) {
        const s = delta.memories[b];
        const acc = r.actions.sram[b].reads + r.actions.sram[b].writes;
        expect(r.sramCycles[b]).to.equal(Math.ceil(acc / (s.banks * s.ports) - 1e-9));
      }
      const busy = Math.max(r.computeCycles, r.dramCycles, ...BUFFERS.map((b) => r.sramCycles[b]), r.compactorCycles ?? 0);
      expect(r.cycles).to.equal(busy + (delta.layerOverheadCycles ?? 0));
      expect(r.stallCycles).to.equal(busy - r.computeCycles);
      const boundCycles =
        r.bound === 'compute'
          ? r.computeCycles
          : r.bound === 'dram'
            ? r.dramCycles
            : r.bound === 'compactor'
              ? r.compactorCycles
              : r.sramCycles[r.bound];
      expect(boundCycles).to.equal(busy);
    }
  });

  it('the delta state’s read-modify-write goes through the state buffer’s ports: one narrow port makes delta state-bound', () => {
    const narrow = withSystolic(delta, { memories: { state: { banks: 1, ports: 1 } } });
    const wide = withSystolic(delta, { memories: { state: { banks: 64, ports: 2 } } });
    const d = (hw: HwModel) => simTopology(tiny, hw, { mode: 'delta', deltaDensity: 0.5 });
    const n = d(narrow);
    const w = d(wide);
    expect(n.layers.some((r) => r.bound === 'state')).to.equal(true);
    expect(n.modes[0]!.boundCycles.state).to.be.greaterThan(0);
    expect(n.modes[0]!.cycles).to.be.greaterThan(w.modes[0]!.cycles);
    // The same accesses either way: ports change time, not work.
    expect(n.modes[0]!.sramAccesses.state).to.equal(w.modes[0]!.sramAccesses.state);
  });

  it('more banks or ports on any buffer never make a run slower', () => {
    const models = [tiny, loadTopology('mobilenet-64')];
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        fc.constantFrom('dense', 'sparse', 'delta' as const),
        fc.constantFrom(...BUFFERS),
        fc.constantFrom('banks', 'ports' as const),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 8 }),
        fc.double({ min: 0.01, max: 0.9, noNaN: true }),
        (m, mode, buf, key, v, k, dd) => {
          const hw = (x: number) => withSystolic(delta, { memories: { [buf]: { [key]: x } } });
          const lo = simTopology(m, hw(v), { mode, deltaDensity: dd }).modes[0]!;
          const hi = simTopology(m, hw(v * k), { mode, deltaDensity: dd }).modes[0]!;
          expect(hi.cycles).to.be.at.most(lo.cycles);
          expect(hi.stallCycles).to.be.at.most(lo.stallCycles);
        },
      ),
      { ...OPTS, numRuns: 60 },
    );
  });

  it('SRAM energy is per word access of the buffer: accesses × sramAccessPJ(capacity, width)', () => {
    const res = simTopology(tiny, delta, { mode: 'delta', deltaDensity: 0.2 });
    for (const r of res.layers)
      for (const b of BUFFERS) {
        const s = delta.memories[b];
        const acc = r.actions.sram[b].reads + r.actions.sram[b].writes;
        const want = acc === 0 ? 0 : acc * sramAccessPJ(delta.energyTable, s.kiB, s.wordBits);
        expect(r.energy.sramPJ[b]).to.be.closeTo(want, want * 1e-12);
      }
  });

  it('a narrow scattered access pays a whole word: 1-byte levels through a 64-bit word cost 8× their bytes', () => {
    const res = simTopology(tiny, delta, { mode: 'delta', deltaDensity: 0.2 });
    const st = res.modes[0]!;
    // State words ≥ state bytes / 8 (packed would be exactly that); scattered 1-byte levels and 4-byte accumulators need more.
    expect(st.sramAccesses.state).to.be.greaterThan(st.sramBytes.state / 8);
  });

  it('packing never costs more than scattering, and a wider word never needs more accesses (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.constantFrom(1, 2, 4, 8, 16, 32),
        fc.constantFrom(8, 16, 32, 64, 128, 256),
        (n, bits, wb) => {
          expect(packedWords(n, bits, wb)).to.be.at.most(scatteredWords(n, bits, wb));
          expect(packedWords(n, bits, 2 * wb)).to.be.at.most(packedWords(n, bits, wb));
          expect(scatteredWords(n, bits, 2 * wb)).to.be.at.most(scatteredWords(n, bits, wb));
          expect(packedWords(n, bits, wb) * wb).to.be.at.least(n * bits);
        },
      ),
      OPTS,
    );
  });
});

describe('comparisons: delta against sparse, energy per frame period', () => {
  it('--mode all compares delta with the same array’s sparse run; --mode delta alone does not run sparse for it', () => {
    const all = simTopology(tiny, delta, { mode: 'all', deltaDensity: 0.05, fps: 30 });
    const s = all.modes.find((m) => m.mode === 'sparse')!;
    const d = all.modes.find((m) => m.mode === 'delta')!;
    expect(d.speedupVsSparse).to.equal(s.cycles / d.cycles);
    expect(d.energyGainVsSparse).to.equal(s.energy.totalPJ / d.energy.totalPJ);
    expect(s.speedupVsSparse).to.equal(null);
    const only = simTopology(tiny, delta, { mode: 'delta', deltaDensity: 0.05 });
    expect(only.modes[0]!.speedupVsSparse).to.equal(null);
  });
  it('energy per period adds idle leakage; power gating lowers only the idle part', () => {
    const run = (hw: HwModel) => simTopology(tiny, hw, { mode: 'dense', fps: 30 }).modes[0]!;
    const on = run({ ...delta, idlePowerGating: true });
    const off = run(delta);
    expect(on.energy.totalPJ).to.equal(off.energy.totalPJ);
    expect(off.frameEnergyUJ).to.be.greaterThan(off.energy.totalPJ / 1e6);
    expect(on.frameEnergyUJ).to.be.lessThan(off.frameEnergyUJ);
    expect(on.frameEnergyUJ).to.be.greaterThan(on.energy.totalPJ / 1e6);
    const d = simTopology(tiny, delta, { mode: 'all', fps: 30, deltaDensity: 0.05 }).modes.find((m) => m.mode === 'delta')!;
    const dense = simTopology(tiny, delta, { mode: 'dense', fps: 30 }).modes[0]!;
    expect(d.periodEnergyGainVsDense).to.be.closeTo(dense.frameEnergyUJ / d.frameEnergyUJ, 1e-12);
  });
});

describe('memory system: bad buffer specs name the key', () => {
  const spec = specOf(delta);
  const bad = (patch: (d: Record<string, any>) => void): (() => HwModel) => {
    const doc = structuredClone(spec) as unknown as Record<string, any>;
    patch(doc);
    return () => parseHwModelJson(JSON.stringify(doc), 'bad.json');
  };
  it('zero banks or ports (no bandwidth) is an error at the key', () => {
    throwsInput(
      bad((d) => (d.memories.state.banks = 0)),
      'bad.json',
      '/memories/state/banks',
      '>= 1',
    );
    throwsInput(
      bad((d) => (d.memories.ifmap.ports = 0)),
      'bad.json',
      '/memories/ifmap/ports',
    );
  });
  it('zero DRAM bandwidth is an error at the key', () => {
    throwsInput(
      bad((d) => (d.memories.dram.GBps = 0)),
      'bad.json',
      '/memories/dram/GBps',
    );
  });
  it('a word width of zero or not a power of two is an error at the key, listing the widths allowed', () => {
    for (const w of [0, 48, 12.5])
      throwsInput(
        bad((d) => (d.memories.filter.wordBits = w)),
        'bad.json',
        '/memories/filter/wordBits',
        '64',
      );
  });
  it('the first (flat) layout says how to write it now', () => {
    throwsInput(
      bad((d) => {
        d.memories = { ifmapKiB: 64, filterKiB: 64, ofmapKiB: 64, stateKiB: 0, dramGBps: 10 };
      }),
      'bad.json',
      '/memories/ifmapKiB',
      'memories.ifmap',
    );
  });
  it('a missing state buffer is no state SRAM (all delta state in DRAM)', () => {
    const hw = bad((d) => delete d.memories.state)();
    expect(hw.memories.state.kiB).to.equal(0);
    const res = simTopology(tiny, hw, { mode: 'delta', deltaDensity: 0.2 });
    expect(res.modes[0]!.footprint.stateSpill).to.equal(1);
  });
});

describe('precision: one width per operand, the hw-model’s', () => {
  it('weight traffic uses the hw-model’s weight width, not the trace’s storage format', () => {
    const l16 = loadTopology('tiny').layers.map((l) => ({ ...l, weightBits: 16 }));
    const a = simTopology({ name: 'tiny16', layers: l16 }, delta, { mode: 'dense' }).modes[0]!;
    const b = simTopology(tiny, delta, { mode: 'dense' }).modes[0]!;
    expect(a.footprint.weightBytes).to.equal(b.footprint.weightBytes);
    expect(a.energy.totalPJ).to.equal(b.energy.totalPJ);
  });

  it('levelBits counts the bits each level needs, signed and unsigned', () => {
    const l = layerOf({ name: 'x', op: 'conv2d', input: [2, 2, 2], output: [2, 2, 1], kernel: [1, 1], weightBits: 8, weightDensity: 1 });
    const signed = layerActivityCounter(l, { signed: true })(Int16Array.from([0, 127, -128, 128, -129, 300, 1, -1]));
    // 0, 1, -1 → 1..2 bits; 127, -128 → 8; 128, -129 → 9; 300 → 10
    expect(levelsWiderThan(signed.levelBits!, 8)).to.equal(3);
    expect(levelsWiderThan(signed.levelBits!, 9)).to.equal(1);
    const unsigned = layerActivityCounter(l, { signed: false })(Int16Array.from([0, 255, 256, 1, 2, 3, 4, 511]));
    expect(levelsWiderThan(unsigned.levelBits!, 8)).to.equal(2);
    expect(levelsWiderThan(unsigned.levelBits!, 9)).to.equal(0);
  });

  describe('a trace whose levels do not fit the hardware', () => {
    let dir: string;
    let over = 0;
    before(async () => {
      dir = join(mkdtempSync(join(tmpdir(), 'deltasim-precision-')), 'trace');
      const frames = [0, 1, 2].map((t) => Int16Array.from({ length: 32 }, (_, i) => ((i * 37 + t * 11) % 7 === 0 ? 300 + i : i % 5)));
      over = await writeWideTrace(dir, frames);
    });
    after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

    it('simulate counts them per layer against the hw-model’s activation width', () => {
      expect(over).to.be.greaterThan(0);
      const res = simulate(traceWorkload(openTrace(dir)), delta, { mode: 'dense' });
      expect(res.precision.activationBits).to.equal(8);
      expect(res.precision.overRange).to.deep.equal([{ layer: 'conv', levels: over, maxBits: 9 }]);
      const wide = withSystolic(delta, { precisions: { ...delta.precisions, activationBits: 16 } });
      expect(simulate(traceWorkload(openTrace(dir)), wide, { mode: 'dense' }).precision.overRange).to.deep.equal([]);
    });

    it('the trace on disk is left as it was', () => {
      expect(readdirSync(dir).sort()).to.deep.equal(['conv.npy', 'manifest.json']);
    });
  });
});
