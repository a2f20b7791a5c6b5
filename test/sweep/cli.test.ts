/** `deltasim sweep` / `merge` end to end: worker threads under bin/deltasim.js, bad input ⇒ exit ≠ 0, nothing written. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { removeTmp, tmp, writeFloatTrace } from './helpers.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
const BASE = ['sweep', '--model', 'tiny', '--arch', 'delta-32x32'];
const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;

describe('sweep CLI', function () {
  this.timeout(120000);
  after(removeTmp);

  it('runs on worker threads, shards with auto/n from the environment, and merges to the same files', () => {
    const dir = tmp();
    const one = join(dir, 'one');
    const grid = ['--set', 'rows=8,16', '--set', 'memories.dram.GBps=2,16', '--fps', '30'];
    const r = cli([...BASE, ...grid, '--workers', '2', '--out', one]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/4 points, 0 from the journal/);
    const csv = readFileSync(join(one, 'sweep.csv'), 'utf8');
    expect(csv.split('\n')[0]).to.match(/^point,arch\.rows,arch\.memories\.dram\.GBps,cycles_dense,/);
    expect(JSON.parse(readFileSync(join(one, 'run.json'), 'utf8')).argv).to.include('--workers');

    const shards = join(dir, 'shards');
    for (const i of ['0', '1'])
      expect(cli([...BASE, ...grid, '--workers', '1', '--out', shards, '--shard', 'auto/2'], { JOB_COMPLETION_INDEX: i }).status).to.equal(
        0,
      );
    const m = cli(['merge', join(dir, 'merged'), shards]);
    expect(m.status, m.stderr).to.equal(0);
    expect(readFileSync(join(dir, 'merged', 'sweep.csv'), 'utf8')).to.equal(csv);
    expect(readFileSync(join(dir, 'merged', 'summary.json'), 'utf8')).to.equal(readFileSync(join(one, 'summary.json'), 'utf8'));
  });

  it('--zip takes axes pairwise; --baseline runs its dense once into summary.json; the report charts them', () => {
    const dir = tmp();
    const out = join(dir, 'zip');
    const r = cli([
      ...BASE,
      '--set',
      'rows=8,16',
      '--set',
      'cols=8,16',
      '--zip',
      'rows,cols',
      '--baseline',
      'dense-32x32',
      '--workers',
      '0',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/2 points, 0 from the journal; parameters arch\.rows\+arch\.cols \(2, zipped\)/);
    const rows = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n').slice(1);
    expect(rows.map((l) => l.split(',').slice(0, 3).join(','))).to.deep.equal(['0,8,8', '1,16,16']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.zip).to.deep.equal([['arch.rows', 'arch.cols']]);
    expect(summary.baseline.hwModel).to.equal('dense-32x32');
    const rep = cli(['report', out]);
    expect(rep.status, rep.stderr).to.equal(0);
    expect(readdirSync(join(out, 'charts')).sort()).to.deep.equal(['pareto.png', 'sweep-arch.rows-vs-baseline.png', 'sweep-arch.rows.png']);
  });

  it('bad inputs exit non-zero with a message naming the flag or file, and write nothing', () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const grid = join(dir, 'grid.json');
    writeFileSync(grid, JSON.stringify({ parameters: { 'memories.state.kiB': [64, 'lots'] } }));
    const cases: [string[], RegExp][] = [
      [[...BASE, '--out', out], /--grid FILE and\/or --set/],
      [[...BASE, '--set', 'peArray.rows=8', '--out', out], /--set peArray\.rows=8.*"peArray" is not a key/],
      [[...BASE, '--grid', grid, '--out', out], /grid\.json.*arch\.memories\.state\.kiB = "lots"/],
      [[...BASE, '--set', 'rows=8', '--shard', '0/2', '--out', out], /--shard 0\/2/],
      [[...BASE, '--set', 'rows=8', '--workers', '-1', '--out', out], /--workers/],
      [
        ['sweep', '--model', 'tiny', '--arch', 'dense-32x32', '--set', 'rows=8', '--mode', 'delta', '--out', out],
        /mode "delta" is not supported/,
      ],
      [['merge', out, join(dir, 'no-such-dir')], /no-such-dir.*no such shard/],
      [[...BASE, '--set', 'rows=8,16', '--zip', 'rows,cols', '--out', out], /--zip rows,cols.*"arch\.cols" is not a swept parameter/],
      [[...BASE, '--set', 'rows=8,16', '--set', 'cols=8', '--zip', 'rows,cols', '--out', out], /--set cols=8.*as many values each/],
      [[...BASE, '--set', 'rows=8', '--baseline', 'no-such-arch', '--out', out], /no-such-arch/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(args, { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '' });
      expect(r.status, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(msg);
      expect(existsSync(out), `${args.join(' ')} wrote ${out}`).to.equal(false);
    }
    expect(readdirSync(dir)).to.deep.equal(['grid.json']);
  });

  it('--trace: runs a threshold × hw-model grid; bad combinations exit 1 and write nothing', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const float = join(dir, 'float');
    await writeFloatTrace(float);
    const ok = cli([
      'sweep',
      '--trace',
      float,
      '--arch',
      'delta-32x32',
      '--set',
      'threshold=0,0.1',
      '--set',
      'rows=8,32',
      '--workers',
      '2',
      '--out',
      join(dir, 'ok'),
    ]);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/4 points, 0 from the journal; parameters sim\.threshold \(2\) × arch\.rows \(2\)/);
    const csv = readFileSync(join(dir, 'ok', 'sweep.csv'), 'utf8');
    expect(csv.split('\n')[0]).to.match(
      /^point,sim\.threshold,arch\.rows,cycles_dense,macs_dense,latency_dense_us,latency_p95_dense_us,energy_dense_pj,dram_dense_bytes,power_dense_mw,/,
    );
    const T = ['sweep', '--arch', 'delta-32x32', '--out', out];
    const cases: [string[], RegExp][] = [
      [[...T, '--trace', TINY, '--model', 'tiny', '--set', 'rows=8'], /exactly one of --model .* or --trace/],
      [[...T, '--set', 'rows=8'], /exactly one of --model .* or --trace/],
      [[...T, '--trace', float, '--set', 'rows=8'], /float\/c1\.npy.*float32.*--threshold/],
      [[...T, '--trace', float, '--set', 'threshold=0.1,-1'], /--set threshold=0\.1,-1.*sim\.threshold = -1/],
      [[...T, '--model', 'tiny', '--set', 'threshold=1,2'], /sim\.threshold applies to --trace sweeps only/],
      [[...T, '--model', 'tiny', '--threshold', '1', '--set', 'rows=8'], /--threshold applies to --trace sweeps only/],
      [[...T, '--trace', TINY, '--delta-density', '0.1', '--set', 'rows=8'], /--delta-density applies to --model sweeps only/],
      [[...T, '--trace', join(dir, 'no-trace'), '--set', 'rows=8'], /no-trace/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(args);
      expect(r.status, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(msg);
      expect(existsSync(out), `${args.join(' ')} wrote ${out}`).to.equal(false);
    }
    expect(readdirSync(dir).sort()).to.deep.equal(['float', 'ok']);
  });
});
