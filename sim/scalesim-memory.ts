/**
 * SCALE-Sim v2's memory system for one conv/GEMM layer on a systolic array, reproduced exactly and fast:
 * its double-buffered scratchpad in the default estimate mode (`InterfaceBandwidth: CALC`), commit 22f88b1.
 *
 * What SCALE-Sim does (scalesim/single_layer_sim.py, memory/*.py, compute/systolic_compute_*.py):
 * - The compute module turns the layer into demand matrices, one row per cycle, fold after fold (column folds
 *   outer, row folds inner), each fold skewed or flipped and padded with idle rows; SRAM counts are sums over folds.
 * - Reads (ifmap, filter; `ReadBufferEstimateBw`, backing bandwidth 10): every address not in the buffer is fetched
 *   from DRAM. The buffer holds every address fetched since the last epoch boundary; an epoch ends after
 *   E = 50·⌊words/100⌋ fetches and empties the buffer. DRAM reads = fetches. Reads never stall.
 * - Writes (ofmap; `write_buffer`, bandwidth = array columns): outputs fill lines of `bw` words; when more than half
 *   the buffer is used a drain of ⌈half/bw⌉ lines starts (one line per cycle); the array stalls only when the buffer
 *   is full during a drain (never with bw = array columns). A drain counts every drained line as full except the last
 *   one (the "+31" in AlexNet's DRAM ofmap writes). Whatever is left is drained after the last row.
 *
 * How it is fast (AlexNet, three dataflows, ~150 M SRAM reads, in tens of milliseconds): little is done per element.
 * - Filter folds hold each address once and two folds hold the same or disjoint addresses, so the buffer's share
 *   of a fold is always "nothing", "all" or "a suffix" of it: each fold and each boundary is O(1).
 * - Ifmap sets are bitsets over the ifmap (one bit per ifmap word), built from runs: a pixel's taps in one filter row
 *   are contiguous addresses, and so are a row of neighbouring pixels' when their windows overlap. A fold costs its
 *   bitset's words, or nothing when it is known to be disjoint from the buffer; only a fold in which an epoch
 *   boundary falls is scanned in order (in steps, with undo) to find the element that ends the epoch.
 * `test/sim/scalesim-memory.test.ts` checks this against an element-by-element port of SCALE-Sim.
 */
import { spatial, type Layer } from '../traces/layer.js';

/** A conv layer as a SCALE-Sim topology row (no padding: output = ⌈(in − filter + stride)/stride⌉). */
export interface ScaleSimLayerInput {
  ifmapH: number;
  ifmapW: number;
  filterH: number;
  filterW: number;
  channels: number;
  numFilters: number;
  strideH: number;
  strideW: number;
}

export type ScaleSimDataflow = 'os' | 'ws' | 'is';

export interface ScaleSimArray {
  rows: number;
  cols: number;
  dataflow: ScaleSimDataflow;
}

/** Buffer sizes in words (SCALE-Sim: KiB × 1024, word size 1). Bandwidths default to CALC mode's: 10, 10, cols. */
export interface ScaleSimBuffers {
  ifmapWords: number;
  filterWords: number;
  ofmapWords: number;
  ifmapBw?: number;
  filterBw?: number;
  ofmapBw?: number;
}

type Triple = { ifmap: number; filter: number; ofmap: number };

/** Everything SCALE-Sim's three reports say about a layer. Cycles are SCALE-Sim's (they can be negative for DRAM). */
export interface ScaleSimLayerMemory {
  totalCycles: number;
  stallCycles: number;
  /** Percentages as in COMPUTE_REPORT.csv. */
  overallUtil: number;
  mappingEfficiency: number;
  computeUtil: number;
  sram: { ifmapReads: number; filterReads: number; ofmapWrites: number };
  dram: { ifmapReads: number; filterReads: number; ofmapWrites: number };
  /** [start, stop] cycles of DETAILED_ACCESS_REPORT.csv. */
  sramCycles: { ifmap: [number, number]; filter: [number, number]; ofmap: [number, number] };
  dramCycles: { ifmap: [number, number]; filter: [number, number]; ofmap: [number, number] };
  /** Average words per cycle of BANDWIDTH_REPORT.csv: SRAM over total cycles, DRAM over its own start..stop. */
  sramBw: Triple;
  dramBw: Triple;
}

/** SCALE-Sim's output size: ⌈(in − filter + stride)/stride⌉ (the last window may overhang; those taps read nothing). */
export function scaleSimOfmapDims(l: ScaleSimLayerInput): [number, number] {
  return [Math.ceil((l.ifmapH - l.filterH + l.strideH) / l.strideH), Math.ceil((l.ifmapW - l.filterW + l.strideW) / l.strideW)];
}

/**
 * The SCALE-Sim geometry of a deltasim layer, and how many times it runs (`groups`).
 * - Dense: a 1×1 map of C channels, 1×1 filters (the same addresses as SCALE-Sim's GEMM mode with M = 1).
 * - Padding: a layer with no top/left padding whose output is SCALE-Sim's ⌈⌉ size of the unpadded input is exactly a
 *   SCALE-Sim row (that is how topology CSVs load: the overhang is recorded as bottom/right padding); the overhanging
 *   taps read nothing. Any other padding: the padded input, cut to the extent the windows use, is the ifmap, so
 *   padding words are stored and read like data (SCALE-Sim has no padding; this is what it reports for a
 *   zero-padded input tensor).
 * - Groups (depthwise included): `groups` identical independent layers of C/groups channels and OC/groups filters,
 *   run one after another like SCALE-Sim's own depthwise ('DP') rows; counts and cycles add up.
 * - Dilation ≠ 1 has no SCALE-Sim equivalent: an Error is thrown.
 */
export function scaleSimGeometry(l: Layer): { input: ScaleSimLayerInput; groups: number } {
  const s = spatial(l);
  if (l.op === 'dense')
    return {
      input: { ifmapH: 1, ifmapW: 1, filterH: 1, filterW: 1, channels: s.C, numFilters: s.OC, strideH: 1, strideW: 1 },
      groups: 1,
    };
  if (l.dilation[0] !== 1 || l.dilation[1] !== 1) throw new Error(`layer ${l.name}: SCALE-Sim has no dilated convolutions`);
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [pt, pb, pl, pr] = l.padding;
  const g = l.groups;
  const base = { filterH: kh, filterW: kw, channels: s.C / g, numFilters: s.OC / g, strideH: sh, strideW: sw };
  const native = { ...base, ifmapH: s.H, ifmapW: s.W };
  const [oh, ow] = scaleSimOfmapDims(native);
  if (pt === 0 && pl === 0 && oh === s.OH && ow === s.OW) return { input: native, groups: g };
  const ifmapH = Math.min(s.H + pt + pb, (s.OH - 1) * sh + kh);
  const ifmapW = Math.min(s.W + pl + pr, (s.OW - 1) * sw + kw);
  return { input: { ...base, ifmapH, ifmapW }, groups: g };
}

// ---------------------------------------------------------------------------------------------------------------
// Layer geometry and the dataflow's fold structure

interface Geo {
  H: number;
  W: number;
  C: number;
  fw: number;
  sh: number;
  sw: number;
  Ew: number;
  Npx: number;
  Wn: number;
  M: number;
}

interface Plan {
  R: number;
  Cc: number;
  Sr: number;
  Sc: number;
  T: number;
  rf: number;
  cf: number;
  /** Demand rows (cycles) per fold; the same for every fold. */
  rowsF: number;
}

function planOf(g: Geo, a: ScaleSimArray): Plan {
  const R = a.rows,
    Cc = a.cols;
  const [Sr, Sc, T] = a.dataflow === 'os' ? [g.Npx, g.M, g.Wn] : a.dataflow === 'ws' ? [g.Wn, g.M, g.Npx] : [g.Wn, g.Npx, g.M];
  const rowsF = a.dataflow === 'os' ? T + R + Cc - 2 : 2 * R + Cc + T - 2;
  return { R, Cc, Sr, Sc, T, rf: Math.ceil(Sr / R), cf: Math.ceil(Sc / Cc), rowsF };
}

/** Elements in rows ≤ τ of a skewed block: `nl` lanes of `ni` elements, lane ℓ's element i at row off + i + ℓ. */
function skewCount(tau: number, off: number, ni: number, nl: number): number {
  // Lane ℓ holds clamp(k − ℓ, 0, ni) of them, k = τ − off + 1: ni for ℓ ≤ k − ni, then k − ℓ down to 1.
  const k = tau - off + 1;
  const full = Math.max(0, Math.min(nl, k - ni + 1));
  const a = full,
    b = Math.min(nl, Math.max(k, 0));
  return full * ni + (b > a ? ((b - a) * (2 * k - a - b + 1)) / 2 : 0);
}

/** Row of the b-th (0-based) element of a skewed block, in SCALE-Sim's order (row, then lane). */
function skewRow(b: number, off: number, ni: number, nl: number): number {
  let lo = off,
    hi = off + ni + nl - 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (skewCount(mid, off, ni, nl) > b) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------------------------
// Read buffer (ReadBufferEstimateBw): only the fetch count and the rows of the first request and last boundary matter

interface ReadResult {
  fetches: number;
  boundaries: number;
  /** Demand row of the last epoch boundary (−1 without one). */
  lastBoundaryRow: number;
}

class Epochs {
  fetches = 0;
  boundaries = 0;
  lastBoundaryRow = -1;
  /** Fetches in the current epoch. */
  c = 0;
  constructor(readonly E: number) {}
  boundary(row: number): void {
    this.boundaries++;
    this.lastBoundaryRow = row;
    this.c = 0;
  }
  result(): ReadResult {
    return { fetches: this.fetches, boundaries: this.boundaries, lastBoundaryRow: this.lastBoundaryRow };
  }
}

/**
 * Filter fetches. Each fold holds each filter address once and two folds' address sets are equal (same type) or
 * disjoint, so in the current epoch a type is absent, present, or present from stream position `suf[type]` on
 * (what followed an epoch boundary inside it). Positions are the fold's stream order, which is also fetch order.
 */
function filterFetches(p: Plan, g: Geo, df: ScaleSimDataflow, E: number): ReadResult {
  const ep = new Epochs(E);
  const nTypes = df === 'os' ? p.cf : df === 'is' ? p.rf : p.rf * p.cf;
  const stEpoch = new Int32Array(nTypes).fill(-1);
  const suf = new Float64Array(nTypes);
  for (let fc = 0; fc < p.cf; fc++)
    for (let fr = 0; fr < p.rf; fr++) {
      const f = fc * p.rf + fr,
        start = f * p.rowsF;
      const ru = Math.min(p.R, p.Sr - fr * p.R),
        cu = Math.min(p.Cc, p.Sc - fc * p.Cc);
      // The fold's n elements in stream order: skewed lanes (os: cu filters, is: ru taps) or ws's ru×cu block.
      const type = df === 'os' ? fc : df === 'is' ? fr : f;
      const nl = df === 'os' ? cu : ru,
        ni = df === 'os' ? g.Wn : df === 'is' ? g.M : cu,
        off = df === 'is' ? p.R : 0;
      const n = nl * ni;
      const s = stEpoch[type] === ep.boundaries ? suf[type]! : n; // positions [0, s) are not in the buffer
      if (s === 0) continue;
      if (ep.c + s < E) {
        ep.c += s;
        ep.fetches += s;
        stEpoch[type] = ep.boundaries;
        suf[type] = 0;
        continue;
      }
      let b = E - ep.c - 1;
      ep.fetches += E - ep.c;
      let rem = n - b - 1; // everything after a boundary is fetched again
      for (; rem >= E; rem -= E) {
        b += E;
        ep.fetches += E;
        ep.boundaries++; // only the last boundary's row is reported
      }
      ep.boundary(start + (df === 'ws' ? p.R - ru + Math.floor(b / cu) : skewRow(b, off, ni, nl)));
      ep.c = rem;
      ep.fetches += rem;
      stEpoch[type] = ep.boundaries;
      suf[type] = n - rem;
    }
  return ep.result();
}

/** Bits set in a 16-bit word (words are 16 bits so that every value stays a small integer for the JIT). */
function popcnt(x: number): number {
  x = (x & 0xffff) - ((x >> 1) & 0x5555);
  x = (x & 0x3333) + ((x >> 2) & 0x3333);
  x = (x + (x >> 4)) & 0x0f0f;
  return (x + (x >> 8)) & 0x1f;
}

/** A fold's address set, kept for its later visits: word indices and masks. */
interface WordSet {
  w: Int32Array;
  m: Uint16Array;
}

/**
 * SCALE-Sim's ifmap_op[p][j] (operand_matrix.py) as tables: tap j of output pixel p is at pBase[p] + jOff[j] unless
 * it overhangs the input (filter row jKr[j] ≥ pRows[p] or filter column jKc[j] ≥ pCols[p]), when it is −1.
 */
class Taps {
  readonly C: number;
  readonly rowLen: number;
  readonly rowStride: number;
  readonly jKr: Int32Array;
  readonly jKc: Int32Array;
  readonly jOff: Int32Array;
  /** Per tap: channel, and (ws) how many output rows / columns it does not overhang in. */
  readonly jCh: Int32Array;
  readonly jOkY: Int32Array;
  readonly jOkX: Int32Array;
  readonly pBase: Int32Array;
  readonly pRows: Int32Array;
  readonly pCols: Int32Array;
  readonly Ew: number;
  readonly swC: number;
  readonly shRow: number;
  constructor(g: Geo) {
    this.Ew = g.Ew;
    this.swC = g.sw * g.C;
    this.shRow = g.sh * g.W * g.C;
    this.C = g.C;
    this.rowLen = g.fw * g.C;
    this.rowStride = g.W * g.C;
    this.jKr = new Int32Array(g.Wn);
    this.jKc = new Int32Array(g.Wn);
    this.jOff = new Int32Array(g.Wn);
    this.jCh = new Int32Array(g.Wn);
    this.jOkY = new Int32Array(g.Wn);
    this.jOkX = new Int32Array(g.Wn);
    const Eh = g.Npx / g.Ew;
    for (let j = 0; j < g.Wn; j++) {
      const kr = Math.floor(j / this.rowLen),
        k = j - kr * this.rowLen,
        kc = Math.floor(k / g.C);
      this.jKr[j] = kr;
      this.jKc[j] = kc;
      this.jOff[j] = kr * this.rowStride + k;
      this.jCh[j] = k - kc * g.C;
      this.jOkY[j] = Math.max(0, Math.min(Eh, Math.ceil((g.H - kr) / g.sh)));
      this.jOkX[j] = Math.max(0, Math.min(g.Ew, Math.ceil((g.W - kc) / g.sw)));
    }
    this.pBase = new Int32Array(g.Npx);
    this.pRows = new Int32Array(g.Npx);
    this.pCols = new Int32Array(g.Npx);
    for (let p = 0; p < g.Npx; p++) {
      const oy = Math.floor(p / g.Ew),
        ox = p - oy * g.Ew;
      this.pBase[p] = (oy * g.sh * g.W + ox * g.sw) * g.C;
      this.pRows[p] = g.H - oy * g.sh;
      this.pCols[p] = g.W - ox * g.sw;
    }
  }
  addr(p: number, j: number): number {
    return this.jKr[j]! < this.pRows[p]! && this.jKc[j]! < this.pCols[p]! ? this.pBase[p]! + this.jOff[j]! : -1;
  }
  /** Taps j ∈ [jA, jB) of pixel p that do not overhang. */
  validTaps(p: number, jA: number, jB: number): number {
    const kmax = this.pCols[p]! * this.C,
      rows = this.pRows[p]!;
    let n = 0;
    for (let j = jA; j < jB; ) {
      const kr = this.jKr[j]!;
      if (kr >= rows) break;
      const k = j - kr * this.rowLen,
        kEnd = Math.min(this.rowLen, k + jB - j);
      n += Math.max(0, Math.min(kEnd, kmax) - k);
      j += kEnd - k;
    }
    return n;
  }
}

/**
 * Ifmap fetches. The buffer S and a scratch set X are bitsets over ifmap addresses whose words are valid only when
 * stamped with the current id, so clearing them is O(1). Sets are built from runs: the taps of one pixel in one
 * filter row are contiguous addresses. X keeps an undo log so that a scan can step back.
 */
class IfmapSets {
  readonly Sw: Uint16Array;
  readonly Ss: Int32Array;
  sid = 1;
  readonly Xw: Uint16Array;
  readonly Xs: Int32Array;
  xid = 0;
  readonly touched: Int32Array;
  nt = 0;
  /** (word, old value) of X words changed since newScratch() that were already set. */
  log = new Int32Array(1024);
  nlog = 0;
  readonly C: number;

  constructor(
    g: Geo,
    readonly t: Taps,
  ) {
    const words = ((g.H * g.W * g.C) >> 4) + 1;
    this.Sw = new Uint16Array(words);
    this.Ss = new Int32Array(words);
    this.Xw = new Uint16Array(words);
    this.Xs = new Int32Array(words);
    this.touched = new Int32Array(words);
    this.C = g.C;
  }

  sWord(w: number): number {
    return this.Ss[w] === this.sid ? this.Sw[w]! : 0;
  }
  /** a is in neither S nor X */
  isNew(a: number): boolean {
    const w = a >> 4,
      bit = 1 << (a & 15);
    return !((this.Ss[w] === this.sid && (this.Sw[w]! & bit) !== 0) || (this.Xs[w] === this.xid && (this.Xw[w]! & bit) !== 0));
  }
  newScratch(): void {
    this.xid++;
    this.nt = 0;
    this.nlog = 0;
  }
  /** Adds [a, a + len) to X; returns how many of those bits were in neither X nor S before. */
  xRun(a: number, len: number): number {
    let added = 0;
    const end = a + len;
    while (a < end) {
      const w = a >> 4,
        lo = a & 15,
        n = Math.min(16 - lo, end - a);
      const mask = ((1 << n) - 1) << lo;
      let old = 0;
      if (this.Xs[w] !== this.xid) {
        this.Xs[w] = this.xid;
        this.touched[this.nt++] = w;
      } else {
        old = this.Xw[w]!;
        if ((old | mask) !== old) {
          if (this.nlog + 2 > this.log.length) {
            const l = new Int32Array(this.log.length * 2);
            l.set(this.log);
            this.log = l;
          }
          this.log[this.nlog++] = w;
          this.log[this.nlog++] = old;
        }
      }
      this.Xw[w] = old | mask;
      const s = this.Ss[w] === this.sid ? this.Sw[w]! : 0;
      added += popcnt(mask & ~old & ~s);
      a += n;
    }
    return added;
  }
  /** Undoes the changes to X since the state (nt, nlog) was recorded. */
  rollback(nt: number, nlog: number): void {
    while (this.nlog > nlog) {
      const old = this.log[--this.nlog]!;
      this.Xw[this.log[--this.nlog]!] = old;
    }
    while (this.nt > nt) this.Xs[this.touched[--this.nt]!] = 0;
  }
  /** Adds taps j ∈ [jA, jB) of pixel p to X; returns how many were in neither X nor S. */
  xPixel(p: number, jA: number, jB: number): number {
    if (jA >= jB) return 0;
    const t = this.t;
    const rows = t.pRows[p]!,
      kmax = t.pCols[p]! * this.C,
      base = t.pBase[p]!,
      rowLen = t.rowLen;
    let kr = t.jKr[jA]!,
      k = jA - kr * rowLen,
      j = jA,
      added = 0;
    while (j < jB && kr < rows) {
      const kEnd = Math.min(rowLen, k + jB - j);
      const kE = Math.min(kEnd, kmax);
      if (kE > k) added += this.xRun(base + kr * t.rowStride + k, kE - k);
      j += kEnd - k;
      kr++;
      k = 0;
    }
    return added;
  }
  /**
   * Adds taps [jA, jB) of the consecutive pixels [pA, pB) to X; returns how many were in neither X nor S. In one
   * output row and filter row, pixel ox's taps are the run [ox·sw·C + kA, min(ox·sw·C + kB, W·C)) of the input row:
   * when neighbours' runs touch (sw·C ≤ kB − kA) the row's runs are one.
   */
  xPixels(pA: number, pB: number, jA: number, jB: number): number {
    if (jA >= jB) return 0;
    const t = this.t,
      Ew = t.Ew,
      swC = t.swC,
      WC = t.rowStride,
      rowLen = t.rowLen;
    let added = 0;
    for (let p = pA; p < pB; ) {
      const oy = Math.floor(p / Ew),
        end = Math.min(pB, (oy + 1) * Ew);
      const oxA = p - oy * Ew,
        oxB = end - 1 - oy * Ew,
        rows = t.pRows[p]!;
      let kr = t.jKr[jA]!,
        k = jA - kr * rowLen;
      for (let j = jA; j < jB && kr < rows; kr++, k = 0) {
        const kEnd = Math.min(rowLen, k + jB - j);
        const rowBase = oy * t.shRow + kr * WC;
        if (swC <= kEnd - k) {
          const oxLast = Math.min(oxB, Math.floor((WC - 1 - k) / swC));
          if (oxLast >= oxA) added += this.xRun(rowBase + oxA * swC + k, Math.min(oxLast * swC + kEnd, WC) - oxA * swC - k);
        } else
          for (let ox = oxA; ox <= oxB && ox * swC + k < WC; ox++)
            added += this.xRun(rowBase + ox * swC + k, Math.min(kEnd, WC - ox * swC) - k);
        j += kEnd - k;
      }
      p = end;
    }
    return added;
  }
  xToS(): void {
    for (let i = 0; i < this.nt; i++) {
      const w = this.touched[i]!;
      if (this.Ss[w] !== this.sid) {
        this.Ss[w] = this.sid;
        this.Sw[w] = this.Xw[w]!;
      } else this.Sw[w]! |= this.Xw[w]!;
    }
  }
  xSave(): WordSet {
    const w = this.touched.slice(0, this.nt);
    const m = new Uint16Array(this.nt);
    for (let i = 0; i < this.nt; i++) m[i] = this.Xw[w[i]!]!;
    return { w, m };
  }
  setToS(s: WordSet): void {
    for (let i = 0; i < s.w.length; i++) {
      const w = s.w[i]!;
      if (this.Ss[w] !== this.sid) {
        this.Ss[w] = this.sid;
        this.Sw[w] = s.m[i]!;
      } else this.Sw[w]! |= s.m[i]!;
    }
  }
  /** S ∪= B in one pass, keeping S's old words for undoAdd; returns |B \ S|. */
  setAdd(s: WordSet): number {
    if (this.undo.length < s.w.length) this.undo = new Uint16Array(s.w.length * 2);
    let n = 0;
    for (let i = 0; i < s.w.length; i++) {
      const w = s.w[i]!,
        m = s.m[i]!;
      let old = 0;
      if (this.Ss[w] !== this.sid) this.Ss[w] = this.sid;
      else old = this.Sw[w]!;
      this.undo[i] = old;
      this.Sw[w] = old | m;
      n += popcnt(m & ~old);
    }
    return n;
  }
  undoAdd(s: WordSet): void {
    for (let i = 0; i < s.w.length; i++) this.Sw[s.w[i]!] = this.undo[i]!;
  }
  undo = new Uint16Array(0);
  /** B ∩ C = ∅ (uses X). */
  disjoint(b: WordSet, c: WordSet): boolean {
    this.newScratch();
    for (let i = 0; i < b.w.length; i++) {
      this.Xs[b.w[i]!] = this.xid;
      this.Xw[b.w[i]!] = b.m[i]!;
    }
    for (let i = 0; i < c.w.length; i++) if (this.Xs[c.w[i]!] === this.xid && (this.Xw[c.w[i]!]! & c.m[i]!) !== 0) return false;
    return true;
  }
}

/** os scans add this many fold rows per step, then this many, then walk element by element; ws scans pixel chunks. */
const OS_COARSE = 256,
  OS_FINE = 16,
  WS_CHUNK = 64;

/**
 * Ifmap fetches. An os or ws fold is one of rf types (its row fold): its address set, size, repeats and channels are
 * kept. The buffer is S (a bitset) plus lazy pieces: folds (or a fold's part after a boundary) known to be disjoint
 * from everything since, only counted; they are written into S when a fold that may overlap them comes, and most are
 * dropped unwritten at the next boundary. Per visit:
 * - skip the fold if it is all in the buffer (same epoch);
 * - count its addresses not in the buffer; if the epoch's need is not met, add it to the buffer (lazily if S is empty);
 * - if it has no repeated address and shares none with the buffer (the usual ws case), each boundary is at a fixed
 *   element position, found by counting elements per lane;
 * - else scan the fold in order from the last cut until the need is met (a boundary) or the fold ends.
 * is folds are small and all different: they are counted with X and scanned element by element when needed.
 */
class IfmapEngine {
  readonly ep: Epochs;
  readonly taps: Taps;
  readonly X: IfmapSets;
  readonly R: number;
  readonly sets: WordSet[] = [];
  readonly distinct: number[] = [];
  readonly valid: number[] = [];
  readonly wlo: number[] = [];
  readonly whi: number[] = [];
  readonly chans: Int32Array[] = [];
  readonly present: Int32Array;
  readonly disjointMemo = new Map<number, boolean>();
  /** Lazy pieces of the current epoch: type and cut (−1 for the whole fold). */
  lazyType: number[] = [];
  lazyTc: number[] = [];
  lazyLc: number[] = [];
  /** S holds nothing (only lazy pieces) in this epoch. */
  sEmpty = true;
  /** Channels (16 a word) the lazy pieces hold, valid when stamped with the epoch: folds without them are disjoint. */
  lazyChan: Int32Array;
  lazyChanEpoch: Int32Array;
  // The fold being visited and its scan state.
  start = 0;
  r0 = 0;
  ru = 0;
  c0 = 0;
  cu = 0;
  tc = -1;
  lc = 0;
  need = 0;
  have = 0;
  tb = -1;
  lb = -1;

  constructor(
    readonly p: Plan,
    readonly g: Geo,
    readonly df: ScaleSimDataflow,
    readonly E: number,
  ) {
    this.ep = new Epochs(E);
    this.taps = new Taps(g);
    this.X = new IfmapSets(g, this.taps);
    this.R = p.R;
    this.present = new Int32Array(p.rf).fill(-1);
    this.lazyChan = new Int32Array((g.C >> 4) + 1);
    this.lazyChanEpoch = new Int32Array((g.C >> 4) + 1).fill(-1);
  }

  run(): ReadResult {
    const p = this.p;
    for (let fc = 0; fc < p.cf; fc++)
      for (let fr = 0; fr < p.rf; fr++) {
        this.start = (fc * p.rf + fr) * p.rowsF;
        this.r0 = fr * this.R;
        this.ru = Math.min(this.R, p.Sr - this.r0);
        this.c0 = fc * p.Cc;
        this.cu = Math.min(p.Cc, p.Sc - this.c0);
        if (this.df === 'is') this.visitIs();
        else this.visit(fr);
      }
    return this.ep.result();
  }

  private newEpoch(row: number): void {
    this.ep.boundary(row);
    this.X.sid++;
    this.lazyType.length = this.lazyTc.length = this.lazyLc.length = 0;
    this.sEmpty = true;
  }

  private visitIs(): void {
    const X = this.X,
      ep = this.ep;
    X.newScratch();
    const fresh = X.xPixels(this.c0, this.c0 + this.cu, this.r0, this.r0 + this.ru);
    if (ep.c + fresh < this.E) {
      X.xToS();
      ep.c += fresh;
      ep.fetches += fresh;
    } else this.scan();
  }

  private visit(fr: number): void {
    const X = this.X,
      ep = this.ep,
      E = this.E;
    if (this.present[fr] === ep.boundaries) return; // all in the buffer already
    if (!this.sets[fr]) this.addType(fr);
    const set = this.sets[fr]!;
    if (this.lazyType.length > 0 && this.sharesChannels(fr))
      for (let i = 0; i < this.lazyType.length; i++)
        if (!this.typesDisjoint(this.lazyType[i]!, fr)) {
          this.materialize();
          break;
        }
    const fresh = this.sEmpty ? this.distinct[fr]! : X.setAdd(set);
    if (ep.c + fresh < E) {
      if (this.sEmpty) this.lazyPush(fr, -1, 0);
      ep.c += fresh;
      ep.fetches += fresh;
      this.present[fr] = ep.boundaries;
      return;
    }
    if (!this.sEmpty) X.undoAdd(set);
    if (fresh === this.distinct[fr] && fresh === this.valid[fr]) {
      // Nothing of it in the buffer and no repeats: every valid element is a fetch.
      let b = E - ep.c - 1,
        more = 0;
      ep.fetches += E - ep.c;
      let rem = fresh - b - 1;
      for (; rem >= E; more++, rem -= E) {
        b += E;
        ep.fetches += E;
      }
      this.position(b);
      ep.boundaries += more; // only the last boundary's row is reported
      this.newEpoch(this.start + this.tb);
      ep.c = rem;
      ep.fetches += rem;
      if (rem > 0) this.lazyPush(fr, this.tb, this.lb);
      return;
    }
    this.scan();
  }

  private lazyPush(type: number, tc: number, lc: number): void {
    this.lazyType.push(type);
    this.lazyTc.push(tc);
    this.lazyLc.push(lc);
    const ch = this.chans[type]!,
      e = this.ep.boundaries;
    for (let i = 0; i < ch.length; i++) {
      if (this.lazyChanEpoch[i] !== e) {
        this.lazyChanEpoch[i] = e;
        this.lazyChan[i] = 0;
      }
      this.lazyChan[i]! |= ch[i]!;
    }
  }

  /** Fold type fr has a channel that a lazy piece has. */
  private sharesChannels(fr: number): boolean {
    const ch = this.chans[fr]!,
      e = this.ep.boundaries;
    for (let i = 0; i < ch.length; i++) if (this.lazyChanEpoch[i] === e && (this.lazyChan[i]! & ch[i]!) !== 0) return true;
    return false;
  }

  /** Writes the lazy pieces into S. */
  private materialize(): void {
    const X = this.X;
    for (let i = 0; i < this.lazyType.length; i++) {
      const t = this.lazyType[i]!;
      if (this.lazyTc[i]! < 0) X.setToS(this.sets[t]!);
      else {
        X.newScratch();
        this.addAfter(t, this.lazyTc[i]!, this.lazyLc[i]!);
        X.xToS();
      }
    }
    this.lazyType.length = this.lazyTc.length = this.lazyLc.length = 0;
    this.sEmpty = false;
  }

  /** Builds a fold type's address set, its number of valid elements, address range and channels. */
  private addType(fr: number): void {
    const { X, taps, g, R } = this;
    const r0 = fr * R,
      ru = Math.min(R, this.p.Sr - r0);
    X.newScratch();
    let v = 0;
    const chan = new Int32Array((g.C >> 4) + 1);
    if (this.df === 'os') {
      X.xPixels(r0, r0 + ru, 0, g.Wn);
      for (let l = 0; l < ru; l++) v += taps.validTaps(r0 + l, 0, g.Wn);
      chan.fill(0xffff);
    } else {
      X.xPixels(0, g.Npx, r0, r0 + ru);
      for (let l = 0; l < ru; l++) {
        v += this.laneValid(r0 + l, g.Npx);
        const ch = taps.jCh[r0 + l]!;
        chan[ch >> 4]! |= 1 << (ch & 15);
      }
    }
    const set = X.xSave();
    let d = 0,
      lo = Number.MAX_SAFE_INTEGER,
      hi = -1;
    for (let i = 0; i < set.w.length; i++) {
      d += popcnt(set.m[i]!);
      lo = Math.min(lo, set.w[i]!);
      hi = Math.max(hi, set.w[i]!);
    }
    this.sets[fr] = set;
    this.distinct[fr] = d;
    this.valid[fr] = v;
    this.wlo[fr] = lo;
    this.whi[fr] = hi;
    this.chans[fr] = chan;
  }

  private typesDisjoint(a: number, b: number): boolean {
    if (a === b) return false;
    // Address ranges apart or no channel in common: cheaper than a memo lookup (and almost every pair ends here:
    // 99.98 % of 12 M pairs on centernet at 4 rows, whose memo of them all held ~300 MB).
    if (this.whi[a]! < this.wlo[b]! || this.whi[b]! < this.wlo[a]!) return true;
    const ca = this.chans[a]!,
      cb = this.chans[b]!;
    let shared = false;
    for (let i = 0; i < ca.length && !shared; i++) shared = (ca[i]! & cb[i]!) !== 0;
    if (!shared) return true;
    // Only the set intersection is memoised.
    const key = Math.min(a, b) * this.p.rf + Math.max(a, b);
    let d = this.disjointMemo.get(key);
    if (d === undefined) this.disjointMemo.set(key, (d = this.X.disjoint(this.sets[a]!, this.sets[b]!)));
    return d;
  }

  /** ws: valid pixels of tap j among the first n. */
  private laneValid(j: number, n: number): number {
    const g = this.g,
      t = this.taps;
    if (n <= 0) return 0;
    const vy = t.jOkY[j]!,
      vx = t.jOkX[j]!;
    const m = Math.min(n, g.Npx),
      q = Math.floor(m / g.Ew);
    return Math.min(q, vy) * vx + (q < vy ? Math.min(m - q * g.Ew, vx) : 0);
  }

  /** Valid elements of lane ℓ of the current fold among its first n (os: taps of a pixel; ws: pixels of a tap). */
  private lanePrefix(l: number, n: number): number {
    if (n <= 0) return 0;
    return this.df === 'os' ? this.taps.validTaps(this.r0 + l, 0, Math.min(n, this.g.Wn)) : this.laneValid(this.r0 + l, n);
  }

  /** Sets (tb, lb) to the row and lane of the b-th (0-based) valid element of the current os/ws fold. */
  private position(b: number): void {
    const off = this.df === 'os' ? 0 : this.R,
      ni = this.df === 'os' ? this.g.Wn : this.g.Npx,
      ru = this.ru;
    const full = this.valid[this.r0 / this.R]! === ni * ru;
    const count = (tau: number): number => {
      if (full) return skewCount(tau, off, ni, ru);
      let n = 0;
      for (let l = 0; l < ru; l++) n += this.lanePrefix(l, tau - off - l + 1);
      return n;
    };
    let lo = off,
      hi = off + ni + ru - 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (count(mid) > b) hi = mid;
      else lo = mid + 1;
    }
    let n = count(lo - 1);
    for (let l = 0; l < ru; l++)
      if (this.at(lo, l) >= 0 && n++ === b) {
        this.tb = lo;
        this.lb = l;
        return;
      }
    throw new Error('scalesim-memory: element position not found');
  }

  /** Address demanded by the current fold at (row τ, lane ℓ), or −1. */
  private at(tau: number, l: number): number {
    const g = this.g,
      R = this.R;
    if (this.df === 'os') return tau - l >= 0 && tau - l < g.Wn ? this.taps.addr(this.r0 + l, tau - l) : -1;
    if (this.df === 'ws') return tau - R - l >= 0 && tau - R - l < g.Npx ? this.taps.addr(tau - R - l, this.r0 + l) : -1;
    return tau < R && R - 1 - tau < this.ru ? this.taps.addr(this.c0 + l, this.r0 + R - 1 - tau) : -1;
  }

  /** os/ws: adds the elements of fold type fr after the cut (τc, ℓc) to X; returns how many are new. */
  private addAfter(fr: number, tc: number, lc: number): number {
    const { X, g, R } = this;
    const r0 = fr * R,
      ru = Math.min(R, this.p.Sr - r0);
    if (this.df === 'os') return this.addLanes(r0, ru, tc, lc, -1, g.Wn + ru);
    // Pixels from tc − R + 1 on have all their taps after the cut.
    const tFull = Math.min(g.Npx, Math.max(0, tc - R + 1));
    let n = 0;
    for (let t = Math.max(0, tc - R - ru + 1); t < tFull; t++) n += X.xPixel(t, r0 + this.lo(t, tc, lc, ru), r0 + ru);
    return n + X.xPixels(tFull, g.Npx, r0, r0 + ru);
  }

  /**
   * os: adds the taps of lanes (pixels r0 + ℓ) that are after the cut (τc, ℓc) and in rows (τA, τB]: lane ℓ's taps
   * from max(τc − ℓ (+1 if ℓ ≤ ℓc), τA − ℓ + 1) to τB − ℓ + 1. The range all lanes share is added for all pixels at
   * once, the rest lane by lane.
   */
  private addLanes(r0: number, ru: number, tc: number, lc: number, tauA: number, tauB: number): number {
    const { X, g } = this;
    let cs = 0,
      ce = g.Wn;
    for (let l = 0; l < ru; l++) {
      cs = Math.max(cs, tc - l + (l <= lc ? 1 : 0), tauA - l + 1);
      ce = Math.min(ce, tauB - l + 1);
    }
    let n = cs < ce ? X.xPixels(r0, r0 + ru, cs, ce) : 0;
    for (let l = 0; l < ru; l++) {
      const a = Math.max(0, tc - l + (l <= lc ? 1 : 0), tauA - l + 1),
        b = Math.min(g.Wn, tauB - l + 1);
      if (cs < ce) {
        n += X.xPixel(r0 + l, a, Math.min(b, cs));
        n += X.xPixel(r0 + l, Math.max(a, ce), b);
      } else n += X.xPixel(r0 + l, a, b);
    }
    return n;
  }

  /**
   * Epoch boundaries fall in this fold. From the last cut (τc, ℓc) on — the fold's start, then each boundary — add
   * the fold's elements to X in SCALE-Sim's order, counting those in neither S nor X, until the count reaches the
   * need (a boundary: the buffer empties, the cut moves) or the fold ends (X joins S). Elements are (row τ, lane ℓ);
   * lanes are os: pixels r0 + ℓ (tap τ − ℓ), ws: taps r0 + ℓ (pixel τ − R − ℓ), is: pixels c0 + ℓ (tap r0 + R − 1 − τ).
   */
  private scan(): void {
    const { X, ep } = this;
    this.tc = -1;
    this.lc = Number.MAX_SAFE_INTEGER;
    for (;;) {
      this.need = this.E - ep.c;
      X.newScratch();
      this.have = 0;
      this.tb = this.lb = -1;
      if (this.df === 'os') this.scanOs();
      else if (this.df === 'ws') this.scanWs();
      else this.walkRows(Math.max(this.tc, 0), this.R - 1);
      if (this.lb < 0) {
        // The fold ends before the need is met: what it added joins the buffer.
        X.xToS();
        if (this.have > 0) this.sEmpty = false;
        ep.c += this.have;
        ep.fetches += this.have;
        return;
      }
      ep.fetches += this.need;
      this.newEpoch(this.start + this.tb);
      this.tc = this.tb;
      this.lc = this.lb;
    }
  }

  /** Walks rows τA..τB element by element (after the cut) until the need is met. */
  private walkRows(tauA: number, tauB: number): void {
    const X = this.X,
      nl = this.df === 'is' ? this.cu : this.ru;
    for (let tau = tauA; tau <= tauB; tau++)
      for (let l = tau === this.tc ? this.lc + 1 : 0; l < nl; l++) {
        const a = this.at(tau, l);
        if (a < 0 || !X.isNew(a)) continue;
        X.xRun(a, 1);
        if (++this.have === this.need) {
          this.tb = tau;
          this.lb = l;
          return;
        }
      }
  }

  /** os: add rows in coarse steps; the step that meets the need is undone and redone in fine steps, then walked. */
  private scanOs(): void {
    const X = this.X;
    const lastRow = this.g.Wn + this.ru - 2;
    let tauA = Math.max(this.tc - 1, -1), // rows > τA; the cut bounds row τc's lanes
      step = OS_COARSE;
    while (tauA < lastRow && this.lb < 0) {
      const tauB = Math.min(lastRow, tauA + step);
      const nt = X.nt,
        nlog = X.nlog;
      const got = this.addLanes(this.r0, this.ru, this.tc, this.lc, tauA, tauB);
      if (this.have + got < this.need) {
        this.have += got;
        tauA = tauB;
        continue;
      }
      X.rollback(nt, nlog);
      if (step === OS_FINE) this.walkRows(tauA + 1, tauB);
      else step = OS_FINE;
    }
  }

  /** ws: after the cut (τc, ℓc) pixel t's lanes start at lo(t). */
  private lo(t: number, tc: number, lc: number, ru: number): number {
    const d = tc - this.R - t;
    return Math.min(ru, Math.max(0, d > lc ? d : d + 1));
  }

  /** ws: adds pixels [tA, tB) with their lanes after the cut; returns how many are new. */
  private addPixels(tA: number, tB: number): number {
    const { X, r0, ru, tc, lc } = this;
    const tFull = Math.min(tB, Math.max(tA, tc - this.R + 1));
    let n = 0;
    for (let t = tA; t < tFull; t++) n += X.xPixel(t, r0 + this.lo(t, tc, lc, ru), r0 + ru);
    return n + X.xPixels(tFull, tB, r0, r0 + ru);
  }

  /**
   * ws: pixel t's taps are in rows R + t .. R + t + ru − 1. Add pixels (in chunks, with checkpoints) until the need
   * is met at pixel t1: the boundary is in rows R + t1 .. R + t1 + ru − 1. Go back to the state before pixel
   * t1 − ru + 1, add those pixels' taps in rows before R + t1, and walk those rows.
   */
  private scanWs(): void {
    const { X, g, R, r0, ru, tc, lc } = this;
    const t0 = Math.max(0, tc - R - ru + 1),
      tFull = Math.max(t0, tc - R + 1);
    const cp = this.cp;
    cp.length = 0;
    let t = t0,
      t1 = -1;
    while (t < g.Npx && t1 < 0) {
      const end = t < tFull ? t + 1 : Math.min(g.Npx, t + WS_CHUNK);
      cp.push(t, X.nt, X.nlog, this.have);
      const got = this.addPixels(t, end);
      if (this.have + got < this.need) {
        this.have += got;
        t = end;
      } else if (end - t === 1) t1 = t;
      else {
        X.rollback(cp[cp.length - 3]!, cp[cp.length - 2]!);
        cp.length -= 4;
        for (; ; t++) {
          cp.push(t, X.nt, X.nlog, this.have);
          this.have += this.addPixels(t, t + 1);
          if (this.have >= this.need) break;
        }
        t1 = t;
      }
    }
    if (t1 < 0) return;
    const back = Math.max(t0, t1 - ru + 1);
    let i = cp.length - 4;
    while (cp[i]! > back) i -= 4;
    X.rollback(cp[i + 1]!, cp[i + 2]!);
    this.have = cp[i + 3]! + this.addPixels(cp[i]!, back);
    for (let t = back; t < t1; t++) {
      const l0 = this.lo(t, tc, lc, ru);
      this.have += X.xPixel(t, r0 + l0, r0 + Math.max(l0, Math.min(ru, t1 - t)));
    }
    this.walkRows(Math.max(R + t1, tc), R + t1 + ru - 1);
  }
  /** Checkpoints of scanWs: pixel, X.nt, X.nlog, have. */
  cp: number[] = [];
}

// ---------------------------------------------------------------------------------------------------------------
// Write buffer (write_buffer.py)

class WriteBuffer {
  readonly total: number;
  readonly active: number;
  readonly L: number;
  free: number;
  lineIdx = 0;
  lines = 0;
  drainPtr = 0;
  /** Lines flushed part-full: [line, words] pairs, oldest first (a drain counts its last line's real words). */
  partial: number[] = [];
  drainEnd = 0;
  stall = 0;
  stallRows: number[] = [];
  stallAmts: number[] = [];
  writes = 0;
  dramStart = Number.NaN;
  dramStop = Number.NaN;

  constructor(
    words: number,
    readonly B: number,
  ) {
    this.total = words;
    this.active = Math.ceil(words * 0.5);
    this.L = Math.ceil((words - this.active) / B);
    this.free = words;
  }

  private drain(s: number): number {
    const n = Math.min(this.L, this.lines - this.drainPtr);
    const last = this.drainPtr + n - 1;
    let words = this.B;
    while (this.partial.length > 0 && this.partial[0]! <= last) {
      if (this.partial[0] === last) words = this.partial[1]!;
      this.partial.splice(0, 2);
    }
    const data = (n - 1) * this.B + words;
    this.writes += data;
    this.free += data;
    if (Number.isNaN(this.dramStart)) this.dramStart = s;
    this.dramStop = s + n - 1;
    this.drainPtr += n;
    return s + n - 1;
  }
  private flush(): void {
    if (this.lineIdx === 0) return;
    this.partial.push(this.lines, this.lineIdx);
    this.lines++;
    this.lineIdx = 0;
  }
  private store(k: number): void {
    this.free -= k;
    const t = this.lineIdx + k;
    this.lines += Math.floor(t / this.B);
    this.lineIdx = t % this.B;
  }

  /** Demand rows r0 .. r0 + n − 1 holding cnt0, cnt0 + slope, … outputs each (slope −1, 0 or 1). */
  rows(r0: number, n: number, cnt0: number, slope: number): void {
    if (n <= 0) return;
    if (slope !== 0) {
      // A ramp: in bulk when no drain can start and the buffer cannot fill anywhere in it, else row by row.
      const sum = n * cnt0 + (slope * n * (n - 1)) / 2;
      const cur = r0 + this.stall;
      const safe = cur >= this.drainEnd ? this.free - sum >= this.active : n <= this.drainEnd - cur && this.free - sum >= 1;
      if (safe) this.store(sum);
      else for (let i = 0; i < n; i++) this.rows(r0 + i, 1, cnt0 + slope * i, 0);
      return;
    }
    if (cnt0 === 0) return;
    const cnt = cnt0,
      end = r0 + n;
    for (let r = r0; r < end; ) {
      const cur = r + this.stall;
      // Rows in which nothing can happen: outside a drain free stays ≥ active (no drain starts), inside one
      // free stays > 0 (no stall).
      let k =
        cur >= this.drainEnd
          ? Math.floor((this.free - this.active) / cnt)
          : Math.min(this.drainEnd - cur, Math.floor((this.free - 1) / cnt));
      k = Math.max(0, Math.min(k, end - r));
      if (k > 0) {
        this.store(cnt * k);
        r += k;
      } else this.row(r++, cnt);
    }
  }

  private row(r: number, cnt: number): void {
    const cyc = r + this.stall;
    let cur = cyc;
    for (let e = 0; e < cnt; e++) {
      this.store(1);
      if (cur < this.drainEnd) {
        if (!(this.free > 0)) cur = this.drainEnd;
      } else if (this.free < this.active) {
        this.flush();
        this.drainEnd = this.drain(cur);
      }
    }
    if (cur > cyc) {
      this.stallRows.push(r);
      this.stallAmts.push(cur - cyc);
      this.stall += cur - cyc;
    }
  }

  finish(cycle: number): void {
    this.flush();
    while (this.drainPtr < this.lines) {
      this.drainEnd = this.drain(cycle);
      cycle = this.drainEnd + 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

const memo = new Map<string, ScaleSimLayerMemory>();

/** Forgets memoised results (for benchmarks). */
export function clearScaleSimMemo(): void {
  memo.clear();
}

/** SCALE-Sim v2's report figures for one layer (CALC mode). Results are memoised by their inputs. */
export function scaleSimLayerMemory(layer: ScaleSimLayerInput, arr: ScaleSimArray, buffers: ScaleSimBuffers): ScaleSimLayerMemory {
  const key = JSON.stringify([layer, arr, buffers]);
  let r = memo.get(key);
  if (!r) {
    if (memo.size > 1000) memo.clear();
    r = compute(layer, arr, buffers);
    memo.set(key, r);
  }
  return structuredClone(r);
}

function compute(l: ScaleSimLayerInput, a: ScaleSimArray, b: ScaleSimBuffers): ScaleSimLayerMemory {
  for (const [k, v] of Object.entries({ ...l, rows: a.rows, cols: a.cols }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`SCALE-Sim layer: ${k} must be a positive integer, got ${v}`);
  if (l.filterH > l.ifmapH || l.filterW > l.ifmapW) throw new Error('SCALE-Sim layer: the filter is larger than the ifmap');
  for (const w of [b.ifmapWords, b.filterWords])
    if (!(w >= 100)) throw new Error(`SCALE-Sim read buffers need ≥ 100 words (its sets are words/100), got ${w}`);
  if (!(b.ofmapWords >= 2)) throw new Error(`SCALE-Sim's ofmap buffer needs ≥ 2 words, got ${b.ofmapWords}`);
  for (const bw of [b.ifmapBw, b.filterBw, b.ofmapBw])
    if (bw !== undefined && !(Number.isInteger(bw) && bw >= 1)) throw new Error(`SCALE-Sim bandwidths are positive integers, got ${bw}`);
  const [Eh, Ew] = scaleSimOfmapDims(l);
  const g: Geo = {
    H: l.ifmapH,
    W: l.ifmapW,
    C: l.channels,
    fw: l.filterW,
    sh: l.strideH,
    sw: l.strideW,
    Ew,
    Npx: Eh * Ew,
    Wn: l.filterH * l.filterW * l.channels,
    M: l.numFilters,
  };
  const df = a.dataflow;
  const p = planOf(g, a);
  const { R, Cc, rf, cf, rowsF, T } = p;
  const nRows = rf * cf * rowsF;

  // SRAM counts, mapping efficiency and compute utilisation: sums over folds as the compute modules do.
  let ifR = 0,
    fiR = 0,
    ofW = 0,
    effSum = 0,
    utilSum = 0;
  const wb = new WriteBuffer(b.ofmapWords, b.ofmapBw ?? Cc);
  const cyclesF = df === 'os' ? T + R + Cc - 2 : 2 * R + 2 * Cc + T - 3;
  let ofFirst = -1,
    ofLast = -1;
  for (let fc = 0; fc < cf; fc++)
    for (let fr = 0; fr < rf; fr++) {
      const ru = Math.min(R, p.Sr - fr * R),
        cu = Math.min(Cc, p.Sc - fc * Cc);
      const start = (fc * rf + fr) * rowsF;
      if (df === 'os') {
        ifR += T * ru;
        fiR += T * cu;
        ofW += ru * cu + R + Cc;
      } else if (df === 'ws') {
        ifR += T * ru;
        fiR += ru * cu;
        ofW += T * cu;
      } else {
        ifR += ru * cu;
        fiR += T * ru;
        ofW += T * cu;
      }
      effSum += (ru * cu) / (R * Cc);
      utilSum += (ru * cu * T) / (R * Cc * cyclesF);
      // Ofmap demand: cu skewed lanes of ni outputs, lane ℓ's i-th at fold row off + i + ℓ.
      const off = df === 'os' ? T - 1 + R - ru : 2 * R - 1,
        ni = df === 'os' ? ru : T;
      const first = start + off,
        last = start + off + ni - 1 + cu - 1;
      if (ofFirst < 0) ofFirst = first;
      ofLast = last;
      // Rows first.. : counts ramp up by 1 per row, stay, ramp down (min/max of lanes and length).
      const up = Math.min(cu, ni),
        flat = Math.max(cu, ni) - up + 1;
      wb.rows(first, up - 1, 1, 1);
      wb.rows(first + up - 1, flat, up, 0);
      wb.rows(first + up - 1 + flat, up - 1, up - 1, -1);
    }
  const stallCycles = wb.stall;
  const totalCycles = nRows - 1 + stallCycles;
  wb.finish(totalCycles);

  const cycleIn = (row: number): number => {
    let c = row;
    for (let i = 0; i < wb.stallRows.length && wb.stallRows[i]! < row; i++) c += wb.stallAmts[i]!;
    return c;
  };
  const cycleOut = (row: number): number => {
    const i = wb.stallRows.indexOf(row);
    return cycleIn(row) + (i >= 0 ? wb.stallAmts[i]! : 0);
  };

  // Read side.
  const K = (w: number) => Math.floor(w / 100);
  const engine = new IfmapEngine(p, g, df, 50 * K(b.ifmapWords));
  const ifm = engine.run();
  const fil = filterFetches(p, g, df, 50 * K(b.filterWords));
  const [ifFirst, ifLast] = ifmapValidRows(p, g, df, engine.taps);
  const filFirst = df === 'os' ? 0 : df === 'is' ? R : R - Math.min(R, p.Sr);
  const lastFold = (rf * cf - 1) * rowsF;
  const ruLast = Math.min(R, p.Sr - (rf - 1) * R),
    cuLast = Math.min(Cc, p.Sc - (cf - 1) * Cc);
  const filLast = lastFold + (df === 'os' ? g.Wn + cuLast - 2 : df === 'is' ? R + g.M + ruLast - 2 : R - 1);
  const dramRead = (rr: ReadResult, firstRow: number, words: number, bw: number): [number, number] => {
    // ReadBufferEstimateBw.manage_prefetches/complete_all_prefetches: the first prefetch ends just before the first
    // request (or at −2 without any boundary); the last one ends at the last boundary. Trace cycles are +1 (port).
    const k = K(words);
    if (rr.boundaries === 0) return [-Math.ceil((Math.ceil(rr.fetches / k) * k) / bw), -1];
    return [cycleIn(firstRow) - Math.ceil((50 * k) / bw), cycleIn(rr.lastBoundaryRow) + 1];
  };
  const dramIf = dramRead(ifm, ifFirst, b.ifmapWords, b.ifmapBw ?? 10);
  const dramFi = dramRead(fil, filFirst, b.filterWords, b.filterBw ?? 10);
  const dramOf: [number, number] = [wb.dramStart, wb.dramStop];

  const numMac = R * Cc;
  const sram = { ifmapReads: ifR, filterReads: fiR, ofmapWrites: ofW };
  const dram = { ifmapReads: ifm.fetches, filterReads: fil.fetches, ofmapWrites: wb.writes };
  const span = (c: [number, number]) => c[1] - c[0] + 1;
  return {
    totalCycles,
    stallCycles,
    overallUtil: (g.Npx * g.M * g.Wn * 100) / (totalCycles * numMac),
    mappingEfficiency: (effSum / (rf * cf)) * 100,
    computeUtil: (utilSum / (rf * cf)) * 100,
    sram,
    dram,
    sramCycles: {
      ifmap: [cycleIn(ifFirst) + 1, cycleIn(ifLast) + 1],
      filter: [cycleIn(filFirst) + 1, cycleIn(filLast) + 1],
      ofmap: [cycleOut(ofFirst), cycleOut(ofLast)],
    },
    dramCycles: { ifmap: dramIf, filter: dramFi, ofmap: dramOf },
    sramBw: { ifmap: ifR / totalCycles, filter: fiR / totalCycles, ofmap: ofW / totalCycles },
    dramBw: {
      ifmap: dram.ifmapReads / span(dramIf),
      filter: dram.filterReads / span(dramFi),
      ofmap: dram.ofmapWrites / span(dramOf),
    },
  };
}

/** First and last demand rows holding an ifmap address (taps that overhang the input are −1). */
function ifmapValidRows(p: Plan, g: Geo, df: ScaleSimDataflow, taps: Taps): [number, number] {
  const addr = (p: number, j: number) => taps.addr(p, j);
  const R = p.R;
  const rowHas = (f: number, tau: number): boolean => {
    const fc = Math.floor(f / p.rf),
      r0 = (f - fc * p.rf) * R,
      ru = Math.min(R, p.Sr - r0),
      c0 = fc * p.Cc,
      cu = Math.min(p.Cc, p.Sc - c0);
    if (df === 'is') {
      if (tau >= R || R - 1 - tau >= ru) return false;
      for (let c = 0; c < cu; c++) if (addr(c0 + c, r0 + R - 1 - tau) >= 0) return true;
    } else if (df === 'os') {
      for (let l = 0; l < ru; l++) if (tau - l >= 0 && tau - l < g.Wn && addr(r0 + l, tau - l) >= 0) return true;
    } else for (let l = 0; l < ru; l++) if (tau - R - l >= 0 && tau - R - l < g.Npx && addr(tau - R - l, r0 + l) >= 0) return true;
    return false;
  };
  const nF = p.rf * p.cf;
  let first = -1,
    last = -1;
  for (let r = 0; r < nF * p.rowsF && first < 0; r++) if (rowHas(Math.floor(r / p.rowsF), r % p.rowsF)) first = r;
  for (let r = nF * p.rowsF - 1; r >= 0 && last < 0; r--) if (rowHas(Math.floor(r / p.rowsF), r % p.rowsF)) last = r;
  return [first, last];
}
