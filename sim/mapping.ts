/**
 * Dataflow mappings (one table) and the one function that turns a GEMM, an array and a work model
 * into cycles and array-edge accesses. For the dense work model the cycles are SCALE-Sim v2's:
 *   (Sr, Sc, T) = os:(M,N,K), ws:(K,N,M), is:(K,M,N); folds = ⌈Sr/rows⌉·⌈Sc/cols⌉;
 *   per fold os: T + rows + cols − 2, ws/is: 2·rows + cols + T − 2; layer = Σ folds − 1.
 *
 * Grouped layers (depthwise: K = kh·kw, N = 1) map in one of two ways (hw-model `mapping`):
 * - `scalesim` (default): the `groups` GEMMs run one after another, each folded on its own.
 * - `depthwise-channels`: the groups lie side by side across the columns, group-major: os/ws put
 *   every output channel (groups·N) on the columns, is every (group, output pixel) (groups·M); the
 *   rows and the streaming steps are one group's (the same for all). One pass of folds serves every
 *   group. Each column needs its own group's streamed (west) operand: a step feeds rows × groupSpan
 *   elements (the tile's distinct groups), shared only along a row's columns of the same group, not
 *   broadcast along the whole row. Fill/drain per fold and the other edges are as on scalesim.
 *   For groups = 1 both mappings are the same.
 */
import type { Gemm } from './workload.js';
import type { Dataflow, RowSync, SystolicMapping } from './hw-model.js';
import type { FoldTile, FoldLoad, MappedGemm, TemporalSkip, FoldModel } from './fold-model.js';

type Operand = 'ifmap' | 'filter' | 'ofmap';
const OPERANDS: readonly Operand[] = ['ifmap', 'filter', 'ofmap'];

interface Mapping {
  /** One group's GEMM on the array: rows, columns, streaming steps. */
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
  /** Grouped layers: `scalesim` (absent) or `depthwise-channels`. */
  mapping?: SystolicMapping;
  /** os with skipping: independent rows (absent on os) or lock-step (rowSyncOf). */
  rowSync?: RowSync;
}

/** The rows' synchronisation of an array: its `rowSync`, else independent on os (the first model's cycles) and lockstep on ws/is (whole vectors). */
export const rowSyncOf = (a: Pick<ArrayShape, 'rowSync' | 'dataflow'>): RowSync =>
  a.rowSync ?? (a.dataflow === 'os' ? 'independent' : 'lockstep');

/** Skipping on a lock-step os array: a step (one k of the reduction) is dropped only when the whole fold's rows (or columns' weights) have nothing there. */
const LOCKSTEP_OS_SKIP = { ifmap: 'vector', filter: 'vector' } as const;

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
  /** Mean over all folds of used PEs / PEs (SCALE-Sim's mapping efficiency, as a fraction). */
  mappingEfficiency: number;
  foldsRun: number;
  issued: number;
  effective: number;
  edges: EdgeAccesses;
  /** Word accesses at the edges (zero when no widths were given). */
  words: EdgeWords;
  /** True when partial sums leave the array (accumulator width applies to ofmap traffic). */
  partialSums: boolean;
  /** Σ over all folds (skipped ones too) of the ifmap elements a fold could read: what a bitmap of its events spans. */
  ifmapCovered: number;
}

export function mapGemm(g: Gemm, dataflow: Dataflow, mapping: SystolicMapping = 'scalesim', rowSync?: RowSync): MappedGemm {
  const m = DATAFLOWS[dataflow];
  const d = m.dims(g);
  const packed = mapping === 'depthwise-channels';
  const lockstep = dataflow === 'os' && rowSyncOf({ dataflow, rowSync }) === 'lockstep';
  const skip = lockstep ? LOCKSTEP_OS_SKIP : m.skip;
  return { gemm: g, dataflow, lockstep, Sr: d.Sr, Sc: packed ? g.groups * d.Sc : d.Sc, T: d.T, groupCols: d.Sc, packed, skip };
}

/** Passes over the array: every group one after another (scalesim), or one pass holding them all (depthwise-channels). */
const passesOf = (mg: MappedGemm): number => (mg.packed ? 1 : mg.gemm.groups);

/** Folds of a layer and their mean used PEs / PEs (closed form: the tiles of a pass cover Sr × Sc once). */
export function foldGeometry(g: Gemm, arr: ArrayShape): { folds: number; mappingEfficiency: number } {
  const mg = mapGemm(g, arr.dataflow, arr.mapping, arr.rowSync);
  const passes = passesOf(mg);
  const folds = passes * Math.ceil(mg.Sr / arr.rows) * Math.ceil(mg.Sc / arr.cols);
  return { folds, mappingEfficiency: folds > 0 ? (passes * mg.Sr * mg.Sc) / (folds * arr.rows * arr.cols) : 0 };
}

export function computeLayer(g: Gemm, arr: ArrayShape, work: FoldModel, widths?: EdgeWidths): ComputeResult {
  const map = DATAFLOWS[arr.dataflow];
  const mg = mapGemm(g, arr.dataflow, arr.mapping, arr.rowSync);
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
    used = 0,
    psumReads = 0,
    psumWords = 0;
  const tile: FoldTile = { group: 0, groupSpan: 1, rowStart: 0, rows: 0, colStart: 0, cols: 0 };
  const w: FoldLoad = { extent: 0, issued: 0, effective: 0, rowSteps: 0 };
  // os rows that walk their own event lists need their own weights: each row-step reads a vector of the tile's columns.
  const perRowWeights = arr.dataflow === 'os' && !mg.lockstep;
  let ifmapCovered = 0;
  const gc = mg.groupCols;
  const passes = passesOf(mg);
  for (let pass = 0; pass < passes; pass++) {
    tile.group = pass;
    for (let r0 = 0; r0 < mg.Sr; r0 += arr.rows) {
      tile.rowStart = r0;
      tile.rows = Math.min(arr.rows, mg.Sr - r0);
      for (let c0 = 0; c0 < mg.Sc; c0 += arr.cols) {
        tile.colStart = c0;
        tile.cols = Math.min(arr.cols, mg.Sc - c0);
        let span = 1;
        if (mg.packed) {
          tile.group = Math.floor(c0 / gc);
          span = Math.floor((c0 + tile.cols - 1) / gc) - tile.group + 1;
        }
        tile.groupSpan = span;
        folds++;
        used += tile.rows * tile.cols;
        // The ifmap elements the fold could read (a bitmap of them says which are events, even when none is).
        ifmapCovered += st === 0 ? tile.rows * tile.cols : tile.rows * span * mg.T;
        work.fold(mg, tile, w);
        effective += w.effective;
        if (w.extent === 0) continue; // nothing to stream: the fold is skipped, no fill/drain
        foldsRun++;
        issued += w.issued;
        cycles += fill + w.extent;
        // The west edge feeds each row one element per group of the tile (shared along that group's columns).
        const westPerStep = tile.rows * span;
        // Skipping os rows read only their own operands (rowSteps); independent rows also their own weights per row-step.
        const perRow = perRowWeights && w.rowSteps > 0;
        const colsPerStream = tile.cols / span;
        acc[st]! += tile.rows * tile.cols;
        acc[we]! += w.rowSteps > 0 ? w.rowSteps : westPerStep * w.extent;
        acc[ns]! += perRow ? w.rowSteps * colsPerStream : tile.cols * w.extent;
        if (partialSums && r0 > 0) psumReads += tile.cols * w.extent;
        if (widths) {
          words[st]! += wordsOf(tile.rows * tile.cols, st);
          words[we]! += w.rowSteps > 0 ? wordsOf(w.rowSteps, we) : wordsOf(westPerStep, we) * w.extent;
          words[ns]! += perRow ? w.rowSteps * wordsOf(colsPerStream, ns) : wordsOf(tile.cols, ns) * w.extent;
          if (partialSums && r0 > 0) psumWords += Math.ceil(tile.cols * widths.psum - 1e-9) * w.extent;
        }
      }
    }
  }
  return {
    computeCycles: Math.max(0, cycles - 1),
    folds,
    mappingEfficiency: folds > 0 ? used / (folds * arr.rows * arr.cols) : 0,
    foldsRun,
    issued,
    effective,
    ifmapCovered,
    edges: { ifmapReads: acc[0]!, filterReads: acc[1]!, ofmapWrites: acc[2]!, psumReads },
    words: { ifmapReads: words[0]!, filterReads: words[1]!, ofmapWrites: words[2]!, psumReads: psumWords },
    partialSums,
  };
}
