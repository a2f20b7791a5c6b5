import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { ProceduralDataset, openDataset } from '../../src/video/index.js';
import { makeClip, rejection } from './helpers.js';

describe('video/openDataset', () => {
  let dir: string;
  let a: string;
  let b: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deltasim-open-'));
    a = join(dir, 'a.avi');
    b = join(dir, 'b.mp4');
    makeClip(a, 'testsrc=size=64x48:rate=10', 1);
    makeClip(b, 'testsrc=size=64x48:rate=10', 2);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('procedural with keys, sizes and seed from the options', async () => {
    const { kind, train, test } = await openDataset('procedural:classes=left+cw,train=10,test=4,noise=0.1,speed=2-3,antialias=0', {
      frames: 4,
      width: 32,
      height: 24,
      channels: 3,
      seed: 9,
    });
    expect(kind).to.equal('procedural');
    expect(train).to.be.instanceOf(ProceduralDataset);
    const p = (train as ProceduralDataset).options;
    expect([p.noise, p.speed, p.antialias, p.seed]).to.deep.equal([0.1, [2, 3], false, 9]);
    expect([train.size, test!.size]).to.deep.equal([10, 4]);
    expect(train.classes).to.deep.equal(['left', 'cw']);
    const c = await test!.get(1);
    expect([c.t, c.h, c.w, c.c, c.label]).to.deep.equal([4, 24, 32, 3, 1]);
    expect((await openDataset('procedural')).train.size).to.equal(576);
  });

  it('video files: file:A,B and a plain path', async () => {
    const two = await openDataset(`file:${a},${b}`, { frames: 4 });
    expect(two.kind).to.equal('file');
    expect(two.test).to.equal(undefined);
    expect(two.train.size).to.equal(4 + 9); // 10 frames → starts 0,2,4,6; 20 frames → 0,2,…,16
    const one = await openDataset(b, { frames: 8, fps: 5, width: 16, height: 16 });
    expect(one.train.size).to.equal(1); // 10 frames at 5 fps → start 0 only (4 + 8 > 10)
    expect((await one.train.get(0)).frames.length).to.equal(8 * 16 * 16);
  });

  it('bad specs are InputErrors that say what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['procedural:colour=red', /unknown key "colour"/],
      ['procedural:classes=left+jump', /unknown classes value "jump"/],
      ['procedural:noise=lots', /noise must be a number/],
      ['procedural:speed=3-1', /speed must be a range/],
      ['procedural:noise', /expected key=value/],
      ['ucf101:/nonexistent/ucf:split=4', /split must be 1, 2 or 3/],
      ['ucf101:/nonexistent/ucf', /\/nonexistent\/ucf: UCF101 root is not a directory/],
      ['kinetics:/data', /unknown dataset "kinetics:\/data"/],
      [join(dir, 'missing.avi'), /missing\.avi: no such video file/],
    ];
    for (const [spec, pattern] of cases) {
      const e = await rejection(openDataset(spec));
      expect(e, spec).to.be.instanceOf(InputError);
      expect(e.message, spec).to.match(pattern);
    }
  });
});
