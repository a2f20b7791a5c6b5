/**
 * The workloads simulate() runs. A topology is one frame of expected activity (uniform random events
 * at given densities, Sparseloop-style); a trace streams its frames' real activity (memory
 * independent of its length); activity gathered once in memory (a sweep) replays for every hw-model.
 */
import { InputError } from '../lib/errors.js';
import { recordingOf } from '../traces/manifest.js';
import type { Trace } from '../traces/reader.js';
import { traceActivityStream, type ActivityOptions, type EventKind, type FrameActivity, type TraceActivity } from './activity.js';
import type { Workload } from './simulate.js';
import type { Topology } from './workload.js';

export interface Densities {
  /** Sparse mode: fraction of non-zero activations (uniform). Default 0.5. */
  actDensity?: number;
  /** Delta mode: fraction of non-zero input deltas (uniform). Default 0.1. */
  deltaDensity?: number;
}

export const DEFAULT_DENSITIES = { actDensity: 0.5, deltaDensity: 0.1 } as const;

function checkDensity(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new InputError(`--${name} must be in [0, 1], got ${v}`);
}

/** A topology: one frame whose every layer has uniform random events at the given densities. */
export function topologyWorkload(model: Topology, d: Densities = {}): Workload {
  checkDensity('act-density', d.actDensity);
  checkDensity('delta-density', d.deltaDensity);
  const actDensity = d.actDensity ?? DEFAULT_DENSITIES.actDensity;
  const deltaDensity = d.deltaDensity ?? DEFAULT_DENSITIES.deltaDensity;
  const frame: FrameActivity = model.layers.map(() => ({ sparse: { density: actDensity }, delta: { density: deltaDensity } }));
  return {
    name: model.name,
    layers: model.layers,
    fps: null,
    source: { densities: { actDensity, weightDensity: null, deltaDensity } },
    measured: false,
    frames: () => [frame],
  };
}

/** A trace, streamed frame by frame: its activity is counted as the frames are read. */
export function traceWorkload(trace: Trace, o: ActivityOptions = {}): Workload {
  return {
    name: trace.manifest.model.name,
    layers: trace.layers.map((tl) => tl.layer),
    fps: trace.manifest.fps,
    source: { threshold: o.threshold ?? 0, quantStep: o.quantStep ?? null, recording: recordingOf(trace.manifest) },
    measured: true,
    ...(trace.manifest.graph ? { graph: trace.manifest.graph } : {}),
    frames: (kinds) => traceActivityStream(trace, { ...o, kinds }),
  };
}

/** Activity gathered once (traceActivity), replayed: what a sweep runs for every hw-model. */
export function activityWorkload(a: TraceActivity): Workload {
  return {
    name: a.model,
    layers: a.layers,
    fps: a.fps,
    source: { threshold: a.threshold, quantStep: a.quantStep, ...(a.recording ? { recording: a.recording } : {}) },
    measured: true,
    ...(a.graph ? { graph: a.graph } : {}),
    frames: (kinds: readonly EventKind[]) => {
      const missing = kinds.find((k) => a.frames.length > 0 && a.frames[0]!.some((l) => !l[k]));
      if (missing)
        throw new InputError(
          `mode "${missing}" needs ${missing} events: gather them with traceActivity(trace, { kinds: [..., '${missing}'] })`,
        );
      return a.frames;
    },
  };
}
