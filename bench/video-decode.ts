/**
 * Frames per second of the video sources: procedural rendering at 64×64 gray (clean, and with
 * sensor noise + flicker), and ffmpeg decoding to 64×64 gray of a generated 320×240 25 fps clip
 * (UCF101's format): one streaming decode of the whole file, and 8-frame clip reads through
 * VideoFileDataset as training does them (with and without the decoded-video cache).
 *
 *   npx tsx bench/video-decode.ts [--seconds 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FFMPEG_PATH, ProceduralDataset, VideoFileDataset, decodeFrames } from '../src/video/index.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 2;

/** Runs `step` (returning frames done) until `seconds` have passed; frames per second. */
async function rate(step: () => number | Promise<number>): Promise<number> {
  await step(); // warm-up (JIT, page cache)
  let frames = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) frames += await step();
  return frames / ((performance.now() - t0) / 1000);
}

const fmt = (x: number) => x.toFixed(0).padStart(8);

for (const [name, opts] of [
  ['procedural 64×64×1, clean', {}],
  ['procedural 64×64×1, noise 0.05 + flicker 0.2', { noise: 0.05, flicker: 0.2 }],
] as const) {
  const ds = new ProceduralDataset({ ...opts, seed: 1 }, 'train');
  let i = 0;
  const fps = await rate(() => ds.render(i++ % ds.size).t);
  console.log(`${fmt(fps)} frames/s  ${name} (8-frame clips)`);
}

const dir = mkdtempSync(join(tmpdir(), 'deltasim-bench-'));
try {
  const file = join(dir, 'testsrc-320x240.avi');
  const made = spawnSync(FFMPEG_PATH, [
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-t',
    '20',
    '-q:v',
    '5',
    file,
  ]);
  if (made.status !== 0) throw new Error(`ffmpeg could not generate the clip: ${made.stderr}`);
  const gray = { width: 64, height: 64, channels: 1 } as const;
  const stream = await rate(async () => {
    let n = 0;
    for await (const _ of decodeFrames(file, gray)) n++;
    return n;
  });
  console.log(`${fmt(stream)} frames/s  ffmpeg decode 320×240 mpeg4 → 64×64 gray, streaming a 500-frame file`);
  for (const [name, cacheBytes] of [
    ['whole video decoded once and cached', undefined],
    ['cache off: one ranged ffmpeg decode per clip', 0],
  ] as const) {
    const ds = await VideoFileDataset.open([file], { ...gray, frames: 8, cacheBytes });
    let i = 0;
    const clips = await rate(async () => (await ds.get((i++ * 7) % ds.size)).t);
    console.log(`${fmt(clips)} frames/s  VideoFileDataset.get, 8-frame clips in shuffled order, ${name}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
