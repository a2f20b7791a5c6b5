/**
 * Temporary directories go away on exit, SIGINT and SIGTERM (src/record/temp-dir.ts), and so do the
 * recorders' spill / spool directories when a recording is interrupted. Each case runs a script in a
 * fresh Node process whose TMPDIR is a directory of its own, so what it leaves behind is visible.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
const TEMP_DIR = url('../../src/record/temp-dir.ts');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** deltasim-* entries left in the child's TMPDIR. */
  left: string[];
}

/**
 * Runs `script` (an ES module body) with TMPDIR = a fresh directory; once it prints a line starting
 * with READY, sends `signal` (if any); resolves when it has exited.
 */
function runChild(script: string, signal?: NodeJS.Signals): Promise<Exit> {
  const tmp = mkdtempSync(join(tmpdir(), 'deltasim-temp-dir-test-'));
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (signal && !sent && /^READY/m.test(stdout)) {
      sent = true;
      child.kill(signal);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // A child that hangs (a lost signal) is killed, so its TMPDIR is still removed and the test fails on its exit.
  const stuck = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(stuck);
      const left = readdirSync(tmp).filter((n) => n.startsWith('deltasim-'));
      rmSync(tmp, { recursive: true, force: true });
      resolve({ code, signal: sig, stdout, stderr, left });
    });
  });
}

/**
 * A script that makes a temp dir with a file in it, runs `body`, prints READY <path> and waits forever
 * (unless `body` ends the process first).
 */
const holding = (body = '') => `
  import { existsSync, writeFileSync } from 'node:fs';
  import { join } from 'node:path';
  const { makeTempDir } = await import(${TEMP_DIR});
  const dir = makeTempDir('deltasim-held-');
  writeFileSync(join(dir.path, 'spill.bin'), Buffer.alloc(1 << 16));
  ${body}
  console.log('READY ' + dir.path);
  setInterval(() => {}, 1000);`;

/** The listener counts of SIGINT, SIGTERM, SIGHUP and exit, as a script expression. */
const COUNTS = "['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'].map((s) => process.listenerCount(s))";
const tick = 'await new Promise((r) => setImmediate(() => setImmediate(() => setImmediate(r))));';

describe('record/temp-dir: temporary directories do not outlive the process', function () {
  this.timeout(120_000); // fresh Node processes (the recorders load tfjs), on a busy machine

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: the directory is removed and the process dies of the signal (a shell sees ${code})`, async () => {
      const r = await runChild(holding(), signal);
      expect(r.stdout, r.stderr).to.match(/^READY .*deltasim-held-/m);
      expect(r.left, 'left in TMPDIR').to.deep.equal([]);
      // Re-raised: the signal itself (a shell reports 128 + its number), or exit code 128 + n where it could not be.
      expect(r.signal === signal || r.code === code, `exit ${r.code} / ${r.signal}\n${r.stderr}`).to.equal(true);
    });
  }

  it('normal exit, process.exit(n) and an uncaught error remove it too', async () => {
    const ends = await Promise.all([
      runChild(holding().replace('setInterval(() => {}, 1000);', '')), // the event loop runs dry
      runChild(holding('process.exit(3);')),
      runChild(holding("setTimeout(() => { throw new Error('boom'); }, 10);")),
    ]);
    expect(ends.map((r) => [r.code, r.left.length])).to.deep.equal([
      [0, 0],
      [3, 0],
      [1, 0],
    ]);
    expect(ends[2]!.stderr).to.include('boom');
  });

  it('remove() deletes it and takes the listeners off (default signal behaviour again)', async () => {
    const r = await runChild(
      holding(`
        const before = ${COUNTS};
        const other = makeTempDir('deltasim-other-');
        dir.remove();
        dir.remove(); // again: nothing
        ${tick}
        const one = ${COUNTS};
        other.remove();
        ${tick}
        const after = ${COUNTS};
        console.log(JSON.stringify({ one: one.map((n, i) => n - after[i]), held: before.map((n, i) => n - after[i]), gone: !existsSync(dir.path) && !existsSync(other.path) }));`),
      'SIGINT',
    );
    expect(JSON.parse(r.stdout.split('\n')[0]!), r.stderr).to.deep.equal({ one: [1, 1, 1, 1], held: [1, 1, 1, 1], gone: true });
    expect(r.signal).to.equal('SIGINT'); // Node's default: killed by it
  });

  it('when other code also listens for the signal, the directory is removed and that code decides the exit', async () => {
    const handler = `process.on('SIGINT', () => {
      console.log(existsSync(dir.path) ? 'still there' : 'gone');
      process.exit(7);
    });`;
    // Registered after ours: ours removes the directory and does not re-raise; the other listener exits.
    const after = await runChild(holding(handler), 'SIGINT');
    expect([after.code, after.left, after.stdout.includes('gone')], after.stderr).to.deep.equal([7, [], true]);
    // Registered before ours (prepended), it runs first and finds the directory; the exit listener removes it.
    const first = await runChild(holding(handler.replace('process.on(', 'process.prependListener(')), 'SIGINT');
    expect([first.code, first.left, first.stdout.includes('still there')], first.stderr).to.deep.equal([7, [], true]);
  });

  it('Ctrl-C during a graph-model recording (trace --graph) removes its deltasim-graph-* spill directory', async () => {
    const r = await runChild(
      `
      import { readdirSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const { recordGraphModelTrace } = await import(${url('../../src/record/graph-model.ts')});
      const { initBackend } = await import(${url('../../src/tf/backend.ts')});
      await initBackend({ quiet: true });
      async function* frames() {
        for (let t = 0; ; t++) {
          if (t === 3) console.log('READY ' + readdirSync(tmpdir()).filter((n) => n.startsWith('deltasim-')).join(' '));
          yield new Float32Array(64 * 64).fill((t % 10) / 10);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await recordGraphModelTrace({
        model: 'human:emotion',
        frames: { h: 64, w: 64, c: 1, frames: frames(), source: 'endless' },
        threshold: 0.05,
        out: join(tmpdir(), 'trace'),
      });
      console.log('finished?!');`,
      'SIGINT',
    );
    expect(r.stdout, r.stderr).to.match(/^READY deltasim-graph-\S+$/m); // it was there while recording
    expect(r.left).to.deep.equal([]);
    expect(r.signal === 'SIGINT' || r.code === 130, `exit ${r.code} / ${r.signal}\n${r.stderr}`).to.equal(true);
  });

  it('SIGTERM during a layers-model recording (trace --model) removes its deltasim-record-* spool directory', async () => {
    const r = await runChild(
      `
      import { readdirSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      const { recordTrace } = await import(${url('../../src/record/record.ts')});
      const { buildModel } = await import(${url('../../src/tf/models.ts')});
      const { initBackend } = await import(${url('../../src/tf/backend.ts')});
      await initBackend({ quiet: true });
      const model = buildModel({ net: 'plain', variant: 'delta', classes: 2, frameShape: [16, 16, 1], seed: 5 });
      const source = {
        frameShape: [16, 16, 1], frames: 1e6, fps: 15, clip: { source: 'endless', firstFrame: 0 }, notes: [],
        async *read() {
          for (let t = 0; ; t++) {
            if (t === 3) console.log('READY ' + readdirSync(tmpdir()).filter((n) => n.startsWith('deltasim-')).join(' '));
            yield new Float32Array(16 * 16).fill((t % 10) / 10);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      };
      await recordTrace(model, source, join(tmpdir(), 'trace'), {
        modelInfo: { name: 'endless' },
        chunkFrames: 1,
      });
      console.log('finished?!');`,
      'SIGTERM',
    );
    expect(r.stdout, r.stderr).to.match(/^READY deltasim-record-\S+$/m);
    expect(r.left).to.deep.equal([]);
    expect(r.signal === 'SIGTERM' || r.code === 143, `exit ${r.code} / ${r.signal}\n${r.stderr}`).to.equal(true);
  });
});
