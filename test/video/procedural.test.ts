import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';
import {
  MOTION_CLASSES,
  ProceduralDataset,
  proceduralSplits,
  type MotionClass,
  type ProceduralOptions,
} from '../../src/video/procedural.js';
import type { Clip } from '../../src/video/types.js';

const bytes = (c: Clip) => Buffer.from(c.frames.buffer, c.frames.byteOffset, c.frames.byteLength);

/** Per-frame weighted moments of |pixel − background| on a flat background (gray clips only). */
function moments(clip: Clip): { x: number; y: number; mass: number; angle: number }[] {
  const { h, w, t } = clip;
  const first = clip.frames.subarray(0, h * w);
  const bg = Float32Array.from(first).sort()[(h * w) >> 1]!; // the median: objects cover well under half
  const out = [];
  for (let f = 0; f < t; f++) {
    const frame = clip.frames.subarray(f * h * w, (f + 1) * h * w);
    let m = 0,
      sx = 0,
      sy = 0,
      sxx = 0,
      syy = 0,
      sxy = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const v = Math.abs(frame[y * w + x]! - bg);
        m += v;
        sx += v * x;
        sy += v * y;
        sxx += v * x * x;
        syy += v * y * y;
        sxy += v * x * y;
      }
    const cx = sx / m,
      cy = sy / m;
    const mu20 = sxx / m - cx * cx,
      mu02 = syy / m - cy * cy,
      mu11 = sxy / m - cx * cy;
    out.push({ x: cx, y: cy, mass: m, angle: 0.5 * Math.atan2(2 * mu11, mu20 - mu02) });
  }
  return out;
}

/** Clean clips of one class: flat background, no noise or flicker, so the object alone differs from the background. */
function cleanClips(motion: MotionClass, extra: ProceduralOptions = {}, n = 6): Clip[] {
  const ds = new ProceduralDataset({ classes: [motion], backgroundContrast: 0, trainClips: n, seed: 11, ...extra }, 'train');
  return Array.from({ length: n }, (_, i) => ds.render(i));
}

const steps = <T>(xs: T[]) => xs.slice(1).map((b, i) => [xs[i]!, b] as const);

describe('video/procedural', () => {
  it('same seed ⇒ identical bytes; other seed, split or index ⇒ different', () => {
    const a = proceduralSplits({ seed: 5, noise: 0.05, flicker: 0.1, channels: 3 });
    const b = proceduralSplits({ seed: 5, noise: 0.05, flicker: 0.1, channels: 3 });
    const c = proceduralSplits({ seed: 6, noise: 0.05, flicker: 0.1, channels: 3 });
    for (const i of [0, 7, 100]) expect(bytes(a.train.render(i)).equals(bytes(b.train.render(i)))).to.equal(true);
    expect(bytes(a.train.render(3)).equals(bytes(c.train.render(3)))).to.equal(false);
    expect(bytes(a.train.render(3)).equals(bytes(a.test.render(3)))).to.equal(false);
    expect(bytes(a.train.render(3)).equals(bytes(a.train.render(12)))).to.equal(false); // same class (3 + 9)
  });

  it('has the requested shape, labels, classes and values in [0, 1]', async () => {
    const ds = new ProceduralDataset(
      {
        width: 48,
        height: 32,
        channels: 3,
        frames: 5,
        classes: ['grow', 'left'],
        objects: 3,
        trainClips: 7,
        noise: 0.2,
        flicker: 0.5,
        seed: 1,
      },
      'train',
    );
    expect(ds.classes).to.deep.equal(['grow', 'left']);
    expect(ds.size).to.equal(7);
    const clip = await ds.get(3);
    expect([clip.t, clip.h, clip.w, clip.c, clip.label, clip.firstFrame]).to.deep.equal([5, 32, 48, 3, 1, 0]);
    expect(clip.frames.length).to.equal(5 * 32 * 48 * 3);
    expect(clip.source).to.equal('procedural:seed=1,split=train#3');
    let lo = Infinity,
      hi = -Infinity;
    for (const v of clip.frames) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).to.be.at.least(0);
    expect(hi).to.be.at.most(1);
    expect(hi - lo).to.be.greaterThan(0.5);
    const defaults = proceduralSplits();
    expect(defaults.train.classes).to.deep.equal([...MOTION_CLASSES]);
    expect([defaults.train.size, defaults.test.size]).to.deep.equal([576, 144]);
  });

  for (const [motion, dx, dy] of [
    ['left', -1, 0],
    ['right', 1, 0],
    ['up', 0, -1],
    ['down', 0, 1],
  ] as const) {
    it(`"${motion}" moves the object's centroid ${motion} every frame`, () => {
      for (const clip of cleanClips(motion)) {
        for (const [a, b] of steps(moments(clip))) {
          const along = (b.x - a.x) * dx + (b.y - a.y) * dy;
          const across = Math.abs((b.x - a.x) * dy - (b.y - a.y) * dx);
          expect(along, clip.source).to.be.greaterThan(0.5);
          expect(across, clip.source).to.be.lessThan(0.2);
        }
      }
    });
  }

  for (const [motion, sign] of [
    ['cw', 1],
    ['ccw', -1],
  ] as const) {
    it(`"${motion}" turns a bar ${motion === 'cw' ? 'clockwise' : 'counter-clockwise'} on screen, in place`, () => {
      for (const clip of cleanClips(motion, { shapes: ['bar'] })) {
        const m = moments(clip);
        for (const [a, b] of steps(m)) {
          // Orientation is defined modulo π; wrap the step into (−π/2, π/2].
          let d = b.angle - a.angle;
          d -= Math.PI * Math.round(d / Math.PI);
          expect(sign * d, clip.source).to.be.greaterThan(0.05);
        }
        // The weighted centroid circles the centre when the texture is lopsided, but does not travel.
        expect(Math.hypot(m.at(-1)!.x - m[0]!.x, m.at(-1)!.y - m[0]!.y)).to.be.lessThan(3);
      }
    });
  }

  for (const motion of ['grow', 'shrink'] as const) {
    it(`"${motion}" ${motion}s the object every frame`, () => {
      for (const clip of cleanClips(motion)) {
        for (const [a, b] of steps(moments(clip)))
          expect((motion === 'grow' ? 1 : -1) * (b.mass / a.mass - 1), clip.source).to.be.greaterThan(0.02);
      }
    });
  }

  it('"wave" oscillates: the centroid turns back at least once, translations never do', () => {
    const turnsBack = (clip: Clip) =>
      steps(steps(moments(clip)).map(([a, b]) => [b.x - a.x, b.y - a.y])).some(([u, v]) => u[0]! * v[0]! + u[1]! * v[1]! < 0);
    for (const clip of cleanClips('wave')) expect(turnsBack(clip), clip.source).to.equal(true);
    for (const clip of cleanClips('right')) expect(turnsBack(clip), clip.source).to.equal(false);
  });

  it('sensor noise changes pixels by about σ; the scene stays the same', () => {
    const clean = new ProceduralDataset({ seed: 2 }, 'train').render(4);
    const noisy = new ProceduralDataset({ seed: 2, noise: 0.05 }, 'train').render(4);
    let sum = 0;
    for (let i = 0; i < clean.frames.length; i++) sum += Math.abs(noisy.frames[i]! - clean.frames[i]!);
    const meanAbs = sum / clean.frames.length;
    expect(meanAbs).to.be.within(0.03, 0.05); // E|N(0, σ)| = 0.8σ = 0.04, less a little clamping
  });

  it('flicker varies the global brightness from frame to frame', () => {
    const spread = (flicker: number) => {
      const clip = new ProceduralDataset({ seed: 2, classes: ['cw'], flicker }, 'train').render(0);
      const n = clip.h * clip.w;
      const means = Array.from({ length: clip.t }, (_, f) => clip.frames.subarray(f * n, (f + 1) * n).reduce((s, v) => s + v, 0) / n);
      return Math.max(...means) - Math.min(...means);
    };
    expect(spread(0)).to.be.lessThan(0.01);
    expect(spread(0.3)).to.be.greaterThan(0.05);
  });

  it('rejects bad options with an InputError', () => {
    expect(() => new ProceduralDataset({ classes: ['jump' as MotionClass] }, 'train')).to.throw(InputError, /unknown motion class "jump"/);
    expect(() => new ProceduralDataset({ channels: 2 as 1 }, 'train')).to.throw(InputError, /channels/);
    expect(() => new ProceduralDataset({ speed: [3, 1] }, 'train')).to.throw(InputError, /speed/);
    expect(() => new ProceduralDataset({ noise: -1 }, 'train')).to.throw(InputError, /noise/);
  });
});
