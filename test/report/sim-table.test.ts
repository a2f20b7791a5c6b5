/** The console table's notes: frames slower than the frame period, and the trace's recording threshold beside the simulation's. */
import { expect } from 'chai';
import { loadHwModel, simulate, traceWorkload } from '../../sim/index.js';
import { OVER_RANGE_NAMED, overRangeLines, realTimeLegend, slowFramesLine, summaryTable, thresholdLine } from '../../src/cli/sim-table.js';
import { recordingOf } from '../../traces/manifest.js';
import { openTrace } from '../../traces/reader.js';

const TINY = new URL('../../traces/samples/tiny', import.meta.url).pathname;

describe('console table (sim-table)', () => {
  const trace = openTrace(TINY);
  const run = (fps: number) => simulate(traceWorkload(trace), loadHwModel('delta-32x32'), { mode: 'all', fps });

  it('flags the frames slower than the frame period, per run, with their count and the slowest', () => {
    const relaxed = run(15);
    const delta = [...relaxed.frameRows].filter((r) => r.mode === 'delta').map((r) => r.latencyUs);
    expect(summaryTable(relaxed)).not.to.include('frame period');
    // A frame period between delta's fastest and slowest frame (its key frame is the slowest).
    const periodUs = (Math.min(...delta) + Math.max(...delta)) / 2;
    const fps = 1e6 / periodUs;
    const slow = delta.filter((x) => x > periodUs).length;
    expect(slow).to.be.within(1, delta.length - 1);
    const text = summaryTable(run(fps));
    const ms = Number((periodUs / 1e3).toPrecision(3));
    expect(text).to.include(
      `warning: delta @ delta-32x32: ${slow} of ${delta.length} frames exceed the ${ms} ms frame period at ${fps} fps (max ${Math.round(Math.max(...delta)).toLocaleString('en-US')} µs)`,
    );
    expect(slowFramesLine('x', [1, 2], 1e6 / 2)).to.equal(null);
    expect(slowFramesLine('x', [1, 3, 4], 1e6 / 2)).to.equal('x: 2 of 3 frames exceed the 0.002 ms frame period at 500000 fps (max 4 µs)');
  });

  it('names the layers whose levels do not fit one by one, and past a few, the ones with the most and one line for the rest', () => {
    const precision = (n: number) => ({
      activationBits: 8,
      weightBits: 8,
      accumulatorBits: 32,
      overRange: Array.from({ length: n }, (_, i) => ({ layer: `l${i}`, levels: 10 * (i + 1), maxBits: 9 + (i % 3) })),
    });
    const few = overRangeLines({ precision: precision(OVER_RANGE_NAMED + 1) });
    expect(few).to.have.length(OVER_RANGE_NAMED + 1);
    expect(few[0]).to.equal('layer "l0": 10 recorded levels need more than the hardware\'s 8 activation bits (up to 9)');
    const many = overRangeLines({ precision: precision(8) });
    expect(many).to.deep.equal([
      'layer "l7": 80 recorded levels need more than the hardware\'s 8 activation bits (up to 10)',
      'layer "l6": 70 recorded levels need more than the hardware\'s 8 activation bits (up to 9)',
      'layer "l5": 60 recorded levels need more than the hardware\'s 8 activation bits (up to 11)',
      // l0–l4: 10 + 20 + 30 + 40 + 50 levels, the widest 11 bits (l2).
      "5 more layers: 150 recorded levels need more than the hardware's 8 activation bits (up to 11) (each layer: precision.overRange in summary.json or --json)",
    ]);
  });

  it('marks each mode real time or MISSED in a column, with a legend; no column without an fps', () => {
    /** The real-time cell of each row, by the column's position in the header. */
    const cells = (text: string): Map<string, string> => {
      const lines = text.split('\n');
      const h = lines.findIndex((l) => l.startsWith('mode @ hw-model') && l.includes('real time'));
      expect(h, 'a real-time column').to.be.greaterThan(-1);
      const out = new Map<string, string>();
      for (const l of lines.slice(h + 2)) {
        if (!l.includes(' @ ')) break;
        const cols = l.trim().split(/\s{2,}/);
        out.set(cols[0]!, cols.includes('MISSED') ? 'MISSED' : cols.includes('yes') ? 'yes' : '?');
      }
      return out;
    };
    const relaxed = run(15);
    expect([...cells(summaryTable(relaxed)).values()]).to.deep.equal(['yes', 'yes', 'yes']);
    expect(summaryTable(relaxed)).to.include(realTimeLegend(15));
    // A frame period between the modes' slowest frames: the modes slower than it are MISSED, the others not.
    const maxOf = (mode: string) => Math.max(...[...relaxed.frameRows].filter((r) => r.mode === mode).map((r) => r.latencyUs));
    const maxima = relaxed.modes.map((s) => maxOf(s.mode));
    const periodUs = (Math.min(...maxima) + Math.max(...maxima)) / 2;
    const tight = run(1e6 / periodUs);
    const c = cells(summaryTable(tight));
    const expected = relaxed.modes.map((s) => [`${s.mode} @ delta-32x32`, maxOf(s.mode) > periodUs ? 'MISSED' : 'yes']);
    expect([...c]).to.deep.equal(expected);
    expect(new Set(expected.map(([, v]) => v))).to.deep.equal(new Set(['yes', 'MISSED']));
    for (const s of tight.modes) expect(s.realTime, s.mode).to.equal(maxOf(s.mode) <= periodUs);
    // A run without a frame rate (a topology without --fps) has no real-time column.
    expect(summaryTable({ ...relaxed, fps: null })).to.not.include('real time');
  });

  it('prints the area by component of the hw-model and the baseline, with the state SRAM share', () => {
    const base = loadHwModel('dense-32x32');
    const text = summaryTable(simulate(traceWorkload(trace), loadHwModel('delta-32x32'), { mode: 'all', fps: 15, baseline: base }));
    expect(text).to.include('area by component (mm²');
    const row = (name: string) => text.split('\n').find((l) => l.startsWith(`${name} `) && l.includes(' nm '))!;
    expect(row('delta-32x32')).to.match(/45 nm .* \d+\.\d %\s+\+\d+\.\d %$/);
    expect(row('dense-32x32')).to.match(/ -\s+-$/);
  });

  it("says the trace's recording threshold (q, or its level step) beside the simulation's", () => {
    const graph = recordingOf({
      model: { name: 'm', recorder: 'graph-model', threshold: 0.05 },
      layers: [{ act: { scale: 0.05 } }, { act: { scale: [0.05, 0.1] } }] as never,
    });
    expect(graph).to.deep.equal({ recorder: 'graph-model', threshold: 0.05, scale: { min: 0.05, max: 0.1 } });
    expect(thresholdLine(0, null, graph)).to.equal(
      'recorded by graph-model with delta threshold q = 0.05 (levels = round(a / q)); simulated with delta threshold 0 (in levels: a delta counts when |Δlevel| > 0)',
    );
    const synthetic = recordingOf(trace.manifest);
    expect(synthetic).to.deep.equal({ recorder: null, threshold: null, scale: { min: 0.015625, max: 0.015625 } });
    expect(thresholdLine(2, 0.5, synthetic)).to.equal(
      'recorded as levels of step 0.015625 (value = level × step); simulated with delta threshold 2 (in levels: a delta counts when |Δlevel| > 2), values quantised with step 0.5 first',
    );
    const text = summaryTable(run(15), graph);
    expect(text.split('\n')[1]).to.equal(thresholdLine(0, null, graph));
    // A trace run carries its own recording (summary.json's `recording`, from the manifest).
    expect((run(15) as { recording?: unknown }).recording).to.deep.equal(synthetic);
    expect(summaryTable(run(15)).split('\n')[1]).to.equal(thresholdLine(0, null, synthetic));
  });
});
