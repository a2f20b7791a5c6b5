/**
 * seneca-like is sized for the workloads it ships for (docs/published-designs.md, "seneca-like"): the main job's
 * bundled delta model keeps its whole delta state in the state SRAM, which it fills more than half, and its weights
 * stay on chip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadHwModel, readSummary } from '../sim/index.js';
import { MAIN_DEFAULTS, runMainJob } from '../src/main-job.js';

interface Footprint {
  weightBytes: number;
  stateBytes: number;
  weightRefetch: number;
  stateSpill: number;
}

describe('seneca-like is sized for the main job', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'deltasim-seneca-sizing-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the bundled delta model: state within the state SRAM and over half of it, weights resident', async () => {
    const out = join(tmp, 'main');
    await runMainJob({ ...MAIN_DEFAULTS, frames: 2, scenarios: MAIN_DEFAULTS.scenarios.slice(0, 1), out, log: () => {} });
    const summary = readSummary(join(out, 'runs', MAIN_DEFAULTS.scenarios[0]!.name, 'delta-on-seneca-like'));
    const modes = summary.modes as { mode: string; footprint: Footprint }[];
    const f = modes.find((m) => m.mode === 'delta')!.footprint;
    const m = loadHwModel('seneca-like').memories;
    expect(f.stateSpill).to.equal(0);
    expect(f.stateBytes)
      .to.be.at.most(m.state.kiB * 1024)
      .and.above((m.state.kiB * 1024) / 2);
    expect(f.weightRefetch).to.equal(0);
    expect(f.weightBytes).to.be.at.most(m.filter.kiB * 1024);
  });
});
