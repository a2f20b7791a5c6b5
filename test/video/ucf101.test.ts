import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import { openUcf101 } from '../../src/video/ucf101.js';
import { ffmpegChildren, makeClip, rejection } from './helpers.js';

const fmt = { width: 32, height: 32, channels: 1, frames: 4 } as const;

/**
 * A tiny UCF101: two classes, two 1-second 10 fps videos each, laid out as the official archives
 * unpack (UCF-101/<Class>/, ucfTrainTestlist/).
 */
function fakeUcf(root: string): void {
  const sources = { Drumming: 'testsrc=size=64x48:rate=10', Fencing: 'smptebars=size=64x48:rate=10' };
  for (const [cls, src] of Object.entries(sources)) {
    mkdirSync(join(root, 'UCF-101', cls), { recursive: true });
    for (const g of ['g01', 'g08']) makeClip(join(root, 'UCF-101', cls, `v_${cls}_${g}_c01.avi`), src, 1);
  }
  const lists = join(root, 'ucfTrainTestlist');
  mkdirSync(lists);
  writeFileSync(join(lists, 'classInd.txt'), '1 Drumming\n2 Fencing\n');
  writeFileSync(join(lists, 'trainlist01.txt'), 'Drumming/v_Drumming_g08_c01.avi 1\r\nFencing/v_Fencing_g08_c01.avi 2\r\n');
  // Case differs from the folder on purpose, as in the official HandstandPushups lists.
  writeFileSync(join(lists, 'testlist01.txt'), 'Drumming/v_Drumming_g01_c01.avi\nfencing/v_Fencing_G01_c01.avi\n');
}

describe('video/ucf101', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'deltasim-ucf-'));
    fakeUcf(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  afterEach(() => expect(ffmpegChildren()).to.deep.equal([]));

  it('opens the train and test lists of a split, with labels from classInd.txt', async () => {
    const { train, test } = await openUcf101(root, fmt);
    expect(train.classes).to.deep.equal(['Drumming', 'Fencing']);
    expect([train.size, test.size]).to.deep.equal([2, 2]);
    const labels = [];
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.size; i++) {
        const c = await ds.get(i);
        expect([c.t, c.h, c.w, c.c]).to.deep.equal([4, 32, 32, 1]);
        expect(c.frames.length).to.equal(4 * 32 * 32);
        expect(c.firstFrame).to.equal(2); // 10 frames: windows 0, 2, 4, 6; the middle one is the 2nd
        labels.push(c.label);
      }
    }
    expect(labels).to.deep.equal([0, 1, 0, 1]);
    expect((await test.get(1)).source).to.match(/UCF-101\/Fencing\/v_Fencing_g01_c01\.avi@2$/);
  });

  it('spreads several clips per video over its sliding windows', async () => {
    const { train } = await openUcf101(root, { ...fmt, clipsPerVideo: 4 });
    expect(train.size).to.equal(8);
    const starts = [];
    for (let i = 0; i < 4; i++) starts.push((await train.get(i)).firstFrame);
    expect(starts).to.deep.equal([0, 2, 4, 6]);
    expect((await train.get(4)).label).to.equal(1);
  });

  it('also finds lists and class folders directly in the root', async () => {
    const flat = mkdtempSync(join(tmpdir(), 'deltasim-ucf-flat-'));
    try {
      cpSync(join(root, 'UCF-101'), flat, { recursive: true });
      cpSync(join(root, 'ucfTrainTestlist'), flat, { recursive: true });
      const { train } = await openUcf101(flat, fmt);
      expect(train.size).to.equal(2);
      expect((await train.get(1)).label).to.equal(1);
    } finally {
      rmSync(flat, { recursive: true, force: true });
    }
  });

  describe('bad input ⇒ InputError naming the file', () => {
    let bad: string;
    beforeEach(() => {
      bad = mkdtempSync(join(tmpdir(), 'deltasim-ucf-bad-'));
      cpSync(root, bad, { recursive: true });
    });
    afterEach(() => rmSync(bad, { recursive: true, force: true }));

    it('a root without classInd.txt', async () => {
      rmSync(join(bad, 'ucfTrainTestlist', 'classInd.txt'));
      const e = await rejection(openUcf101(bad, fmt));
      expect(e).to.be.instanceOf(InputError);
      expect(e.message).to.include(join(bad, 'classInd.txt')).and.include('not found');
    });

    it('a missing split list', async () => {
      const e = await rejection(openUcf101(bad, { ...fmt, split: 2 }));
      expect(e).to.be.instanceOf(InputError);
      expect(e.message).to.include(join(bad, 'ucfTrainTestlist', 'trainlist02.txt'));
    });

    it('a listed video that is missing', async () => {
      rmSync(join(bad, 'UCF-101', 'Fencing', 'v_Fencing_g08_c01.avi'));
      const e = await rejection(openUcf101(bad, fmt));
      expect(e).to.be.instanceOf(InputError);
      expect(e.message).to.include('trainlist01.txt, line 2').and.include('v_Fencing_g08_c01.avi not found (1 of 2');
    });

    it('a label that disagrees with classInd.txt, and an unknown class', async () => {
      const list = join(bad, 'ucfTrainTestlist', 'trainlist01.txt');
      writeFileSync(list, 'Drumming/v_Drumming_g08_c01.avi 2\n');
      expect((await rejection(openUcf101(bad, fmt))).message)
        .to.include(`${list}, line 1`)
        .and.include('disagrees');
      writeFileSync(list, 'Boxing/v_Boxing_g08_c01.avi 1\n');
      expect((await rejection(openUcf101(bad, fmt))).message)
        .to.include(`${list}, line 1`)
        .and.include('not under a class folder');
    });

    it('a listed video that ffmpeg cannot decode (when its clip is read)', async () => {
      const video = join(bad, 'UCF-101', 'Drumming', 'v_Drumming_g08_c01.avi');
      writeFileSync(video, 'not a video');
      const { train } = await openUcf101(bad, fmt);
      const e = await rejection(train.get(0));
      expect(e).to.be.instanceOf(InputError);
      expect(e.message).to.include(video).and.include('cannot decode');
    });
  });
});
