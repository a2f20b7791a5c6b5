/**
 * CI smoke of the paper reproduction (issue 6): `studies/paper-repro/run.ts --smoke` end to end — train one seed for a
 * few epochs, save the models, trace them on one held-out clip (and on opencv-doc's clips when installed),
 * simulate on the shipped hw-models, publish. Checks the outputs exist and hang together; not the paper's
 * targets (a smoke run is far too short to meet them). Then `--models` re-simulates the saved models
 * without training and must give the same simulation.json, and refresh-bundled-models.ts copies the saved
 * baseline and delta models (to a temporary folder, never src/tf/pretrained/), refusing to overwrite without --force.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OPENCV_DATA } from '../../studies/paper-repro/simulation.js';

const run = promisify(execFile);
const REPRO = ['--import', 'tsx', 'studies/paper-repro/run.ts'];
const REFRESH = ['--import', 'tsx', 'studies/paper-repro/refresh-bundled-models.ts'];
const VIDEO = join(OPENCV_DATA, 'vtest.avi');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

interface Config {
  source: string;
  variant: string;
  arch: string;
  mode: string;
  latencyMeanUs: { mean: number };
  energyPerFrameUJ: { mean: number };
  stateSpill: { mean: number };
}

describe('paper reproduction smoke (studies/paper-repro/run.ts --smoke)', function () {
  this.timeout(180_000);
  let dir: string;
  const out = () => join(dir, 'out');
  const args = (...extra: string[]) => [
    ...REPRO,
    '--smoke',
    '--out',
    out(),
    '--traces',
    join(dir, 'traces'),
    '--date',
    '2000-01-01',
    ...extra,
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-repro-smoke-'));
    // Only vtest.avi (4 frames) when opencv-doc is installed; a missing one must be skipped with a note.
    await run(process.execPath, args('--videos', `${VIDEO},${join(dir, 'missing.avi')}`), { maxBuffer: 1 << 24 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the training results, per-seed models and every publication file', () => {
    for (const f of [
      'results.json',
      'results.md',
      'simulation.json',
      'simulation.md',
      'README-table.md',
      'energy-per-frame.png',
      'layer-sparsity.png',
    ]) {
      expect(existsSync(join(out(), f)), f).to.equal(true);
    }
    for (const v of ['baseline', 'l1', 'delta']) expect(existsSync(join(out(), 'models', 'seed-1', v, 'model.json')), v).to.equal(true);
    expect(readFileSync(join(out(), 'energy-per-frame.png')).subarray(0, 4).equals(PNG)).to.equal(true);
  });

  it('simulates every variant on its hw-models plus the dense reference, with sane figures', () => {
    const sim = JSON.parse(readFileSync(join(out(), 'simulation.json'), 'utf8')) as {
      configs: Config[];
      notes: string[];
      clips: Array<{ source: string }>;
    };
    const held = sim.configs
      .filter((c) => c.source === 'held-out')
      .map((c) => `${c.variant}/${c.arch}/${c.mode}`)
      .sort();
    expect(held).to.deep.equal([
      'baseline/dense-32x32/dense',
      'baseline/zero-skip-32x32/sparse',
      'delta/delta-32x32/delta',
      'delta/dense-32x32/dense',
      'delta/seneca-like/delta',
      'l1/dense-32x32/dense',
      'l1/zero-skip-32x32/sparse',
    ]);
    for (const c of sim.configs) {
      expect(c.latencyMeanUs.mean, `${c.variant} ${c.arch}`).to.be.greaterThan(0);
      expect(c.energyPerFrameUJ.mean, `${c.variant} ${c.arch}`).to.be.greaterThan(0);
      expect(c.stateSpill.mean).to.be.within(0, 1);
    }
    // Dense cost does not depend on the data: the reference is the same for every variant.
    const dense = sim.configs.filter((c) => c.arch === 'dense-32x32' && c.source === 'held-out').map((c) => c.energyPerFrameUJ.mean);
    expect(new Set(dense).size).to.equal(1);
    expect(sim.notes.some((n) => n.includes('missing.avi'))).to.equal(true);
    const md = readFileSync(join(out(), 'simulation.md'), 'utf8');
    expect(md).to.include('## Held-out procedural clips');
    expect(readFileSync(join(out(), 'README-table.md'), 'utf8')).to.match(/\| Delta Activation Layer \| [\d.]+ ± [\d.]+ % \|/);
  });

  it("traces opencv-doc's vtest.avi when installed, at its native 10 fps, counting its duplicated frames", function () {
    if (!existsSync(VIDEO)) this.skip();
    const sim = JSON.parse(readFileSync(join(out(), 'simulation.json'), 'utf8')) as {
      configs: Array<Config & { fps: number }>;
      clips: Array<{ source: string; fps: number; duplicatedFrames: number }>;
    };
    const delta = sim.configs.find((c) => c.source === 'vtest.avi' && c.variant === 'delta' && c.arch === 'delta-32x32');
    expect(delta?.fps, 'simulated at the native rate, not resampled').to.equal(10);
    const manifest = JSON.parse(readFileSync(join(dir, 'traces', 'seed-1', 'delta', 'vtest', 'manifest.json'), 'utf8')) as {
      fps: number;
      clip: { nativeFps: number; duplicatedFrames: number };
    };
    expect(manifest.fps).to.equal(10);
    expect(manifest.clip).to.include({ nativeFps: 10, duplicatedFrames: 0 });
    for (const c of sim.clips.filter((c) => c.source === 'vtest.avi')) expect(c).to.include({ fps: 10, duplicatedFrames: 0 });
    expect(readFileSync(join(out(), 'simulation.md'), 'utf8')).to.include('## vtest.avi (4 frames at its native 10 fps)');
  });

  it('--models re-simulates the saved models without training, to the same bytes', async () => {
    const before = readFileSync(join(out(), 'simulation.json'), 'utf8');
    const resultsBefore = readFileSync(join(out(), 'results.json'), 'utf8');
    const { stderr } = await run(process.execPath, args('--videos', '', '--models', join(out(), 'models')), { maxBuffer: 1 << 24 });
    expect(stderr).to.not.include('epoch');
    expect(readFileSync(join(out(), 'results.json'), 'utf8')).to.equal(resultsBefore);
    const after = JSON.parse(readFileSync(join(out(), 'simulation.json'), 'utf8')) as { configs: Config[] };
    const held = (s: { configs: Config[] }) => JSON.stringify(s.configs.filter((c) => c.source === 'held-out'));
    expect(held(after)).to.equal(held(JSON.parse(before)));
  });

  it('refresh-bundled-models copies the saved baseline and delta byte for byte, and overwrites only with --force', async () => {
    const to = join(dir, 'pretrained');
    const refresh = (...extra: string[]) =>
      run(process.execPath, [...REFRESH, '--models', join(out(), 'models'), '--seed', '1', '--to', to, ...extra], { maxBuffer: 1 << 24 });
    await refresh();
    expect(readdirSync(to).sort()).to.deep.equal(['README.md', 'baseline', 'delta']);
    for (const v of ['baseline', 'delta']) {
      for (const f of ['model.json', 'weights.bin', 'meta.json']) {
        expect(readFileSync(join(to, v, f)).equals(readFileSync(join(out(), 'models', 'seed-1', v, f))), `${v}/${f}`).to.equal(true);
      }
    }
    const readme = readFileSync(join(to, 'README.md'), 'utf8');
    const meta = JSON.parse(readFileSync(join(to, 'delta', 'meta.json'), 'utf8')) as { training: { command: string } };
    expect(meta.training.command).to.match(/^npx tsx studies\/paper-repro\/run\.ts --smoke /);
    expect(readme)
      .to.include(meta.training.command)
      .and.to.match(/\| `delta\/` \| [\d.]+ % \|/);

    writeFileSync(join(to, 'README.md'), 'kept');
    const refused = await refresh().then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code, 'exit code without --force').to.not.equal(0);
    expect(refused?.stderr).to.include('--force');
    expect(readFileSync(join(to, 'README.md'), 'utf8')).to.equal('kept');
    await refresh('--force');
    expect(readFileSync(join(to, 'README.md'), 'utf8')).to.equal(readme);
  });
});
