/**
 * DeltaCNN-style relative initial thresholds for a delta-ised model: each Delta Activation Layer's threshold
 * (every channel) becomes r × the 99.9th percentile of |its input| over a calibration clip — the same range
 * (RangeSampler) as the recorders' `--relative-threshold`. One absolute θ is coarse for a layer of small values
 * and fine for one of large values (MobileNetV2's linear bottlenecks and residual sums); a relative one is
 * equally coarse for each. The input layer (`inp_delta`) keeps its own pixel threshold. Every layer's range is
 * measured in one pass, behind the initial thresholds of the layers before it.
 */
import { tf } from './backend.js';
import { DEFAULT_PERCENTILE, RangeSampler } from '../record/thresholds.js';
import { DeltaActivation } from './layers/index.js';
import { INPUT_DELTA } from './models.js';

/** Sets the thresholds (r × range per layer) and returns them by layer name. `clip`: (1, T, H, W, C) frames the model takes. */
export async function setRelativeThresholds(
  model: tf.LayersModel,
  clip: tf.Tensor,
  r: number,
  percentile = DEFAULT_PERCENTILE,
): Promise<Map<string, number>> {
  if (!(r > 0 && Number.isFinite(r))) throw new Error(`relative threshold must be > 0, got ${r}`);
  const dals = model.layers.filter((l): l is DeltaActivation => l instanceof DeltaActivation && l.name !== INPUT_DELTA);
  const probe = tf.model({ inputs: model.inputs, outputs: dals.map((l) => l.input as tf.SymbolicTensor) });
  const outs = probe.predict(clip) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(outs) ? outs : [outs];
  const sampler = new RangeSampler(1, percentile);
  for (const [k, o] of list.entries()) sampler.add(dals[k]!.name, await o.data());
  tf.dispose(list);
  const ranges = sampler.ranges();
  const set = new Map<string, number>();
  for (const l of dals) {
    const v = l.thresholdVariable;
    if (!v) throw new Error(`${l.name}: not built`);
    const q = r * (ranges.get(l.name) ?? 0);
    if (!(q > 0)) continue; // an all-zero input keeps its initial threshold
    v.write(tf.fill(v.shape as number[], q));
    set.set(l.name, q);
  }
  return set;
}
