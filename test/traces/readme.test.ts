import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTrace } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { tempDir } from './helpers.js';

const README = new URL('../../traces/README.md', import.meta.url);

describe('traces/README', () => {
  it('the numpy example writes a trace the reader accepts (needs python3 + numpy)', function () {
    if (spawnSync('python3', ['-c', 'import numpy'], { cwd: tempDir() }).status !== 0) this.skip();
    const code = /```python\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))![1]!;
    const cwd = tempDir();
    const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const trace = openTrace(join(cwd, 'my-trace'));
    expect(trace.layers[0]!.spec).to.deep.include({ name: 'conv1', output: [8, 8, 8] });
    // levels 0..3 uniformly: about a quarter are zero
    expect(traceStats(trace).overall.spatial).to.be.closeTo(0.25, 0.05);
  });
});
