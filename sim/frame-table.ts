/**
 * Per-frame rows of a trace simulation, kept compactly: one Float64Array row of numbers per frame
 * and run (19 × 8 bytes) instead of an object with a nested energy breakdown (~430 bytes on V8),
 * so what a long trace's result keeps per frame stays small. Rows come back as FrameRow objects,
 * built when read.
 */
import { BUFFERS } from './actions.js';
import type { EnergyBreakdown } from './energy.js';
import type { Mode } from './modes.js';

/** One frame of one run (hw-model × mode), summed over layers. */
export interface FrameRow {
  frame: number;
  arch: string;
  mode: Mode;
  cycles: number;
  computeCycles: number;
  stallCycles: number;
  latencyUs: number;
  macs: number;
  effectiveMacs: number;
  /** Events consumed (event engines) / neurons updated (evaluated outputs in delta mode). */
  events: number;
  neuronUpdates: number;
  dramBytes: number;
  energy: EnergyBreakdown;
}

const SCALARS = [
  'frame',
  'cycles',
  'computeCycles',
  'stallCycles',
  'latencyUs',
  'macs',
  'effectiveMacs',
  'events',
  'neuronUpdates',
  'dramBytes',
] as const;
const ENERGY = ['computePJ', 'dramPJ', 'staticPJ', 'totalPJ'] as const;
// Row layout: run index, the scalars, the energy totals, then the SRAM energy per buffer.
const WIDTH = 1 + SCALARS.length + ENERGY.length + BUFFERS.length;

export class FrameTable implements Iterable<FrameRow> {
  private data = new Float64Array(64 * WIDTH);
  private n = 0;
  /** The distinct (arch, mode) runs; a row stores its run's index. */
  private readonly runs: { arch: string; mode: Mode }[] = [];

  get length(): number {
    return this.n;
  }

  push(r: FrameRow): void {
    if ((this.n + 1) * WIDTH > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    let run = this.runs.findIndex((x) => x.arch === r.arch && x.mode === r.mode);
    if (run < 0) run = this.runs.push({ arch: r.arch, mode: r.mode }) - 1;
    const d = this.data;
    let o = this.n++ * WIDTH;
    d[o++] = run;
    for (const k of SCALARS) d[o++] = r[k];
    for (const k of ENERGY) d[o++] = r.energy[k];
    for (const b of BUFFERS) d[o++] = r.energy.sramPJ[b];
  }

  /** Row i as an object. */
  at(i: number): FrameRow {
    if (!(Number.isInteger(i) && i >= 0 && i < this.n)) throw new RangeError(`FrameTable.at: row ${i} outside [0, ${this.n})`);
    const d = this.data;
    let o = i * WIDTH;
    const { arch, mode } = this.runs[d[o++]!]!;
    const row = { arch, mode } as FrameRow;
    for (const k of SCALARS) row[k] = d[o++]!;
    const e = {} as EnergyBreakdown;
    for (const k of ENERGY) e[k] = d[o++]!;
    e.sramPJ = { ifmap: 0, filter: 0, ofmap: 0, state: 0 };
    for (const b of BUFFERS) e.sramPJ[b] = d[o++]!;
    row.energy = e;
    return row;
  }

  *[Symbol.iterator](): Iterator<FrameRow> {
    for (let i = 0; i < this.n; i++) yield this.at(i);
  }
}
