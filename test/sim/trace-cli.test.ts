/** `deltasim simulate --trace`: outputs, determinism, and every bad input ⇒ exit 1, a clear message, nothing written. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { SYNTH_PRESETS, writeSyntheticTrace, type SynthLayer } from '../../traces/synthetic.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const SYNTH = { seed: 5, frames: 4, density: 0.4, changeRate: 0.1, blobs: 1 };

describe('simulate --trace (CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-trace-sim-'));
    await writeSyntheticTrace(join(dir, 'tiny'), SYNTH_PRESETS.tiny!, SYNTH);
    const float: SynthLayer[] = [{ name: 'c', op: 'conv2d', input: [6, 6, 2], outChannels: 4, dtype: 'float32' }];
    await writeSyntheticTrace(join(dir, 'float'), float, SYNTH);
    await writeSyntheticTrace(join(dir, 'corrupt'), SYNTH_PRESETS.tiny!, SYNTH);
    const npy = join(dir, 'corrupt', 'conv1.npy');
    const bytes = readFileSync(npy);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(npy, bytes);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });

  it('writes layers.csv (a row per frame × layer × mode, sparsity columns), frames.csv, summary.json, run.json — byte-identical when repeated', () => {
    const args = ['simulate', '--trace', 'tiny', '--arch', 'delta-32x32', '--fps', '30', '--layers'];
    const a = cli(...args, '--out', 'a');
    const b = cli(...args, '--out', 'b');
    expect(a.status, a.stderr).to.equal(0);
    expect(b.status, b.stderr).to.equal(0);
    expect(a.stdout).to.include('p95').and.to.include('speedup vs dense-32x32').and.to.include('state SRAM');
    for (const f of ['layers.csv', 'frames.csv', 'summary.json', 'run.json'])
      expect(readFileSync(join(dir, 'a', f), 'utf8'), f).to.equal(readFileSync(join(dir, 'b', f), 'utf8').replace('"b"', '"a"'));
    const layers = parse(readFileSync(join(dir, 'a', 'layers.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(layers).to.have.length(4 * 4 * 3); // frames × layers × modes
    for (const r of layers) {
      expect(r.frame).to.match(/^[0-3]$/);
      expect(Number(r.spatial_sparsity)).to.be.within(0, 1);
      expect(Number(r.temporal_sparsity)).to.be.within(0, 1);
    }
    const frames = parse(readFileSync(join(dir, 'a', 'frames.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(frames).to.have.length(4 * 4); // frames × (3 modes + baseline dense)
    expect(new Set(frames.map((f) => f.arch))).to.deep.equal(new Set(['delta-32x32', 'dense-32x32']));
    const summary = JSON.parse(readFileSync(join(dir, 'a', 'summary.json'), 'utf8'));
    expect(summary.modes.map((m: { mode: string }) => m.mode)).to.deep.equal(['dense', 'sparse', 'delta']);
    expect(summary.modes[2].latencyUs).to.have.keys('mean', 'p50', 'p95', 'max');
    expect(summary.baselineDense.arch).to.equal('dense-32x32');
    // The baseline's own speedup and gain are against dense on its own hw-model: itself.
    expect(summary.baselineDense).to.include({ speedupVsDense: 1, energyGainVsDense: 1, speedupVsBaseline: 1, energyGainVsBaseline: 1 });
    expect(summary).to.include({ format: 'deltasim-run', version: 1, kind: 'simulation' });
  });

  it('a baseline that is the simulated hw-model itself is not run or shown twice', () => {
    const r = cli('simulate', '--trace', 'tiny', '--arch', 'dense-32x32', '--out', 'self');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('dense @ dense-32x32'))).to.have.length(2); // the table and the energy table
    const frames = parse(readFileSync(join(dir, 'self', 'frames.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(frames).to.have.length(4); // one dense row per frame
    const summary = JSON.parse(readFileSync(join(dir, 'self', 'summary.json'), 'utf8'));
    expect(summary.baselineDense).to.include({ arch: 'dense-32x32', speedupVsBaseline: 1, energyGainVsBaseline: 1 });
  });

  it('writes no layers.csv without --layers; --model naming a trace directory runs it as --trace', () => {
    const viaModel = cli('simulate', '--model', 'tiny', '--arch', 'delta-32x32', '--fps', '30', '--out', 'm');
    expect(viaModel.status, viaModel.stderr).to.equal(0);
    expect(existsSync(join(dir, 'm', 'layers.csv'))).to.equal(false);
    for (const f of ['frames.csv', 'summary.json', 'run.json']) expect(existsSync(join(dir, 'm', f)), f).to.equal(true);
    const viaTrace = cli('simulate', '--trace', 'tiny', '--arch', 'delta-32x32', '--fps', '30', '--out', 't');
    expect(readFileSync(join(dir, 'm', 'frames.csv'), 'utf8')).to.equal(readFileSync(join(dir, 't', 'frames.csv'), 'utf8'));
    expect(viaTrace.stdout).to.equal(viaModel.stdout);
    const noOut = cli('simulate', '--trace', 'tiny', '--arch', 'delta-32x32', '--layers');
    expect(noOut.status).to.equal(1);
    expect(noOut.stderr).to.include('--layers writes layers.csv into the run directory');
  });

  it('runs the event-driven engine and --frames, --threshold, --baseline', () => {
    const r = cli(
      'simulate',
      '--trace',
      'tiny',
      '--arch',
      'seneca-like',
      '--frames',
      '2',
      '--threshold',
      '3',
      '--baseline',
      'zero-skip-32x32',
      '--json',
    );
    expect(r.status, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    expect(s.frames).to.equal(2);
    expect(s.threshold).to.equal(3);
    expect(s.baseline).to.equal('zero-skip-32x32');
    expect(s.modes.find((m: { mode: string }) => m.mode === 'delta').speedupVsDense).to.be.greaterThan(1);
  });

  const bad: [string, string[], string][] = [
    ['--trace and --model together', ['--trace', 'tiny', '--model', 'tiny'], 'exactly one of --model'],
    ['neither --trace nor --model', [], 'exactly one of --model'],
    ['a missing trace directory', ['--trace', 'nope'], 'nope'],
    ['a corrupt .npy (sha256 mismatch)', ['--trace', 'corrupt'], 'sha256 mismatch'],
    ['a float trace without --threshold', ['--trace', 'float'], '--threshold'],
    ['a negative --threshold', ['--trace', 'tiny', '--threshold', '-1'], '--threshold must be'],
    ['--frames beyond the trace', ['--trace', 'tiny', '--frames', '9'], '--frames must be an integer in 1..4'],
    ['--frames 0', ['--trace', 'tiny', '--frames', '0'], '--frames must be'],
    ['--act-density with --trace', ['--trace', 'tiny', '--act-density', '0.5'], '--act-density applies to --model runs only'],
    ['--threshold with --model', ['--model', 'alexnet', '--threshold', '1'], '--threshold applies to --trace runs only'],
    ['an unknown --baseline', ['--trace', 'tiny', '--baseline', 'tpu9'], 'tpu9'],
    ['a mode the hw-model lacks', ['--trace', 'tiny', '--arch', 'dense-32x32', '--mode', 'delta'], 'has "delta": true'],
    ['a non-positive --fps', ['--trace', 'tiny', '--fps', '0'], '--fps must be positive'],
  ];
  for (const [what, args, msg] of bad)
    it(`${what}: exit 1, message on stderr, nothing written`, () => {
      const arch = args.includes('--arch') ? [] : ['--arch', 'delta-32x32'];
      const r = cli('simulate', ...arch, ...args, '--out', 'out');
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr).to.include(msg);
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(existsSync(join(dir, 'out'))).to.equal(false);
    });
});
