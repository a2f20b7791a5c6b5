import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { DecodedVideoCache, VideoFileDataset, decodeFrames, probeVideo, readFrames, slidingWindows } from '../../src/video/ffmpeg.js';
import { ffmpegChildren, makeClip, rejection } from './helpers.js';

describe('video/ffmpeg', () => {
  let dir: string;
  let clip: string; // testsrc 128×96, 10 fps, 2 s = 20 frames
  const gray = { width: 64, height: 48, channels: 1 } as const;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-video-'));
    clip = join(dir, 'testsrc.avi');
    makeClip(clip, 'testsrc=size=128x96:rate=10', 2);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => expect(ffmpegChildren()).to.deep.equal([]));

  it('probes size, frame rate and the exact frame count', async () => {
    expect(await probeVideo(clip)).to.deep.equal({ frames: 20, width: 128, height: 96, fps: 10, duration: 2 });
    expect((await probeVideo(clip, { fps: 5 })).frames).to.equal(10);
  });

  it('decodes every frame, scaled, gray or RGB, values in [0, 1]', async () => {
    const g = await readFrames(clip, gray);
    expect(g.count).to.equal(20);
    expect(g.frames.length).to.equal(20 * 64 * 48);
    let lo = Infinity,
      hi = -Infinity;
    for (const v of g.frames) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).to.be.at.least(0);
    expect(hi).to.be.at.most(1);
    expect(hi - lo).to.be.greaterThan(0.5);
    // testsrc moves: consecutive frames differ.
    const n = 64 * 48;
    expect(Buffer.from(g.frames.slice(0, n).buffer).equals(Buffer.from(g.frames.slice(n, 2 * n).buffer))).to.equal(false);

    const rgb = await readFrames(clip, { width: 32, height: 24, channels: 3 });
    expect(rgb.frames.length).to.equal(20 * 32 * 24 * 3);
    let colourful = 0;
    for (let i = 0; i < rgb.frames.length; i += 3) if (Math.abs(rgb.frames[i]! - rgb.frames[i + 1]!) > 0.2) colourful++;
    expect(colourful).to.be.greaterThan(100); // testsrc has colour bars; gray would give 0
  });

  it('returns a frame range identical to the same frames of a full decode, and resamples fps', async () => {
    const all = await readFrames(clip, gray);
    const part = await readFrames(clip, gray, { start: 5, count: 4 });
    const n = 64 * 48;
    expect(part.count).to.equal(4);
    expect(Array.from(part.frames)).to.deep.equal(Array.from(all.frames.subarray(5 * n, 9 * n)));
    expect((await readFrames(clip, { ...gray, fps: 5 })).count).to.equal(10);
  });

  it('stops ffmpeg when the consumer stops early', async () => {
    // Full-size RGB: 20 frames are 737 kB, more than a pipe holds, so ffmpeg is still running at the break.
    const full = { width: 128, height: 96, channels: 3 } as const;
    let seen = 0;
    for await (const frame of decodeFrames(clip, full)) {
      expect(frame.length).to.equal(128 * 96 * 3);
      if (++seen === 2) {
        expect(ffmpegChildren()).to.have.length(1);
        break;
      }
    }
    expect(seen).to.equal(2);
    expect(ffmpegChildren()).to.deep.equal([]);
  });

  it('lays out sliding windows with stride ⌈T/2⌉', () => {
    expect(slidingWindows(20, 8)).to.deep.equal([0, 4, 8, 12]);
    expect(slidingWindows(20, 5)).to.deep.equal([0, 3, 6, 9, 12, 15]);
    expect(slidingWindows(7, 8)).to.deep.equal([]);
    expect(slidingWindows(8, 8)).to.deep.equal([0]);
  });

  it('a dataset over files yields the sliding-window clips, unlabelled or labelled by a class map', async () => {
    const ds = await VideoFileDataset.open([clip], { ...gray, frames: 6 });
    expect(ds.size).to.equal(5); // starts 0, 3, 6, 9, 12 (12 + 6 ≤ 20 < 15 + 6)
    expect(ds.classes).to.deep.equal([]);
    const all = await readFrames(clip, gray);
    const n = 64 * 48;
    const c = await ds.get(2);
    expect([c.t, c.h, c.w, c.c, c.label, c.firstFrame, c.source]).to.deep.equal([6, 48, 64, 1, -1, 6, `file:${clip}@6`]);
    expect(Array.from(c.frames)).to.deep.equal(Array.from(all.frames.subarray(6 * n, 12 * n)));

    const uncached = await VideoFileDataset.open([clip], { ...gray, frames: 6, cacheBytes: 0 }); // ranged decodes
    expect(Array.from((await uncached.get(2)).frames)).to.deep.equal(Array.from(c.frames));

    const labelled = await VideoFileDataset.open([clip, clip], {
      ...gray,
      frames: 8,
      classOf: { [clip]: 'bars' },
      classes: ['none', 'bars'],
    });
    expect(labelled.size).to.equal(8);
    expect((await labelled.get(5)).label).to.equal(1);
  });

  it('the decoded-video cache keeps recent videos within its byte budget', async () => {
    const other = join(dir, 'other.avi');
    makeClip(other, 'testsrc=size=64x48:rate=10', 1);
    const oneVideo = 20 * 64 * 48 * 4;
    const cache = new DecodedVideoCache(gray, oneVideo + 1);
    const first = cache.read(clip);
    expect((await first).count).to.equal(20);
    expect(cache.read(clip)).to.equal(first); // a hit: no new decode
    expect((await cache.read(other)).count).to.equal(10); // clip + other exceed the budget: clip goes
    expect(cache.read(clip)).to.not.equal(first);
    await cache.read(clip);
  });

  it('a missing file is an InputError naming it', async () => {
    const missing = join(dir, 'nope.avi');
    const e = await rejection(probeVideo(missing));
    expect(e).to.be.instanceOf(InputError);
    expect(e.message)
      .to.include(missing)
      .and.match(/no such video file/);
    expect(await rejection(VideoFileDataset.open([missing], { ...gray, frames: 4 }))).to.be.instanceOf(InputError);
  });

  it("a text file renamed .avi is an InputError naming it, with ffmpeg's reason", async () => {
    const fake = join(dir, 'fake.avi');
    writeFileSync(fake, 'this is not a video\n'.repeat(20));
    for (const decode of [() => probeVideo(fake), () => readFrames(fake, gray)]) {
      const e = await rejection(decode());
      expect(e).to.be.instanceOf(InputError);
      expect(e.message)
        .to.include(fake)
        .and.match(/cannot decode.*Invalid data/);
    }
  });

  it('a video shorter than one clip is an InputError', async () => {
    const e = await rejection(VideoFileDataset.open([clip], { ...gray, frames: 21 }));
    expect(e).to.be.instanceOf(InputError);
    expect(e.message).to.include(clip).and.include('20 frames');
  });

  it('decodes a real clip from opencv-doc when installed', async function () {
    const tree = '/usr/share/doc/opencv-doc/examples/data/tree.avi';
    if (!existsSync(tree)) this.skip();
    const info = await probeVideo(tree);
    expect(info.frames).to.be.greaterThan(8);
    const ds = await VideoFileDataset.open([tree], { ...gray, frames: 8 });
    expect(ds.size).to.equal(slidingWindows(info.frames, 8).length);
    expect((await ds.get(ds.size - 1)).frames.length).to.equal(8 * 64 * 48);
  });
});
