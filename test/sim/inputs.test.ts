/** Bad input ⇒ a clear InputError (library) / exit code ≠ 0 and nothing written (CLI). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { throwsInput } from '../support/input-error.js';
import { loadHwModel, loadTopology, parseHwModelJson, parseTopologyCsv } from '../../sim/index.js';
import { simTopology } from '../support/sim.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const HEADER = 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,';
const dense32 = readFileSync(new URL('../../hw-models/dense-32x32.json', import.meta.url), 'utf8');
const patched = (f: (d: Record<string, any>) => void): string => {
  const d = JSON.parse(dense32);
  f(d);
  return JSON.stringify(d);
};

/** The bad inputs, each with what the message must name. */
const BAD_HW: [string, string, (string | RegExp)[]][] = [
  ['malformed JSON', '{"kind": "systolic", "rows": 32,', ['bad.json', 'malformed JSON']],
  ['unknown key', patched((d) => (d.memories.l2KiB = 5)), ['bad.json', 'at /memories/l2KiB', 'unknown key "l2KiB"']],
  ['negative size', patched((d) => (d.rows = -4)), ['bad.json', 'at /rows', '>= 1']],
  ['zero size', patched((d) => (d.cols = 0)), ['bad.json', 'at /cols', '>= 1']],
  ['bad dataflow', patched((d) => (d.dataflow = 'rs')), ['at /dataflow', '"os", "ws", "is"']],
  ['missing key', patched((d) => delete d.clockMHz), ['at /clockMHz', 'missing required key "clockMHz"']],
];
const BAD_TOPO: [string, string, (string | RegExp)[]][] = [
  ['a row with a missing column', `${HEADER}\nConv1, 224, 224, 11, 11, 3, 96,\n`, ['bad.csv', 'line 2', 'missing column "strides"']],
  ['a zero size', `${HEADER}\nConv1, 0, 224, 11, 11, 3, 96, 4,\n`, ['bad.csv', 'line 2', '"ifmap height" must be a positive integer']],
  ['a negative size', `${HEADER}\nConv1, 224, 224, 11, 11, -3, 96, 4,\n`, ['line 2', '"channels"']],
  [
    'a kernel larger than its input',
    `${HEADER}\nConv1, 224, 224, 11, 11, 3, 96, 4,\nConv2, 4, 4, 5, 5, 96, 256, 1,\n`,
    ['bad.csv', 'line 3', 'Conv2', 'kernel [5,5]', 'larger than the padded input 4×4'],
  ],
  ['an unknown header', 'Name, H, W\nx, 1, 1\n', ['bad.csv', 'line 1', 'unrecognised header']],
];

describe('bad input (library)', () => {
  for (const [what, text, parts] of BAD_HW) it(`hw-model: ${what}`, () => throwsInput(() => parseHwModelJson(text, 'bad.json'), ...parts));
  for (const [what, text, parts] of BAD_TOPO) it(`topology: ${what}`, () => throwsInput(() => parseTopologyCsv(text, 'bad.csv'), ...parts));
  it('unknown built-in names list what exists', () => {
    throwsInput(() => loadTopology('vgg99'), 'vgg99', 'built-ins: alexnet');
    throwsInput(() => loadHwModel('tpu9'), 'tpu9', 'dense-32x32');
  });
  it('delta mode on a hw-model without delta support, densities outside [0,1]', () => {
    throwsInput(() => simTopology(loadTopology('tiny'), loadHwModel('dense-32x32'), { mode: 'delta' }), 'has "delta": true');
    throwsInput(
      () => simTopology(loadTopology('tiny'), loadHwModel('zero-skip-32x32'), { mode: 'sparse', actDensity: 1.5 }),
      '--act-density',
    );
    throwsInput(
      () => simTopology(loadTopology('tiny'), loadHwModel('seneca-like'), { mode: 'delta', deltaDensity: -0.1 }),
      '--delta-density',
    );
  });
});

describe('bad input (CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'deltasim-sim-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });

  const cases: [string, string, string, string][] = [
    ['malformed JSON', 'bad.json', BAD_HW[0]![1], 'malformed JSON'],
    ['unknown key', 'bad.json', BAD_HW[1]![1], 'at /memories/l2KiB'],
    ['negative size', 'bad.json', BAD_HW[2]![1], 'at /rows'],
    ['topology row with a missing column', 'bad.csv', BAD_TOPO[0]![1], 'missing column'],
    ['zero size in a topology', 'bad.csv', BAD_TOPO[1]![1], 'must be a positive integer'],
    ['kernel larger than input', 'bad.csv', BAD_TOPO[3]![1], 'larger than the padded input'],
  ];
  for (const [what, file, text, msg] of cases)
    it(`${what}: exit 1, message on stderr, nothing written`, () => {
      writeFileSync(join(dir, file), text);
      const [model, arch] = file.endsWith('.json') ? ['tiny', file] : [file, 'dense-32x32'];
      const r = cli('simulate', '--model', model, '--arch', arch, '--out', 'out');
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr).to.include(msg).and.to.include(file);
      expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
      expect(existsSync(join(dir, 'out'))).to.equal(false);
    });

  it('--model names a trained model directory or another directory: exit 1 saying what to do, nothing written', () => {
    const trained = join(dir, 'trained');
    mkdirSync(trained);
    writeFileSync(join(trained, 'model.json'), '{}');
    const r = cli('simulate', '--model', 'trained', '--arch', 'delta-32x32', '--out', 'out');
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include('trained').and.include('a trained model, not a topology').and.include('deltasim trace --model');
    mkdirSync(join(dir, 'empty'));
    const e = cli('simulate', '--model', 'empty', '--arch', 'delta-32x32', '--out', 'out');
    expect(e.status, e.stderr).to.equal(1);
    expect(e.stderr).to.include('empty').and.include('neither a trace');
    for (const x of [r, e]) expect(x.stderr).to.not.match(/\n\s+at /);
    expect(existsSync(join(dir, 'out'))).to.equal(false);
  });

  it('a good run writes layers.csv (--layers), frames.csv, summary.json, run.json — byte-identical when repeated', () => {
    const args = ['simulate', '--model', 'tiny', '--arch', 'delta-32x32', '--mode', 'all', '--fps', '30', '--layers'];
    const a = cli(...args, '--out', 'a');
    const b = cli(...args, '--out', 'b', '--json');
    expect(a.status, a.stderr).to.equal(0);
    expect(b.status, b.stderr).to.equal(0);
    expect(a.stdout).to.include('speedup').and.to.include('delta');
    for (const f of ['layers.csv', 'frames.csv', 'summary.json'])
      expect(readFileSync(join(dir, 'a', f), 'utf8')).to.equal(readFileSync(join(dir, 'b', f), 'utf8'));
    expect(JSON.parse(b.stdout)).to.deep.equal(JSON.parse(readFileSync(join(dir, 'b', 'summary.json'), 'utf8')));
    const csv = readFileSync(join(dir, 'a', 'layers.csv'), 'utf8').split('\n');
    const cols = csv[0]!.split(',');
    for (const c of [
      'frame',
      'layer',
      'mode',
      'macs',
      'effective_macs',
      'compute_cycles',
      'stall_cycles',
      'cycles',
      'dram_bytes',
      'energy_pj',
    ])
      expect(cols).to.include(c);
    expect(csv.filter((l) => l !== '').length).to.equal(1 + 3 * 4); // header + 3 modes × 4 layers
    expect(JSON.parse(readFileSync(join(dir, 'a', 'run.json'), 'utf8')).argv).to.deep.equal([...args, '--out', 'a']);
  });
  it('arch list and arch show print what ships', () => {
    const l = cli('arch', 'list');
    expect(l.status, l.stderr).to.equal(0);
    for (const n of ['dense-32x32', 'zero-skip-32x32', 'delta-32x32', 'seneca-like', 'scalesim-32x32-os']) expect(l.stdout).to.include(n);
    const s = cli('arch', 'show', 'seneca-like');
    expect(s.status, s.stderr).to.equal(0);
    expect(s.stdout).to.include('event-driven many-core').and.to.include('round-robin').and.to.include('2.8');
  });
});
