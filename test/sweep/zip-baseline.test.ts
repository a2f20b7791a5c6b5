/** Zipped axes through a whole sweep (points, shards, resume, merge, best points) and the fixed baseline's dense run. */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { loadHwModel, loadTopology, simulate, topologyWorkload, traceWorkload } from '../../sim/index.js';
import { mergeShards, parseSet, parseZip, prepareSweep, runPoint, runSweep, writeSweepOutput, zipAxes } from '../../sim/sweep/index.js';
import { openTrace } from '../../traces/reader.js';
import { removeTmp, tmp } from './helpers.js';

const read = (f: string) => readFileSync(f, 'utf8');
const tiny = loadTopology('tiny');
const delta32 = loadHwModel('delta-32x32');
const dense32 = loadHwModel('dense-32x32');
const TINY_TRACE = new URL('../../traces/samples/tiny', import.meta.url).pathname;

/** rows and cols zipped (square arrays 4, 8, 16), × two delta densities: 6 points. */
const zipped = (baseline = false) =>
  prepareSweep({
    topology: tiny,
    hwModel: delta32,
    axes: zipAxes(['rows=4,8,16', 'deltaDensity=0.05,0.3', 'cols=4,8,16'].map(parseSet), [parseZip('rows,cols')]),
    mode: 'all',
    fps: 30,
    ...(baseline ? { baseline: dense32 } : {}),
  });

describe('sweep: zipped axes and a fixed baseline', function () {
  this.timeout(120000);
  after(removeTmp);

  it('a zipped sweep runs only the zipped pairs, in odometer order, and says so in summary.json', async () => {
    const job = zipped();
    expect(job.meta.points).to.equal(6);
    expect(job.meta.zip).to.deep.equal([['arch.rows', 'arch.cols']]);
    const dir = tmp();
    await runSweep(job, { out: dir, workers: 0 });
    const rows = (parse(read(join(dir, 'sweep.csv'))) as string[][]).slice(1);
    expect(rows.map((r) => r.slice(0, 4))).to.deep.equal([
      ['0', '4', '0.05', '4'],
      ['1', '4', '0.3', '4'],
      ['2', '8', '0.05', '8'],
      ['3', '8', '0.3', '8'],
      ['4', '16', '0.05', '16'],
      ['5', '16', '0.3', '16'],
    ]);
    const summary = JSON.parse(read(join(dir, 'summary.json')));
    expect(summary.zip).to.deep.equal([['arch.rows', 'arch.cols']]);
    // The best point's parameters are the point's own (pairwise), not an odometer reading of the product.
    for (const best of Object.values(summary.best) as { point: number; parameters: Record<string, number> }[]) {
      const row = rows[best.point]!;
      expect([best.parameters['arch.rows'], best.parameters['sim.deltaDensity'], best.parameters['arch.cols']]).to.deep.equal(
        row.slice(1, 4).map(Number),
      );
    }
  });

  it('zipping changes the grid hash; shards, resume and merge give the unsharded files byte for byte', async () => {
    const job = zipped();
    const product = prepareSweep({
      topology: tiny,
      hwModel: delta32,
      axes: ['rows=4,8,16', 'deltaDensity=0.05,0.3', 'cols=4,8,16'].map(parseSet),
      mode: 'all',
      fps: 30,
    });
    expect(product.meta.points).to.equal(18);
    expect(product.meta.grid).not.to.equal(job.meta.grid);
    const ref = tmp();
    await runSweep(job, { out: ref, workers: 0 });
    const shards = tmp();
    for (const k of [1, 0]) await runSweep(job, { out: shards, workers: k, shard: { index: k, count: 2 } });
    const m = mergeShards([shards]);
    const merged = tmp();
    writeSweepOutput(merged, m.meta, m.rows, null);
    for (const f of ['sweep.csv', 'summary.json']) expect(read(join(merged, f)), f).to.equal(read(join(ref, f)));
    // Resume: two points journaled (one torn line after them), the rest run, the same CSV.
    const resumed = tmp();
    const journal = join(resumed, 'journal.jsonl');
    writeFileSync(journal, `${JSON.stringify({ journal: 'deltasim-sweep', grid: job.meta.grid, shard: null })}\n`);
    for (const p of [4, 1]) appendFileSync(journal, `${JSON.stringify({ point: p, row: runPoint(job, p) })}\n`);
    appendFileSync(journal, '{"point": 2, "ro');
    const ran: number[] = [];
    await runSweep(job, { out: resumed, workers: 0, resume: true, onPoint: (p) => ran.push(p) });
    expect(ran.sort()).to.deep.equal([0, 2, 3, 5]);
    expect(read(join(resumed, 'sweep.csv'))).to.equal(read(join(ref, 'sweep.csv')));
  });

  it("--baseline: the baseline's dense run, once, as simulate gives it; part of the hash; null without one", () => {
    const job = zipped(true);
    const direct = simulate(topologyWorkload(tiny, {}), dense32, { mode: 'dense', fps: 30 }).modes[0]!;
    const b = job.meta.baseline!;
    expect(b.hwModel).to.equal('dense-32x32');
    expect(b.latencyUs).to.equal(Number((direct.latencyMs * 1e3).toPrecision(6)));
    expect(b.energyPJ).to.equal(Number(direct.energy.totalPJ.toPrecision(6)));
    expect(b.frameEnergyUJ).to.equal(Number(direct.frameEnergyUJ.toPrecision(6)));
    expect(b.powerMW).to.equal(Number(direct.averagePowerMW!.toPrecision(6)));
    expect(zipped().meta.baseline).to.equal(null);
    expect(zipped().meta.grid).not.to.equal(job.meta.grid);
    // The points themselves do not change.
    expect(runPoint(job, 3)).to.deep.equal(runPoint(zipped(), 3));
  });

  it('--baseline on a trace: dense over the same frames, whatever the threshold axis', () => {
    const trace = openTrace(TINY_TRACE);
    const job = prepareSweep({ trace, hwModel: delta32, axes: [parseSet('threshold=0,2')], mode: 'all', frames: 3, baseline: dense32 });
    const direct = simulate(traceWorkload(trace, { frames: 3 }), dense32, { mode: 'dense', fps: trace.manifest.fps }).modes[0]!;
    expect(direct.frames).to.equal(3);
    expect(job.meta.baseline!.energyPJ).to.equal(Number(direct.energy.totalPJ.toPrecision(6)));
    expect(job.meta.baseline!.latencyUs).to.equal(Number((direct.latencyMs * 1e3).toPrecision(6)));
  });
});
