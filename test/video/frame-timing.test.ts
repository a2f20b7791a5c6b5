import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoSource } from '../../src/record/sources.js';
import { nativeFps, probeVideo } from '../../src/video/ffmpeg.js';
import { makeClip } from './helpers.js';

const TREE = '/usr/share/doc/opencv-doc/examples/data/tree.avi';

async function readAll(src: Awaited<ReturnType<typeof videoSource>>): Promise<number> {
  let n = 0;
  for await (const _ of src.read()) n++;
  return n;
}

describe('video/frame timing', function () {
  this.timeout(60_000);
  let dir: string;
  let low: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-fps-'));
    low = join(dir, 'low.avi');
    makeClip(low, 'testsrc=size=32x24:rate=2', 4); // 8 frames, each different (testsrc draws a counter)
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records every decoded frame once at the native rate: no duplicates', async () => {
    const info = await probeVideo(low);
    expect(info.frames).to.equal(8);
    expect(nativeFps(info)).to.equal(2);
    const src = await videoSource(low, { frames: 8, channels: 1 });
    expect(src.fps).to.equal(2);
    expect(await readAll(src)).to.equal(8);
    expect(src.clip).to.deep.include({ nativeFps: 2, duplicatedFrames: 0 });
  });

  it('counts the copies that resampling above the native rate makes', async () => {
    const src = await videoSource(low, { frames: 30, channels: 1, fps: 10 });
    expect(src.fps).to.equal(10);
    expect(await readAll(src)).to.equal(30);
    // 30 frames at 10 fps span 3 s of a 2 fps clip: 6 distinct frames, 24 copies
    expect(src.clip).to.deep.include({ nativeFps: 2, duplicatedFrames: 24 });
  });

  it('tree.avi: its 68 decoded frames over 29.6 s are not padded to the declared 15 fps', async function () {
    if (!existsSync(TREE)) this.skip();
    const info = await probeVideo(TREE);
    expect(info.frames).to.equal(68);
    expect(info.fps).to.equal(15);
    expect(nativeFps(info)).to.be.closeTo(68 / 29.6, 1e-9);
    const src = await videoSource(TREE, { frames: 60, channels: 1, frameShape: [24, 32, 1], fps: 15 });
    await readAll(src);
    expect(src.clip.duplicatedFrames).to.be.greaterThan(40);
  });
});
