/**
 * DeltaCNN's update mask with tile-granular updates and a mask dilation, applied to recorded levels
 * so the simulator sees the resulting deltas without knowing the knob. Per recorded [H, W, C]
 * tensor and frame, DeltaCNN's rule on the float activations: a pixel changed when any channel moved
 * by at least its step q (the threshold) from the value last emitted there; the mask of changed
 * pixels is dilated by `dilation` pixels (a (2d+1)² square); a `tile`×`tile` tile holding a masked
 * pixel takes the frame's levels round(a / q) (all its pixels, all channels, and becomes their
 * reference), every other tile keeps the levels it last emitted. Against plain rounding this holds
 * back level flips of sub-threshold drift outside updated tiles and adds those inside them.
 * Key frames (frame 0 and every `keyFrameEvery`-th) take the whole frame. Rank-1 tensors (dense
 * inputs) are one pixel of C channels. Each tensor is masked on its own values (the recorders are
 * open loop: a layer does not see its producer's masked output).
 */
import { InputError } from '../../lib/errors.js';
import { isKeyFrame } from '../../traces/manifest.js';

export interface UpdateMaskOptions {
  /** Tile side in pixels (≥ 1; 1 = per pixel). */
  tile: number;
  /** Pixels the changed-pixel mask is dilated by (≥ 0). */
  dilation: number;
  /** Key-frame period (manifest model.keyFrameEvery); none: frame 0 only. */
  keyFrameEvery?: number;
}

export function checkUpdateMask(o: UpdateMaskOptions): void {
  if (!(Number.isInteger(o.tile) && o.tile >= 1)) throw new InputError(`--update-tile: expected an integer >= 1, got ${o.tile}`);
  if (!(Number.isInteger(o.dilation) && o.dilation >= 0))
    throw new InputError(`--mask-dilation: expected an integer >= 0, got ${o.dilation}`);
}

/** One tensor's mask state; `apply` rewrites each frame's levels in place (no allocation per frame). */
export class UpdateMask {
  private readonly prev: Int16Array;
  private readonly ref: Float32Array;
  private readonly tiles: Uint8Array;
  private readonly H: number;
  private readonly W: number;
  private readonly C: number;
  private readonly TW: number;
  private t = 0;
  /** Level changes held back (outside updated tiles), over all frames. */
  heldBack = 0;

  constructor(
    shape: readonly number[],
    private readonly o: UpdateMaskOptions,
  ) {
    checkUpdateMask(o);
    [this.H, this.W, this.C] = shape.length === 3 ? [shape[0]!, shape[1]!, shape[2]!] : [1, 1, shape.reduce((a, b) => a * b, 1)];
    this.TW = Math.ceil(this.W / o.tile);
    this.tiles = new Uint8Array(Math.ceil(this.H / o.tile) * this.TW);
    this.prev = new Int16Array(this.H * this.W * this.C);
    this.ref = new Float32Array(this.H * this.W * this.C);
  }

  /** `values` the frame's activations, `levels` their levels round(values / step), rewritten in place. */
  apply(values: ArrayLike<number>, step: number | readonly number[], levels: Int16Array): void {
    const { prev, ref, tiles, H, W, C, TW } = this;
    if (levels.length !== prev.length) throw new RangeError(`update mask: frame of ${levels.length} levels, expected ${prev.length}`);
    const { tile: T, dilation: d } = this.o;
    if (isKeyFrame(this.t++, this.o.keyFrameEvery)) {
      prev.set(levels);
      for (let i = 0; i < ref.length; i++) ref[i] = values[i]!;
      return;
    }
    const one = typeof step === 'number' ? step : -1;
    const steps = typeof step === 'number' ? null : step;
    tiles.fill(0);
    for (let y = 0, i = 0; y < H; y++)
      for (let x = 0; x < W; x++, i += C) {
        let changed = false;
        for (let c = 0; c < C && !changed; c++)
          changed = Math.abs(values[i + c]! - ref[i + c]!) >= (steps ? steps[c % steps.length]! : one);
        if (!changed) continue;
        const ty1 = Math.floor(Math.min(H - 1, y + d) / T);
        const tx0 = Math.floor(Math.max(0, x - d) / T);
        const tx1 = Math.floor(Math.min(W - 1, x + d) / T);
        for (let ty = Math.floor(Math.max(0, y - d) / T); ty <= ty1; ty++) for (let tx = tx0; tx <= tx1; tx++) tiles[ty * TW + tx] = 1;
      }
    for (let y = 0, i = 0; y < H; y++) {
      const row = Math.floor(y / T) * TW;
      for (let x = 0; x < W; x++, i += C) {
        if (tiles[row + Math.floor(x / T)])
          for (let c = 0; c < C; c++) {
            prev[i + c] = levels[i + c]!;
            ref[i + c] = values[i + c]!;
          }
        else
          for (let c = 0; c < C; c++) {
            if (levels[i + c] !== prev[i + c]) this.heldBack++;
            levels[i + c] = prev[i + c]!;
          }
      }
    }
  }
}
