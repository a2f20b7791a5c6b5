import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir, validTrace } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/deltasim.js'), 'trace', ...args], {
      cwd: ROOT,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

const edit = (path: string, f: (b: Buffer) => Buffer | string) => writeFileSync(path, f(readFileSync(path)));

/** Each bad-trace case: how to break a valid trace, and the file the error must name. */
const cases: [string, (dir: string) => void, string, RegExp][] = [
  [
    'truncated .npy',
    (d) => edit(join(d, 'pw3.npy'), (b) => b.subarray(0, b.length - 3)),
    'pw3.npy',
    /truncated .npy data.*byte offset|byte offset.*truncated/,
  ],
  [
    'corrupt magic',
    (d) =>
      edit(join(d, 'conv1.npy'), (b) => {
        b[1] = 0;
        return b;
      }),
    'conv1.npy',
    /byte offset 1: not a .npy file/,
  ],
  [
    'manifest/header shape mismatch',
    (d) => edit(join(d, 'manifest.json'), (b) => b.toString().replace('"input": [4, 4, 4]', '"input": [4, 4, 2]')),
    'pw3.npy',
    /disagrees/,
  ],
  [
    'manifest/header dtype mismatch',
    (d) => edit(join(d, 'manifest.json'), (b) => b.toString().replace('"dtype": "int8"', '"dtype": "int16"')),
    'fc4.npy',
    /dtype int8 disagrees/,
  ],
  ['missing file', (d) => rmSync(join(d, 'dw2.npy')), 'dw2.npy', /not found/],
  [
    'sha256 mismatch',
    (d) =>
      edit(join(d, 'fc4.npy'), (b) => {
        b[b.length - 1] ^= 4;
        return b;
      }),
    'fc4.npy',
    /sha256 mismatch/,
  ],
  [
    'schema violation',
    (d) => edit(join(d, 'manifest.json'), (b) => b.toString().replace('"fps": 15', '"fps": "fast"')),
    'manifest.json',
    /at \/fps: must be number/,
  ],
];

describe('CLI: deltasim trace', () => {
  it('inspect prints the per-layer table and overall row; --json gives the numbers', async () => {
    const dir = await validTrace();
    const [table, json] = await Promise.all([run('inspect', dir), run('inspect', dir, '--json', '--threshold', '1')]);
    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/^conv1\s+2304\s+\d+\.\d%/m);
    expect(table.stdout).to.match(/^overall\s+4672\s/m);
    const s = JSON.parse(json.stdout);
    expect(s.threshold).to.equal(1);
    expect(s.layers).to.have.length(4);
    expect(s.frames).to.have.length(8);
  });

  it('every bad-trace case exits 1, names the file on stderr and prints nothing on stdout', async () => {
    const dirs = await Promise.all(
      cases.map(async ([, breakIt]) => {
        const d = await validTrace();
        breakIt(d);
        return d;
      }),
    );
    const results = await Promise.all(dirs.map((d) => run('inspect', d)));
    results.forEach((r, i) => {
      const [what, , file, message] = cases[i]!;
      expect(r.code, what).to.equal(1);
      expect(r.stdout, what).to.equal('');
      expect(r.stderr, what).to.include(join(dirs[i]!, file));
      expect(r.stderr, what).to.match(message);
    });
  });

  it('synth writes a trace; bad input exits ≠ 0 and writes nothing', async () => {
    const out = join(tempDir(), 'new');
    const bad = join(tempDir(), 'bad');
    const [ok, badLayers, badDensity] = await Promise.all([
      run(
        'synth',
        '--out',
        out,
        '--seed',
        '5',
        '--frames',
        '3',
        '--layers',
        '[{"name":"a","op":"conv2d","input":[6,6,2],"outChannels":3}]',
      ),
      run('synth', '--out', bad, '--layers', '[{"name":"a","op":"conv2d","input":[6,6]}]'),
      run('synth', '--out', bad, '--density', '1.5'),
    ]);
    expect(ok.code).to.equal(0);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).layers[0].output).to.deep.equal([6, 6, 3]);
    expect(badLayers.code).to.equal(1);
    expect(badLayers.stderr).to.match(/--layers, at \/0\/input/);
    expect(badDensity.code).to.equal(1);
    expect(badDensity.stderr).to.match(/--density/);
    expect(existsSync(bad)).to.equal(false);
    const again = await run('synth', '--out', out);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/exists; pass --force/);
  });
});
