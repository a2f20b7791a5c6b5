/**
 * Fuzz, end to end: a mutant of the topology fuzz that csv-parse itself refuses (a stray quote: the
 * class of input that crashed `deltasim simulate` with a CsvError stack, exit 70) now exits 1 with
 * one line on stderr naming the file and the line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect } from 'chai';
import { mutant } from './mutate.js';
import { tempDir, topologyFuzz } from './helpers.js';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;

/** The first topology-fuzz mutant whose CSV syntax csv-parse refuses, with its index. */
function firstCsvSyntaxError(): { i: number; bytes: Uint8Array; error: string } {
  const o = topologyFuzz();
  for (let i = 0; i < o.count; i++) {
    const { bytes } = mutant(o, i);
    try {
      parse(new TextDecoder().decode(bytes), { relax_column_count: true, skip_empty_lines: true, trim: true });
    } catch (e) {
      return { i, bytes, error: (e as Error).message };
    }
  }
  throw new Error('no topology-fuzz mutant breaks the CSV syntax');
}

describe('fuzz: a fuzzed topology CSV through the CLI', function () {
  this.timeout(60_000);

  it('exits 1 with one line of stderr naming the file and line, and writes nothing', () => {
    const { i, bytes, error } = firstCsvSyntaxError();
    expect(error, `mutant #${i}`).to.match(/quote/i);
    const dir = tempDir();
    writeFileSync(join(dir, 'fuzzed.csv'), bytes);
    const r = spawnSync(process.execPath, [BIN, 'simulate', '--model', 'fuzzed.csv', '--arch', 'dense-32x32', '--out', 'out'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.status, `mutant #${i}: ${r.stderr}`).to.equal(1);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^deltasim: fuzzed\.csv, line \d+: not valid CSV/);
    expect(existsSync(join(dir, 'out'))).to.equal(false);
  });
});
