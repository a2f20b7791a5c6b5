/**
 * Topology CSV loader (SCALE-Sim format, extended) and the built-in models in sim/topologies/.
 *
 * Plain SCALE-Sim conv rows (the first 8 columns):
 *   Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
 * are read exactly as SCALE-Sim v2 reads them: no padding, output size ceil((H − R + S)/S). That
 * convention is recorded in the Layer as bottom/right padding (out−1)·S + R − H, so the standard
 * output formula holds for every Layer.
 *
 * Optional extra columns, recognised by their header name (case-insensitive), in any order after
 * the 8 standard ones; an empty cell means "as SCALE-Sim":
 *   Padding   — one integer p (all sides) or four "top bottom left right" separated by spaces
 *   Groups    — an integer, or "dw" for depthwise (groups = Channels)
 *   Dilation  — one integer (both axes)
 *   Type      — conv2d (default) | depthwise2d | dense. A dense row is read as a 1×1 map:
 *               Channels = input features, Num Filter = output features (the H, W, R, S cells must be 1).
 *   Weight Bits — integer (default 8)
 * SCALE-Sim GEMM files (`Layer Name, M, N, K,`) load as 1×1 convolutions over a 1×M map with K
 * channels and N filters, which is the same GEMM.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseCsvText } from '../lib/csv.js';
import { InputError, quote } from '../lib/errors.js';
import { LAYER_OPS, layerOf, outputHW, validateLayer, type Layer, type LayerOp, type Padding } from '../traces/layer.js';
import type { Topology } from './workload.js';
import { TOPOLOGIES_DIR } from './paths.js';

const CONV_COLS = ['layer name', 'ifmap height', 'ifmap width', 'filter height', 'filter width', 'channels', 'num filter', 'strides'];
const GEMM_COLS = ['layer name', 'm', 'n', 'k'];
const EXTRA_COLS = ['padding', 'groups', 'dilation', 'type', 'weight bits'];

interface Row {
  cells: string[];
  line: number;
}

export function parseTopologyCsv(text: string, file: string, name = basename(file).replace(/\.csv$/i, '')): Topology {
  const rows: Row[] = parseCsvText(text, file, { relax_column_count: true, skip_empty_lines: true, trim: true })
    .map((r) => ({ cells: dropTrailingEmpty(r.cells), line: r.line }))
    .filter((r) => r.cells.length > 0 && !r.cells[0]!.startsWith('#'));
  if (rows.length < 2) throw new InputError('a topology needs a header row and at least one layer row', { file });
  const header = rows[0]!.cells.map((c) => c.toLowerCase());
  const isGemm = header.length === 4 && GEMM_COLS.every((c, i) => header[i] === c);
  if (!isGemm && !CONV_COLS.every((c, i) => header[i] === c))
    throw new InputError(
      `unrecognised header; expected SCALE-Sim conv columns "${CONV_COLS.join(', ')}" or GEMM columns "Layer Name, M, N, K"`,
      { file, line: rows[0]!.line },
    );
  const extras = header.slice(CONV_COLS.length);
  for (const [i, h] of extras.entries())
    if (!isGemm && !EXTRA_COLS.includes(h)) {
      const column = quote(rows[0]!.cells[CONV_COLS.length + i]!);
      throw new InputError(`unknown column ${column}; optional columns are ${EXTRA_COLS.join(', ')}`, { file, line: rows[0]!.line });
    }
  const layers = rows.slice(1).map((r) => (isGemm ? gemmRow(r, file) : convRow(r, header, file)));
  const seen = new Set<string>();
  for (const [i, l] of layers.entries()) {
    if (seen.has(l.name)) throw new InputError(`duplicate layer name ${quote(l.name)}`, { file, line: rows[i + 1]!.line });
    seen.add(l.name);
  }
  return { name, layers };
}

function dropTrailingEmpty(cells: string[]): string[] {
  let n = cells.length;
  while (n > 0 && cells[n - 1] === '') n--;
  return cells.slice(0, n);
}

function intCell(r: Row, i: number, header: string, file: string, min = 1): number {
  const s = r.cells[i];
  if (s === undefined || s === '') throw new InputError(`missing column "${header}" (column ${i + 1})`, { file, line: r.line });
  const v = Number(s);
  if (!Number.isInteger(v) || v < min)
    throw new InputError(`column "${header}" must be ${min > 0 ? 'a positive' : 'a non-negative'} integer, got ${quote(s)}`, {
      file,
      line: r.line,
    });
  return v;
}

function gemmRow(r: Row, file: string): Layer {
  const [M, N, K] = [1, 2, 3].map((i) => intCell(r, i, GEMM_COLS[i]!, file));
  const l = layerOf({ name: r.cells[0]!, op: 'conv2d', input: [1, M!, K!], output: [1, M!, N!], weightBits: 8, weightDensity: 1 });
  return validateLayer(l, { file, line: r.line });
}

function convRow(r: Row, header: string[], file: string): Layer {
  const [H, W, R, S, C, NF, st] = CONV_COLS.slice(1).map((h, i) => intCell(r, i + 1, h, file)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const extra = (col: string): string => {
    const i = header.indexOf(col);
    return i < 0 ? '' : (r.cells[i] ?? '');
  };
  const where = { file, line: r.line };
  // SCALE-Sim's rows may give a 9th value without a header: the column stride (the 8th is then the row stride).
  if (r.cells.length > header.length && !(header.length === CONV_COLS.length && r.cells.length === CONV_COLS.length + 1))
    throw new InputError(`the row has ${r.cells.length} values, the header ${header.length} columns`, where);
  const stW =
    header.length === CONV_COLS.length && r.cells.length === CONV_COLS.length + 1
      ? intCell(r, CONV_COLS.length, 'strides (columns)', file)
      : st;
  const typeCell = extra('type').toLowerCase() || 'conv2d';
  if (!(LAYER_OPS as readonly string[]).includes(typeCell))
    throw new InputError(`column "Type" must be conv2d, depthwise2d or dense, got ${quote(typeCell)}`, where);
  const groupsCell = extra('groups').toLowerCase();
  const op: LayerOp = groupsCell === 'dw' ? 'depthwise2d' : (typeCell as LayerOp);
  const num = (col: string, min: number): number | undefined => {
    const s = extra(col);
    if (s === '') return undefined;
    const x = Number(s);
    if (!Number.isInteger(x) || x < min) throw new InputError(`column "${col}" must be an integer ≥ ${min}, got ${quote(s)}`, where);
    return x;
  };
  const dil = num('dilation', 1) ?? 1;
  const weightBits = num('weight bits', 1) ?? 8;
  const groups = op === 'depthwise2d' ? C : groupsCell === '' ? 1 : (num('groups', 1) as number);
  if (op === 'dense') {
    if (H !== 1 || W !== 1 || R !== 1 || S !== 1) throw new InputError('a dense row must have IFMAP and Filter sizes of 1', where);
    return validateLayer(layerOf({ name: r.cells[0]!, op, input: [C], output: [NF], weightBits, weightDensity: 1 }), where);
  }
  let padding: Padding;
  const padCell = extra('padding');
  if (padCell !== '') {
    const p = padCell.split(/\s+/).map(Number);
    if (!(p.length === 1 || p.length === 4) || p.some((x) => !Number.isInteger(x) || x < 0))
      throw new InputError(`column "Padding" must be one or four non-negative integers, got ${quote(padCell)}`, where);
    padding = (p.length === 1 ? [p[0], p[0], p[0], p[0]] : p) as Padding;
  } else {
    // SCALE-Sim: out = ceil((H − R + S)/S), i.e. the last window may overhang the bottom/right edge.
    const hi = (n: number, k: number, s: number): number => {
      const ek = dil * (k - 1) + 1;
      if (n < ek) return 0; // kernel larger than input: validateLayer reports it
      const out = Math.ceil((n - ek + s) / s);
      return (out - 1) * s + ek - n;
    };
    padding = [0, hi(H, R, st), 0, hi(W, S, stW)];
  }
  const l: Layer = {
    name: r.cells[0]!,
    op,
    input: [H, W, C],
    output: [0, 0, NF],
    kernel: [R, S],
    stride: [st, stW],
    padding,
    dilation: [dil, dil],
    groups,
    weightBits,
    weightDensity: 1,
  };
  const [oh, ow] = outputHW(l);
  l.output = [Math.max(oh, 0), Math.max(ow, 0), NF];
  return validateLayer(l, where);
}

export function listBuiltinModels(): string[] {
  return readdirSync(TOPOLOGIES_DIR)
    .filter((f) => f.endsWith('.csv'))
    .map((f) => f.replace(/\.csv$/, ''))
    .sort();
}

/** A topology CSV path, or the name of a built-in model. */
export function loadTopology(spec: string): Topology {
  if (existsSync(spec)) return parseTopologyCsv(readFileSync(spec, 'utf8'), spec);
  const builtin = join(TOPOLOGIES_DIR, `${spec}.csv`);
  if (!/[/\\]/.test(spec) && existsSync(builtin)) return parseTopologyCsv(readFileSync(builtin, 'utf8'), builtin, spec);
  throw new InputError(`no such topology file or built-in model; built-ins: ${listBuiltinModels().join(', ')}`, { file: spec });
}
