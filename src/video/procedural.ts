/**
 * A procedural action dataset: a static camera over a textured background, with one or more
 * textured objects that all perform the clip's class of motion. It stands in for UCF101 when no
 * real video is at hand and gives known ground truth (what moved, how fast) for sparsity studies.
 *
 * Everything is drawn from a seeded sfc32 stream per clip, so the same options and seed give
 * byte-identical clips; train and test use disjoint generator states. Rendering is plain
 * typed-array rasterisation of signed-distance shapes (coverage from the distance gives cheap
 * antialiasing), fast enough to render on the fly during training.
 *
 * Conventions: x grows to the right, y grows downwards (image rows), so an increasing angle turns
 * an object clockwise on screen.
 */
import { InputError } from '../../lib/errors.js';
import { Rng } from '../../lib/prng.js';
import type { Clip, ClipDataset } from './types.js';

export const MOTION_CLASSES = ['left', 'right', 'up', 'down', 'cw', 'ccw', 'grow', 'shrink', 'wave'] as const;
export type MotionClass = (typeof MOTION_CLASSES)[number];

export const SHAPES = ['disc', 'square', 'triangle', 'bar'] as const;
export type Shape = (typeof SHAPES)[number];

export type Range = readonly [number, number];

export interface ProceduralOptions {
  /** Frame width and height in pixels (default 64 × 64). */
  width?: number;
  height?: number;
  /** 1 = gray, 3 = RGB (default 1). */
  channels?: 1 | 3;
  /** Frames per clip (default 8, the authors' first-phase clip length). */
  frames?: number;
  /** Subset of motion classes, in label order (default all 9). */
  classes?: readonly MotionClass[];
  /** Objects per clip, all doing the clip's motion (default 1). */
  objects?: number;
  /** Shapes to draw from (default all). */
  shapes?: readonly Shape[];
  /** Object radius as a fraction of min(width, height) (default [0.12, 0.2]). */
  radius?: Range;
  /** Translation speed and wave peak speed in pixels per frame (default [1, 2.5]); lowered where needed to keep the object in frame. */
  speed?: Range;
  /** Rotation speed in radians per frame (default [0.1, 0.25]). */
  angularSpeed?: Range;
  /** Relative size change per frame for grow / shrink (default [0.04, 0.1]). */
  scaleRate?: Range;
  /** Wave period in frames (default [4, 8]). */
  wavePeriod?: Range;
  /** Background texture contrast, 0 = flat (default 0.5). */
  backgroundContrast?: number;
  /** Sensor noise: standard deviation of additive gaussian noise per pixel (default 0). */
  noise?: number;
  /** Illumination flicker: each frame's global gain is uniform in [1 − f, 1 + f] (default 0). */
  flicker?: number;
  /** Antialiased object edges (default true). */
  antialias?: boolean;
  /** Clips in the train / test split (default 64 and 16 per class). */
  trainClips?: number;
  testClips?: number;
  seed?: number;
}

type Resolved = Required<ProceduralOptions>;

/** Per-object motion and appearance, fixed for the clip. Pose at frame t comes from `poseAt`. */
interface Track {
  shape: number; // index into SHAPES
  radius: number; // px at scale 1
  x0: number;
  y0: number;
  vx: number;
  vy: number;
  theta0: number;
  omega: number;
  logScaleRate: number;
  waveAx: number;
  waveAy: number;
  waveOmega: number;
  wavePhase: number;
  /** Texture: kind 0 stripes, 1 checker, 2 linear ramp; frequency; per-channel base and amplitude. */
  texture: number;
  freq: number;
  phase: number;
  base: Float32Array;
  amp: number;
}

const SPLIT_TAG = { train: 0x7261696e, test: 0x74657374 } as const;
/** Bounding radius of each shape in object units (radius 1 = the shape's nominal size). */
const SHAPE_BOUND = [1, 0.8 * Math.SQRT2, 1, Math.hypot(1, 0.35)];
const SQRT3_2 = Math.sqrt(3) / 2;

export function resolveProceduralOptions(opts: ProceduralOptions = {}): Resolved {
  const classes = opts.classes ?? MOTION_CLASSES;
  const r: Resolved = {
    width: opts.width ?? 64,
    height: opts.height ?? 64,
    channels: opts.channels ?? 1,
    frames: opts.frames ?? 8,
    classes,
    objects: opts.objects ?? 1,
    shapes: opts.shapes ?? SHAPES,
    radius: opts.radius ?? [0.12, 0.2],
    speed: opts.speed ?? [1, 2.5],
    angularSpeed: opts.angularSpeed ?? [0.1, 0.25],
    scaleRate: opts.scaleRate ?? [0.04, 0.1],
    wavePeriod: opts.wavePeriod ?? [4, 8],
    backgroundContrast: opts.backgroundContrast ?? 0.5,
    noise: opts.noise ?? 0,
    flicker: opts.flicker ?? 0,
    antialias: opts.antialias ?? true,
    trainClips: opts.trainClips ?? 64 * classes.length,
    testClips: opts.testClips ?? 16 * classes.length,
    seed: opts.seed ?? 0,
  };
  validate(r);
  return r;
}

function validate(o: Resolved): void {
  const bad = (what: string) => {
    throw new InputError(`procedural dataset: ${what}`);
  };
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${v}`);
  };
  posInt(o.width, 'width');
  posInt(o.height, 'height');
  posInt(o.frames, 'frames');
  posInt(o.objects, 'objects');
  if (!Number.isInteger(o.trainClips) || o.trainClips < 0) bad(`trainClips must be a non-negative integer, got ${o.trainClips}`);
  if (!Number.isInteger(o.testClips) || o.testClips < 0) bad(`testClips must be a non-negative integer, got ${o.testClips}`);
  if (Math.min(o.width, o.height) < 8) bad(`frames must be at least 8×8 pixels, got ${o.width}×${o.height}`);
  if (o.channels !== 1 && o.channels !== 3) bad(`channels must be 1 or 3, got ${o.channels}`);
  if (o.classes.length === 0) bad('at least one motion class is needed');
  for (const c of o.classes) if (!MOTION_CLASSES.includes(c)) bad(`unknown motion class "${c}" (known: ${MOTION_CLASSES.join(', ')})`);
  if (new Set(o.classes).size !== o.classes.length) bad('motion classes must be distinct');
  if (o.shapes.length === 0) bad('at least one shape is needed');
  for (const s of o.shapes) if (!SHAPES.includes(s)) bad(`unknown shape "${s}" (known: ${SHAPES.join(', ')})`);
  const ranges: [string, Range, number, number][] = [
    ['radius', o.radius, 0.01, 0.45],
    ['speed', o.speed, 0, Infinity],
    ['angularSpeed', o.angularSpeed, 0, Math.PI],
    ['scaleRate', o.scaleRate, 0, 1],
    ['wavePeriod', o.wavePeriod, 2, Infinity],
  ];
  for (const [name, [lo, hi], min, max] of ranges) {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi && lo >= min && hi <= max))
      bad(`${name} must be a range lo ≤ hi within [${min}, ${max}], got [${lo}, ${hi}]`);
  }
  for (const [name, v] of [
    ['noise', o.noise],
    ['flicker', o.flicker],
    ['backgroundContrast', o.backgroundContrast],
  ] as const) {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) bad(`${name} must be in [0, 1], got ${v}`);
  }
}

/**
 * One split of the procedural dataset. Clip i has label i mod |classes| (balanced, in class order;
 * shuffle in the training loop) and its own generator state (seed, split, i).
 */
export class ProceduralDataset implements ClipDataset {
  readonly classes: readonly string[];
  readonly size: number;
  readonly options: Readonly<Resolved>;

  constructor(
    opts: ProceduralOptions,
    readonly split: 'train' | 'test',
  ) {
    this.options = resolveProceduralOptions(opts);
    this.classes = this.options.classes;
    this.size = split === 'train' ? this.options.trainClips : this.options.testClips;
  }

  async get(index: number): Promise<Clip> {
    return this.render(index);
  }

  /** Synchronous rendering, for benchmarks and callers that do not need the async contract. */
  render(index: number): Clip {
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`clip index ${index} out of range [0, ${this.size})`);
    const o = this.options;
    const label = index % o.classes.length;
    const rng = new Rng(o.seed, SPLIT_TAG[this.split], index);
    const frames = renderClip(o, o.classes[label]!, rng);
    return {
      frames,
      t: o.frames,
      h: o.height,
      w: o.width,
      c: o.channels,
      label,
      source: `procedural:seed=${o.seed},split=${this.split}#${index}`,
      firstFrame: 0,
    };
  }
}

export function proceduralSplits(opts: ProceduralOptions = {}): { train: ProceduralDataset; test: ProceduralDataset } {
  return { train: new ProceduralDataset(opts, 'train'), test: new ProceduralDataset(opts, 'test') };
}

function renderClip(o: Resolved, motion: MotionClass, rng: Rng): Float32Array {
  const { width: W, height: H, channels: C, frames: T } = o;
  const bg = valueNoiseBackground(o, rng);
  const bgMean = bg.mean;
  const tracks: Track[] = [];
  for (let k = 0; k < o.objects; k++) tracks.push(makeTrack(o, motion, rng, bgMean));
  const frameSize = H * W * C;
  const out = new Float32Array(T * frameSize);
  for (let t = 0; t < T; t++) {
    const frame = out.subarray(t * frameSize, (t + 1) * frameSize);
    frame.set(bg.pixels);
    for (const tr of tracks) drawObject(frame, o, tr, t);
    const gain = o.flicker > 0 ? rng.range(1 - o.flicker, 1 + o.flicker) : 1;
    finishFrame(frame, gain, o.noise, rng);
  }
  return out;
}

/** Multiplies by the flicker gain, adds sensor noise and clamps to [0, 1]. */
function finishFrame(frame: Float32Array, gain: number, sigma: number, rng: Rng): void {
  for (let i = 0; i < frame.length; i++) {
    let v = frame[i]! * gain;
    if (sigma > 0) v += sigma * rng.gauss();
    frame[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Three octaves of smooth value noise, fixed for the clip (static camera). */
function valueNoiseBackground(o: Resolved, rng: Rng): { pixels: Float32Array; mean: number } {
  const { width: W, height: H, channels: C } = o;
  const mean = rng.range(0.35, 0.65);
  const pixels = new Float32Array(H * W * C);
  const acc = new Float32Array(H * W);
  for (let ch = 0; ch < C; ch++) {
    acc.fill(0);
    let amp = 0.5;
    let total = 0;
    for (let cell = Math.max(4, Math.min(W, H) >> 2); cell >= 4 && amp > 0.1; cell >>= 1, amp /= 2) {
      addValueNoiseOctave(acc, W, H, cell, amp, rng);
      total += amp;
    }
    const chMean = C === 1 ? mean : mean + rng.range(-0.1, 0.1);
    for (let p = 0; p < H * W; p++) pixels[p * C + ch] = chMean + o.backgroundContrast * (acc[p]! / total - 0.5);
  }
  return { pixels, mean };
}

function addValueNoiseOctave(acc: Float32Array, W: number, H: number, cell: number, amp: number, rng: Rng): void {
  const gw = Math.ceil(W / cell) + 1;
  const gh = Math.ceil(H / cell) + 1;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  for (let y = 0; y < H; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    const fy = smooth(gy - iy);
    for (let x = 0; x < W; x++) {
      const gx = x / cell;
      const ix = Math.floor(gx);
      const fx = smooth(gx - ix);
      const a = grid[iy * gw + ix]!;
      const b = grid[iy * gw + ix + 1]!;
      const c = grid[(iy + 1) * gw + ix]!;
      const d = grid[(iy + 1) * gw + ix + 1]!;
      acc[y * W + x]! += amp * (a + (b - a) * fx + (c - a + (a - b - c + d) * fx) * fy);
    }
  }
}

function smooth(f: number): number {
  return f * f * (3 - 2 * f);
}

function makeTrack(o: Resolved, motion: MotionClass, rng: Rng, bgMean: number): Track {
  const { width: W, height: H, frames: T } = o;
  const span = Math.max(1, T - 1);
  const shape = SHAPES.indexOf(rng.pick(o.shapes));
  let radius = rng.range(o.radius[0], o.radius[1]) * Math.min(W, H);
  let bound = SHAPE_BOUND[shape]! * radius; // px from centre to the farthest shape point
  const tr: Track = {
    shape,
    radius,
    x0: 0,
    y0: 0,
    vx: 0,
    vy: 0,
    theta0: rng.range(0, 2 * Math.PI),
    omega: 0,
    logScaleRate: 0,
    waveAx: 0,
    waveAy: 0,
    waveOmega: 0,
    wavePhase: 0,
    texture: rng.int(3),
    freq: rng.range(2.5, 5),
    phase: rng.range(0, 2 * Math.PI),
    base: new Float32Array(o.channels),
    amp: rng.range(0.12, 0.25),
  };
  // Objects contrast with the background: their base intensity lies on the other side of its mean.
  const dark = bgMean > 0.5;
  for (let ch = 0; ch < o.channels; ch++) tr.base[ch] = dark ? rng.range(0.05, 0.3) : rng.range(0.7, 0.95);
  // A centre coordinate uniform where the object (plus `extra` px of travel) stays in frame.
  const place = (size: number, extra: number) => rng.range(bound, Math.max(bound, size - bound - extra));

  switch (motion) {
    case 'left':
    case 'right':
    case 'up':
    case 'down': {
      const horizontal = motion === 'left' || motion === 'right';
      const room = Math.max(0, (horizontal ? W : H) - 2 * bound);
      const v = Math.min(rng.range(o.speed[0], o.speed[1]), room / span);
      const along = place(horizontal ? W : H, v * span);
      const across = place(horizontal ? H : W, 0);
      const sign = motion === 'right' || motion === 'down' ? 1 : -1;
      const start = sign > 0 ? along : (horizontal ? W : H) - along;
      if (horizontal) Object.assign(tr, { x0: start, y0: across, vx: sign * v });
      else Object.assign(tr, { x0: across, y0: start, vy: sign * v });
      break;
    }
    case 'cw':
    case 'ccw': {
      tr.omega = (motion === 'cw' ? 1 : -1) * rng.range(o.angularSpeed[0], o.angularSpeed[1]);
      Object.assign(tr, { x0: place(W, 0), y0: place(H, 0) });
      break;
    }
    case 'grow':
    case 'shrink': {
      const rate = rng.range(o.scaleRate[0], o.scaleRate[1]);
      // Grow ends at most at 0.4·min(W, H) across; shrink ends at least 2 px across.
      const maxBound = 0.4 * Math.min(W, H);
      const minRadius = 2;
      if (motion === 'grow') {
        const total = Math.min(rate * span, Math.log(Math.max(1.01, maxBound / bound)));
        if (bound * Math.exp(total) > maxBound) {
          radius = maxBound / Math.exp(total) / SHAPE_BOUND[shape]!;
          bound = SHAPE_BOUND[shape]! * radius;
        }
        tr.logScaleRate = total / span;
        const endBound = bound * Math.exp(total);
        tr.x0 = rng.range(endBound, Math.max(endBound, W - endBound));
        tr.y0 = rng.range(endBound, Math.max(endBound, H - endBound));
      } else {
        const total = Math.min(rate * span, Math.log(Math.max(1.01, radius / minRadius)));
        tr.logScaleRate = -total / span;
        Object.assign(tr, { x0: place(W, 0), y0: place(H, 0) });
      }
      tr.radius = radius;
      break;
    }
    case 'wave': {
      const period = rng.range(o.wavePeriod[0], o.wavePeriod[1]);
      const w = (2 * Math.PI) / period;
      // Peak speed = amplitude · ω; the amplitude is capped so the swing stays in frame.
      const axis = rng.range(0, Math.PI);
      const room = Math.max(0, Math.min(W, H) / 2 - bound - 1);
      const a = Math.min(rng.range(o.speed[0], o.speed[1]) / w, room);
      Object.assign(tr, {
        waveAx: a * Math.cos(axis),
        waveAy: a * Math.sin(axis),
        waveOmega: w,
        wavePhase: rng.range(0, 2 * Math.PI),
        x0: rng.range(bound + a, Math.max(bound + a, W - bound - a)),
        y0: rng.range(bound + a, Math.max(bound + a, H - bound - a)),
      });
      break;
    }
  }
  return tr;
}

/** Composites one object onto `frame` at frame index t. */
function drawObject(frame: Float32Array, o: Resolved, tr: Track, t: number): void {
  const { width: W, height: H, channels: C } = o;
  const s = Math.exp(tr.logScaleRate * t);
  const wave = Math.sin(tr.waveOmega * t + tr.wavePhase);
  const cx = tr.x0 + tr.vx * t + tr.waveAx * wave;
  const cy = tr.y0 + tr.vy * t + tr.waveAy * wave;
  const theta = tr.theta0 + tr.omega * t;
  const rPx = tr.radius * s; // pixels per object unit
  const inv = 1 / rPx;
  const cos = Math.cos(theta) * inv;
  const sin = Math.sin(theta) * inv;
  const reach = SHAPE_BOUND[tr.shape]! * rPx + 1;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(W - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(H - 1, Math.ceil(cy + reach));
  const { shape, texture, freq, phase, base, amp } = tr;
  const aa = o.antialias;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      // Object coordinates: rotate the pixel offset by −θ and divide by the radius.
      const u = cos * dx + sin * dy;
      const v = cos * dy - sin * dx;
      const sd = signedDistance(shape, u, v);
      const cov = aa ? clamp01(0.5 - sd * rPx) : sd <= 0 ? 1 : 0;
      if (cov <= 0) continue;
      const pattern =
        texture === 0
          ? Math.sin(freq * u * Math.PI + phase)
          : texture === 1
            ? Math.sign(Math.sin(freq * u * Math.PI) * Math.sin(freq * v * Math.PI + phase)) || 1
            : u;
      const i = (y * W + x) * C;
      for (let ch = 0; ch < C; ch++) {
        const value = base[ch]! + amp * pattern;
        frame[i + ch] = frame[i + ch]! + cov * (value - frame[i + ch]!);
      }
    }
  }
}

/** Signed distance (object units, negative inside) to disc, square, triangle or bar. */
function signedDistance(shape: number, u: number, v: number): number {
  switch (shape) {
    case 0:
      return Math.sqrt(u * u + v * v) - 1;
    case 1:
      return Math.max(Math.abs(u), Math.abs(v)) - 0.8;
    case 2: {
      // Equilateral triangle with circumradius 1, apex at −v: the max over its three edge half-planes.
      const a = -v;
      const b = SQRT3_2 * u + 0.5 * v;
      const c = -SQRT3_2 * u + 0.5 * v;
      return Math.max(a, b, c) - 0.5;
    }
    default:
      return Math.max(Math.abs(u) - 1, Math.abs(v) - 0.35);
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
