/**
 * `simulate --out` on a SCALE-Sim .cfg writes SCALE-Sim's own three reports beside the run, byte for byte
 * what SCALE-Sim v2 writes for the same topology and configuration (AlexNet, 32×32, 64 KB, os / ws / is), and
 * the run's DRAM bytes are SCALE-Sim's DRAM words (1-byte words) layer by layer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect } from 'chai';

const BIN = new URL('../../bin/deltasim.js', import.meta.url).pathname;
const FIX = new URL('../fixtures/scalesim/', import.meta.url).pathname;
const REPORTS = join(FIX, 'reports');

describe('simulate --out on a SCALE-Sim .cfg: SCALE-Sim’s reports', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-scalesim-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const df of ['os', 'ws', 'is'] as const)
    it(`AlexNet 32×32 ${df}: COMPUTE, BANDWIDTH and DETAILED_ACCESS reports equal SCALE-Sim v2's`, () => {
      const cfg = join(dir, `sa32x32_${df}.cfg`);
      writeFileSync(cfg, readFileSync(join(FIX, 'sa32x32_os.cfg'), 'utf8').replace(/Dataflow\s*:\s*os/, `Dataflow : ${df}`));
      const out = join(dir, `run-${df}`);
      const r = spawnSync(
        process.execPath,
        [BIN, 'simulate', '--model', join(FIX, 'alexnet.csv'), '--arch', cfg, '--mode', 'dense', '--layers', '--out', out],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      for (const [file, ref] of [
        ['COMPUTE_REPORT.csv', 'compute'],
        ['BANDWIDTH_REPORT.csv', 'bandwidth'],
        ['DETAILED_ACCESS_REPORT.csv', 'access'],
      ] as const)
        expect(readFileSync(join(out, file), 'utf8'), file).to.equal(readFileSync(join(REPORTS, `alexnet_32x32_${df}_${ref}.csv`), 'utf8'));
      // The simulation itself moves SCALE-Sim's DRAM words (1 byte each) and takes its cycles, without stalls.
      const access = parse(readFileSync(join(REPORTS, `alexnet_32x32_${df}_access.csv`), 'utf8'), { columns: true, trim: true }) as Record<
        string,
        string
      >[];
      const compute = parse(readFileSync(join(REPORTS, `alexnet_32x32_${df}_compute.csv`), 'utf8'), {
        columns: true,
        trim: true,
      }) as Record<string, string>[];
      const layers = parse(readFileSync(join(out, 'layers.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      expect(layers.length).to.equal(access.length);
      layers.forEach((l, i) => {
        const a = access[i]!;
        expect(+l.dram_read_bytes, l.layer).to.equal(+a['DRAM IFMAP Reads']! + +a['DRAM Filter Reads']!);
        expect(+l.dram_write_bytes, l.layer).to.equal(+a['DRAM OFMAP Writes']!);
        expect(+l.cycles, l.layer).to.equal(+compute[i]!['Total Cycles']!);
      });
    });
});
