/**
 * Energy tables (hw-models/energy/*.json): energy per action, SRAM energy per access by capacity and
 * word width, DRAM energy by interface class, leakage. Every number is either sourced (`source`:
 * the publication and the arithmetic from its figure) or marked `assumed` (why, and what it rests
 * on); docs/energy-sources.md lists them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { InputError, quote } from '../lib/errors.js';
import { parseJsonText } from '../lib/json.js';
import { schemaError } from '../lib/schema-error.js';
import { ENERGY_DIR } from './paths.js';
import { nodeScaling } from './technology.js';

/** Where a number comes from: exactly one of a citation or the reason it is assumed. */
export type Provenance = { source: string; assumed?: undefined } | { assumed: string; source?: undefined };
/** @deprecated use Provenance (an entry may now be `assumed` instead of sourced). */
export type Sourced = Provenance;

export type ActionName =
  | 'mac8'
  | 'mac16'
  | 'mac32'
  | 'macGated'
  | 'macSkipped'
  | 'activate'
  | 'deltaCompare'
  | 'zeroDetect'
  | 'synOp'
  | 'nocHop';

export type DramInterface = 'LPDDR4' | 'DDR4' | 'HBM2';
export const DRAM_INTERFACES: readonly DramInterface[] = ['LPDDR4', 'DDR4', 'HBM2'];

/** A published SRAM figure: one access of `wordBits` to an array of `kiB` costs `pJ`. */
export type SramPoint = Provenance & { kiB: number; wordBits: number; pJ: number };

/**
 * Width rule: at a fixed capacity, E(w) ∝ fixedShare + (1 − fixedShare)·w/atBits — a part that
 * does not depend on the word width plus a part proportional to it. For 0 ≤ fixedShare ≤ 1, E(w)
 * is non-decreasing in w and E(w)/w non-increasing: a narrower word is never cheaper per bit.
 */
export type SramWidthRule = Provenance & { fixedShare: number; atBits: number };

/** A DRAM interface class: energy per bit moved and the bandwidth one interface typically gives. */
export type DramClass = Provenance & { pJPerBit: number; interfaceGBps: Provenance & { GBps: number } };

/** SRAM area by size class: mm² per KiB of a macro of `kiB` (bit cells plus periphery), at the table's node. */
export type SramAreaPoint = Provenance & { kiB: number; mm2PerKiB: number };

/** Silicon area (sim/area.ts): SRAM by size class, and one compute unit (a PE with its registers, or an event core). */
export interface AreaTable {
  sram: SramAreaPoint[];
  perPE: Provenance & { mm2: number };
}

export interface EnergyTable {
  name: string;
  description?: string;
  technologyNm: number;
  actions: Record<ActionName, Provenance & { pJ: number }>;
  /** SRAM energy per access: points (sorted by capacity on load) and the width rule. */
  sram: { points: SramPoint[]; width: SramWidthRule };
  dram: Record<DramInterface, DramClass>;
  leakage: {
    sramPerKiB: Provenance & { uW: number };
    perPE: Provenance & { uW: number };
    /** Power gating between frames: what idle logic and retained SRAM still leak, as shares of their active leakage. */
    gatedLogicShare: Provenance & { share: number };
    sramRetentionShare: Provenance & { share: number };
  };
  /** Area figures; absent: the table gives none and no area is reported. */
  area?: AreaTable;
}

let validate: ReturnType<Ajv.default['compile']> | undefined;

export function loadEnergyTable(file: string): EnergyTable {
  validate ??= new Ajv.default({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(join(ENERGY_DIR, 'schema.json'), 'utf8')),
  );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read energy table (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  const doc = parseJsonText(text, file);
  checkProvenance(doc, file);
  if (!validate(doc)) throw schemaError(validate.errors, file);
  const t = doc as EnergyTable;
  const order = t.sram.points.map((p, i) => ({ p, i })).sort((a, b) => a.p.kiB - b.p.kiB);
  for (let k = 1; k < order.length; k++)
    if (order[k]!.p.kiB === order[k - 1]!.p.kiB)
      throw new InputError(
        `two SRAM points at ${order[k]!.p.kiB} KiB (points ${order[k - 1]!.i} and ${order[k]!.i}): one figure per capacity`,
        {
          file,
          pointer: `/sram/points/${order[k]!.i}/kiB`,
        },
      );
  t.sram.points = order.map((o) => o.p);
  if (t.area) {
    const pts = t.area.sram.map((p, i) => ({ p, i })).sort((a, b) => a.p.kiB - b.p.kiB);
    for (let k = 1; k < pts.length; k++)
      if (pts[k]!.p.kiB === pts[k - 1]!.p.kiB)
        throw new InputError(`two SRAM area points at ${pts[k]!.p.kiB} KiB: one figure per capacity`, {
          file,
          pointer: `/area/sram/${pts[k]!.i}/kiB`,
        });
    t.area.sram = pts.map((o) => o.p);
  }
  return t;
}

/**
 * The table moved to node `nm` by the one scaling rule (technology.ts): every action and SRAM access energy times
 * the energy factor, every area times the area factor; leakage and DRAM as they are. Each scaled entry's text says
 * so. The same node: the table itself.
 */
export function tableAtNode(t: EnergyTable, nm: number): EnergyTable {
  if (nm === t.technologyNm) return t;
  const f = nodeScaling(t.technologyNm, nm);
  const note = (k: number) => ` [scaled ${t.technologyNm} -> ${nm} nm: x${k.toPrecision(4)}, sim/technology.ts]`;
  const scaled = <E extends Provenance>(e: E, k: number): E =>
    (e.source !== undefined ? { ...e, source: e.source + note(k) } : { ...e, assumed: e.assumed + note(k) }) as E;
  const actions = Object.fromEntries(
    Object.entries(t.actions).map(([k, e]) => [k, { ...scaled(e, f.energy), pJ: e.pJ * f.energy }]),
  ) as EnergyTable['actions'];
  return {
    ...t,
    name: `${t.name}@${nm}nm`,
    description: `${t.description ?? t.name}; scaled from ${t.technologyNm} to ${nm} nm (energy x${f.energy.toPrecision(4)}, area x${f.area.toPrecision(4)})`,
    technologyNm: nm,
    actions,
    sram: { ...t.sram, points: t.sram.points.map((p) => ({ ...scaled(p, f.energy), pJ: p.pJ * f.energy })) },
    ...(t.area && {
      area: {
        sram: t.area.sram.map((p) => ({ ...scaled(p, f.area), mm2PerKiB: p.mm2PerKiB * f.area })),
        perPE: { ...scaled(t.area.perPE, f.area), mm2: t.area.perPE.mm2 * f.area },
      },
    }),
  };
}

/** The entries that must say where their number comes from, as [JSON pointer, value] of the raw document. */
function provenanceEntries(doc: unknown): [string, unknown][] {
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const out: [string, unknown][] = [];
  const root = obj(doc);
  if (!root) return out;
  for (const [k, v] of Object.entries(obj(root.actions) ?? {})) out.push([`/actions/${k}`, v]);
  const sram = obj(root.sram);
  if (sram) {
    if (Array.isArray(sram.points)) sram.points.forEach((p, i) => out.push([`/sram/points/${i}`, p]));
    if ('width' in sram) out.push(['/sram/width', sram.width]);
  }
  for (const [k, v] of Object.entries(obj(root.dram) ?? {})) {
    out.push([`/dram/${k}`, v]);
    const c = obj(v);
    if (c && 'interfaceGBps' in c) out.push([`/dram/${k}/interfaceGBps`, c.interfaceGBps]);
  }
  for (const [k, v] of Object.entries(obj(root.leakage) ?? {})) out.push([`/leakage/${k}`, v]);
  const area = obj(root.area);
  if (area) {
    if (Array.isArray(area.sram)) area.sram.forEach((p, i) => out.push([`/area/sram/${i}`, p]));
    if ('perPE' in area) out.push(['/area/perPE', area.perPE]);
  }
  return out;
}

/**
 * Every entry needs exactly one of "source" and "assumed", non-empty: refused with the file and
 * the entry's key before the schema's more general messages (the schema says the same, for tools).
 */
function checkProvenance(doc: unknown, file: string): void {
  for (const [pointer, v] of provenanceEntries(doc)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue; // the schema reports the wrong type
    const e = v as Record<string, unknown>;
    const key = pointer.slice(1).replaceAll('/', '.');
    const has = (k: string): boolean => k in e;
    if (!has('source') && !has('assumed'))
      throw new InputError(`${quote(key)} has neither "source" nor "assumed": cite where the number comes from, or say why it is assumed`, {
        file,
        pointer,
      });
    if (has('source') && has('assumed'))
      throw new InputError(`${quote(key)} has both "source" and "assumed": give exactly one`, { file, pointer });
    const k = has('source') ? 'source' : 'assumed';
    if (typeof e[k] !== 'string' || !/\S/.test(e[k] as string))
      throw new InputError(`${quote(key)}: "${k}" must be a non-empty text`, { file, pointer: `${pointer}/${k}` });
  }
}

// ——— SRAM ———

/** The width rule's factor for a word of `wordBits`, relative to a word of `atBits`. */
function widthFactor(w: SramWidthRule, wordBits: number): number {
  return w.fixedShare + ((1 - w.fixedShare) * wordBits) / w.atBits;
}

/**
 * Energy of one access of `wordBits` to an SRAM of `kiB`. The table's points are brought to one
 * width by the width rule, then interpolated linearly in log(capacity)–log(energy) between
 * neighbouring points and extrapolated beyond the ends along the end segments (never clamped: an
 * array twice the largest point costs more than it). One point: constant in capacity. A capacity of
 * 0 is no SRAM: 0 pJ (no access happens).
 */
export function sramAccessPJ(t: EnergyTable, kiB: number, wordBits: number): number {
  if (!(kiB >= 0) || !Number.isFinite(kiB)) throw new RangeError(`SRAM capacity must be a finite number ≥ 0, got ${kiB}`);
  if (!(wordBits > 0) || !Number.isFinite(wordBits)) throw new RangeError(`SRAM word width must be a finite number > 0, got ${wordBits}`);
  if (kiB === 0) return 0;
  const w = t.sram.width;
  const pts = t.sram.points;
  // log of a point's energy at width atBits (the width rule's reference): the curve in capacity.
  const logE = (i: number): number => Math.log(pts[i]!.pJ / widthFactor(w, pts[i]!.wordBits));
  let logRef: number;
  if (pts.length === 1) logRef = logE(0);
  else {
    // The segment kiB falls in, or the end segment beyond which it lies.
    let i = 1;
    while (i < pts.length - 1 && kiB > pts[i]!.kiB) i++;
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const f = Math.log(kiB / a.kiB) / Math.log(b.kiB / a.kiB);
    logRef = logE(i - 1) + f * (logE(i) - logE(i - 1));
  }
  return Math.exp(logRef) * widthFactor(w, wordBits);
}

/**
 * How far outside the table's capacity range `kiB` lies: null inside it (ends included) and for 0
 * (no SRAM: nothing is extrapolated), else the ratio (2 = twice the largest point, or half the
 * smallest) and the side.
 */
export function sramExtrapolation(t: EnergyTable, kiB: number): { ratio: number; beyond: 'below' | 'above' } | null {
  const pts = t.sram.points;
  const lo = pts[0]!.kiB;
  const hi = pts[pts.length - 1]!.kiB;
  if (!(kiB > 0)) return null;
  if (kiB < lo) return { ratio: lo / kiB, beyond: 'below' };
  if (kiB > hi) return { ratio: kiB / hi, beyond: 'above' };
  return null;
}

/**
 * pJ per byte of a 64-bit access to an SRAM of `kiB`.
 * @deprecated energy is per access: use sramAccessPJ(t, kiB, wordBits) (callers are being switched).
 */
export function sramPJPerByte(t: EnergyTable, kiB: number): number {
  return sramAccessPJ(t, kiB, 64) / 8;
}

// ——— DRAM ———

/** Energy per byte moved over a DRAM interface of class `iface`. */
export function dramPJPerByte(t: EnergyTable, iface: DramInterface): number {
  return t.dram[iface].pJPerBit * 8;
}

/**
 * The interface class an hw-model with this bandwidth would use: the class whose one interface
 * typically provides the least bandwidth that still covers `GBps` (ties: the lower energy per
 * bit); above every class's interface bandwidth, the class with the most (several interfaces of
 * it). A design takes the least memory interface that meets its bandwidth — fewest pins, no
 * interposer — so an edge chip at 10 GB/s gets LPDDR4, not HBM2, though HBM2 costs least per bit
 * (the lowest-energy class would be HBM2 at every bandwidth). Energy per byte is therefore not
 * monotone in bandwidth (with the shipped tables DDR4, 12.8–25.6 GB/s, costs most); an hw-model that
 * sweeps bandwidth should name its interface.
 */
export function dramInterfaceFor(t: EnergyTable, GBps: number): DramInterface {
  if (!(GBps > 0) || !Number.isFinite(GBps)) throw new RangeError(`DRAM bandwidth must be a finite number > 0, got ${GBps}`);
  const byBandwidth = [...DRAM_INTERFACES].sort(
    (a, b) => t.dram[a].interfaceGBps.GBps - t.dram[b].interfaceGBps.GBps || t.dram[a].pJPerBit - t.dram[b].pJPerBit,
  );
  return byBandwidth.find((d) => t.dram[d].interfaceGBps.GBps >= GBps) ?? byBandwidth[byBandwidth.length - 1]!;
}

// ——— compute ———

/** Energy of one MAC at the wider of the two operand widths. */
export function macPJ(t: EnergyTable, bits: number): number {
  return t.actions[bits <= 8 ? 'mac8' : bits <= 16 ? 'mac16' : 'mac32'].pJ;
}

// ——— provenance ———

export interface AssumedEntry {
  /** Where in the table, e.g. `actions.nocHop`, `leakage.perPE`, `sram.points[0]`, `dram.LPDDR4`. */
  key: string;
  value: number;
  unit: string;
  reason: string;
}

/** Every number of the table that is assumed rather than sourced, with its reason (for `arch show`). */
export function assumedEntries(t: EnergyTable): AssumedEntry[] {
  const out: AssumedEntry[] = [];
  const add = (key: string, e: Provenance, value: number, unit: string): void => {
    if (e.assumed !== undefined) out.push({ key, value, unit, reason: e.assumed });
  };
  for (const [k, e] of Object.entries(t.actions)) add(`actions.${k}`, e, e.pJ, 'pJ');
  t.sram.points.forEach((p, i) => add(`sram.points[${i}]`, p, p.pJ, `pJ per ${p.wordBits}-bit access to ${p.kiB} KiB`));
  const w = t.sram.width;
  add('sram.width.fixedShare', w, w.fixedShare, `of a ${w.atBits}-bit access, independent of the width`);
  for (const d of DRAM_INTERFACES) {
    const c = t.dram[d];
    add(`dram.${d}`, c, c.pJPerBit, 'pJ/bit');
    add(`dram.${d}.interfaceGBps`, c.interfaceGBps, c.interfaceGBps.GBps, 'GB/s');
  }
  add('leakage.sramPerKiB', t.leakage.sramPerKiB, t.leakage.sramPerKiB.uW, 'µW per KiB');
  add('leakage.perPE', t.leakage.perPE, t.leakage.perPE.uW, 'µW per PE or core');
  add('leakage.gatedLogicShare', t.leakage.gatedLogicShare, t.leakage.gatedLogicShare.share, 'of active logic leakage, gated');
  add('leakage.sramRetentionShare', t.leakage.sramRetentionShare, t.leakage.sramRetentionShare.share, 'of active SRAM leakage, retained');
  t.area?.sram.forEach((p, i) => add(`area.sram[${i}]`, p, p.mm2PerKiB, `mm² per KiB of a ${p.kiB} KiB SRAM`));
  if (t.area) add('area.perPE', t.area.perPE, t.area.perPE.mm2, 'mm² per PE or core');
  return out;
}
