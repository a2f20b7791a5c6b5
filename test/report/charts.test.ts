import { expect } from 'chai';
import fc from 'fast-check';
import {
  energyBreakdownChart,
  frameLatencyChart,
  heatmapChart,
  layerCostChart,
  paretoChart,
  paretoFront,
  sparsityChart,
  sweepChart,
  wantsLog2,
  chartFontFamily,
  type EnergyBreakdown,
  type ParetoPoint,
} from '../../src/report/charts.js';
import { inkStats, pngSize } from './png.js';

const layers = (k: number) =>
  ['conv1', 'conv2', 'conv3', 'fc'].map((layer, i) => ({ layer, spatial: 0.2 + 0.1 * i * k, temporal: 0.9 - 0.1 * i }));
const frames = (k: number) =>
  ['dense', 'sparse', 'delta'].map((mode, m) => ({
    mode,
    values: Array.from({ length: 16 }, (_, f) => (100 - 30 * m) * (1 + 0.1 * Math.sin(f * k))),
  }));
const energy = (k: number): EnergyBreakdown[] => [
  { mode: 'dense', components: { compute: 10 * k, sram: 5, dram: 8, static: 1 } },
  { mode: 'delta', components: { compute: 2 * k, sram: 2, dram: 9, state: 4, static: 0.5 } },
];
const sweep = (k: number) => ({
  parameter: 'peArray.rows',
  unit: 'PEs',
  lines: [
    { name: 'speedup delta', mode: 'delta', dashed: true, points: [4, 8, 16, 32, 64].map((x) => ({ x, y: 1 + (k * Math.log2(x)) / 4 })) },
    {
      name: 'energy gain delta',
      mode: 'delta',
      points: [4, 8, 16, 32, 64].map((x) => ({ x, y: 0.5 + k / x, lo: 0.3 + k / x, hi: 0.9 + k / x })),
    },
  ],
});
const pareto = (k: number): ParetoPoint[] =>
  ['dense', 'delta'].flatMap((mode, m) =>
    [4, 8, 16, 32].flatMap((pe) =>
      [64, 256].map((s) => ({
        latencyUs: 1000 / pe + 500 / s + 30 * m,
        energyUj: k * pe + 1000 / s - 5 * m,
        label: `${mode}: rows=${pe}, sram=${s}`,
        mode,
      })),
    ),
  );
const heatmap = (k: number) => ({
  title: 'Energy gain of delta over dense',
  xName: 'arch.memories.state.kiB',
  yName: 'arch.rows',
  xs: ['64', '256', '1024'],
  ys: ['8', '16', '32', '64'],
  cells: [8, 16, 32, 64].map((r, y) => [64, 256, 1024].map((kib, x) => (x + y === 5 ? undefined : (k * kib) / (r * 100)))),
});
const costs = (k: number) =>
  ['conv1', 'conv2', 'fc'].map((layer, i) => ({ layer, values: { dense: 100 * (i + 1), delta: 40 * k * (3 - i) } }));

/** Every chart, drawn from dataset variant k. */
const CHARTS: Record<string, (k: number) => Buffer> = {
  sparsity: (k) => sparsityChart(layers(k)),
  frameLatency: (k) => frameLatencyChart(frames(k)),
  energyBreakdown: (k) => energyBreakdownChart(energy(k)),
  sweep: (k) => sweepChart(sweep(k)),
  pareto: (k) => paretoChart(pareto(k)),
  heatmap: (k) => heatmapChart(heatmap(k)),
  layerCost: (k) => layerCostChart(costs(k), { title: 'Energy per layer', subtitle: 'mean per frame', axis: 'energy (nJ)' }),
};

describe('report charts', () => {
  it('finds a font to draw text with', () => {
    expect(chartFontFamily()).to.be.a('string');
  });

  for (const [name, draw] of Object.entries(CHARTS)) {
    describe(name, () => {
      it('is a valid PNG of the default size with a white background and real content', async () => {
        const png = draw(1);
        expect(pngSize(png)).to.deep.equal({ width: 900, height: 500 });
        const s = await inkStats(png);
        expect(s.whiteCorner, 'white background').to.equal(true);
        expect(s.ink, 'non-white fraction').to.be.greaterThan(0.03);
        expect(s.variance).to.be.greaterThan(100);
      });

      it('is byte-identical for the same data and differs for different data', () => {
        expect(draw(1).equals(draw(1))).to.equal(true);
        expect(draw(1).equals(draw(2))).to.equal(false);
      });
    });
  }

  it('per-layer charts are horizontal bars that grow downwards: 74 layers stay 900 px wide, a row per layer', () => {
    const many = Array.from({ length: 74 }, (_, i) => ({ layer: `block${i}_conv`, spatial: 0.5, temporal: 0.8 }));
    expect(pngSize(sparsityChart(many))).to.deep.equal({ width: 900, height: 170 + 24 * 74 });
    const rows = many.map((l, i) => ({ layer: l.layer, values: { dense: i, sparse: i / 2, delta: i / 3 } }));
    expect(pngSize(layerCostChart(rows, { title: 't', subtitle: 's', axis: 'a' })).height).to.equal(170 + (14 + 27) * 74);
  });

  it('draws what it is given: the baseline star, the frame period line, the min–max band', () => {
    const base = { latencyUs: 60, energyUj: 40, label: 'baseline: dense @ x' };
    expect(paretoChart(pareto(1), undefined, 12, base).equals(paretoChart(pareto(1)))).to.equal(false);
    expect(frameLatencyChart(frames(1), 'µs', undefined, 90).equals(frameLatencyChart(frames(1)))).to.equal(false);
    const noBand = { ...sweep(1), lines: sweep(1).lines.map((l) => ({ ...l, points: l.points.map(({ x, y }) => ({ x, y })) })) };
    expect(sweepChart(sweep(1)).equals(sweepChart(noBand))).to.equal(false);
  });

  it('honours the requested size', () => {
    expect(pngSize(sparsityChart(layers(1), { width: 640, height: 360 }))).to.deep.equal({ width: 640, height: 360 });
  });

  it('an empty chart still draws its title and axes but much less than a full one', async () => {
    const empty = await inkStats(sparsityChart([]));
    const full = await inkStats(sparsityChart(layers(1)));
    expect(empty.ink).to.be.greaterThan(0.002);
    expect(full.ink).to.be.greaterThan(2 * empty.ink);
  });

  describe('paretoFront', () => {
    it('keeps exactly the non-dominated points, by increasing latency', () => {
      const pts = [
        [5, 5],
        [1, 9],
        [2, 4],
        [3, 4],
        [9, 1],
        [4, 6],
      ].map(([l, e]) => ({ latencyUs: l!, energyUj: e!, label: '' }));
      expect(paretoFront(pts)).to.deep.equal([1, 2, 4]);
    });

    it('no front point is dominated and every other point is', () => {
      const point = fc.record({
        latencyUs: fc.integer({ min: 1, max: 20 }),
        energyUj: fc.integer({ min: 1, max: 20 }),
        label: fc.constant(''),
      });
      fc.assert(
        fc.property(fc.array(point, { minLength: 1, maxLength: 30 }), (pts) => {
          const front = new Set(paretoFront(pts));
          const dominates = (a: ParetoPoint, b: ParetoPoint) =>
            a.latencyUs <= b.latencyUs && a.energyUj <= b.energyUj && (a.latencyUs < b.latencyUs || a.energyUj < b.energyUj);
          pts.forEach((p, i) => {
            const dominated = pts.some((q) => dominates(q, p));
            if (front.has(i)) expect(dominated).to.equal(false);
            else
              expect(dominated || [...front].some((j) => pts[j]!.latencyUs === p.latencyUs && pts[j]!.energyUj === p.energyUj)).to.equal(
                true,
              );
          });
        }),
      );
    });
  });

  it('uses a log2 axis for powers of two and wide positive ranges', () => {
    expect(wantsLog2([4, 8, 16, 32])).to.equal(true);
    expect(wantsLog2([8, 16])).to.equal(true);
    expect(wantsLog2([0.25, 0.5, 1])).to.equal(true);
    expect(wantsLog2([10, 100])).to.equal(true);
    expect(wantsLog2([1, 2, 3])).to.equal(false);
    expect(wantsLog2([3, 6, 12])).to.equal(false);
    expect(wantsLog2([0, 8, 64])).to.equal(false);
    expect(wantsLog2([16, 16])).to.equal(false);
  });
});
