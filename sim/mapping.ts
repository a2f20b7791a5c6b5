/**
 * Dataflow mappings (one table) and the one function that turns a GEMM, an array and a work model
 * into cycles and array-edge accesses. For the dense work model the cycles are SCALE-Sim v2's:
 *   (Sr, Sc, T) = os:(M,N,K), ws:(K,N,M), is:(K,M,N); folds = ⌈Sr/rows⌉·⌈Sc/cols⌉;
 *   per fold os: T + rows + cols − 2, ws/is: 2·rows + cols + T − 2; layer = Σ folds − 1.
 */
import type { Gemm } from './workload.js';
import type { Dataflow } from './hw-model.js';
import type { FoldTile, FoldLoad, MappedGemm, TemporalSkip, FoldModel } from './fold-model.js';

type Operand = 'ifmap' | 'filter' | 'ofmap';
const OPERANDS: readonly Operand[] = ['ifmap', 'filter', 'ofmap'];

interface Mapping {
  dims(g: Gemm): { Sr: number; Sc: number; T: number };
  /** Fill + drain cycles of one fold (everything but the T streaming steps). */
  fillDrain(rows: number, cols: number): number;
  /** Held in the PEs for the whole fold (rows·cols elements, loaded or drained once). */
  stationary: Operand;
  /** Enters at the west edge, one element per used row per step. */
  west: Operand;
  /** North edge (os: streamed in) or south edge (ws/is: results out, partial sums when Sr is folded). */
  northSouth: Operand;
  skip: { ifmap: TemporalSkip; filter: TemporalSkip };
}

export const DATAFLOWS: Record<Dataflow, Mapping> = {
  os: {
    dims: (g) => ({ Sr: g.M, Sc: g.N, T: g.K }),
    fillDrain: (r, c) => r + c - 2,
    stationary: 'ofmap',
    west: 'ifmap',
    northSouth: 'filter',
    skip: { ifmap: 'element', filter: 'element' },
  },
  ws: {
    dims: (g) => ({ Sr: g.K, Sc: g.N, T: g.M }),
    fillDrain: (r, c) => 2 * r + c - 2,
    stationary: 'filter',
    west: 'ifmap',
    northSouth: 'ofmap',
    skip: { ifmap: 'vector', filter: 'none' },
  },
  is: {
    dims: (g) => ({ Sr: g.K, Sc: g.M, T: g.N }),
    fillDrain: (r, c) => 2 * r + c - 2,
    stationary: 'ifmap',
    west: 'filter',
    northSouth: 'ofmap',
    skip: { ifmap: 'none', filter: 'vector' },
  },
};

export interface ArrayShape {
  rows: number;
  cols: number;
  dataflow: Dataflow;
}

/**
 * Bits per element over the buffer's word width, per operand: how many words an edge access takes.
 * ofmap: final outputs; psum: partial sums (accumulator width) written to and read back from the ofmap buffer.
 */
export interface EdgeWidths {
  ifmap: number;
  filter: number;
  ofmap: number;
  psum: number;
}

/** Element accesses at the array edges, per operand (bytes come later, from precisions). */
export interface EdgeAccesses {
  ifmapReads: number;
  filterReads: number;
  ofmapWrites: number;
  /** Partial sums read back when the reduction is folded over rows (ws/is with Sr > rows). */
  psumReads: number;
}

/**
 * Word accesses at the array edges: every step's edge elements are packed into words (an edge row of
 * the array is fed from consecutive words), so a step of n elements costs ⌈n·bits/wordBits⌉ accesses.
 */
export type EdgeWords = EdgeAccesses;

export interface ComputeResult {
  computeCycles: number;
  folds: number;
  foldsRun: number;
  issued: number;
  effective: number;
  edges: EdgeAccesses;
  /** Word accesses at the edges (zero when no widths were given). */
  words: EdgeWords;
  /** True when partial sums leave the array (accumulator width applies to ofmap traffic). */
  partialSums: boolean;
}

export function mapGemm(g: Gemm, dataflow: Dataflow): MappedGemm {
  const m = DATAFLOWS[dataflow];
  return { gemm: g, dataflow, ...m.dims(g), skip: m.skip };
}

export function computeLayer(g: Gemm, arr: ArrayShape, work: FoldModel, widths?: EdgeWidths): ComputeResult {
  const map = DATAFLOWS[arr.dataflow];
  const mg = mapGemm(g, arr.dataflow);
  const fill = map.fillDrain(arr.rows, arr.cols);
  const partialSums = map.northSouth === 'ofmap' && mg.Sr > arr.rows;
  // Edge accesses per operand, by index (a per-fold keyed update of an object is a slow dynamic access).
  const acc = [0, 0, 0];
  const words = [0, 0, 0];
  // Words per element at each edge (ofmap: partial sums when they leave the array).
  const ratio = widths ? [widths.ifmap, widths.filter, partialSums ? widths.psum : widths.ofmap] : [0, 0, 0];
  const wordsOf = (n: number, op: number): number => Math.ceil(n * ratio[op]! - 1e-9);
  const st = OPERANDS.indexOf(map.stationary),
    we = OPERANDS.indexOf(map.west),
    ns = OPERANDS.indexOf(map.northSouth);
  let cycles = 0,
    folds = 0,
    foldsRun = 0,
    issued = 0,
    effective = 0,
    psumReads = 0,
    psumWords = 0;
  const tile: FoldTile = { group: 0, rowStart: 0, rows: 0, colStart: 0, cols: 0 };
  const w: FoldLoad = { extent: 0, issued: 0, effective: 0 };
  for (let group = 0; group < g.groups; group++) {
    tile.group = group;
    for (let r0 = 0; r0 < mg.Sr; r0 += arr.rows) {
      tile.rowStart = r0;
      tile.rows = Math.min(arr.rows, mg.Sr - r0);
      for (let c0 = 0; c0 < mg.Sc; c0 += arr.cols) {
        tile.colStart = c0;
        tile.cols = Math.min(arr.cols, mg.Sc - c0);
        folds++;
        work.fold(mg, tile, w);
        effective += w.effective;
        if (w.extent === 0) continue; // nothing to stream: the fold is skipped, no fill/drain
        foldsRun++;
        issued += w.issued;
        cycles += fill + w.extent;
        acc[st]! += tile.rows * tile.cols;
        acc[we]! += tile.rows * w.extent;
        acc[ns]! += tile.cols * w.extent;
        if (partialSums && r0 > 0) psumReads += tile.cols * w.extent;
        if (widths) {
          words[st]! += wordsOf(tile.rows * tile.cols, st);
          words[we]! += wordsOf(tile.rows, we) * w.extent;
          words[ns]! += wordsOf(tile.cols, ns) * w.extent;
          if (partialSums && r0 > 0) psumWords += Math.ceil(tile.cols * widths.psum - 1e-9) * w.extent;
        }
      }
    }
  }
  return {
    computeCycles: Math.max(0, cycles - 1),
    folds,
    foldsRun,
    issued,
    effective,
    edges: { ifmapReads: acc[0]!, filterReads: acc[1]!, ofmapWrites: acc[2]!, psumReads },
    words: { ifmapReads: words[0]!, filterReads: words[1]!, ofmapWrites: words[2]!, psumReads: psumWords },
    partialSums,
  };
}
