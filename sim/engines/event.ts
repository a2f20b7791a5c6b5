/**
 * The event-driven many-core engine (hw kind `event`: SENeCA / Loihi / GrAI-like).
 *
 * Partition (`partition`): which core holds each output neuron (y, x, co) of a layer.
 *  - `channel` (the default): output channel co lives on core co mod cores, with all its positions. A layer
 *    with fewer channels than cores leaves the rest idle.
 *  - `spatial-channel`: the output map OH×OW×OC is cut into pc channel blocks × ph row tiles × pw column tiles
 *    (contiguous, balanced ranges), one per core, numbered tile by tile, the blocks of a tile next to each other.
 *    The cut minimises the neurons of the largest core (⌈OC/pc⌉·⌈OH/ph⌉·⌈OW/pw⌉ with pc·ph·pw ≤ cores); among
 *    equals it takes the most channel blocks (channels first: every channel of a dense layer does the same
 *    work, so channel blocks balance whatever the events), then the squarest tiles (the smallest halo), then
 *    the most row tiles. An 8-channel layer on 64 cores gets 8 blocks × 8 tiles when its map has ≥ 8 positions.
 * Delivery: an input event (a non-zero level, or a non-zero delta) of channel group g is sent once to every core
 * that holds a channel of g — under `spatial-channel`, only to the cores whose tile's input window (the rows and
 * columns its receptive fields span) holds the event. On each of its channels a core does one synaptic op per
 * output position of its tile that the event reaches, skipped for zero weights (synapse lists store only
 * non-zero weights, so × weight density). Per-core loads come from the frame's real events: the receptive-field
 * counts `rf` give each tile's synaptic ops and touched neurons, the event indices `idx` each tile's deliveries.
 * A core's time = ⌈its synaptic ops ÷ synOpsPerCyclePerCore⌉ + eventOverheadCycles × events it receives +
 * neuronUpdateCycles × neurons it updates; a layer lasts as long as its slowest core.
 * Neurons updated: every output in dense mode (and on the delta key frame); otherwise only the touched ones (≥ 1
 * event in the receptive field) — in sparse mode an untouched neuron's output is its bias level, a constant that
 * needs no update.
 *
 * NoC hops: `nocHopsPerEvent` given ⇒ that many per delivered event (flat). Absent ⇒ counted on the mesh: cores
 * sit on a 2-D mesh of `meshCols` columns (default ⌈√cores⌉), numbered row by row. An event starts at the core
 * that holds its source neuron — the producer's neuron under the same partition of this layer's input map
 * (its shape as this layer reads it: a flattened input is channels; the network input is taken as spread over
 * the cores the same way) — and is multicast along dimension-order (XY) routes, one copy per link: its hops
 * are the links of the union of the XY routes to its destination cores (the multicast tree's edges; a core
 * sending to itself uses none).
 *
 * Energy, and what the synaptic op includes (docs/design.md §5.4, §5.6). SENeCA's energy per synaptic operation
 * (Tang et al., Frontiers in Neuroscience 2023: ~2.8 pJ in GF 22 nm; the abstract does not itemise it) is taken
 * as the whole per-synapse work of a near-memory core: read the synapse's weight from the core's data memory,
 * read the target neuron's accumulator, add, write it back. deltasim charges it once per synaptic op and no
 * SRAM access for it (neither the weight read nor the accumulator read-modify-write); `stateInCompute` tells
 * the driver that the touched outputs' accumulator write-backs are done. What the synaptic op does not include, charged once each:
 *  - per neuron update (every evaluated output): activation + re-quantisation (`activate`); in delta mode also
 *    the compare with its last level (`deltaCompare`) and the state reads of its accumulator and last level
 *    (driver, state SRAM);
 *  - per changed level (delta mode): the level write (driver, state SRAM) — the level lives in the state, and
 *    the emitted delta leaves as a NoC packet, so nothing is written to the output buffer; in sparse and dense
 *    mode the updated neuron's level is written to the output buffer;
 *  - per source event: one read of the input buffer (each is its own access); per hop: `nocHop`.
 * Not charged: a core's own handling of an incoming event (`eventOverheadCycles` cost time and leakage only; no
 * SENeCA figure for it was found). When the delta state spills to DRAM, the spilled share applies to the accesses
 * the driver charges; the synaptic ops' own accumulator accesses are taken to stay in the core's memory.
 */
import { InputError } from '../../lib/errors.js';
import { inputCount, layerMacs, outputCount, spatial, weightCount, type Layer } from '../../traces/layer.js';
import { axisFanout } from '../../traces/stats.js';
import { bitsToBytes, scatteredWords, zeroActions } from '../actions.js';
import type { EventStats, LayerEvents } from '../activity.js';
import type { StateInCompute } from '../delta-state.js';
import type { EventPartition, EventSpec, HwModel } from '../hw-model.js';
import { gemmOf } from '../workload.js';
import type { Engine } from './engine.js';

/** Per channel group: events, Σ spatial fan-out over them, touched output positions (a frame's EventStats fits). */
export interface GroupEvents {
  events: ArrayLike<number>;
  fanout: ArrayLike<number>;
  touched: ArrayLike<number>;
}

/** Every input an event (dense), or a uniform fraction `density` of them (statistical expectation). */
export function expectedGroupEvents(l: Layer, density: number): GroupEvents {
  const { H, W, C, OH, OW } = spatial(l);
  const sum = (a: Int32Array) => a.reduce((s, v) => s + v, 0);
  const fanH = sum(axisFanout(H, OH, l.kernel[0], l.stride[0], l.padding[0], l.dilation[0]));
  const fanW = sum(axisFanout(W, OW, l.kernel[1], l.stride[1], l.padding[2], l.dilation[1]));
  const cin = C / l.groups;
  const K = gemmOf(l).K;
  const fill = (v: number) => new Float64Array(l.groups).fill(v);
  return {
    events: fill(H * W * cin * density),
    fanout: fill(fanH * fanW * cin * density),
    touched: fill(OH * OW * (1 - (1 - density) ** K)),
  };
}

export interface CoreLoad {
  /** Slowest core's cycles. */
  cycles: number;
  synOps: number;
  /** Event deliveries (an event multicast to n cores counts n). */
  events: number;
  neuronUpdates: number;
  /** Cores that received any work. */
  busyCores: number;
  /** NoC hops: flat (deliveries × nocHopsPerEvent) or the mesh multicast trees' links. */
  nocHops: number;
}

/** The fields of an event hw-model the engine reads (a loaded model, or a test's patch of one). */
export type EventLayoutSpec = Pick<EventSpec, 'cores' | 'synOpsPerCyclePerCore' | 'eventOverheadCycles' | 'neuronUpdateCycles'> &
  Partial<Pick<EventSpec, 'partition' | 'nocHopsPerEvent' | 'meshCols'>> & { source?: string };

/** The partition, mesh and hop model of an event hw-model, checked. */
export interface EventLayout {
  partition: EventPartition;
  /** Flat hops per delivery, or null: counted on the mesh. */
  flatHops: number | null;
  meshCols: number;
}

/** The layout of an event hw-model; an InputError naming the key when its keys contradict each other. */
export function eventLayout(hw: EventLayoutSpec): EventLayout {
  const partition = hw.partition ?? 'channel';
  if (partition !== 'channel' && partition !== 'spatial-channel')
    throw new InputError(`"partition" must be "channel" or "spatial-channel", got ${JSON.stringify(partition)}`, {
      file: hw.source,
      pointer: '/partition',
    });
  if (hw.meshCols !== undefined && hw.nocHopsPerEvent !== undefined)
    throw new InputError(
      '"meshCols" shapes the core mesh on which NoC hops are counted, but "nocHopsPerEvent" sets a flat count: give one of the two',
      { file: hw.source, pointer: '/meshCols' },
    );
  if (hw.meshCols !== undefined && !(Number.isInteger(hw.meshCols) && hw.meshCols >= 1))
    throw new InputError(`"meshCols" must be a positive integer, got ${hw.meshCols}`, { file: hw.source, pointer: '/meshCols' });
  return { partition, flatHops: hw.nocHopsPerEvent ?? null, meshCols: hw.meshCols ?? Math.ceil(Math.sqrt(hw.cores) - 1e-9) };
}

// ——— partitions ———

/**
 * Who holds each neuron of an OH×OW×OC map: the core of (y, x, co) is
 * (tileRowOf[y]·tileCols + tileColOf[x])·slots + slotOfChannel[co].
 */
export interface MapPartition {
  tileRows: number;
  tileCols: number;
  /** Channel slots per tile (`channel`: min(OC, cores) round-robin slots; `spatial-channel`: channel blocks). */
  slots: number;
  slotOfChannel: Int32Array;
  tileRowOf: Int32Array;
  tileColOf: Int32Array;
  /** First output row of each tile row (tileRows + 1 entries), first column of each tile column. */
  rowStart: Int32Array;
  colStart: Int32Array;
}

/** Contiguous balanced ranges: part i of n over `len` starts at ⌊i·len/n⌋. */
function ranges(len: number, n: number): { start: Int32Array; of: Int32Array } {
  const start = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) start[i] = Math.floor((i * len) / n);
  const of = new Int32Array(len);
  for (let i = 0; i < n; i++) of.fill(i, start[i]!, start[i + 1]!);
  return { start, of };
}

/** The spatial-channel cut of an OH×OW×OC map over P cores: channel blocks pc, tile rows ph, tile columns pw. */
export function spatialChannelCut(OH: number, OW: number, OC: number, P: number): { pc: number; ph: number; pw: number } {
  let best = { pc: 1, ph: 1, pw: 1 },
    bestVol = Number.POSITIVE_INFINITY,
    bestPerim = Number.POSITIVE_INFINITY;
  for (let pc = Math.min(OC, P); pc >= 1; pc--) {
    const s = Math.floor(P / pc);
    for (let ph = 1; ph <= Math.min(OH, s); ph++) {
      const pw = Math.min(OW, Math.floor(s / ph));
      const th = Math.ceil(OH / ph),
        tw = Math.ceil(OW / pw);
      const vol = Math.ceil(OC / pc) * th * tw;
      // Fewest neurons on the largest core; then the most channel blocks (the outer loop's order); then the squarest
      // tile; then the most row tiles (full-width bands: contiguous in memory).
      if (vol < bestVol || (vol === bestVol && pc === best.pc && th + tw <= bestPerim)) {
        best = { pc, ph, pw };
        bestVol = vol;
        bestPerim = th + tw;
      }
    }
  }
  return best;
}

/** How `partition` deals an OH×OW×OC map to P cores. */
export function mapPartition(OH: number, OW: number, OC: number, P: number, partition: EventPartition): MapPartition {
  if (partition === 'channel') {
    const slotOfChannel = new Int32Array(OC);
    for (let co = 0; co < OC; co++) slotOfChannel[co] = co % P;
    return {
      tileRows: 1,
      tileCols: 1,
      slots: Math.min(OC, P),
      slotOfChannel,
      tileRowOf: new Int32Array(OH),
      tileColOf: new Int32Array(OW),
      rowStart: Int32Array.of(0, OH),
      colStart: Int32Array.of(0, OW),
    };
  }
  const { pc, ph, pw } = spatialChannelCut(OH, OW, OC, P);
  const r = ranges(OH, ph),
    c = ranges(OW, pw);
  return {
    tileRows: ph,
    tileCols: pw,
    slots: pc,
    slotOfChannel: ranges(OC, pc).of,
    tileRowOf: r.of,
    tileColOf: c.of,
    rowStart: r.start,
    colStart: c.start,
  };
}

// ——— the mesh ———

// Per-column scratch of the multicast tree (rows reached per mesh column).
let colLo = new Int32Array(0);
let colHi = new Int32Array(0);

/**
 * Links of the dimension-order (XY) multicast tree from core `src` to `dests` on a mesh of `cols` columns (cores
 * numbered row by row): the union of the XY routes — along the source's row to each destination's column, then
 * along that column to its row. = the row span (source and destination columns) + Σ per destination column the
 * span of rows (source row and the destinations' rows there).
 */
export function xyMulticastLinks(src: number, dests: ArrayLike<number>, cols: number): number {
  if (dests.length === 0) return 0;
  if (colLo.length < cols) {
    colLo = new Int32Array(cols);
    colHi = new Int32Array(cols);
  }
  const r0 = Math.floor(src / cols),
    c0 = src - r0 * cols;
  colLo.fill(r0, 0, cols);
  colHi.fill(r0, 0, cols);
  let cMin = c0,
    cMax = c0;
  for (let k = 0; k < dests.length; k++) {
    const d = dests[k]!;
    const r = Math.floor(d / cols),
      c = d - r * cols;
    if (c < cMin) cMin = c;
    if (c > cMax) cMax = c;
    if (r < colLo[c]!) colLo[c] = r;
    if (r > colHi[c]!) colHi[c] = r;
  }
  let links = cMax - cMin;
  for (let c = cMin; c <= cMax; c++) links += colHi[c]! - colLo[c]!;
  return links;
}

// ——— the per-frame hot loops (top-level functions: V8 optimises them best with their data passed in) ———

/**
 * Per (group, tile): Σ receptive-field events (synaptic ops per channel) and touched outputs, into syn / upd (zeroed),
 * from rf[g·M + m] over tiles of rows rowStart and columns colStart (ph × pw of an OH × OW map).
 */
function tileSums(
  rf: ArrayLike<number>,
  G: number,
  OW: number,
  rowStart: Int32Array,
  colStart: Int32Array,
  syn: Float64Array,
  upd: Float64Array,
): void {
  const ph = rowStart.length - 1,
    pw = colStart.length - 1,
    T = ph * pw,
    M = rowStart[ph]! * OW;
  for (let g = 0; g < G; g++)
    for (let i = 0; i < ph; i++)
      for (let y = rowStart[i]!; y < rowStart[i + 1]!; y++) {
        const row = g * M + y * OW;
        for (let j = 0; j < pw; j++) {
          let sv = 0,
            nz = 0;
          for (let m = row + colStart[j]!; m < row + colStart[j + 1]!; m++) {
            const v = rf[m]!;
            sv += v;
            nz += +(v !== 0); // branch-free: touched outputs are scattered
          }
          syn[g * T + i * pw + j]! += sv;
          upd[g * T + i * pw + j]! += nz;
        }
      }
}

/**
 * Events idx per (group, destination key): ek[chOff[c] + pixKey[pixel]] += 1 for element i = pixel·C + c. Events come
 * in index order, so runs of one key (a pixel's channels of one group) are counted in a register, not in memory.
 */
function tallyKeys(idx: Uint32Array, C: number, chOff: Int32Array, pixKey: Int32Array, ek: Int32Array): void {
  const n = idx.length;
  let last = -1,
    run = 0;
  for (let e = 0; e < n; e++) {
    const i = idx[e]!;
    const q = (i / C) | 0; // exact: an integer quotient of indices < 2^31
    const k = chOff[i - q * C]! + pixKey[q]!;
    if (k === last) run++;
    else {
      if (last >= 0) ek[last]! += run;
      last = k;
      run = 1;
    }
  }
  if (last >= 0) ek[last]! += run;
}

/**
 * Σ hops of events idx from the cache (key = pixHopKey[pixel] + chHopKey[c]; a miss, −1, asks `fill`), and with `ek`
 * their deliveries per (group, destination key) as tallyKeys, in the same pass.
 */
function sumHops(
  idx: Uint32Array,
  C: number,
  pixHopKey: Int32Array,
  chHopKey: Int32Array,
  cache: Int32Array,
  fill: (key: number) => number,
  ek: Int32Array | null,
  chOff: Int32Array,
  pixKey: Int32Array,
): number {
  let hops = 0;
  const n = idx.length;
  if (ek) {
    let last = -1,
      run = 0;
    for (let e = 0; e < n; e++) {
      const i = idx[e]!;
      const q = (i / C) | 0;
      const c = i - q * C;
      const k = chOff[c]! + pixKey[q]!;
      if (k === last) run++;
      else {
        if (last >= 0) ek[last]! += run;
        last = k;
        run = 1;
      }
      const key = pixHopKey[q]! + chHopKey[c]!;
      const h = cache[key]!;
      hops += h >= 0 ? h : fill(key);
    }
    if (last >= 0) ek[last]! += run;
  } else
    for (let e = 0; e < n; e++) {
      const i = idx[e]!;
      const q = (i / C) | 0;
      const key = pixHopKey[q]! + chHopKey[i - q * C]!;
      const h = cache[key]!;
      hops += h >= 0 ? h : fill(key);
    }
  return hops;
}

// ——— one layer on the cores ———

/** Per-core work of the last `load`: views valid until the next call of any layer's load. */
export interface PerCore {
  synOps: Float64Array;
  events: Float64Array;
  neuronUpdates: Float64Array;
}

/** A layer prepared on an event hw-model: its partition, and per frame the cores' loads and the NoC hops. */
export interface EventLayer {
  partition: MapPartition;
  /** The partition of the layer's input map (where its events come from). */
  source: MapPartition;
  layout: EventLayout;
  /** Cores, one per (tile, slot), holding neurons of this layer. */
  usedCores: number;
  /**
   * The cores' loads for one frame's events: a trace's EventStats, expected events ({density}), null (dense: every
   * input an event), or per-group sums (GroupEvents: only for `channel` with flat hops, where positions do not matter).
   */
  load(events: LayerEvents | GroupEvents | null, weightDensity: number, allOutputs: boolean): CoreLoad;
  /** The per-core work of the last load (length hw.cores). */
  perCore(): PerCore;
}

// Per-core scratch, shared by every layer (a layer-frame's load is used before the next one runs).
let coreSyn = new Float64Array(0);
let coreEv = new Float64Array(0);
let coreUpd = new Float64Array(0);

const isStats = (e: object): e is EventStats => 'rf' in e && 'idx' in e;

/** Prepares layer `l` on an event hw-model (once per run); `hopCacheEntries` bounds the hop cache's array (tests). */
export function eventLayer(l: Layer, hw: EventLayoutSpec, opts: { hopCacheEntries?: number } = {}): EventLayer {
  const layout = eventLayout(hw);
  const P = hw.cores;
  const { H, W, C, OH, OW, OC } = spatial(l);
  const G = l.groups;
  const N = OC / G;
  const cin = C / G;
  const M = OH * OW;
  const K = gemmOf(l).K;
  const spatialCut = layout.partition === 'spatial-channel';
  const part = mapPartition(OH, OW, OC, P, layout.partition);
  const src = mapPartition(H, W, C, P, layout.partition);
  const { tileRows: ph, tileCols: pw, slots: S } = part;
  const T = ph * pw;
  const usedCores = T * S;

  // Slot entries: per slot, the groups of its channels and how many channels of each.
  const entryStart = new Int32Array(S + 1);
  const eG: number[] = [],
    eN: number[] = [];
  // Per group, the slots holding a channel of it.
  const gSlots: number[][] = Array.from({ length: G }, () => []);
  {
    const bySlot: number[][] = Array.from({ length: S }, () => []);
    for (let co = 0; co < OC; co++) bySlot[part.slotOfChannel[co]!]!.push(co);
    for (let s = 0; s < S; s++) {
      entryStart[s] = eG.length;
      for (const co of bySlot[s]!) {
        const g = Math.floor(co / N);
        if (eG.length > entryStart[s]! && eG[eG.length - 1] === g) eN[eN.length - 1]!++;
        else {
          eG.push(g);
          eN.push(1);
          gSlots[g]!.push(s);
        }
      }
    }
    entryStart[S] = eG.length;
  }
  const entryG = Int32Array.from(eG),
    entryN = Float64Array.from(eN);

  // Spatial geometry: output rows / columns per tile, valid input positions per output (fan-in), and the tiles whose
  // input window holds each input row / column (`channel`: the one tile, every row and column).
  const fanIn = (In: number, Out: number, k: number, s: number, pad: number, d: number): Int32Array => {
    const f = new Int32Array(Out);
    for (let o = 0; o < Out; o++) for (let j = 0; j < k; j++) f[o]! += +(o * s + j * d - pad >= 0 && o * s + j * d - pad < In);
    return f;
  };
  const fanInH = fanIn(H, OH, l.kernel[0], l.stride[0], l.padding[0], l.dilation[0]);
  const fanInW = fanIn(W, OW, l.kernel[1], l.stride[1], l.padding[2], l.dilation[1]);
  /** Per input position, the first and last tile (row or column) whose window holds it (first > last: none). */
  const windowTiles = (In: number, start: Int32Array, n: number, k: number, s: number, pad: number, d: number) => {
    const lo = new Int32Array(n),
      hi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = Math.max(0, start[i]! * s - pad);
      hi[i] = Math.min(In - 1, (start[i + 1]! - 1) * s - pad + (k - 1) * d);
    }
    const first = new Int32Array(In).fill(n),
      last = new Int32Array(In).fill(-1);
    for (let y = 0; y < In; y++)
      for (let i = 0; i < n; i++)
        if (lo[i]! <= y && y <= hi[i]!) {
          if (i < first[y]!) first[y] = i;
          last[y] = i;
        }
    if (!spatialCut) {
      first.fill(0);
      last.fill(0);
    }
    return { first, last };
  };
  const rowWin = windowTiles(H, part.rowStart, ph, l.kernel[0], l.stride[0], l.padding[0], l.dilation[0]);
  const colWin = windowTiles(W, part.colStart, pw, l.kernel[1], l.stride[1], l.padding[2], l.dilation[1]);
  // Keys of the distinct tile ranges an input row (column) reaches; an input pixel's destination key combines them.
  const keyRanges = (w: { first: Int32Array; last: Int32Array }) => {
    const ids = new Map<number, number>();
    const lo: number[] = [],
      hi: number[] = [];
    const keyOf = new Int32Array(w.first.length);
    for (let y = 0; y < w.first.length; y++) {
      const f = w.first[y]!,
        t = w.last[y]!;
      const code = f * 65536 + (t + 1);
      let id = ids.get(code);
      if (id === undefined) {
        ids.set(code, (id = lo.length));
        lo.push(f);
        hi.push(t);
      }
      keyOf[y] = id;
    }
    return { keyOf, lo, hi, n: lo.length };
  };
  const rk = keyRanges(rowWin),
    ck = keyRanges(colWin);
  const nDest = rk.n * ck.n;
  const pixDest = new Int32Array(H * W);
  const pixSrcBase = new Int32Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      pixDest[y * W + x] = rk.keyOf[y]! * ck.n + ck.keyOf[x]!;
      pixSrcBase[y * W + x] = (src.tileRowOf[y]! * src.tileCols + src.tileColOf[x]!) * src.slots;
    }
  // Input channel → its group, the key of the group's slot list (groups with the same slots share hop counts), and the
  // slot of the producer's core that holds it.
  const chGroup = new Int32Array(C),
    chGroupKey = new Int32Array(C);
  const groupKeyOf = new Int32Array(G);
  const groupKeySlots: number[][] = [];
  {
    const ids = new Map<string, number>();
    for (let g = 0; g < G; g++) {
      const code = gSlots[g]!.join(',');
      let id = ids.get(code);
      if (id === undefined) {
        ids.set(code, (id = groupKeySlots.length));
        groupKeySlots.push(gSlots[g]!);
      }
      groupKeyOf[g] = id;
    }
    for (let c = 0; c < C; c++) {
      chGroup[c] = Math.floor(c / cin);
      chGroupKey[c] = groupKeyOf[chGroup[c]!]!;
    }
  }
  const chSrcSlot = src.slotOfChannel;
  const nGK = groupKeySlots.length;

  // Hops of an event by (source core, destination key, group key), filled on first use. The key of an input element
  // (pixel p, channel c) is pixHopKey[p] + chHopKey[c]: ((source core)·nDest + destination key)·nGK + group key, where
  // source core = pixSrcBase[p] + chSrcSlot[c].
  const mesh = layout.flatHops === null;
  const hopSize = P * nDest * nGK;
  // An array cache up to 4 Mi entries (16 MiB); beyond (thousands of cores), a Map of the keys met.
  const hopArray = mesh && hopSize <= (opts.hopCacheEntries ?? 1 << 22) ? new Int32Array(hopSize).fill(-1) : null;
  const hopMap = new Map<number, number>();
  // Keys fit 32 bits where the cache is an array (≤ 2^22 entries); beyond, the Map's keys are exact doubles.
  const Key = hopArray ? Int32Array : Float64Array;
  const pixHopKey = new Key(H * W),
    chHopKey = new Key(C),
    chEvOff = new Int32Array(C);
  for (let q = 0; q < H * W; q++) pixHopKey[q] = (pixSrcBase[q]! * nDest + pixDest[q]!) * nGK;
  for (let c = 0; c < C; c++) {
    chHopKey[c] = chSrcSlot[c]! * nDest * nGK + chGroupKey[c]!;
    chEvOff[c] = chGroup[c]! * nDest;
  }
  const dests: number[] = [];
  /** The hops of key (a cache miss, or the Map's keys): the XY multicast tree to the key's destination cores. */
  const hopsOfKey = (key: number): number => {
    const known = hopArray ? hopArray[key]! : (hopMap.get(key) ?? -1);
    if (known >= 0) return known;
    const gk = key % nGK,
      rest = (key - gk) / nGK;
    const dk = rest % nDest,
      s = (rest - dk) / nDest;
    const rkey = Math.floor(dk / ck.n),
      ckey = dk - rkey * ck.n;
    dests.length = 0;
    for (let ti = rk.lo[rkey]!; ti <= rk.hi[rkey]!; ti++)
      for (let tj = ck.lo[ckey]!; tj <= ck.hi[ckey]!; tj++) for (const slot of groupKeySlots[gk]!) dests.push((ti * pw + tj) * S + slot);
    const h = xyMulticastLinks(s, dests, layout.meshCols);
    if (hopArray) hopArray[key] = h;
    else hopMap.set(key, h);
    return h;
  };
  // Σ hops over every input element (dense; × density for expected events), computed once.
  let allHops = -1;
  const everyInputHops = (): number => {
    if (allHops >= 0) return allHops;
    allHops = 0;
    for (let q = 0; q < H * W; q++) for (let c = 0; c < C; c++) allHops += hopsOfKey(pixHopKey[q]! + chHopKey[c]!);
    return allHops;
  };
  /** Σ hops of the events idx, and their deliveries per destination key into ek (with ek). */
  const eventHops = (idx: Uint32Array, ek: Int32Array | null): number => {
    if (hopArray) return sumHops(idx, C, pixHopKey as Int32Array, chHopKey as Int32Array, hopArray, hopsOfKey, ek, chEvOff, pixDest);
    if (ek) tallyKeys(idx, C, chEvOff, pixDest, ek);
    let hops = 0;
    for (let e = 0; e < idx.length; e++) {
      const i = idx[e]!;
      const q = (i / C) | 0;
      hops += hopsOfKey(pixHopKey[q]! + chHopKey[i - q * C]!);
    }
    return hops;
  };

  // Per (group, tile): synaptic ops per channel, deliveries, neurons updated per channel; events per (group, destination key).
  const synGT = new Float64Array(G * T),
    evGT = new Float64Array(G * T),
    updGT = new Float64Array(G * T);
  // Deliveries follow the windows only where some input misses a tile's window (with one tile and every input in it,
  // an event goes to every core of its group, as under `channel`).
  const oneTileForAll = T === 1 && rowWin.last.every((v) => v === 0) && colWin.last.every((v) => v === 0);
  const evKey = spatialCut && !oneTileForAll ? new Int32Array(G * nDest) : null;
  // Per tile: positions, Σ fan-in (synaptic ops per channel of the tile when every input is an event), input pixels in its window.
  const tileSize = new Float64Array(T),
    tileFan = new Float64Array(T),
    tileWin = new Float64Array(T);
  {
    const rowsIn = (i: number) => {
      let n = 0;
      for (let y = 0; y < H; y++) n += +(rowWin.first[y]! <= i && i <= rowWin.last[y]!);
      return n;
    };
    const colsIn = (j: number) => {
      let n = 0;
      for (let x = 0; x < W; x++) n += +(colWin.first[x]! <= j && j <= colWin.last[x]!);
      return n;
    };
    for (let i = 0; i < ph; i++)
      for (let j = 0; j < pw; j++) {
        const t = i * pw + j;
        let fh = 0,
          fw = 0;
        for (let y = part.rowStart[i]!; y < part.rowStart[i + 1]!; y++) fh += fanInH[y]!;
        for (let x = part.colStart[j]!; x < part.colStart[j + 1]!; x++) fw += fanInW[x]!;
        tileSize[t] = (part.rowStart[i + 1]! - part.rowStart[i]!) * (part.colStart[j + 1]! - part.colStart[j]!);
        tileFan[t] = fh * fw;
        tileWin[t] = spatialCut ? rowsIn(i) * colsIn(j) : H * W;
      }
  }

  const load = (events: LayerEvents | GroupEvents | null, weightDensity: number, allOutputs: boolean): CoreLoad => {
    synGT.fill(0);
    evGT.fill(0);
    updGT.fill(0);
    let nocHops = 0;
    if (events === null || 'density' in events) {
      // Expected events: each input an event with probability d (dense: d = 1), spread uniformly.
      const d = events === null ? 1 : events.density;
      const touchedShare = allOutputs ? 1 : 1 - (1 - d) ** K;
      for (let g = 0; g < G; g++)
        for (let t = 0; t < T; t++) {
          synGT[g * T + t] = d * cin * tileFan[t]!;
          evGT[g * T + t] = d * cin * tileWin[t]!;
          updGT[g * T + t] = tileSize[t]! * touchedShare;
        }
      if (mesh) nocHops = d * everyInputHops();
    } else if (!isStats(events)) {
      if (spatialCut || mesh)
        throw new Error('eventLayer.load: per-group sums carry no positions; the spatial-channel partition and mesh hops need EventStats');
      for (let g = 0; g < G; g++) {
        synGT[g] = events.fanout[g]!;
        evGT[g] = events.events[g]!;
        updGT[g] = allOutputs ? M : events.touched[g]!;
      }
    } else {
      const { rf, idx } = events;
      if (T === 1)
        for (let g = 0; g < G; g++) {
          synGT[g] = events.fanout[g]!;
          updGT[g] = allOutputs ? M : events.touched[g]!;
        }
      else {
        tileSums(rf, G, OW, part.rowStart, part.colStart, synGT, updGT);
        if (allOutputs) for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) updGT[g * T + t] = tileSize[t]!;
      }
      // Per event: its destination tiles and, on the mesh, its multicast tree's links.
      if (mesh) nocHops = eventHops(idx, evKey);
      else if (evKey) tallyKeys(idx, C, chEvOff, pixDest, evKey);
      if (evKey)
        for (let g = 0; g < G; g++)
          for (let dk = 0; dk < nDest; dk++) {
            const v = evKey[g * nDest + dk]!;
            if (v === 0) continue;
            evKey[g * nDest + dk] = 0;
            const rkey = Math.floor(dk / ck.n),
              ckey = dk - rkey * ck.n;
            for (let ti = rk.lo[rkey]!; ti <= rk.hi[rkey]!; ti++)
              for (let tj = ck.lo[ckey]!; tj <= ck.hi[ckey]!; tj++) evGT[g * T + ti * pw + tj]! += v;
          }
      else for (let g = 0; g < G; g++) evGT[g] = events.events[g]!;
    }

    if (coreSyn.length < P) {
      coreSyn = new Float64Array(P);
      coreEv = new Float64Array(P);
      coreUpd = new Float64Array(P);
    }
    let cycles = 0,
      synOps = 0,
      deliveries = 0,
      neuronUpdates = 0,
      busyCores = 0;
    for (let t = 0; t < T; t++)
      for (let s = 0; s < S; s++) {
        let syn = 0,
          ev = 0,
          upd = 0;
        for (let k = entryStart[s]!; k < entryStart[s + 1]!; k++) {
          const gt = entryG[k]! * T + t,
            n = entryN[k]!;
          syn += n * synGT[gt]!;
          ev += evGT[gt]!;
          upd += n * updGT[gt]!;
        }
        syn *= weightDensity;
        const core = t * S + s;
        coreSyn[core] = syn;
        coreEv[core] = ev;
        coreUpd[core] = upd;
        const c = Math.ceil(syn / hw.synOpsPerCyclePerCore - 1e-9) + hw.eventOverheadCycles * ev + hw.neuronUpdateCycles * upd;
        if (c > cycles) cycles = c;
        if (c > 0) busyCores++;
        synOps += syn;
        deliveries += ev;
        neuronUpdates += upd;
      }
    coreSyn.fill(0, usedCores, P);
    coreEv.fill(0, usedCores, P);
    coreUpd.fill(0, usedCores, P);
    if (!mesh) nocHops = deliveries * layout.flatHops!;
    return { cycles, synOps, events: deliveries, neuronUpdates, busyCores, nocHops };
  };

  return {
    partition: part,
    source: src,
    layout,
    usedCores,
    load,
    perCore: () => ({ synOps: coreSyn.subarray(0, P), events: coreEv.subarray(0, P), neuronUpdates: coreUpd.subarray(0, P) }),
  };
}

/** Work per core under the round-robin channel partition (whatever the hw-model's own); `allOutputs` = update every neuron. */
export function coreLoad(
  l: Layer,
  hw: Pick<EventSpec, 'cores' | 'synOpsPerCyclePerCore' | 'eventOverheadCycles' | 'neuronUpdateCycles'>,
  w: GroupEvents,
  weightDensity: number,
  allOutputs: boolean,
): CoreLoad {
  const spec: EventLayoutSpec = {
    cores: hw.cores,
    synOpsPerCyclePerCore: hw.synOpsPerCyclePerCore,
    eventOverheadCycles: hw.eventOverheadCycles,
    neuronUpdateCycles: hw.neuronUpdateCycles,
    partition: 'channel',
    nocHopsPerEvent: 0,
  };
  return eventLayer(l, spec).load({ events: w.events, fanout: w.fanout, touched: w.touched }, weightDensity, allOutputs);
}

/** The synaptic op pays the accumulator's read-modify-write (SENeCA's per-synaptic-op energy): no write-back to charge. */
const EVENT_STATE_IN_COMPUTE: Readonly<StateInCompute> = Object.freeze({
  accumulatorReads: false,
  accumulatorWrites: true,
  levelReads: false,
  levelWrites: false,
});

export const eventEngine: Engine<Extract<HwModel, { kind: 'event' }>> = {
  // Cores consume any events: zero levels and zero deltas are simply never sent.
  capabilities: () => ({ skipsOrGatesZeros: true, deltaState: true }),
  computeUnits: (hw) => hw.cores,
  describe: (hw) => {
    const lay = eventLayout(hw);
    const rows = Math.ceil(hw.cores / lay.meshCols);
    return {
      shape: `${hw.cores} cores`,
      features: 'events: dense, sparse, delta',
      details: [
        `${hw.cores} cores, ${hw.synOpsPerCyclePerCore} synaptic ops/cycle/core, ${hw.eventOverheadCycles} cycles/event, ` +
          `${hw.neuronUpdateCycles} cycles/neuron update, clock ${hw.clockMHz} MHz`,
        lay.partition === 'channel'
          ? 'partition channel: output channels dealt round-robin over the cores, each with its whole map; each event is multicast to the cores holding its channel group'
          : 'partition spatial-channel: each output map cut into channel blocks × row tiles × column tiles, one per core ' +
            '(partition channel, the default, deals the channels round-robin); each event is multicast to the cores holding its ' +
            'channel group in the tiles whose input window holds it',
        lay.flatHops === null
          ? `NoC: ${rows}×${lay.meshCols} mesh, hops = links of each event's XY multicast tree from its source neuron's core`
          : `NoC: ${lay.flatHops} hops per delivered event`,
        'engine: event-driven many-core (sim/engines/event.ts): a layer lasts as long as its slowest core. Modes: dense (every input an event), sparse, delta. ' +
          'The synaptic op includes its weight read and accumulator read-modify-write (no SRAM access charged for it).',
      ],
      unit: 'core',
    };
  },

  // Cores keep their share of the weights and neurons: a pass fetches each operand once.
  dramReuse: (l, hw) => ({
    weights: bitsToBytes(weightCount(l), hw.precisions.weightBits),
    actsIn: bitsToBytes(inputCount(l), hw.precisions.activationBits),
    actsOut: bitsToBytes(outputCount(l), hw.precisions.activationBits),
  }),

  stateInCompute: () => EVENT_STATE_IN_COMPUTE,

  layer(l, hw) {
    const p = hw.precisions;
    const macs = layerMacs(l);
    const outputs = outputCount(l);
    const cores = eventLayer(l, hw);
    const everyInput = expectedGroupEvents(l, 1);
    return (events, weightDensity, state) => {
      // Dense mode and the delta key frame update every neuron.
      const allOutputs = events === null || (state !== undefined && state.evaluatedOutputs === outputs);
      const load = cores.load(events, weightDensity, allOutputs);
      const a = zeroActions();
      a.macs = macs;
      a.effectiveMacs = load.synOps;
      a.macsSkipped = a.macs - load.synOps;
      a.synOps = load.synOps;
      a.events = load.events;
      a.nocHops = load.nocHops;
      a.neuronUpdates = load.neuronUpdates;
      // Source events are read once from the input buffer. Weights and accumulators are core-local: their accesses
      // are part of the synaptic-op energy.
      const e = events === null ? everyInput : 'density' in events ? null : events;
      let sourceEvents = 0;
      if (e) for (let g = 0; g < l.groups; g++) sourceEvents += e.events[g]!;
      else sourceEvents = inputCount(l) * (events as { density: number }).density;
      // Events arrive in any order: each is its own access (scattered), as is each updated neuron's level.
      const m = hw.memories;
      a.sram.ifmap.readBytes = bitsToBytes(sourceEvents, p.activationBits);
      a.sram.ifmap.reads = scatteredWords(sourceEvents, p.activationBits, m.ifmap.wordBits);
      if (state) {
        // The compare with the last level; the level itself is delta state (read and written by the driver).
        a.deltaCompares = load.neuronUpdates;
      } else {
        a.sram.ofmap.writeBytes = bitsToBytes(load.neuronUpdates, p.activationBits);
        a.sram.ofmap.writes = scatteredWords(load.neuronUpdates, p.activationBits, m.ofmap.wordBits);
      }
      return { folds: hw.cores, foldsRun: load.busyCores, computeCycles: load.cycles, actions: a };
    };
  },
};
