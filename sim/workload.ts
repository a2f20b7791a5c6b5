/**
 * Workloads as the simulator sees them: a model (a topology: named list of layers) and the GEMM
 * each layer becomes on the array. The layer type itself, its geometry and its validation are
 * traces/layer.ts's (one type for manifests, topologies and the simulator).
 *
 * A layer is an M×K · K×N product: M output pixels, K = kh·kw·Cin/groups, N output channels per
 * group.
 *
 * Grouped / depthwise layers: the array runs `groups` independent GEMMs one after another, each
 * M×(K)·(K)×(Cout/groups) (for depthwise K = kh·kw and N = 1). A group's GEMM is the unit the dataflow
 * folds; cycles, folds and accesses are those of one group times `groups`. For groups = 1 this is
 * exactly SCALE-Sim's single GEMM.
 */
import { spatial, type Layer } from '../traces/layer.js';

/** The GEMM one group of a layer runs: (M×K)·(K×N), repeated `groups` times. */
export interface Gemm {
  M: number;
  K: number;
  N: number;
  groups: number;
}

/** A topology: a named list of layers. */
export interface Topology {
  name: string;
  layers: Layer[];
}

export function gemmOf(l: Layer): Gemm {
  const s = spatial(l);
  return { M: s.OH * s.OW, K: (l.kernel[0] * l.kernel[1] * s.C) / l.groups, N: s.OC / l.groups, groups: l.groups };
}
