/**
 * Trace sweeps: rows equal simulate(activityWorkload(…)) per point, trace work gathered once per threshold,
 * shards + merge = unsharded, the threshold axis on a float trace, the grid hash follows the data.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { loadHwModel, parseHwModelJson, traceActivity, type ActivityOptions } from '../../sim/index.js';
import {
  mergeShards,
  parseSet,
  pointRunner,
  prepareSweep,
  runSweep,
  specOf,
  writeSweepOutput,
  type SweepInput,
} from '../../sim/sweep/index.js';
import { openTrace, type Trace } from '../../traces/reader.js';
import { removeTmp, throwsInput, tmp, writeFloatTrace } from './helpers.js';
import { simActivity } from '../support/sim.js';

const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;
const read = (f: string) => readFileSync(f, 'utf8');
const arch = loadHwModel('delta-32x32');

const traceJob = (extra: Partial<SweepInput> = {}, sets = ['threshold=0,2,8', 'rows=8,32', 'memories.state.kiB=1,1024']) =>
  prepareSweep({ trace: openTrace(TINY), hwModel: arch, axes: sets.map(parseSet), mode: 'all', fps: 30, ...extra });

const csvRows = (csv: string) => {
  const [head, ...body] = parse(csv) as string[][];
  return body.map((r) => Object.fromEntries(head!.map((c, i) => [c, r[i]!])));
};

describe('sweep over a trace', function () {
  this.timeout(120000);
  after(removeTmp);
  const job = traceJob();
  let refDir: string;
  let ref: string;

  before(async () => {
    refDir = tmp();
    await runSweep(job, { out: refDir, workers: 0 });
    ref = read(join(refDir, 'sweep.csv'));
  });

  it('each row equals simulate(activityWorkload(…)) run directly on that point', () => {
    const rows = csvRows(ref);
    expect(rows).to.have.length(12);
    expect(job.meta.modes).to.deep.equal(['dense', 'sparse', 'delta']);
    const trace = openTrace(TINY);
    for (const r of rows) {
      const threshold = Number(r['sim.threshold']);
      const spec = {
        ...specOf(arch),
        rows: Number(r['arch.rows']),
        memories: { ...specOf(arch).memories, state: { ...specOf(arch).memories.state, kiB: Number(r['arch.memories.state.kiB']) } },
      };
      const hw = parseHwModelJson(JSON.stringify(spec), arch.source);
      const res = simActivity(traceActivity(trace, { threshold }), hw, { mode: 'all', fps: 30 });
      for (const s of res.modes) {
        const want: Record<string, number> = {
          [`cycles_${s.mode}`]: s.cycles,
          [`macs_${s.mode}`]: s.effectiveMacs,
          [`latency_${s.mode}_us`]: s.latencyUs.mean,
          [`latency_p95_${s.mode}_us`]: s.latencyUs.p95,
          [`energy_${s.mode}_pj`]: s.energy.totalPJ,
          [`dram_${s.mode}_bytes`]: s.dramBytes,
          [`power_${s.mode}_mw`]: s.averagePowerMW!,
          ...(s.mode === 'dense' ? {} : { [`speedup_${s.mode}`]: s.speedupVsDense, [`energy_gain_${s.mode}`]: s.energyGainVsDense }),
        };
        for (const [c, v] of Object.entries(want)) expect(Number(r[c]), `point ${r.point} ${c}`).to.equal(Number(v.toPrecision(6)));
      }
    }
    // The data matters: delta work differs from dense, and the tiny array is slower than the large one.
    expect(rows.every((r) => Number(r.macs_delta) < Number(r.macs_dense))).to.equal(true);
  });

  it('gathers trace work once per threshold value and reuses it for every hw-model', () => {
    const calls: (number | undefined)[] = [];
    const spy = (t: Trace, o: ActivityOptions = {}) => {
      calls.push(o.threshold);
      return traceActivity(t, o);
    };
    const run = pointRunner(job, spy);
    const rows = Array.from({ length: job.meta.points }, (_, i) => run(i));
    expect(calls).to.deep.equal([0, 2, 8]);
    expect(csvRows(ref).map((r) => r.cycles_delta)).to.deep.equal(rows.map((r) => String(r[job.meta.columns.indexOf('cycles_delta')])));
  });

  it('worker threads, and shards + merge, give the unsharded sweep.csv and summary.json byte for byte', async () => {
    const dir = tmp();
    await runSweep(job, { out: dir, workers: 2 });
    expect(read(join(dir, 'sweep.csv'))).to.equal(ref);
    const shards = tmp();
    for (const k of [2, 1, 3]) await runSweep(job, { out: shards, workers: k === 1 ? 2 : 0, shard: { index: k - 1, count: 3 } });
    const m = mergeShards([shards]);
    const out = tmp();
    writeSweepOutput(out, m.meta, m.rows, null);
    expect(read(join(out, 'sweep.csv'))).to.equal(ref);
    expect(read(join(out, 'summary.json'))).to.equal(read(join(refDir, 'summary.json')));
  });

  it('the grid hash follows the trace data (layer sha256s), not its directory', async () => {
    const copy = join(tmp(), 'elsewhere');
    cpSync(TINY, copy, { recursive: true });
    const moved = prepareSweep({ trace: openTrace(copy), hwModel: arch, axes: job.axes, mode: 'all', fps: 30 });
    expect(moved.meta.grid).to.equal(job.meta.grid);
    expect(traceJob({ frames: 4 }).meta.grid).to.not.equal(job.meta.grid);
    const axes = [parseSet('threshold=0.1')];
    const [a, b] = [await writeFloatTrace(join(tmp(), 'a'), 1), await writeFloatTrace(join(tmp(), 'b'), 2)];
    const grid = (t: Trace) => prepareSweep({ trace: t, hwModel: arch, axes, mode: 'all' }).meta.grid;
    expect(grid(a)).to.not.equal(grid(b));
  });

  it('a threshold axis on a float trace: higher threshold ⇒ no more delta MACs, dense unchanged', async () => {
    const trace = await writeFloatTrace(join(tmp(), 'f'));
    const thresholds = [0, 0.02, 0.05, 0.1, 0.2, 1];
    const fjob = prepareSweep({ trace, hwModel: arch, axes: [parseSet(`threshold=${thresholds.join(',')}`)], mode: 'all' });
    expect(fjob.meta.fps).to.equal(10); // the trace's own
    const dir = tmp();
    await runSweep(fjob, { out: dir, workers: 0 });
    const rows = csvRows(read(join(dir, 'sweep.csv')));
    expect(rows.map((r) => Number(r['sim.threshold']))).to.deep.equal(thresholds);
    const macs = rows.map((r) => Number(r.macs_delta));
    for (let i = 1; i < macs.length; i++) expect(macs[i]).to.be.at.most(macs[i - 1]!);
    expect(macs.at(-1)).to.be.below(macs[0]!);
    expect(new Set(rows.map((r) => r.cycles_dense)).size).to.equal(1);
    expect(new Set(rows.map((r) => r.macs_sparse)).size).to.equal(1);
  });

  it('rejects bad combinations before anything runs', async () => {
    const float = await writeFloatTrace(join(tmp(), 'f'));
    const base = { hwModel: arch, mode: 'all' as const };
    const rows = [parseSet('rows=8,16')];
    throwsInput(() => prepareSweep({ ...base, axes: rows }), 'exactly one of --model', '--trace');
    throwsInput(() => prepareSweep({ ...base, trace: float, axes: rows }), 'f/c1.npy', 'float32', '--threshold', '--set threshold=');
    throwsInput(
      () => prepareSweep({ ...base, trace: float, axes: [parseSet('threshold=0.1,-1')] }),
      '--set threshold=0.1,-1',
      'sim.threshold = -1',
      '≥ 0',
    );
    throwsInput(() => prepareSweep({ ...base, trace: float, axes: rows, sim: { threshold: -2 } }), '--threshold', '≥ 0');
    throwsInput(
      () => prepareSweep({ ...base, trace: float, axes: [parseSet('deltaDensity=0.1')], sim: { threshold: 1 } }),
      'sim.deltaDensity applies to --model sweeps only',
    );
    throwsInput(
      () => prepareSweep({ ...base, trace: float, axes: rows, sim: { threshold: 1, actDensity: 0.5 } }),
      '--act-density applies to --model sweeps only',
    );
    throwsInput(
      () => prepareSweep({ ...base, trace: float, axes: [parseSet('weightDensity=0,0.5')], sim: { threshold: 1 } }),
      'weight density must be > 0',
    );
    throwsInput(() => prepareSweep({ ...base, trace: openTrace(TINY), axes: rows, frames: 9 }), '--frames', '1..8');
    // A float trace is fine with the threshold given once, or only as an axis.
    expect(prepareSweep({ ...base, trace: float, axes: rows, sim: { threshold: 0.1 } }).meta.points).to.equal(2);
  });
});
