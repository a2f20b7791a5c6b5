/**
 * The DeltaCNN knobs of the graph, ONNX and Keras recorders beside the threshold (thresholds.ts): periodic
 * key frames and tile-granular updates (update-mask.ts), checked once and written to the manifest's
 * `model` (traces/README.md).
 */
import { InputError } from '../../lib/errors.js';
import type { ResolvedThresholds, ThresholdSpec } from './thresholds.js';
import { checkUpdateMask } from './update-mask.js';

export interface RecorderKnobs {
  /** How each tensor's step is chosen (default: absolute, the recorder's `threshold`). */
  thresholds?: ThresholdSpec;
  /** Every N-th frame is a key frame (manifest model.keyFrameEvery; the simulator restarts deltas there). */
  keyFrameEvery?: number;
  /** Tile-granular updates of the recorded levels. */
  updateMask?: { tile: number; dilation: number };
}

export function checkKnobs(k: RecorderKnobs): void {
  if (k.keyFrameEvery !== undefined && !(Number.isInteger(k.keyFrameEvery) && k.keyFrameEvery >= 1))
    throw new InputError(`--key-frame-every: expected an integer >= 1, got ${k.keyFrameEvery}`);
  if (k.updateMask) checkUpdateMask(k.updateMask);
}

/** The spec a recorder uses: the knobs' thresholds, else one absolute q. */
export function thresholdSpecFor(threshold: number | undefined, k: RecorderKnobs): ThresholdSpec {
  if (k.thresholds) return k.thresholds;
  if (!(threshold !== undefined && Number.isFinite(threshold) && threshold > 0))
    throw new InputError(`threshold must be a number > 0 (got ${threshold})`);
  return { mode: 'absolute', value: threshold };
}

/** The manifest model keys of the knobs: `threshold` (absolute mode, as before), `thresholds`, `keyFrameEvery`, `updateMask`. */
export function knobModelKeys(resolved: ResolvedThresholds, k: RecorderKnobs): Record<string, unknown> {
  const r = resolved.record;
  return {
    ...(r.mode === 'absolute' ? { threshold: r.value } : {}),
    thresholds: r,
    ...(k.keyFrameEvery !== undefined ? { keyFrameEvery: k.keyFrameEvery } : {}),
    ...(k.updateMask ? { updateMask: { tile: k.updateMask.tile, dilation: k.updateMask.dilation } } : {}),
  };
}
