/** Test shorthands for the one driver: a topology with densities, or trace activity, with its per-layer results collected. */
import {
  activityWorkload,
  simulate,
  topologyWorkload,
  type HwModel,
  type LayerResult,
  type Mode,
  type Topology,
  type SimResult,
  type TraceActivity,
} from '../../sim/index.js';

export interface TestSimOptions {
  mode: Mode | 'all';
  actDensity?: number;
  deltaDensity?: number;
  weightDensity?: number;
  fps?: number;
  baseline?: HwModel;
}

/** simulate() on a topology; `layers` are every mode's per-layer results. */
export function simTopology(m: Topology, hw: HwModel, o: TestSimOptions): SimResult & { layers: LayerResult[] } {
  const layers: LayerResult[] = [];
  const w = topologyWorkload(m, { actDensity: o.actDensity, deltaDensity: o.deltaDensity });
  const res = simulate(w, hw, {
    mode: o.mode,
    weightDensity: o.weightDensity,
    fps: o.fps,
    baseline: o.baseline,
    onLayers: (r) => layers.push(...r),
  });
  return { ...res, layers };
}

/** simulate() on activity gathered in memory; `layers` are every frame's per-layer results, frame by frame. */
export function simActivity(
  a: TraceActivity,
  hw: HwModel,
  o: Omit<TestSimOptions, 'actDensity' | 'deltaDensity'>,
): SimResult & { layers: LayerResult[] } {
  const layers: LayerResult[] = [];
  const res = simulate(activityWorkload(a), hw, { ...o, onLayers: (r) => layers.push(...r) });
  return { ...res, layers };
}
