import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTrace } from '../../traces/reader.js';
import { traceStats } from '../../traces/stats.js';
import { statePlanOf } from '../../sim/state-graph.js';
import { tempDir } from './helpers.js';

const README = new URL('../../traces/README.md', import.meta.url);

describe('traces/README', () => {
  it('the numpy example writes a trace the reader accepts (needs python3 + numpy)', function () {
    if (spawnSync('python3', ['-c', 'import numpy'], { cwd: tempDir() }).status !== 0) this.skip();
    // the first block defines write_trace and writes my-trace; the second writes res-trace with a graph
    const blocks = [...readFileSync(README, 'utf8').matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const code = blocks.slice(0, 2).join('\n');
    const cwd = tempDir();
    const r = spawnSync('python3', ['-c', code], { cwd, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const trace = openTrace(join(cwd, 'my-trace'));
    expect(trace.layers[0]!.spec).to.deep.include({ name: 'conv1', output: [8, 8, 8] });
    // levels 0..3 uniformly: about a quarter are zero
    expect(traceStats(trace).overall.spatial).to.be.closeTo(0.25, 0.05);
    // the residual block: version 2, x held once (booked with the first layer that reads it)
    const res = openTrace(join(cwd, 'res-trace'));
    expect(res.manifest.version).to.equal(2);
    const plan = statePlanOf(
      res.layers.map((l) => l.layer),
      res.manifest.graph,
    );
    expect(plan.layers.map((p) => p.inputShare)).to.deep.equal([1, 0, 1]);
  });
});
