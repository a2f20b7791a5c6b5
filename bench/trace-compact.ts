/**
 * Compact trace benchmark: re-encode a recorded .npy trace as .deltas (`trace pack`), then report
 * the size ratio and, per encoding, how fast it reads (frame by frame over all layers, every value
 * touched), how long open + sha256 takes, and peak RSS. Each measurement runs in its own process;
 * both reads must give the same checksum (the same levels).
 *
 *   npm run build && node dist/bench/trace-compact.js --trace DIR [--out reports/bench-trace-compact.md] [--command "…"]
 *     [--longer DIR2 --longer-command "…"]
 *
 * DIR is an npy trace, e.g. `deltasim trace --graph human:centernet --video vtest.avi --threshold 0.05
 * --frames 20 --encoding npy --out DIR`. DIR2, optional, is a longer trace of any encoding whose size alone is
 * reported against the same levels as .npy (a long .npy trace may not fit on the disk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../lib/atomic.js';
import { packagePath } from '../lib/package-dir.js';
import { packTrace } from '../traces/pack.js';
import { frameReader, openTrace } from '../traces/reader.js';
import { storageOf } from '../traces/storage.js';
import { codeRun, medians, runChild } from './self.js';

interface Read {
  frames: number;
  layers: number;
  /** Bytes of levels per pass (all layers, all frames, as dense arrays). */
  levelBytes: number;
  fileBytes: number;
  /** A pass that only reads (the reader's own speed). */
  readSeconds: number;
  /** A pass whose consumer touches every value (a checksum). */
  touchSeconds: number;
  openSeconds: number;
  verifySeconds: number;
  peakRssMiB: number;
  checksum: number;
}

const SELF = fileURLToPath(import.meta.url);
const REPEATS = 3;

/** Child: open (with and without sha256) and one timed read of the trace in `dir`. */
function child(dir: string): void {
  const t0 = performance.now();
  const trace = openTrace(dir, { verify: false });
  const openSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  openTrace(dir, { verify: true });
  const verifySeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  let n = 0;
  for (const frames of frameReader(trace)) n += frames.length;
  const readSeconds = (performance.now() - t2) / 1000;
  const t3 = performance.now();
  let checksum = 0; // every value touched: the read cannot be skipped, and both encodings must agree
  for (const frames of frameReader(trace))
    for (const f of frames) for (let i = 0; i < f.length; i++) checksum = (checksum + f[i]! * (i + 1)) % 2 ** 40;
  const touchSeconds = (performance.now() - t3) / 1000;
  if (n !== trace.manifest.frames * trace.layers.length) throw new Error(`read ${n} layer frames`);
  const s = storageOf(trace);
  const r: Read = {
    frames: trace.manifest.frames,
    layers: trace.layers.length,
    levelBytes: trace.layers.reduce((a, l) => a + l.frames * l.frameBytes, 0),
    fileBytes: s.fileBytes,
    readSeconds,
    touchSeconds,
    openSeconds,
    verifySeconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    checksum,
  };
  console.log(JSON.stringify(r));
}

async function main(src: string, out: string, command: string | undefined, longer?: { dir: string; command?: string }): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'deltasim-bench-compact-'));
  try {
    const packed = join(work, 'deltas');
    const t0 = performance.now();
    await packTrace(src, packed, 'deltas', { verify: false });
    const packSeconds = (performance.now() - t0) / 1000;
    const npy = medians(Array.from({ length: REPEATS }, () => runChild<Read>(SELF, ['--child', src])));
    const deltas = medians(Array.from({ length: REPEATS }, () => runChild<Read>(SELF, ['--child', packed])));
    if (npy.checksum !== deltas.checksum) throw new Error(`checksums differ: npy ${npy.checksum}, deltas ${deltas.checksum}`);
    const m = openTrace(src, { verify: false }).manifest;
    const MB = (b: number) => (b / 1e6).toFixed(1);
    const row = (name: string, r: Read) =>
      `| ${name} | ${MB(r.fileBytes)} MB | ${(r.frames / r.readSeconds).toFixed(1)} frames/s, ${MB(r.levelBytes / r.readSeconds)} MB/s of levels (${r.readSeconds.toFixed(2)} s) | ` +
      `${(r.frames / r.touchSeconds).toFixed(1)} frames/s (${r.touchSeconds.toFixed(2)} s) | ` +
      `${r.openSeconds.toFixed(3)} s | ${r.verifySeconds.toFixed(2)} s | ${r.peakRssMiB.toFixed(0)} MiB |`;
    const lines = [
      '# Compact trace benchmark (.deltas against .npy)',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores),`,
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${platform()} ${release()}, Node ${process.version}; one core, synchronous reads.`,
      'The machine was shared with other processes while this ran: timings are indicative (sizes are exact).',
      '',
      `Trace: \`${m.model.name}\`${m.clip ? ` on \`${m.clip.source}\`` : ''}, ${m.frames} frames × ${m.layers.length} MAC layers,` +
        ` ${MB(npy.levelBytes / m.frames)} MB of levels per frame${command ? `, recorded with \`${command}\`` : ''}.`,
      `Reads: median of ${REPEATS} runs, each in a fresh process (peak RSS = that process's maxRSS, Node included);` +
        ' the .npy files were in the page cache (they had just been packed), so the npy figures are not disk-bound either.',
      `Code measured: ${codeRun(SELF)}.`,
      '',
      `**Size: ${MB(deltas.fileBytes)} MB as .deltas against ${MB(npy.fileBytes)} MB as .npy = ${((100 * deltas.fileBytes) / npy.fileBytes).toFixed(1)} %**` +
        ` (${MB(deltas.fileBytes / m.frames)} MB per frame). Packing (read .npy, encode, write, sha256) took ${packSeconds.toFixed(1)} s` +
        ` (${(m.frames / packSeconds).toFixed(1)} frames/s).`,
      '',
      '| encoding | layer files | read alone (frame by frame, all layers) | read + a checksum of every value | open | open + sha256 | peak RSS |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('npy', npy),
      row('deltas', deltas),
      '',
      'Both reads give the same checksum over every level of every frame.',
      '',
      ...(longer ? longerLines(longer.dir, longer.command) : []),
      `Reproduce: \`npm run build && node dist/bench/trace-compact.js --trace DIR${command ? ` --command '${command}'` : ''}` +
        `${longer ? ` --longer DIR2${longer.command ? ` --longer-command '${longer.command}'` : ''}` : ''}\` (writes this file).`,
      '',
    ];
    writeFileAtomic(out, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Size alone of a longer trace, against the same levels as .npy. */
function longerLines(dir: string, command: string | undefined): string[] {
  const trace = openTrace(dir, { verify: true });
  const s = storageOf(trace);
  const m = trace.manifest;
  const MB = (b: number) => (b / 1e6).toFixed(1);
  const by = Object.entries(s.layersByEncoding).map(([e, n]) => `${n} ${e}`);
  return [
    `A longer trace, ${m.frames} frames of \`${m.model.name}\`${command ? ` (\`${command}\`)` : ''}: ${by.join(', ')} layer files,` +
      ` ${MB(s.fileBytes)} MB against ${MB(s.npyBytes)} MB as .npy = **${((100 * s.fileBytes) / s.npyBytes).toFixed(1)} %**` +
      ` (${MB(s.fileBytes / m.frames)} MB per frame; sha256 checked). At that rate 500 frames would take` +
      ` ${((500 * s.fileBytes) / m.frames / 1e9).toFixed(1)} GB (extrapolated, not measured) against ${((500 * s.npyBytes) / m.frames / 1e9).toFixed(1)} GB as .npy.`,
    '',
  ];
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
if (args[0] === '--child') child(args[1]!);
else {
  const src = flag('--trace');
  if (!src) throw new Error('usage: trace-compact --trace DIR [--out FILE] [--command "how DIR was recorded"]');
  const longer = flag('--longer');
  const cmd = flag('--longer-command');
  await main(
    src,
    flag('--out') ?? packagePath('reports', 'bench-trace-compact.md'),
    flag('--command'),
    longer ? { dir: longer, ...(cmd ? { command: cmd } : {}) } : undefined,
  );
}
