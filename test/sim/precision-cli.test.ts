/** `simulate --strict`: a trace whose levels do not fit the hw-model's activations is an error and writes nothing; without it, a warning with the count. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writeWideTrace } from '../support/wide-trace.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;

describe('simulate: levels wider than the hardware (CLI)', () => {
  let dir: string;
  let trace: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-strict-'));
    trace = join(dir, 'trace');
    // Two levels of 300 (9 bits) per frame, two frames.
    await writeWideTrace(
      trace,
      [0, 1].map(() => Int16Array.from({ length: 32 }, (_, i) => (i === 3 || i === 17 ? 300 : i % 4))),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'simulate', '--trace', trace, '--arch', 'delta-32x32', ...args], { encoding: 'utf8' });

  it('warns with the count and the widest level, once (in the table, or on stderr beside JSON), and still writes the run', () => {
    const warning = 'warning: layer "conv": 4 recorded levels need more than the hardware\'s 8 activation bits (up to 9)';
    const out = join(dir, 'run');
    const r = cli('--out', out);
    expect(r.status, r.stderr).to.equal(0);
    expect((r.stdout + r.stderr).split(warning)).to.have.length(2);
    expect(r.stdout).to.include(warning);
    expect(existsSync(join(out, 'summary.json'))).to.equal(true);
    const j = cli('--json');
    expect(j.status, j.stderr).to.equal(0);
    expect(j.stderr.split(warning)).to.have.length(2);
    expect(() => JSON.parse(j.stdout)).not.to.throw();
  });
  it('--strict: exit 1, the same message naming the trace, nothing written', () => {
    const out = join(dir, 'strict');
    const r = cli('--strict', '--out', out);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(trace);
    expect(r.stderr).to.include('4 recorded levels need more than');
    expect(r.stdout).to.equal('');
    expect(existsSync(out)).to.equal(false);
  });
});
