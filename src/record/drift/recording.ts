/**
 * What the recorders (graph-model.ts, keras-model.ts) share for `--drift`: the options, the cost of a
 * recorded tensor's change (MACs per input element), the threshold search over the calibration head
 * and the files written beside the trace (drift.json, thresholds.json).
 */
import { layerMacs, layerOf, inputCount, type LayerLike } from '../../../traces/layer.js';
import { tf } from '../../tf/backend.js';
import type { ClosedLoopNet } from './closed-loop.js';
import { DRIFT_FILE, driftSummary, type DriftAccumulator, type TaskChoice } from './metrics.js';
import { searchThresholds, type BudgetOn, type SearchResult } from './threshold-search.js';

export interface DriftOptions {
  /** Task metric of the outputs (metrics.ts). */
  task: TaskChoice;
  /** Per-layer threshold search before recording (threshold-search.ts). */
  search?: { budget: number; on: BudgetOn; frames: number; rounds?: number; factor?: number };
}

/** The thresholds file the search writes beside the trace (a `--thresholds` JSON file). */
export const THRESHOLDS_FILE = 'thresholds.json';
export const DEFAULT_SEARCH_FRAMES = 4;

/** Per recorded tensor, the MACs one changed input element costs: Σ over the layers reading it of MACs / input elements. */
export function macsPerElement(layers: readonly { tensor: string; layer: LayerLike }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { tensor, layer } of layers) {
    const l = layerOf(layer);
    out.set(tensor, (out.get(tensor) ?? 0) + layerMacs(l) / inputCount(l));
  }
  return out;
}

/** The search on the calibration frames (model inputs made by `toInput`), disposing them after. */
export function searchOnHead(
  net: ClosedLoopNet,
  head: readonly Float32Array[],
  toInput: (f: Float32Array) => tf.Tensor,
  start: ReadonlyMap<string, number | number[]>,
  searchable: readonly string[],
  costs: ReadonlyMap<string, number>,
  o: { drift: DriftOptions; model: string; frame: { h: number; w: number }; keyFrameEvery?: number },
): SearchResult {
  const s = o.drift.search!;
  const inputs = head.map(toInput);
  try {
    return searchThresholds(net, inputs, start, searchable, costs, {
      ...s,
      task: o.drift.task,
      model: o.model,
      frame: o.frame,
      keyFrameEvery: o.keyFrameEvery,
    });
  } finally {
    tf.dispose(inputs);
  }
}

/** The per-layer thresholds of a search result, by trace layer name (searched tensors only: image-fed layers keep their pixel step). */
export function perLayerOf(
  result: SearchResult,
  searchable: readonly string[],
  layers: readonly { name: string; tensor: string }[],
): Record<string, number> {
  const keep = new Set(searchable);
  return Object.fromEntries(layers.filter((l) => keep.has(l.tensor)).map((l) => [l.name, result.steps.get(l.tensor) as number]));
}

/** The manifest's model.drift, drift.json (and thresholds.json after a search) as the writer's extra files. */
export function driftOutputs(
  acc: DriftAccumulator,
  search?: { result: SearchResult; perLayer: Record<string, number>; options: NonNullable<DriftOptions['search']> },
): { modelKey: Record<string, unknown>; files: Record<string, string> } {
  const report = acc.report();
  const r6 = (x: number) => Number(x.toPrecision(6));
  const searchKey = search
    ? {
        search: {
          budget: search.options.budget,
          on: search.options.on,
          frames: search.options.frames,
          evaluations: search.result.evaluations,
          commonRaises: search.result.commonRaises,
          raises: search.result.raises.length,
          start: { drift: r6(search.result.start.drift), ops: Math.round(search.result.start.ops) },
          final: { drift: r6(search.result.final.drift), ops: Math.round(search.result.final.ops) },
          file: THRESHOLDS_FILE,
        },
      }
    : {};
  return {
    modelKey: { drift: { ...driftSummary(report), ...searchKey } },
    files: {
      [DRIFT_FILE]: `${JSON.stringify(report, null, 2)}\n`,
      ...(search ? { [THRESHOLDS_FILE]: `${JSON.stringify(search.perLayer, null, 2)}\n` } : {}),
    },
  };
}
