/**
 * Never destroy what the user has (docs/design.md §12, lib/output-guard.ts): every command that writes a
 * directory refuses an existing file, a non-empty directory that is not its own run (unless --force), and
 * the current directory, its parents and the home directory; --force replaces deltasim's own files only.
 * Each refusal exits 1 with one line on stderr (no stack) and leaves every byte as it was.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { claimDir, writeDirAtomic } from '../../lib/atomic.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;
const SIMULATE = ['simulate', '--trace', TINY, '--arch', 'delta-32x32'];
const SWEEP = ['sweep', '--model', 'tiny', '--arch', 'delta-32x32', '--workers', '0'];
const TRAIN = ['train', '--data', 'procedural:train=8,test=4,classes=left+right', '--size', '32', '--frames', '4', '--batch', '4'];

/** Every entry under `dir` (relative path → its bytes, "dir" or the link target): what "unchanged" compares. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = prefix + name;
    const st = lstatSync(path);
    if (st.isDirectory()) Object.assign(out, { [`${rel}/`]: 'dir' }, snapshot(path, `${rel}/`));
    else if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
    else out[rel] = readFileSync(path).toString('base64');
  }
  return out;
}

describe('output safety: no command destroys what the user has', function () {
  this.timeout(120_000);
  let dir: string;
  const cli = (args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: o.cwd ?? dir, env: { ...process.env, ...o.env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** A refusal: exit 1, one line on stderr naming `path` first (null: no path) and each of `parts`, no stack frames, nothing printed. */
  const refused = (r: ReturnType<typeof cli>, path: string | null, ...parts: (string | RegExp)[]) => {
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
    expect(r.stderr).to.not.match(/\n\s+at /);
    expect(r.stderr.startsWith(`deltasim: ${path === null ? '' : `${path}: `}`), r.stderr).to.equal(true);
    for (const p of parts) expect(r.stderr).to.match(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')) : p);
  };
  const ok = (r: ReturnType<typeof cli>) => expect(r.code, r.stderr).to.equal(0);
  /** A directory with the user's files: notes.txt and sub/x. */
  const userDir = (path: string) => {
    mkdirSync(join(path, 'sub'), { recursive: true });
    writeFileSync(join(path, 'notes.txt'), 'my notes\n');
    writeFileSync(join(path, 'sub', 'x'), new Uint8Array([0, 1, 2, 255]));
  };
  const userFiles = { 'notes.txt': Buffer.from('my notes\n').toString('base64'), 'sub/': 'dir', 'sub/x': 'AAEC/w==' };
  const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-output-safety-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a file at --out is refused, even with --force, and keeps its bytes (simulate, sweep, trace synth, train)', () => {
    writeFileSync(join(dir, 'results.csv'), 'data\n');
    const before = snapshot(dir);
    for (const force of [[], ['--force']]) {
      refused(cli([...SIMULATE, '--out', 'results.csv', ...force]), 'results.csv', 'is a file, not a directory', 'even with --force');
      refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', 'results.csv', ...force]), 'results.csv', 'is a file, not a directory');
    }
    refused(cli(['trace', 'synth', '--out', 'results.csv', '--force']), 'results.csv', 'is a file, not a directory');
    refused(cli([...TRAIN, '--out', 'results.csv', '--force']), 'results.csv', 'is a file, not a directory');
    refused(cli([...SIMULATE, '--out', 'results.csv/run']), 'results.csv', 'is a file, not a directory', 'results.csv/run');
    expect(snapshot(dir)).to.deep.equal(before);
  });

  it("a directory with the user's files is refused without --force; --force replaces deltasim's files only", () => {
    const out = join(dir, 'run');
    userDir(out);
    const before = snapshot(dir);
    refused(cli([...SIMULATE, '--out', 'run']), 'run', 'exists; pass --force', 'notes.txt, sub');
    refused(cli(['trace', 'synth', '--out', 'run']), 'run', 'exists; pass --force');
    refused(cli([...TRAIN, '--out', 'run']), 'run', 'exists; pass --force');
    expect(snapshot(dir)).to.deep.equal(before);

    ok(cli([...SIMULATE, '--out', 'run', '--layers', '--force']));
    expect(readdirSync(out).sort()).to.deep.equal(['frames.csv', 'layers.csv', 'notes.txt', 'run.json', 'sub', 'summary.json']);
    refused(cli([...SIMULATE, '--out', 'run']), 'run', 'exists; pass --force');
    // Again without --layers: the earlier run's layers.csv is deltasim's and goes; the user's files stay, byte for byte.
    ok(cli([...SIMULATE, '--out', 'run', '--force']));
    const after = snapshot(out);
    expect(Object.keys(after).sort()).to.deep.equal(['frames.csv', 'notes.txt', 'run.json', 'sub/', 'sub/x', 'summary.json']);
    expect(after).to.include(userFiles);
    expect(readdirSync(dir)).to.deep.equal(['run']); // no temp directory left behind
  });

  it('trace synth --force replaces the old trace (its manifest and .npy files) and keeps the rest', () => {
    const out = join(dir, 't');
    ok(cli(['trace', 'synth', '--out', 't', '--frames', '2']));
    const old = json(join(out, 'manifest.json')).layers.map((l: { act: { file: string } }) => l.act.file);
    userDir(out);
    refused(cli(['trace', 'synth', '--out', 't', '--frames', '2']), 't', 'exists; pass --force');
    const layers = '[{"name":"zz","op":"conv2d","input":[6,6,2],"outChannels":3}]';
    ok(cli(['trace', 'synth', '--out', 't', '--frames', '2', '--layers', layers, '--force']));
    const after = snapshot(out);
    expect(Object.keys(after).sort()).to.deep.equal(['manifest.json', 'notes.txt', 'sub/', 'sub/x', 'zz.npy']);
    expect(after).to.include(userFiles);
    for (const f of old) expect(existsSync(join(out, f)), f).to.equal(false);
  });

  it("train --force keeps the user's files through every checkpoint", () => {
    const out = join(dir, 'm');
    userDir(out);
    ok(cli([...TRAIN, '--epochs', '2', '--out', 'm', '--force', '--quiet']));
    const after = snapshot(out);
    expect(Object.keys(after).sort()).to.deep.equal(['eval.json', 'meta.json', 'model.json', 'notes.txt', 'sub/', 'sub/x', 'weights.bin']);
    expect(after).to.include(userFiles);
  });

  it('--out . and --out .. (and the home directory) are refused, with or without --force, empty or not', () => {
    const cwd = join(dir, 'here');
    mkdirSync(cwd);
    // an empty current directory: once an EBUSY rename with a stack trace (exit 70)
    for (const force of [[], ['--force']])
      refused(cli([...SIMULATE, '--out', '.', ...force], { cwd }), '.', 'is the current directory', 'even with --force');
    refused(cli(['trace', 'synth', '--out', '.'], { cwd }), '.', 'is the current directory');
    expect(readdirSync(cwd)).to.deep.equal([]);
    userDir(cwd);
    const before = snapshot(dir);
    for (const force of [[], ['--force']]) {
      refused(cli([...SIMULATE, '--out', '.', ...force], { cwd }), '.', 'is the current directory');
      refused(cli([...SIMULATE, '--out', '..', ...force], { cwd }), '..', 'is a parent of the current directory');
    }
    refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', '.'], { cwd }), '.', 'is the current directory');
    refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', '..', '--force'], { cwd }), '..', 'is a parent of the current directory');
    refused(cli([...TRAIN, '--out', '..', '--force'], { cwd }), '..', 'is a parent of the current directory');
    refused(cli([...SIMULATE, '--out', cwd, '--force'], { env: { HOME: cwd } }), cwd, 'is your home directory');
    expect(snapshot(dir)).to.deep.equal(before);
  });

  it("sweep: --out an existing file, or another sweep's directory, is refused; --force replaces that sweep, keeping the user's files", () => {
    writeFileSync(join(dir, 'f'), 'x\n');
    refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', 'f']), 'f', 'is a file, not a directory');
    expect(readFileSync(join(dir, 'f'), 'utf8')).to.equal('x\n');

    const a = join(dir, 'a');
    ok(cli([...SWEEP, '--set', 'rows=8,16', '--out', 'a']));
    const gridA = json(join(a, 'summary.json')).grid;
    writeFileSync(join(a, 'notes.txt'), 'my notes\n');
    const before = snapshot(dir);
    for (const shard of [[], ['--shard', '1/2'], ['--resume']])
      refused(cli([...SWEEP, '--set', 'rows=8,32', '--out', 'a', ...shard]), 'a', "another run's", 'journal.jsonl', 'summary.json');
    expect(snapshot(dir)).to.deep.equal(before);

    // its own run: --resume continues it (notes.txt is no reason to refuse); --force and --resume together are refused
    const resumed = cli([...SWEEP, '--set', 'rows=8,16', '--out', 'a', '--resume']);
    ok(resumed);
    expect(resumed.stdout).to.match(/2 points, 2 from the journal/);
    refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', 'a', '--resume', '--force']), null, '--force starts OUT afresh');

    ok(cli([...SWEEP, '--set', 'rows=8,32', '--out', 'a', '--force']));
    expect(json(join(a, 'summary.json')).grid).to.not.equal(gridA);
    expect(readFileSync(join(a, 'sweep.csv'), 'utf8')).to.match(/\n1,32,/);
    expect(readdirSync(a).sort()).to.deep.equal(['journal.jsonl', 'notes.txt', 'run.json', 'summary.json', 'sweep.csv']);
    expect(readFileSync(join(a, 'notes.txt'), 'utf8')).to.equal('my notes\n');
  });

  it('sweep shards of one sweep share a directory; merge refuses another run there and --force keeps the rest', () => {
    const s = join(dir, 's');
    userDir(s);
    refused(cli([...SWEEP, '--set', 'rows=8,16', '--out', 's', '--shard', '1/2']), 's', 'exists; pass --force', 'notes.txt');
    ok(cli([...SWEEP, '--set', 'rows=8,16', '--out', 's', '--shard', '1/2', '--force']));
    ok(cli([...SWEEP, '--set', 'rows=8,16', '--out', 's', '--shard', '2/2'])); // the same sweep: no --force needed
    ok(cli(['merge', 's', 's']));
    ok(cli(['merge', 's', 's'])); // a re-merge of the same sweep
    expect(snapshot(s)).to.include(userFiles);

    const b = join(dir, 'b');
    ok(cli([...SWEEP, '--set', 'rows=8,32', '--out', 'b']));
    writeFileSync(join(b, 'notes.txt'), 'my notes\n');
    const before = snapshot(dir);
    refused(cli(['merge', 'b', 's']), 'b', "another run's", 'or choose another OUT');
    expect(snapshot(dir)).to.deep.equal(before);
    ok(cli(['merge', 'b', 's', '--force']));
    expect(readdirSync(b).sort()).to.deep.equal(['notes.txt', 'run.json', 'summary.json', 'sweep.csv']);
    expect(readFileSync(join(b, 'sweep.csv'), 'utf8')).to.equal(readFileSync(join(s, 'sweep.csv'), 'utf8'));
    expect(readFileSync(join(b, 'notes.txt'), 'utf8')).to.equal('my notes\n');
  });

  it("report rebuilds its own report.html and charts/*.png without --force and keeps the user's files in charts/", () => {
    ok(cli([...SIMULATE, '--out', 'run']));
    ok(cli(['report', 'run']));
    writeFileSync(join(dir, 'run', 'charts', 'mine.txt'), 'mine\n');
    ok(cli(['report', 'run']));
    expect(readdirSync(join(dir, 'run', 'charts')).sort()).to.include.members(['mine.txt', 'energy-breakdown.png']);
    expect(readFileSync(join(dir, 'run', 'charts', 'mine.txt'), 'utf8')).to.equal('mine\n');
  });
});

describe('writeDirAtomic in a claimed directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-claim-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces the writer's entries, moves the others into the new directory, and leaves all as it was when the build fails", async () => {
    const out = join(dir, 'out');
    mkdirSync(join(out, 'sub'), { recursive: true });
    writeFileSync(join(out, 'own.csv'), 'old\n');
    writeFileSync(join(out, 'stale.csv'), 'old\n');
    writeFileSync(join(out, 'notes.txt'), 'mine\n');
    writeFileSync(join(out, 'sub', 'x'), 'mine\n');
    claimDir(out, (name) => name.endsWith('.csv'));
    const before = snapshot(dir);
    let failed = false;
    await writeDirAtomic(out, (tmp) => {
      writeFileSync(join(tmp, 'own.csv'), 'new\n');
      throw new Error('build failed');
    }).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
    expect(snapshot(dir)).to.deep.equal(before);
    await writeDirAtomic(out, (tmp) => writeFileSync(join(tmp, 'own.csv'), 'new\n'));
    expect(snapshot(dir)).to.deep.equal({
      'out/': 'dir',
      'out/notes.txt': Buffer.from('mine\n').toString('base64'),
      'out/own.csv': Buffer.from('new\n').toString('base64'),
      'out/sub/': 'dir',
      'out/sub/x': Buffer.from('mine\n').toString('base64'),
    });
  });
});
