/** initBackend: which backend runs, the fall-back order, idempotence. Each case runs in a fresh process. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const BACKEND_URL = new URL('../../src/tf/backend.ts', import.meta.url).href;

/** Calls initBackend twice in a new Node process; returns both answers, tf.getBackend() and stderr. */
function initInFreshProcess(opts: object) {
  const script = `
    const { initBackend, tf } = await import(${JSON.stringify(BACKEND_URL)});
    const first = await initBackend(JSON.parse(process.argv[1]));
    const again = await initBackend({ prefer: 'cpu', quiet: true });
    console.log(JSON.stringify({ first, again, current: tf.getBackend() }));`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(opts)], {
    encoding: 'utf8',
  });
  expect(res.status, res.stderr).to.equal(0);
  return { ...JSON.parse(res.stdout.trim().split('\n').pop()!), stderr: res.stderr };
}

const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('tf/backend initBackend', function () {
  this.timeout(30_000); // fresh Node processes, on a busy 2-core machine
  it(`by default picks ${hasTfjsNode ? 'tfjs-node if its addon loads' : 'wasm (tfjs-node is not installed)'} and says so`, () => {
    const r = initInFreshProcess({});
    if (!hasTfjsNode) expect(r.first).to.equal('wasm');
    expect(r.current).to.equal(r.first);
    expect(r.stderr).to.match(new RegExp(`tfjs backend: ${r.first}`));
  });

  it('honours prefer, prints nothing when quiet, and later calls return the first answer', () => {
    const r = initInFreshProcess({ prefer: 'cpu', quiet: true });
    expect(r).to.deep.include({ first: 'cpu', again: 'cpu', current: 'cpu' });
    expect(r.stderr).to.not.match(/\[deltasim\]/);
    const w = initInFreshProcess({ prefer: 'wasm' });
    expect(w).to.deep.include({ first: 'wasm', again: 'wasm', current: 'wasm' });
    expect(w.stderr).to.match(/tfjs backend: wasm \(SIMD/);
  });
});
