/**
 * Per-frame work statistics from a trace: where the events are, in a compact form that every
 * engine and every hw-model can reuse without re-reading the trace.
 *
 * An event is a non-zero input level (sparse mode) or a non-zero input delta (delta mode: |level −
 * reference| > threshold, the reference being the last level sent, frame 0 a key frame against
 * zeros — exactly traces/stats.ts's rule). Per layer and frame, per channel group, we keep:
 *  - the event count and Σ spatial fan-out over events (× output channels per group = effective
 *    MACs with dense weights, equal to traces/stats' fan-out sums);
 *  - per output position, the events in its receptive field (integral images over the
 *    channel-summed event map): a PE's work on an output-stationary array, and the touched outputs;
 *  - the events' flat indices, so weight/input-stationary engines can count events per
 *    (output, K-tile) for any array height (sparse: listed only when read, into one shared buffer).
 * Memory per frame ≈ 2–4 bytes × output positions·groups + 4 bytes × delta events per layer; streaming
 * (`traceActivityStream`) keeps one frame at a time, so it does not grow with T. On a .deltas trace a
 * frame after the first is counted from its change list (cost ∝ changes, not inputs).
 */
import { layerFanout } from '../traces/stats.js';
import { layerFramesWithChanges, type Trace } from '../traces/reader.js';
import { isKeyFrame, keyFrameEvery, recordingOf, type Recording } from '../traces/manifest.js';
import type { TraceGraph } from '../traces/graph.js';
import { InputError } from '../lib/errors.js';
import { receptiveFieldCounts, receptiveFieldScatter, type ReceptiveFieldAdd, type RfArray } from './receptive-field.js';
import { spatial, type Layer } from '../traces/layer.js';
import { gemmOf } from './workload.js';

export type EventKind = 'sparse' | 'delta';
export const EVENT_KINDS: readonly EventKind[] = ['sparse', 'delta'];

/** One layer's events in one frame (one kind). Arrays are per channel group unless stated. */
export interface EventStats {
  /** Events per group. */
  events: Float64Array;
  /** Σ spatial fan-out (output positions reached) over the group's events. */
  fanout: Float64Array;
  /** Output positions with ≥ 1 event in their receptive field, per group. */
  touched: Float64Array;
  /** Events in each output's receptive field: rf[g·M + m], M = OH·OW. */
  rf: RfArray;
  /** Flat HWC input indices of the events, in order. */
  idx: Uint32Array;
  /**
   * Sparse events of a stream (non-zero levels persist from frame to frame): how this frame's event set differs from the
   * previous frame's of the same stream, so a consumer that keeps per-event state can update it by the changes instead of
   * rebuilding it from idx. Absent for delta events (a new set every frame).
   */
  changes?: EventChanges;
}

/** Frame t's event set = frame t − 1's (of the same stream; empty before frame 0) + entered − left. */
export interface EventChanges {
  /** Identifies the stream (one layer's counter): changes apply only to state built from the same stream. */
  stream: object;
  /** Frame index in the stream, from 0. */
  t: number;
  /** Indices that became events, and that stopped being events, in HWC order. */
  entered: Uint32Array;
  left: Uint32Array;
}

/** A frame's events of one kind (Σ over groups: exact, integer counts), without listing them. */
export function eventCount(w: EventStats): number {
  let n = 0;
  for (let g = 0; g < w.events.length; g++) n += w.events[g]!;
  return n;
}

/** Expected events of a topology: each input an event with probability `density` (uniform, independent). */
export interface ExpectedEvents {
  density: number;
}

/** One layer's events in one frame as an engine consumes them: expected (a topology) or counted (a trace). */
export type LayerEvents = ExpectedEvents | EventStats;

/** What one layer's input did in one frame: its events per kind, and (a trace) its sparsity. */
export interface LayerActivity<E extends LayerEvents = LayerEvents> {
  /** Fractions of zero levels / zero deltas among the layer's inputs in this frame (a trace only). */
  spatialSparsity?: number;
  temporalSparsity?: number;
  sparse?: E;
  delta?: E;
  /**
   * A trace of integer levels: levelBits[b] = levels in this frame that need exactly b bits in the
   * trace's signedness (b = 1…33), to check against the hardware's activation width. Absent for
   * unquantised float traces (their values are not levels) and for topologies.
   */
  levelBits?: Float64Array;
}

/** Bins of LayerActivity.levelBits: 0…33 bits. */
export const LEVEL_BITS_BINS = 34;

/** Levels of a frame's levelBits histogram that need more than `bits` bits. */
export function levelsWiderThan(levelBits: Float64Array, bits: number): number {
  let n = 0;
  for (let b = bits + 1; b < LEVEL_BITS_BINS; b++) n += levelBits[b]!;
  return n;
}

/** Bits a level needs: signed b bits hold [−2^(b−1), 2^(b−1)−1], unsigned [0, 2^b−1] (a negative unsigned level never fits); 0 needs 1 bit. */
const bitsOf = (v: number, signed: boolean): number =>
  signed ? 33 - Math.clz32(v < 0 ? ~v : v) : v < 0 ? LEVEL_BITS_BINS - 1 : Math.max(1, 32 - Math.clz32(v));

/** Per-value counts of byte and 16-bit frames (a typed-array histogram is one increment per level; bits are derived after). */
let byValue = new Uint32Array(0);

/** levelBits of a frame of integer levels, into hist. */
function countLevelBits(cur: ArrayLike<number>, signed: boolean, hist: Float64Array): void {
  hist.fill(0);
  const kind = cur instanceof Uint8Array || cur instanceof Int8Array ? 8 : cur instanceof Int16Array || cur instanceof Uint16Array ? 16 : 0;
  if (kind === 0) {
    for (let i = 0; i < cur.length; i++) hist[bitsOf(cur[i]! | 0, signed)]!++;
    return;
  }
  const n = 1 << kind;
  if (byValue.length < n) byValue = new Uint32Array(n);
  const h = byValue.fill(0, 0, n);
  const mask = n - 1;
  for (let i = 0; i < cur.length; i++) h[cur[i]! & mask]!++;
  const isSigned = cur instanceof Int8Array || cur instanceof Int16Array;
  for (let u = 0; u < n; u++) if (h[u]! > 0) hist[bitsOf(isSigned && u >= n / 2 ? u - n : u, signed)]! += h[u]!;
}

/** bitsOf of every value of a byte or 16-bit level (by its low bits), per signedness: a table lookup per level. */
const widthTables = new Map<string, Uint8Array>();
function widthTable(kind: 8 | 16, isSigned: boolean, signed: boolean): Uint8Array {
  const key = `${kind} ${isSigned} ${signed}`;
  let w = widthTables.get(key);
  if (!w) {
    const n = 1 << kind;
    w = new Uint8Array(n);
    for (let u = 0; u < n; u++) w[u] = bitsOf(isSigned && u >= n / 2 ? u - n : u, signed);
    widthTables.set(key, w);
  }
  return w;
}

/** levelBits moved from the last frame to this one: each changed level's old width out, its new width in. */
function moveLevelBits(
  cur: ArrayLike<number>,
  changed: Uint32Array,
  previous: ArrayLike<number>,
  signed: boolean,
  hist: Float64Array,
): void {
  const kind = cur instanceof Uint8Array || cur instanceof Int8Array ? 8 : cur instanceof Int16Array || cur instanceof Uint16Array ? 16 : 0;
  if (kind === 0) {
    for (let k = 0; k < changed.length; k++) {
      hist[bitsOf(previous[k]! | 0, signed)]!--;
      hist[bitsOf(cur[changed[k]!]! | 0, signed)]!++;
    }
    return;
  }
  const w = widthTable(kind, cur instanceof Int8Array || cur instanceof Int16Array, signed);
  const mask = (1 << kind) - 1;
  for (let k = 0; k < changed.length; k++) {
    hist[w[previous[k]! & mask]!]!--;
    hist[w[cur[changed[k]!]! & mask]!]!++;
  }
}

/**
 * A frame's sparse events. Their indices (idx) are listed from the levels on first use, into one buffer shared by every
 * layer's counter: most consumers need only the counts and maps, and a list per layer would hold 4 B per non-zero level
 * of the whole network. Valid, like the levels, until the stream's next step.
 */
class SparseStats implements EventStats {
  changes?: EventChanges;
  constructor(
    public events: Float64Array,
    public fanout: Float64Array,
    public touched: Float64Array,
    public rf: RfArray,
    readonly levels: ArrayLike<number>,
    /** The non-zero levels. */
    readonly n: number,
  ) {}
  get idx(): Uint32Array {
    return listNonZeros(this.levels, this.n, this);
  }
}

/** The same events without their changes (a key frame's deltas are its non-zero levels). */
function withoutChanges(w: EventStats): EventStats {
  if (w instanceof SparseStats) return new SparseStats(w.events, w.fanout, w.touched, w.rf, w.levels, w.n);
  const { changes: _, ...same } = w;
  return same;
}

/** The buffer SparseStats list their indices into, and whose list it holds. */
const nonZeroList: { idx: Uint32Array; owner: object | null } = { idx: new Uint32Array(0), owner: null };

/** Indices of the non-zero levels (n of them), listed into the shared buffer unless it holds owner's list already. */
function listNonZeros(levels: ArrayLike<number>, n: number, owner: object): Uint32Array {
  if (nonZeroList.owner !== owner) {
    // n + 1: the branch-free store writes one slot past the last event.
    if (nonZeroList.idx.length < n + 1) nonZeroList.idx = new Uint32Array(Math.max(n + 1, Math.ceil(1.25 * nonZeroList.idx.length)));
    const idx = nonZeroList.idx;
    let m = 0;
    for (let i = 0; i < levels.length; i++) {
      idx[m] = i;
      m += +(levels[i] !== 0);
    }
    if (m !== n) throw new Error(`sparse events listed after their frame: ${m} non-zero levels now, ${n} counted`);
    nonZeroList.owner = owner;
  }
  return nonZeroList.idx.subarray(0, n);
}

/** One frame: one entry per layer, in manifest order. */
export type FrameActivity<E extends LayerEvents = LayerEvents> = LayerActivity<E>[];

export interface ActivityOptions {
  /** A delta is zero when |level − reference| ≤ threshold. Required for float32 traces; default 0. */
  threshold?: number;
  /** Quantise values to round(value / quantStep) first (float traces). */
  quantStep?: number;
  /** Only the first N frames. */
  frames?: number;
  /** Which statistics to gather (default both). */
  kinds?: readonly EventKind[];
}

/** A trace's activity gathered in memory: what a sweep reuses for every hw-model. */
export interface TraceActivity {
  model: string;
  fps: number;
  threshold: number;
  quantStep: number | null;
  /** How the trace was recorded (its manifest's recorder and threshold). */
  recording?: Recording;
  layers: Layer[];
  /** The trace's network graph (a version-2 manifest): where delta state lives. */
  graph?: TraceGraph;
  frames: FrameActivity<EventStats>[];
}

/** Checks the options against the trace (float traces need a threshold) and returns the resolved ones. */
export function resolveActivityOptions(
  trace: Trace,
  o: ActivityOptions,
): Required<Pick<ActivityOptions, 'threshold' | 'frames' | 'kinds'>> & { quantStep?: number } {
  const file = trace.dir;
  if (o.threshold !== undefined && !(o.threshold >= 0 && Number.isFinite(o.threshold)))
    throw new InputError(`--threshold must be a finite number ≥ 0, got ${o.threshold}`, { file });
  if (o.quantStep !== undefined && !(o.quantStep > 0 && Number.isFinite(o.quantStep)))
    throw new InputError(`--quant-step must be a positive number, got ${o.quantStep}`, { file });
  const float = trace.layers.find((l) => l.dtype === 'float32');
  if (float && o.threshold === undefined && o.quantStep === undefined)
    throw new InputError(`layer "${float.spec.name}" holds float32 values: give a delta --threshold (and optionally --quant-step)`, {
      file: float.path,
    });
  const T = trace.manifest.frames;
  if (o.frames !== undefined && !(Number.isInteger(o.frames) && o.frames >= 1 && o.frames <= T))
    throw new InputError(`--frames must be an integer in 1..${T} (the trace's frames), got ${o.frames}`, { file });
  return { threshold: o.threshold ?? 0, quantStep: o.quantStep, frames: o.frames ?? T, kinds: o.kinds ?? EVENT_KINDS };
}

export interface CounterOptions {
  threshold?: number;
  quantStep?: number;
  kinds?: readonly EventKind[];
  /** Return views into buffers reused by the next call (streaming: no per-frame allocation) instead of copies. */
  views?: boolean;
  /** The levels are signed (manifest act.signed): how levelBits counts widths. */
  signed?: boolean;
  /** Key-frame period (manifest model.keyFrameEvery): on a key frame the delta reference restarts from zeros. Default: frame 0 only. */
  keyFrameEvery?: number;
  /**
   * Every frame after the first comes with the positions where it differs from the previous one (a .deltas reader's
   * change list) and the levels they held: the sparse statistics and the level-width histogram are moved on from the
   * last frame's by those positions alone, and under an exact threshold (< 1, integer levels) the delta events are
   * those positions, so neither a reference copy of the frame nor a scan of it is needed.
   */
  withChanges?: boolean;
}

/**
 * A per-layer counter: call it with each frame in order (it keeps the delta reference between
 * calls); the frame may be a reused buffer. With `withChanges`, pass after frame 0 the frame's change
 * list (increasing positions that differ from the last frame) and the levels those positions held.
 */
export function layerActivityCounter(
  l: Layer,
  o: CounterOptions = {},
): (frame: ArrayLike<number>, changed?: Uint32Array | null, previous?: ArrayLike<number> | null) => LayerActivity<EventStats> {
  const { H, W, C, OH, OW } = spatial(l);
  const groups = l.groups;
  const cin = C / groups;
  const HW = H * W;
  const M = OH * OW;
  const threshold = o.threshold ?? 0;
  const q = o.quantStep;
  const kinds = o.kinds ?? EVENT_KINDS;
  const wantS = kinds.includes('sparse');
  const wantD = kinds.includes('delta');
  const fan = layerFanout(l);
  // Spatial fan-out of each pixel (output positions whose receptive field holds it).
  const pixFan = new Float64Array(HW);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) pixFan[y * W + x] = fan.h[y]! * fan.w[x]!;
  // The event-map cell (g·H·W + pixel) of an input index, computed per event (a table would cost 4 bytes per input).
  const cellOf: CellOf = { C, cin, HW };
  // With a multiple of 4 channels per group, each 32-bit word of byte levels lies in one cell: the byte scan tallies
  // a changed word's events at once instead of event by event.
  const wordCell = cin % 4 === 0;
  let ref: Levels | null = null; // allocated at the first frame, in its element type
  // Float traces with a quantisation step are quantised into this copy; other frames are read as they come.
  const quantised = q === undefined ? null : new Float64Array(H * W * C);
  const levelBits = new Float64Array(LEVEL_BITS_BINS);
  const signed = o.signed ?? true;
  const K = gemmOf(l).K;
  // A count is at most K, also while a frame's changes are applied one by one (an output's count is then the events of
  // the last frame and this one that its field holds, at most K): 8 bits hold a depthwise layer's (K = 9; half the
  // counts' memory on centernet, ~26 MiB), 16 every other real layer's.
  const Rf = K <= 0xff ? Uint8Array : K <= 0xffff ? Uint16Array : Int32Array;
  // Buffers reused across frames; results are views into them (o.views) or copies at the size used.
  // A cell counts at most cin events: 8 bits hold a depthwise layer's, 16 every real layer's (not 32: memory).
  const MapType: MapArray = cin <= 0xff ? Uint8Array : cin <= 0xffff ? Uint16Array : Int32Array;
  // The delta map is lent for each frame (lendDeltaScratch): its own is empty.
  const scratch = (want: boolean, ownMap: boolean): Scratch | null =>
    want
      ? {
          map: new MapType(ownMap ? groups * HW : 0),
          cells: new Uint32Array(0),
          nCells: 0,
          idx: new Uint32Array(0),
          rf: new Rf(groups * M),
          events: new Float64Array(groups),
          fanout: new Float64Array(groups),
          touched: new Float64Array(groups),
        }
      : null;
  const sS = scratch(wantS, true);
  // The sparse events' previous frame, a bit per input (frame −1: none), and where they changed.
  const nzBits = sS ? new Uint32Array(Math.ceil((H * W * C) / 32)) : null;
  const entered: EventList = { idx: new Uint32Array(0) };
  const left: EventList = { idx: new Uint32Array(0) };
  const stream = {};
  const sD = scratch(wantD, false);
  const nz = new Float64Array(1);
  // Without the delta kind its events are only counted (the sparsities): their indices go to a scratch list.
  const deltaList: EventList | null = sD ? null : { idx: new Uint32Array(0) };
  const byWords: WordTally | null = sD && wordCell ? { cellOf, s: sD, done: false } : null;
  let t = 0;

  const rfScatter = receptiveFieldScatter(l);
  const reset = (s: Scratch): void => {
    // The sparse scan writes every cell, so its map needs no clearing; the delta map is cleared where it was counted.
    s.nCells = 0;
    s.events.fill(0);
    s.fanout.fill(0);
  };
  const statsOf = (s: Scratch, idx: Uint32Array, n: number): EventStats => ({
    events: s.events,
    fanout: s.fanout,
    touched: s.touched,
    rf: s.rf,
    idx: idx.subarray(0, n),
  });
  /** The receptive-field counts and the touched outputs of the scratch's map, from scratch. */
  const integrate = (s: Scratch): void => {
    // Both paths give the same integer counts: scatter the few non-zero cells of a sparse map, else integrate.
    const scatter = rfScatter.cost(s.nCells) < rfScatter.boxCost;
    if (scatter && s === sS) listCells(s); // the sparse scan counts its cells but lists them only when scattering needs them
    if (scatter) rfScatter.scatter(s.map, s.cells, s.nCells, s.rf, s.touched);
    else receptiveFieldCounts(l, s.map, s.rf, s.touched);
  };
  /** The frame's events of one kind: views of the scratch (o.views), else copies. */
  const finish = (w: EventStats, changes?: EventChanges): EventStats => {
    if (changes) w.changes = changes;
    if (o.views) return w;
    const copy: EventStats = {
      events: w.events.slice(),
      fanout: w.fanout.slice(),
      touched: w.touched.slice(),
      rf: w.rf.slice(),
      idx: w.idx.slice(),
    };
    if (changes) copy.changes = { ...changes, entered: changes.entered.slice(), left: changes.left.slice() };
    return copy;
  };

  // Delta events from the change lists: both kinds counted, an exact threshold on integer levels (checked per frame).
  const byChanges = o.withChanges === true && wantS && wantD && threshold < 1 && !quantised;
  // The sparse statistics and the level-width histogram are those of the last frame, so a change list can move them on.
  let sparseN = -1;
  let histLive = false;

  return (frame, changed, previous) => {
    if (frame.length !== H * W * C) throw new RangeError(`frame of ${frame.length} values, layer "${l.name}" input has ${H * W * C}`);
    let cur: ArrayLike<number> = frame;
    if (quantised) {
      for (let i = 0; i < quantised.length; i++) quantised[i] = Math.round(frame[i]! / q!);
      cur = quantised;
    }
    const integer = !(cur instanceof Float32Array || cur instanceof Float64Array);
    const listed = byChanges && integer;
    if (!listed) ref = referenceFor(cur, ref);
    const key = isKeyFrame(t, o.keyFrameEvery);
    if (key && ref) ref.fill(0);
    const out: LayerActivity<EventStats> = { spatialSparsity: 0, temporalSparsity: 0 };
    let nonZero = -1;
    // A change list (a .deltas reader's) moves the last frame's statistics on: only a changed level can differ.
    const byList = o.withChanges === true && !quantised && t > 0 && changed != null;
    if (sS) {
      // Frame 0 lists no changes (all of its events entered): a consumer builds its state from idx.
      const flips: Flips = { bits: nzBits!, entered, left, nEntered: 0, nLeft: 0, record: t > 0 };
      if (byList && sparseN >= 0) nonZero = sparseByChanges(cur, changed, cellOf, pixFan, sS, flips, rfScatter.add, sparseN);
      else {
        reset(sS);
        nonZero = countNonZeros(cur, cellOf, pixFan, sS, flips);
        integrate(sS);
      }
      sparseN = nonZero;
      const changes = flips.record
        ? { stream, t, entered: entered.idx.subarray(0, flips.nEntered), left: left.idx.subarray(0, flips.nLeft) }
        : undefined;
      out.sparse = finish(new SparseStats(sS.events, sS.fanout, sS.touched, sS.rf, cur, nonZero), changes);
    }
    t++;
    if (sD) reset(sD);
    // A key frame of integer levels under a threshold < 1: its deltas (against zeros) are exactly the non-zero levels, whose
    // statistics the sparse kind has just counted; the reference becomes the frame. (Saves the scan and, above all, an event
    // list as long as the non-zero levels: frame 0 is the peak of memory otherwise.)
    if (key && sS && out.sparse && threshold < 1 && !quantised && integer) {
      ref?.set(cur as never);
      out.delta = withoutChanges(out.sparse);
      return finishFrame(out, cur, frame, nonZero, nonZero, byList ? changed : null, previous);
    }
    if (listed) {
      if (!changed) throw new Error(`layer "${l.name}": frame ${t - 1} came without its change list`);
      lendDeltaScratch(sD!, MapType, groups * HW);
      tally(changed, changed.length, cellOf, pixFan, sD!);
      integrate(sD!);
      clearDeltaMap(sD!);
      out.delta = finish(statsOf(sD!, changed, changed.length));
      return finishFrame(out, cur, frame, nonZero, changed.length, changed, previous);
    }
    if (sD) lendDeltaScratch(sD, MapType, groups * HW);
    const deltas = countDeltas(cur, ref!, threshold, sD ?? deltaList!, nz, byWords);
    if (sD) {
      if (byWords?.done) sumCells(sD, HW, pixFan);
      else tally(sD.idx, deltas, cellOf, pixFan, sD);
      integrate(sD);
      clearDeltaMap(sD);
      out.delta = finish(statsOf(sD, sD.idx, deltas));
    }
    return finishFrame(out, cur, frame, nonZero >= 0 ? nonZero : nz[0]!, deltas, byList ? changed : null, previous);
  };

  /** The sparsities and the level-width histogram. */
  function finishFrame(
    out: LayerActivity<EventStats>,
    cur: ArrayLike<number>,
    frame: ArrayLike<number>,
    nonZero: number,
    deltas: number,
    changed: Uint32Array | null,
    previous: ArrayLike<number> | null | undefined,
  ): LayerActivity<EventStats> {
    const n = H * W * C;
    out.spatialSparsity = 1 - nonZero / n;
    out.temporalSparsity = 1 - deltas / n;
    if (quantised || !(frame instanceof Float32Array || frame instanceof Float64Array)) {
      // The last frame's histogram moved by the changed levels (old width out, new width in), else counted.
      if (histLive && changed && previous && previous.length === changed.length && !quantised)
        moveLevelBits(cur, changed, previous, signed, levelBits);
      else countLevelBits(cur, signed, levelBits);
      histLive = !quantised;
      out.levelBits = o.views ? levelBits : levelBits.slice();
    }
    return out;
  }
}

/** A growable list of event indices (flat HWC input indices). */
interface EventList {
  /** Grown by `reserve` as a frame needs: sized to the events, not to the inputs (4 bytes per input would be most of the memory). */
  idx: Uint32Array;
}

type MapArray = Uint8ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor;

interface Scratch extends EventList {
  map: Uint8Array | Uint16Array | Int32Array;
  /** Indices of the map's non-zero cells, each once (the first nCells entries), grown by `grow` as a frame needs; the
   *  tallies' branch-free store writes one slot past them (an out-of-bounds store would deoptimise them). */
  cells: Uint32Array;
  nCells: number;
  rf: RfArray;
  events: Float64Array;
  fanout: Float64Array;
  touched: Float64Array;
}

/** The event map's geometry: input index i = p·C + c lies in cell g·HW + p, g = ⌊c / cin⌋. */
interface CellOf {
  C: number;
  cin: number;
  HW: number;
}

/** The cell of input index i (integer quotients of indices < 2^31 are exact in float64). */
function cellAt(i: number, g: CellOf): number {
  const p = (i / g.C) | 0;
  return g.cin === g.C ? p : (((i - p * g.C) / g.cin) | 0) * g.HW + p;
}

/**
 * The scans write an index at every level (branch-free) and advance the count by 0 or 1, so a block of `block` levels
 * needs `block` free slots past the count: reserve them before each block. Grows by doubling, capped at `max` (the inputs).
 */
function reserve(l: EventList, n: number, block: number, max: number): Uint32Array {
  l.idx = grow(l.idx, n, block, max);
  return l.idx;
}

/** `a`, or a copy of its first n entries in a larger array, with room for min(n + block, max) entries. */
function grow(a: Uint32Array, n: number, block: number, max: number): Uint32Array {
  const need = Math.min(n + block, max);
  if (a.length >= need) return a;
  // 1.25×: amortised like doubling, with less slack at the peak (the longest lists are a frame's non-zero levels).
  const next = new Uint32Array(Math.min(max, Math.max(need, Math.ceil(1.25 * a.length))));
  next.set(a.subarray(0, n));
  return next;
}

/**
 * The sparse map's non-zero cells into s.cells (s.nCells of them), in index order: the scans only count them, since
 * a list as long as the non-zero cells (most of them on a dense map) is needed only when scattering is cheaper.
 */
function listCells(s: Scratch): void {
  const { map } = s;
  const cells = growCells(s, 0, s.nCells);
  let nc = 0;
  for (let k = 0; k < map.length; k++) {
    cells[nc] = k;
    nc += +(map[k] !== 0);
  }
}

/** Cells of the scratch's map, with room for `block` more listed cells (and the spare slot) past nc. */
function growCells(s: Scratch, nc: number, block: number): Uint32Array {
  s.cells = grow(s.cells, nc, block + 1, s.map.length + 1);
  return s.cells;
}

/** Levels per scan block: large enough that the capacity check is free, small enough that reserve's slack is a few KiB. */
const BLOCK = 4096;

/**
 * Events = non-zero levels: their indices into s.idx, and the event map, its count of non-zero cells and the per-group
 * sums (what tally does from the indices; the cells are listed by finish, only where scattering needs them). Returns
 * the count.
 */
function countNonZeros(cur: ArrayLike<number>, cellOf: CellOf, pixFan: Float64Array, s: Scratch, flips: Flips): number {
  return cellOf.cin === 1 && cellOf.C > 1 ? depthwiseNonZeros(cur, cellOf, pixFan, s, flips) : cellNonZeros(cur, cellOf, pixFan, s, flips);
}

/**
 * The scan walks the levels cell by cell (pixel, then group), so a level's cell is known without a division per event,
 * and the tallies happen in the same pass.
 */
function cellNonZeros(cur: ArrayLike<number>, cellOf: CellOf, pixFan: Float64Array, s: Scratch, flips: Flips): number {
  const bits = flips.bits;
  const { C, cin, HW } = cellOf;
  const groups = C / cin;
  const len = cur.length;
  const { map, events: ev, fanout: fo } = s;
  let n = 0,
    nc = 0;
  for (let p = 0, i = 0; p < HW; p++) {
    for (let g = 0; g < groups; g++) {
      let v = 0;
      for (const end = i + cin; i < end; i++) {
        // branch-free: zeros and non-zeros are noise to a branch predictor
        const nz = +(cur[i] !== 0);
        v += nz;
        // A level that became (or stopped being) non-zero since the last frame: rare, so the branch predicts well.
        if (nz !== ((bits[i >>> 5]! >>> (i & 31)) & 1)) flip(flips, i, nz, len);
      }
      n += v;
      const k = g * HW + p;
      map[k] = v;
      nc += +(v !== 0); // cells that hold an event (listed by listCells if needed)
      // sumCells's sums, here where g and p are known (exact: integer terms, so the order does not matter).
      ev[g] += v;
      fo[g] += v * pixFan[p]!;
    }
  }
  s.nCells = nc;
  return n;
}

/** Pixels per block of the depthwise transpose: a block's levels (PIXEL_BLOCK × C) stay in cache while each channel's row is written. */
const PIXEL_BLOCK = 64;

/**
 * Depthwise (one channel per group): the cell of level p·C + c is c·HW + p, so a pass in level order would write the map
 * C cells apart at every level (a cache miss each). Instead: the event list and the changes in level order, then the map
 * by blocks of pixels, channel by channel (a transpose).
 */
function depthwiseNonZeros(cur: ArrayLike<number>, cellOf: CellOf, pixFan: Float64Array, s: Scratch, flips: Flips): number {
  const bits = flips.bits;
  const { C, HW } = cellOf;
  const len = cur.length;
  for (let i = 0; i < len; i++) {
    const nz = +(cur[i] !== 0);
    if (nz !== ((bits[i >>> 5]! >>> (i & 31)) & 1)) flip(flips, i, nz, len);
  }
  const { map, events: ev, fanout: fo } = s;
  let nc = 0;
  for (let p0 = 0; p0 < HW; p0 += PIXEL_BLOCK) {
    const p1 = Math.min(HW, p0 + PIXEL_BLOCK);
    for (let g = 0; g < C; g++) {
      let e = 0,
        f = 0;
      for (let p = p0, k = g * HW + p0; p < p1; p++, k++) {
        const v = +(cur[p * C + g] !== 0);
        map[k] = v;
        nc += v;
        e += v;
        f += v * pixFan[p]!;
      }
      ev[g] += e;
      fo[g] += f;
    }
  }
  s.nCells = nc;
  return nc; // one channel per cell: the cells are the events
}

/**
 * The sparse statistics of the last frame (map, per-group sums, receptive-field counts, touched outputs, the non-zero
 * bits) moved to this frame by its change list: only a changed level can enter or leave the event set, so the cost
 * grows with the changes (and the outputs each flip reaches), not with the inputs. Returns the non-zero levels, given
 * the last frame's. (s.nCells goes stale: only integrate reads it, after a full scan has recounted it.)
 */
function sparseByChanges(
  cur: ArrayLike<number>,
  changed: Uint32Array,
  cellOf: CellOf,
  pixFan: Float64Array,
  s: Scratch,
  flips: Flips,
  add: ReceptiveFieldAdd,
  nonZero: number,
): number {
  const bits = flips.bits;
  const { C, cin, HW } = cellOf;
  const len = cur.length;
  const { map, events: ev, fanout: fo, rf, touched } = s;
  let n = nonZero;
  for (let e = 0; e < changed.length; e++) {
    const i = changed[e]!;
    const nz = +(cur[i] !== 0);
    if (nz === ((bits[i >>> 5]! >>> (i & 31)) & 1)) continue;
    flip(flips, i, nz, len);
    const p = (i / C) | 0;
    const g = cin === C ? 0 : ((i - p * C) / cin) | 0;
    const k = g * HW + p;
    const d = 2 * nz - 1;
    const old = map[k]!;
    map[k] = old + d;
    ev[g] += d;
    fo[g] += d * pixFan[p]!;
    n += d;
    add(k, d, rf, touched);
  }
  return n;
}

/** The sparse events' previous frame (a bit per input) and the indices that entered or left the set this frame. */
interface Flips {
  bits: Uint32Array;
  entered: EventList;
  left: EventList;
  nEntered: number;
  nLeft: number;
  /** False on the first frame: only the bits are set. */
  record: boolean;
}

/** Input i became an event (nz 1) or stopped being one (nz 0): its bit flips and it joins the list. */
function flip(f: Flips, i: number, nz: number, max: number): void {
  f.bits[i >>> 5]! ^= 1 << (i & 31);
  if (!f.record) return;
  if (nz) {
    if (f.nEntered === f.entered.idx.length) f.entered.idx = grow(f.entered.idx, f.nEntered, BLOCK, max);
    f.entered.idx[f.nEntered++] = i;
  } else {
    if (f.nLeft === f.left.idx.length) f.left.idx = grow(f.left.idx, f.nLeft, BLOCK, max);
    f.left.idx[f.nLeft++] = i;
  }
}

/** A typed array of levels: the delta reference keeps the frame's own element type (exact, and compact). */
type Levels =
  | Uint8Array
  | Int8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

const LEVEL_KINDS = [
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
];

/** A reference for frames like `cur`: same element type, else (plain arrays, subclasses) float64; a reference of another type widens to float64. */
function referenceFor(cur: ArrayLike<number>, ref: Levels | null): Levels {
  const proto: unknown = Object.getPrototypeOf(cur);
  const Kind: new (n: number) => Levels = LEVEL_KINDS.find((K) => K.prototype === proto) ?? Float64Array;
  if (!ref) return new Kind(cur.length);
  return ref.constructor === Kind || ref instanceof Float64Array ? ref : Float64Array.from(ref);
}

/**
 * Events = non-zero deltas (|level − reference| > threshold; the reference moves only when a delta
 * is sent): their indices into idx, in HWC order; returns the count. Also counts the non-zero levels
 * into nonZero[0] (the spatial sparsity, in the same pass). The scans have no data-dependent branch
 * per level (an index is always written, the count advances by 0 or 1: levels and deltas are noise
 * to a branch predictor); byte levels go four at a time, and a word equal to its reference holds no
 * event. References move over the events only.
 */
function countDeltas(
  cur: ArrayLike<number>,
  ref: Levels,
  threshold: number,
  list: EventList,
  nonZero: Float64Array,
  byWords: WordTally | null,
): number {
  // Words equal to their reference are skipped: no event there needs threshold ≥ 0.
  const words =
    threshold >= 0 &&
    ref.BYTES_PER_ELEMENT === 1 &&
    ref.constructor === Object.getPrototypeOf(cur).constructor &&
    (cur as Levels).byteOffset % 4 === 0 &&
    cur.length % 4 === 0;
  if (byWords) byWords.done = false;
  return words ? byteDeltas(cur as Levels, ref, threshold, list, nonZero, byWords) : levelDeltas(cur, ref, threshold, list, nonZero);
}

/** Where a byte scan tallies whole words (each word in one cell): the scratch's map and cell list; `done` once it has. */
interface WordTally {
  cellOf: CellOf;
  s: Scratch;
  done: boolean;
}

/** Moves the references of events idx[from..to) to their levels. */
function moveReferences(cur: ArrayLike<number>, ref: Levels, idx: Uint32Array, from: number, to: number): void {
  for (let e = from; e < to; e++) ref[idx[e]!] = cur[idx[e]!]!;
}

function levelDeltas(cur: ArrayLike<number>, ref: Levels, threshold: number, list: EventList, nonZero: Float64Array): number {
  const len = cur.length;
  let n = 0,
    nz = 0;
  for (let b = 0; b < len; b += BLOCK) {
    const idx = reserve(list, n, BLOCK, len);
    const end = Math.min(len, b + BLOCK);
    for (let i = b; i < end; i++) {
      const v = cur[i]!;
      nz += +(v !== 0);
      idx[n] = i;
      n += +(Math.abs(v - ref[i]!) > threshold);
    }
  }
  nonZero[0] = nz;
  moveReferences(cur, ref, list.idx, 0, n);
  return n;
}

// One 32-bit view per buffer (a frame is a view into a reader's reused chunk buffer: a view per frame would be garbage).
const wordViews = new WeakMap<ArrayBufferLike, Uint32Array>();
/** The 32-bit words of a byte array (byteOffset a multiple of 4): a view of its whole buffer and the first word's index. */
function words(a: Levels): { w: Uint32Array; at: number } {
  let v = wordViews.get(a.buffer);
  if (!v) wordViews.set(a.buffer, (v = new Uint32Array(a.buffer, 0, a.buffer.byteLength >> 2)));
  return { w: v, at: a.byteOffset >> 2 };
}

/**
 * Byte levels (int8/uint8: a zero level is a zero byte, equal levels are equal bytes) by 32-bit words. Under an exact
 * threshold and with `byWords`, also the event map and its cell list (what tally does), a changed word at a time.
 */
function byteDeltas(
  cur: Levels,
  ref: Levels,
  threshold: number,
  list: EventList,
  nonZero: Float64Array,
  byWords: WordTally | null,
): number {
  const len = cur.length,
    n4 = len >> 2;
  const { w: cw, at: c0 } = words(cur),
    { w: rw, at: r0 } = words(ref);
  const exact = threshold < 1;
  const cellOf = exact ? byWords?.cellOf : undefined;
  const map = byWords?.s.map;
  let cells = byWords?.s.cells;
  let n = 0,
    zeros = 0,
    nc = 0;
  let idx = list.idx;
  for (let j = 0; j < n4; j++) {
    if ((j & (BLOCK / 4 - 1)) === 0) {
      idx = reserve(list, n, BLOCK, len);
      if (cellOf) cells = growCells(byWords!.s, nc, BLOCK / 4);
    }
    const x = cw[c0 + j]!;
    // High bit of each zero byte, then their count by one multiply (SWAR).
    const z = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
    zeros += Math.imul(z >>> 7, 0x01010101) >>> 24;
    const d = x ^ rw[r0 + j]!;
    if (d === 0) continue;
    if (exact) {
      // Integer levels under a threshold < 1: an event is a byte that differs, read off the XOR word;
      // the word becomes its own reference.
      rw[r0 + j] = x;
      const i = 4 * j,
        n0 = n;
      idx[n] = i;
      n += +((d & 0xff) !== 0);
      idx[n] = i + 1;
      n += +((d & 0xff00) !== 0);
      idx[n] = i + 2;
      n += +((d & 0xff0000) !== 0);
      idx[n] = i + 3;
      n += +((d & 0xff000000) !== 0);
      if (cellOf) {
        const k = cellAt(i, cellOf),
          old = map![k]!;
        cells![nc] = k;
        map![k] = old + n - n0;
        nc += +(old === 0); // branch-free: a cell is listed once, at its first changed word
      }
    } else {
      const n0 = n;
      for (let i = 4 * j; i < 4 * j + 4; i++) {
        idx[n] = i;
        n += +(Math.abs(cur[i]! - ref[i]!) > threshold);
      }
      moveReferences(cur, ref, idx, n0, n);
    }
  }
  nonZero[0] = len - zeros;
  if (cellOf) {
    byWords!.s.nCells = nc;
    byWords!.done = true;
  }
  return n;
}

/**
 * The delta kind's event map and its cell list: filled, read and cleared within one counter call (neither is a
 * result), so every layer uses these two buffers instead of keeping its own (on centernet over vtest.avi, 89 layers:
 * 19 MB of maps and 45 MB of cell lists, each list at its longest frame's length). All zero between calls.
 */
const deltaScratch: { cells: Uint32Array; map: ArrayBuffer; lent: boolean } = {
  cells: new Uint32Array(0),
  map: new ArrayBuffer(0),
  lent: false,
};

/** Lend the shared delta map (`n` cells of type `M`) and cell list to `s` for one frame. */
function lendDeltaScratch(s: Scratch, M: MapArray, n: number): void {
  const bytes = n * M.BYTES_PER_ELEMENT;
  if (deltaScratch.map.byteLength < bytes) deltaScratch.map = new ArrayBuffer(bytes);
  // Still lent: the last borrower threw before clearing it, so it may hold counts.
  else if (deltaScratch.lent) new Uint8Array(deltaScratch.map).fill(0);
  deltaScratch.lent = true;
  s.map = new M(deltaScratch.map, 0, n);
  s.cells = deltaScratch.cells;
}

/** Zero the cells the frame set in the lent map and take back the (maybe grown) cell list. */
function clearDeltaMap(s: Scratch): void {
  const { map, cells, nCells } = s;
  for (let e = 0; e < nCells; e++) map[cells[e]!] = 0;
  s.nCells = 0;
  deltaScratch.cells = cells;
  deltaScratch.lent = false;
}

/** The per-pixel event map and its non-zero cells from event indices (the map starts zero), then per-group event counts and fan-out sums over the cells. */
function tally(idx: Uint32Array, n: number, cellOf: CellOf, pixFan: Float64Array, s: Scratch): void {
  const map = s.map;
  let cells = s.cells;
  let nc = 0;
  for (let e = 0; e < n; e++) {
    if ((e & (BLOCK - 1)) === 0) cells = growCells(s, nc, BLOCK);
    const k = cellAt(idx[e]!, cellOf);
    cells[nc] = k;
    nc += +(map[k]++ === 0); // branch-free: a cell is listed once, at its first event
  }
  s.nCells = nc;
  sumCells(s, cellOf.HW, pixFan);
}

/** Per-group event counts and fan-out sums over the listed cells: per cell, not per event (fewer terms, no loop-carried sum per event). */
function sumCells(s: Scratch, HW: number, pixFan: Float64Array): void {
  const { map, cells, nCells: nc, events: ev, fanout: fo } = s;
  for (let e = 0; e < nc; e++) {
    const k = cells[e]!;
    const g = (k / HW) | 0; // exact: integer quotient of indices < 2^31
    const v = map[k]!;
    ev[g] += v;
    fo[g] += v * pixFan[k - g * HW]!;
  }
}

/**
 * Frame by frame over the trace (memory independent of T). Each yielded frame's arrays are views
 * into buffers the next step reuses (like frameReader): consume or copy them before going on.
 */
export function* traceActivityStream(trace: Trace, options: ActivityOptions = {}): Generator<FrameActivity<EventStats>, void, undefined> {
  yield* activityFrames(trace, options, true);
}

function* activityFrames(trace: Trace, options: ActivityOptions, views: boolean): Generator<FrameActivity<EventStats>, void, undefined> {
  const o = resolveActivityOptions(trace, options);
  const layers = trace.layers.map((tl) => tl.layer);
  const every = keyFrameEvery(trace.manifest);
  const counters = layers.map((l, i) =>
    layerActivityCounter(l, {
      ...o,
      views,
      signed: trace.layers[i]!.spec.act.signed,
      keyFrameEvery: every,
      withChanges: trace.layers[i]!.encoding === 'deltas',
    }),
  );
  // Each layer is counted as soon as it is decoded: its decoder's scratch (shared by all layers) is then free again.
  let fa: FrameActivity<EventStats> = [];
  for (const { layer, frame, changes } of layerFramesWithChanges(trace, { to: o.frames })) {
    fa.push(counters[layer]!(frame, changes.changed, changes.previous));
    if (layer === layers.length - 1) {
      yield fa;
      fa = [];
    }
  }
}

/** All frames' statistics in memory, for reuse over many hw-models (sweeps). */
export function traceActivity(trace: Trace, options: ActivityOptions = {}): TraceActivity {
  const o = resolveActivityOptions(trace, options);
  return {
    model: trace.manifest.model.name,
    fps: trace.manifest.fps,
    threshold: o.threshold,
    quantStep: o.quantStep ?? null,
    recording: recordingOf(trace.manifest),
    layers: trace.layers.map((tl) => tl.layer),
    ...(trace.manifest.graph ? { graph: trace.manifest.graph } : {}),
    frames: [...activityFrames(trace, options, false)],
  };
}

/** Bytes a FrameActivity holds (typed arrays only): what keeping statistics for a sweep costs per frame. */
export function frameActivityBytes(fw: FrameActivity<EventStats>): number {
  let b = 0;
  for (const l of fw)
    for (const w of [l.sparse, l.delta])
      if (w) {
        b += w.events.byteLength + w.fanout.byteLength + w.touched.byteLength + w.rf.byteLength + w.idx.byteLength;
        if (w.changes) b += w.changes.entered.byteLength + w.changes.left.byteLength;
      }
  return b;
}
