/**
 * graph/spill.ts: a spill of changes (what the ONNX and graph recorders use for .deltas traces) writes the very bytes
 * the writer's own change scan makes of the spill's levels, whatever the dtype the levels end in, with or without an
 * update mask; and the writer refuses changes where they cannot go.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelSpill, writeSpills } from '../../src/record/graph/spill.js';
import { UpdateMask } from '../../src/record/update-mask.js';
import { writeTrace, type TraceHeader } from '../../traces/writer.js';
import type { Encoding } from '../../traces/manifest.js';

const H = 3;
const W = 4;
const C = 2;
const N = H * W * C;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deltasim-spill-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Two layers reading one tensor (the spill shared) and one reading another. */
function header(spills: LevelSpill[], frames: number, encoding: Encoding, step: number | number[]): TraceHeader {
  const layer = (name: string, s: LevelSpill) => ({
    name,
    op: 'conv2d' as const,
    input: [H, W, C],
    output: [H, W, 1],
    kernel: [1, 1] as [number, number],
    stride: [1, 1] as [number, number],
    padding: [0, 0, 0, 0] as [number, number, number, number],
    dilation: [1, 1] as [number, number],
    groups: 1,
    weightBits: 8,
    weightDensity: 1,
    act: { dtype: s.dtype(), scale: step, signed: s.min < 0 },
  });
  return {
    model: { name: 's' },
    frames,
    fps: 15,
    encoding,
    layers: [layer('a', spills[0]!), layer('b', spills[0]!), layer('c', spills[1]!)],
  };
}

/** Every file of a trace written from spills of `frames`, changes spooled or levels. */
/** [H, W, C] → [C, H, W]. */
const channelsFirst = (f: Float32Array) => Float32Array.from(f, (_, j) => f[(j % (H * W)) * C + Math.floor(j / (H * W))]!);

/** nchw: the spill is given the frames channels-first where it takes them so (appendChannelsFirst). */
async function traceOf(frames: Float32Array[][], step: number | number[], changes: boolean, mask: boolean, tag: string, nchw = false) {
  const at = mkdtempSync(join(dir, 'run-'));
  const spills = [0, 1].map((k) => new LevelSpill(join(at, `${tag}${k}`), N, { changes }));
  const masks = [0, 1].map(() => (mask ? new UpdateMask([H, W, C], { tile: 2, dilation: 0, keyFrameEvery: 3 }) : undefined));
  try {
    for (const f of frames)
      spills.forEach((s, k) => {
        if (!(nchw && s.appendChannelsFirst(channelsFirst(f[k]!), C, step, masks[k]))) s.append(f[k]!, step, masks[k]);
      });
    const out = join(at, tag);
    await writeTrace(out, header([spills[0]!, spills[1]!], frames.length, 'deltas', step), (w) =>
      writeSpills(w, [spills[0]!, spills[0]!, spills[1]!]),
    );
    return Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f)).toString('hex')]));
  } finally {
    for (const s of spills) s.close();
    rmSync(at, { recursive: true, force: true });
  }
}

describe('record/graph/spill: a spill of changes', () => {
  it('gives the bytes of the writer’s own scan, for uint8, int8 and int16 levels, clamped, NaN, with and without a mask, from channels-first values too', async () => {
    // Values of a scale that lands the levels in each dtype (step 0.1: ±12 → int8, 0..25 → uint8, ±4000 → int16 / clamped).
    const value = fc.oneof(
      fc.float({ min: Math.fround(-12), max: Math.fround(12), noNaN: true }),
      fc.float({ min: 0, max: Math.fround(25), noNaN: true }),
      fc.float({ min: Math.fround(-4000), max: Math.fround(4000), noNaN: true }),
      fc.constantFrom(0, Number.NaN, Number.POSITIVE_INFINITY, -1e9),
    );
    // Frames that mostly repeat the one before (as video does): each value kept with probability ~0.7.
    const frame = fc.array(fc.tuple(fc.boolean(), fc.boolean(), value), { minLength: N, maxLength: N });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(frame, frame), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom<number | number[]>(0.1, [0.1, 0.05]),
        fc.boolean(),
        async (raw, scale, step, mask) => {
          const prev = [new Float32Array(N), new Float32Array(N)];
          const frames = raw.map((pair) =>
            pair.map((f, k) => {
              const out = Float32Array.from(f, ([keep, keep2, v], i) => (keep || keep2 ? prev[k]![i]! : v / 10 ** scale));
              prev[k] = out;
              return out;
            }),
          );
          const expected = await traceOf(frames, step, false, mask, 'levels');
          const got = await traceOf(frames, step, true, mask, 'changes');
          expect(got).to.deep.equal(expected);
          const gotNchw = await traceOf(frames, step, true, mask, 'nchw', true);
          expect(gotNchw).to.deep.equal(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is read as changes, not frames; the writer takes changes only for .deltas layers, and not mixed with frames', async () => {
    const s = new LevelSpill(join(dir, 's'), N, { changes: true });
    const l = new LevelSpill(join(dir, 'l'), N);
    try {
      s.append(new Float32Array(N).fill(0.3), 0.1);
      l.append(new Float32Array(N).fill(0.3), 0.1);
      expect(() => s.readFrame(0, new Uint8Array(N))).to.throw(/readChanges/);
      expect(() => l.readChanges('uint8')).to.throw(/readFrame/);
      await writeTrace(join(dir, 'npy'), header([s, l], 1, 'npy', 0.1), (w) => {
        expect(() => w.appendChanges([0], 0, new Uint8Array(0))).to.throw(/needs the deltas encoding/);
        w.appendFrames([new Uint8Array(N), new Uint8Array(N), new Uint8Array(N)]);
      });
      await writeTrace(join(dir, 'deltas'), { ...header([s, l], 2, 'deltas', 0.1) }, (w) => {
        w.appendFrame(0, new Uint8Array(N));
        expect(() => w.appendChanges([0], 0, new Uint8Array(0))).to.throw(/appendChanges after appendFrame/);
        w.appendChanges([1, 2], 0, new Uint8Array(0));
        expect(() => w.appendFrame(1, new Uint8Array(N))).to.throw(/appendFrame after appendChanges/);
        expect(() => w.appendChanges([2], N + 1, new Uint8Array(0))).to.throw(/changes of/);
        w.appendFrame(0, new Uint8Array(N));
        w.appendChanges([1, 2], 0, new Uint8Array(0));
      });
    } finally {
      s.close();
      l.close();
    }
  });
});
