/**
 * Seeded synthetic traces for tests and what-if studies. Each layer's input is a static random
 * background (a `density` fraction of non-zero levels, of which a `changeRate` fraction is redrawn
 * every frame) with `blobs` moving discs painted over it: the discs are scene objects shared by all
 * spatial layers (normalised coordinates), so their changes are spatially clustered and move
 * coherently through the network, as camera motion does. Dense layers get the background only.
 * Same layers, options and seed ⇒ byte-identical trace.
 */
import { Ajv } from 'ajv';
import { InputError } from '../lib/errors.js';
import { schemaError } from '../lib/schema-error.js';
import type { Manifest } from './manifest.js';
import { outputHW, spatial, type LayerOp, type Pair, type Padding } from './layer.js';
import { DTYPES, typedView, type ActArray, type Dtype } from './npy.js';
import { prng, type Rng } from '../lib/prng.js';
import { writeTrace, type LayerDraft, type TraceHeader } from './writer.js';

/** A layer by its shape; everything else has a default (3×3 kernel, stride 1, "same" padding, uint8). */
export interface SynthLayer {
  name: string;
  op: LayerOp;
  /** [H, W, C], or [C] for dense. */
  input: number[];
  /** Output channels (conv2d; depthwise2d defaults to C) or units (dense). */
  outChannels?: number;
  kernel?: Pair;
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  dtype?: Dtype;
  signed?: boolean;
}

export interface SynthOptions {
  seed: number;
  frames: number;
  fps?: number;
  /** Fraction of background elements that are non-zero (0..1). */
  density: number;
  /** Fraction of background elements redrawn each frame (0..1). */
  changeRate: number;
  /** Number of moving discs. */
  blobs: number;
  /** Disc radius as a fraction of the image side (default 0.15). */
  blobRadius?: number;
  /** Disc speed in image sides per frame (default 0.04). */
  blobSpeed?: number;
}

/** Named layer lists: `tiny` (the committed sample, a few KB) and `cnn64` (a 64×64-input CNN, 5 MAC layers). */
export const SYNTH_PRESETS: Readonly<Record<string, readonly SynthLayer[]>> = {
  tiny: [
    { name: 'conv1', op: 'conv2d', input: [8, 8, 1], outChannels: 4 },
    { name: 'dw2', op: 'depthwise2d', input: [8, 8, 4], stride: [2, 2] },
    { name: 'pw3', op: 'conv2d', input: [4, 4, 4], outChannels: 8, kernel: [1, 1] },
    { name: 'fc4', op: 'dense', input: [128], outChannels: 10, dtype: 'int8', signed: true },
  ],
  cnn64: [
    { name: 'conv1', op: 'conv2d', input: [64, 64, 3], outChannels: 16, stride: [2, 2] },
    { name: 'conv2', op: 'conv2d', input: [32, 32, 16], outChannels: 32, stride: [2, 2] },
    { name: 'dw3', op: 'depthwise2d', input: [16, 16, 32] },
    { name: 'pw4', op: 'conv2d', input: [16, 16, 32], outChannels: 64, kernel: [1, 1] },
    { name: 'fc5', op: 'dense', input: [64], outChannels: 10 },
  ],
};

const pair = { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 };
const validateSynthLayers = new Ajv().compile<SynthLayer[]>({
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['name', 'op', 'input'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1 },
      op: { enum: ['conv2d', 'depthwise2d', 'dense'] },
      input: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 3 },
      outChannels: { type: 'integer', minimum: 1 },
      kernel: pair,
      stride: pair,
      dilation: pair,
      padding: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 4, maxItems: 4 },
      dtype: { enum: Object.keys(DTYPES) },
      signed: { type: 'boolean' },
    },
  },
});

/** A layer list given as a preset name or JSON text (an array of SynthLayer); `source` names it in errors. */
export function parseSynthLayers(presetOrJson: string, source: string): SynthLayer[] {
  const preset = SYNTH_PRESETS[presetOrJson];
  if (preset) return preset.map((l) => ({ ...l }));
  let json: unknown;
  try {
    json = JSON.parse(presetOrJson);
  } catch {
    throw new InputError(`neither a preset (${Object.keys(SYNTH_PRESETS).join(', ')}) nor a JSON layer list`, { file: source });
  }
  if (!validateSynthLayers(json)) throw schemaError(validateSynthLayers.errors, source);
  json.forEach((l, i) => {
    const rank = l.op === 'dense' ? 1 : 3;
    if (l.input.length !== rank)
      throw new InputError(`expected: ${rank === 1 ? '[C]' : '[H, W, C]'} for ${l.op}`, { file: source, pointer: `/${i}/input` });
  });
  return json;
}

/** The full manifest layer a SynthLayer stands for (output shape computed). */
export function completeLayer(s: SynthLayer): LayerDraft {
  const dtype = s.dtype ?? 'uint8';
  const act = { dtype, scale: dtype === 'float32' ? 1 : 1 / 64, signed: s.signed ?? false };
  const common = { name: s.name, weightBits: 8, weightDensity: 1, act };
  if (s.op === 'dense') return { ...common, op: 'dense', input: [...s.input], output: [s.outChannels ?? 10] };
  const C = s.input[2]!;
  const kernel = s.kernel ?? [3, 3];
  const dilation = s.dilation ?? [1, 1];
  const same = (k: number, d: number): Pair => [Math.floor((d * (k - 1)) / 2), Math.ceil((d * (k - 1)) / 2)];
  const [t, b] = same(kernel[0], dilation[0]);
  const [l, r] = same(kernel[1], dilation[1]);
  const draft = {
    ...common,
    op: s.op,
    input: [...s.input],
    output: [0, 0, s.outChannels ?? C],
    kernel,
    stride: s.stride ?? [1, 1],
    padding: s.padding ?? [t, b, l, r],
    dilation,
    groups: s.op === 'depthwise2d' ? C : 1,
  } satisfies LayerDraft;
  const [Ho, Wo] = outputHW(draft);
  draft.output = [Ho, Wo, s.outChannels ?? C];
  return draft;
}

/** A non-zero level: 1..max of the dtype's range (a sign when signed); float32 in (0, 1]. */
function levelDrawer(dtype: Dtype, signed: boolean, rng: Rng): () => number {
  const max = { int8: 127, uint8: 255, int16: 1023, float32: 0 }[dtype];
  const magnitude = dtype === 'float32' ? () => 1 - rng.next() : () => rng.intBetween(1, max);
  return signed ? () => (rng.next() < 0.5 ? -1 : 1) * magnitude() : magnitude;
}

/**
 * Visit the indices of a Bernoulli(p) subset of [0, n) in order, using geometric gaps so the cost
 * is proportional to the subset, not to n.
 */
function forBernoulli(n: number, p: number, rng: Rng, visit: (i: number) => void): void {
  if (p <= 0) return;
  if (p >= 1) {
    for (let i = 0; i < n; i++) visit(i);
    return;
  }
  const logq = Math.log1p(-p);
  for (let i = Math.floor(Math.log(1 - rng.next()) / logq); i < n; i += 1 + Math.floor(Math.log(1 - rng.next()) / logq)) visit(i);
}

interface Blob {
  y: number;
  x: number;
  vy: number;
  vx: number;
}

/** Frames of all layers, in manifest order; yielded arrays are reused between frames. */
export function* synthFrames(layers: readonly LayerDraft[], o: SynthOptions): Generator<ActArray[], void, undefined> {
  checkOptions(o);
  const radius = o.blobRadius ?? 0.15;
  const speed = o.blobSpeed ?? 0.04;
  const sceneRng = prng(o.seed, 0);
  const blobs: Blob[] = Array.from({ length: o.blobs }, () => {
    const angle = 2 * Math.PI * sceneRng.next();
    return { y: sceneRng.next(), x: sceneRng.next(), vy: speed * Math.sin(angle), vx: speed * Math.cos(angle) };
  });
  const state = layers.map((l, li) => {
    const rng = prng(o.seed, li + 1);
    const draw = levelDrawer(l.act.dtype, l.act.signed, rng);
    const { H, W, C } = spatial(l);
    const n = H * W * C;
    const background = new Float64Array(n);
    forBernoulli(n, o.density, rng, (i) => {
      background[i] = draw();
    });
    // each blob has its own level per channel, fixed over time: it changes only where it moves
    const blobLevels = blobs.map(() => Array.from({ length: C }, draw));
    const out = typedView(l.act.dtype, new ArrayBuffer(n * DTYPES[l.act.dtype].bytes), 0, n);
    const redraw = (i: number) => {
      background[i] = rng.next() < o.density ? draw() : 0;
    };
    return { l, n, rng, background, blobLevels, out, redraw };
  });
  const frames = state.map((s) => s.out);
  for (let t = 0; t < o.frames; t++) {
    for (const s of state) {
      if (t > 0) forBernoulli(s.n, o.changeRate, s.rng, s.redraw);
      s.out.set(s.background);
      if (s.l.op !== 'dense') paintBlobs(s.out, s.l.input, blobs, s.blobLevels, radius);
    }
    yield frames;
    for (const b of blobs) moveBlob(b);
  }
}

function paintBlobs(out: ActArray, shape: readonly number[], blobs: readonly Blob[], levels: readonly number[][], radius: number): void {
  const [H, W, C] = shape as [number, number, number];
  const side = Math.min(H, W);
  blobs.forEach((b, bi) => {
    const r = radius * side;
    const cy = b.y * H,
      cx = b.x * W;
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(H, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(W, Math.ceil(cx + r)); x++) {
        const dy = y + 0.5 - cy,
          dx = x + 0.5 - cx;
        if (dy * dy + dx * dx > r * r) continue;
        for (let c = 0; c < C; c++) out[(y * W + x) * C + c] = levels[bi]![c]!;
      }
    }
  });
}

/** Straight motion, bouncing off the image borders. */
function moveBlob(b: Blob): void {
  b.y += b.vy;
  b.x += b.vx;
  if (b.y < 0 || b.y > 1) {
    b.vy = -b.vy;
    b.y = Math.min(1, Math.max(0, b.y));
  }
  if (b.x < 0 || b.x > 1) {
    b.vx = -b.vx;
    b.x = Math.min(1, Math.max(0, b.x));
  }
}

function checkOptions(o: SynthOptions): void {
  const bad = (flag: string, what: string): never => {
    throw new InputError(`--${flag}: expected ${what}`);
  };
  if (!Number.isInteger(o.seed)) bad('seed', 'an integer');
  if (!(Number.isInteger(o.frames) && o.frames >= 1)) bad('frames', 'a positive integer');
  if (!(o.density >= 0 && o.density <= 1)) bad('density', 'a fraction in [0, 1]');
  if (!(o.changeRate >= 0 && o.changeRate <= 1)) bad('change-rate', 'a fraction in [0, 1]');
  if (!(Number.isInteger(o.blobs) && o.blobs >= 0)) bad('blobs', 'a non-negative integer');
  if (o.blobRadius !== undefined && !(o.blobRadius >= 0)) bad('blob-radius', 'a non-negative number');
  if (o.blobSpeed !== undefined && !(o.blobSpeed >= 0)) bad('blob-speed', 'a non-negative number');
}

/** The manifest header of a synthetic trace. */
export function synthHeader(layers: readonly SynthLayer[], o: SynthOptions): TraceHeader {
  const params =
    `seed=${o.seed} density=${o.density} changeRate=${o.changeRate} blobs=${o.blobs}` +
    ` blobRadius=${o.blobRadius ?? 0.15} blobSpeed=${o.blobSpeed ?? 0.04}`;
  return {
    model: { name: 'synthetic', source: `deltasim synthetic trace (${params})` },
    frames: o.frames,
    fps: o.fps ?? 15,
    clip: { source: 'synthetic', firstFrame: 0 },
    layers: layers.map(completeLayer),
  };
}

/** Generate and write a synthetic trace directory (atomically). */
export async function writeSyntheticTrace(dir: string, layers: readonly SynthLayer[], o: SynthOptions): Promise<Manifest> {
  const header = synthHeader(layers, o);
  return writeTrace(dir, header, (w) => {
    for (const frames of synthFrames(header.layers, o)) w.appendFrames(frames);
  });
}
