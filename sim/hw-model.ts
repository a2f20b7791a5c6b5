/**
 * Hardware models: JSON files validated by hw-models/schema.json (ajv; unknown keys rejected),
 * SCALE-Sim .cfg files (loaded as `systolic`), and the energy tables they reference.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { InputError, quote } from '../lib/errors.js';
import { parseJsonText } from '../lib/json.js';
import { ENERGY_DIR, HW_MODELS_DIR } from './paths.js';
import { loadEnergyTable, tableAtNode, type DramInterface, type EnergyTable } from './energy-table.js';
import { isSupportedNode, SUPPORTED_NODES } from './technology.js';
import { schemaError } from '../lib/schema-error.js';

export type Dataflow = 'os' | 'ws' | 'is';

export interface Precisions {
  activationBits: number;
  weightBits: number;
  accumulatorBits: number;
}

/**
 * One on-chip SRAM buffer as hardware: `banks` independent banks, each `wordBits` wide with `ports`
 * ports. A port moves one word per cycle, read or write; so the buffer moves banks·ports words per
 * cycle. Energy is per word access (energy-table.ts sramAccessPJ of its capacity and width).
 */
export interface SramSpec {
  kiB: number;
  wordBits: number;
  banks: number;
  ports: number;
  /** false: the buffer never bounds a layer's time (SCALE-Sim's SRAMs keep up); its cycles are still reported. Default true. */
  stalls?: boolean;
}

export interface DramSpec {
  /** Peak bandwidth, 1e9 bytes per second. */
  GBps: number;
  /** Interface class for DRAM energy; absent: the class this bandwidth implies (energy-table.ts dramInterfaceFor). */
  interface?: DramInterface;
  /**
   * Which traffic a frame pays (memory.ts): `steady` (default for JSON), video inference's steady state, where
   * weights and activations that fit stay on chip between frames and layers; `scalesim` (default for a .cfg),
   * SCALE-Sim's view of every layer fetched cold. Both re-fetch what the dataflow reuses beyond the buffers.
   */
  model?: DramModel;
  /** false: DRAM never stalls and the run reports the bandwidth it needs (SCALE-Sim's InterfaceBandwidth CALC). Default true. */
  stalls?: boolean;
}

export type DramModel = 'steady' | 'scalesim';

export interface Memories {
  ifmap: SramSpec;
  filter: SramSpec;
  ofmap: SramSpec;
  /** Delta state (accumulators + last levels); kiB 0 when the hw-model keeps none. */
  state: SramSpec;
  dram: DramSpec;
}

interface Common {
  name: string;
  description?: string;
  clockMHz: number;
  precisions: Precisions;
  memories: Memories;
  /** Fixed cycles per layer (configuration, synchronisation). */
  layerOverheadCycles?: number;
  /** Between frames, gate the logic and keep the SRAMs in retention (energy-table leakage shares). */
  idlePowerGating?: boolean;
  /** Energy table name (hw-models/energy/NAME.json) or a path relative to the model file. */
  energy: string;
  /** Process node, nm: the energy table's energy and area are scaled to it from the table's node (technology.ts). Absent: the table's. */
  technologyNm?: number;
}

export interface SystolicSpec extends Common {
  kind: 'systolic';
  rows: number;
  cols: number;
  dataflow: Dataflow;
  skipZeroActivations: boolean;
  skipZeroWeights: boolean;
  gateZeroOperands: boolean;
  delta: boolean;
  /** How grouped / depthwise layers use the array (docs/design.md §5.4); absent: `scalesim`. */
  mapping?: SystolicMapping;
  /** os with skipping: do the PE rows walk their own event lists or share one step sequence (mapping.ts rowSyncOf); absent: independent on os, lockstep on ws/is. */
  rowSync?: RowSync;
  /** The compactor that finds the non-zero (or non-zero-delta) inputs and packs them into an event list; absent: `rows` lanes. */
  compactor?: { lanes: number };
  /** How an event list marks its events' positions (sim/sparse-format.ts); absent: bitmap. */
  sparseFormat?: SparseFormat;
}

/**
 * `independent`: each PE row of an os fold steps through its own compacted event list, so the rows need different
 * weights at once and every row-step reads its own vector of weights from the filter SRAM. `lockstep`: the rows share
 * one step sequence (a reduction step is skipped only when no row of the fold has an event there); the weights stay one
 * broadcast per column per step and a row without an event idles (a gated slot). ws/is stream whole vectors: lock-step.
 */
export type RowSync = 'independent' | 'lockstep';

/** Event-list metadata: a bitmap (1 bit per dense element), or per event a relative coordinate of `indexBits` bits. */
export type SparseFormat = { kind: 'bitmap' } | { kind: 'coordinates'; indexBits: number };

/**
 * `scalesim` (SCALE-Sim's, the default): a grouped layer's `groups` GEMMs run one after another. `depthwise-channels`:
 * the groups lie side by side across the array's columns (os/ws: output channels, is: group × output pixel), so one
 * fold serves several groups; each group's streamed operand is fed on its own (sim/mapping.ts).
 */
export type SystolicMapping = 'scalesim' | 'depthwise-channels';

export interface EventSpec extends Common {
  kind: 'event';
  cores: number;
  synOpsPerCyclePerCore: number;
  eventOverheadCycles: number;
  neuronUpdateCycles: number;
  /** How each layer's output neurons are dealt to the cores (engines/event.ts); absent: `channel`. */
  partition?: EventPartition;
  /** Flat NoC hops per delivered event. Absent: hops are counted on the core mesh (multicast tree per event). */
  nocHopsPerEvent?: number;
  /** Columns of the core mesh (cores numbered row by row); absent: ⌈√cores⌉. Only with mesh hops. */
  meshCols?: number;
}

/**
 * `channel`: output channel co on core co mod cores, with all its positions. `spatial-channel`: the output map
 * OH×OW×OC cut into channel blocks × row tiles × column tiles, one per core, channels first (engines/event.ts).
 */
export type EventPartition = 'channel' | 'spatial-channel';

export type HwSpec = SystolicSpec | EventSpec;

/** A loaded hw-model: its spec, the file it came from and its resolved energy table. */
export type HwModel = HwSpec & { source: string; energyTable: EnergyTable };

const ajv = new Ajv.default({ allErrors: true, discriminator: true, strict: false });
const validateSpec = ajv.compile(JSON.parse(readFileSync(join(HW_MODELS_DIR, 'schema.json'), 'utf8')));

export function parseHwModelJson(text: string, file: string): HwModel {
  const doc = parseJsonText(text, file);
  legacyMemoriesCheck(doc, file);
  if (!validateSpec(doc)) throw schemaError(validateSpec.errors, file);
  const spec = doc as HwSpec;
  if (spec.kind === 'systolic') checkSparseKeys(spec, file);
  return withEnergy({ ...spec, memories: withDefaults(spec.memories) }, file);
}

/** Sparse-dataflow keys that would describe hardware the rest of the model does not have: refused, naming the key. */
function checkSparseKeys(s: SystolicSpec, file: string): void {
  if (s.rowSync === 'independent' && s.dataflow !== 'os')
    throw new InputError(
      `${quote('rowSync')} "independent" needs dataflow "os": ${s.dataflow} streams whole vectors across the rows, always in lock-step`,
      { file, pointer: '/rowSync' },
    );
  for (const key of ['compactor', 'sparseFormat'] as const)
    if (s[key] !== undefined && !s.skipZeroActivations)
      throw new InputError(`${quote(key)} needs "skipZeroActivations": true (without skipping there is no event list to build)`, {
        file,
        pointer: `/${key}`,
      });
}

/** A buffer the file leaves out (state) is absent hardware: no capacity, one narrow port. */
const NO_SRAM: SramSpec = { kiB: 0, wordBits: 64, banks: 1, ports: 1 };

/** Fills what the schema leaves optional: `ports` (1) and the state buffer (none). */
function withDefaults(m: Memories): Memories {
  const sram = (s: SramSpec | undefined): SramSpec => (s ? { ...s, ports: s.ports ?? 1 } : { ...NO_SRAM });
  return { ifmap: sram(m.ifmap), filter: sram(m.filter), ofmap: sram(m.ofmap), state: sram(m.state), dram: { ...m.dram } };
}

/** The first layout (flat `ifmapKiB`, …, `dramGBps`) named the capacities only: say how to write it now. */
function legacyMemoriesCheck(doc: unknown, file: string): void {
  const m = (doc as { memories?: unknown } | null)?.memories;
  if (typeof m !== 'object' || m === null) return;
  const old = Object.keys(m).find((k) => /^(ifmap|filter|ofmap|state)KiB$|^dramGBps$/.test(k));
  if (!old) return;
  const now = old === 'dramGBps' ? 'memories.dram.GBps' : `memories.${old.replace('KiB', '')}: { kiB, wordBits, banks, ports }`;
  throw new InputError(`${quote(old)} is the old flat layout: each buffer is now an object (${now}); see docs/design.md §4`, {
    file,
    pointer: `/memories/${old}`,
  });
}

function withEnergy(spec: HwSpec, file: string): HwModel {
  const local = resolve(dirname(file), spec.energy);
  const tableFile = /[/\\]|\.json$/.test(spec.energy) && existsSync(local) ? local : join(ENERGY_DIR, `${spec.energy}.json`);
  if (!existsSync(tableFile))
    throw new InputError(`energy table ${quote(spec.energy)} not found (looked in ${ENERGY_DIR})`, { file, pointer: '/energy' });
  const table = loadEnergyTable(tableFile);
  const nm = spec.technologyNm;
  if (nm === undefined || nm === table.technologyNm) return { ...spec, source: file, energyTable: table };
  const bad = [nm, table.technologyNm].find((n) => !isSupportedNode(n));
  if (bad !== undefined)
    throw new InputError(
      `"technologyNm" ${nm}: node scaling supports ${SUPPORTED_NODES.join(', ')} nm` +
        (bad === nm ? '' : `, and energy table ${quote(table.name)} is at ${bad} nm`),
      { file, pointer: '/technologyNm' },
    );
  return { ...spec, source: file, energyTable: tableAtNode(table, nm) };
}

/**
 * SCALE-Sim .cfg (configparser style, `key: value` or `key = value`). SCALE-Sim gives no clock,
 * precision or energy: deltasim assumes 1 GHz, 8-bit operands (1-byte words), and the 45 nm table;
 * `Bandwidth` (words per cycle) becomes the DRAM bandwidth at that clock. The array never skips or
 * gates. SCALE-Sim's SRAMs always keep up with the array: its buffers never stall (1-byte words,
 * rows + cols banks for their reported cycles), so only DRAM can stall, as in SCALE-Sim, and only with `InterfaceBandwidth: USER`
 * (CALC, SCALE-Sim's default, reports the bandwidth a run needs). DRAM traffic is SCALE-Sim's
 * (`memories.dram.model` `scalesim`).
 */
export function parseScaleSimCfg(text: string, file: string): HwModel {
  const kv = new Map<string, { value: string; line: number }>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || /^\[.*\]$/.test(line)) return;
    const m = /^([^:=]+?)\s*[:=]\s*(.*)$/.exec(line);
    if (!m) throw new InputError(`expected "key: value" or "key = value", got ${quote(line)}`, { file, line: i + 1 });
    kv.set(m[1]!.toLowerCase(), { value: m[2]!.trim(), line: i + 1 });
  });
  const num = (key: string, dflt?: number): number => {
    const e = kv.get(key.toLowerCase());
    if (!e) {
      if (dflt === undefined) throw new InputError(`missing key "${key}"`, { file });
      return dflt;
    }
    const v = Number(e.value);
    if (!Number.isFinite(v) || v <= 0)
      throw new InputError(`"${key}" must be a positive number, got ${quote(e.value)}`, { file, line: e.line });
    if (['arrayheight', 'arraywidth'].includes(key.toLowerCase()) && !Number.isInteger(v))
      throw new InputError(`"${key}" must be a positive integer, got ${quote(e.value)}`, { file, line: e.line });
    return v;
  };
  // CALC (SCALE-Sim's default): the run computes the bandwidth it needs, DRAM never stalls; USER: `Bandwidth` is a limit.
  const interfaceBandwidth = (): 'CALC' | 'USER' => {
    const e = kv.get('interfacebandwidth');
    if (!e) return 'CALC';
    const v = e.value.toUpperCase();
    if (v !== 'CALC' && v !== 'USER')
      throw new InputError(`"InterfaceBandwidth" must be CALC or USER, got ${quote(e.value)}`, { file, line: e.line });
    return v;
  };
  const df = kv.get('dataflow');
  if (!df) throw new InputError('missing key "Dataflow"', { file });
  if (!['os', 'ws', 'is'].includes(df.value))
    throw new InputError(`"Dataflow" must be os, ws or is, got ${quote(df.value)}`, { file, line: df.line });
  const clockMHz = 1000;
  // SCALE-Sim's SRAMs keep up with the array whatever it asks: 1-byte words, a bank per PE of both edges, never stalling.
  const edgeBanks = num('ArrayHeight') + num('ArrayWidth');
  const edgeSram = (kiB: number): SramSpec => ({ kiB, wordBits: 8, banks: edgeBanks, ports: 1, stalls: false });
  const spec: SystolicSpec = {
    kind: 'systolic',
    // One name everywhere: the file's (what `--arch` takes); SCALE-Sim's run_name is kept in the description.
    name: basename(file, extname(file)),
    description: `SCALE-Sim configuration ${basename(file)}${kv.get('run_name')?.value ? ` (run_name ${kv.get('run_name')!.value})` : ''}`,
    rows: num('ArrayHeight'),
    cols: num('ArrayWidth'),
    dataflow: df.value as Dataflow,
    skipZeroActivations: false,
    skipZeroWeights: false,
    gateZeroOperands: false,
    delta: false,
    clockMHz,
    precisions: { activationBits: 8, weightBits: 8, accumulatorBits: 32 },
    memories: {
      ifmap: edgeSram(num('IfmapSramSzkB', 64)),
      filter: edgeSram(num('FilterSramSzkB', 64)),
      ofmap: edgeSram(num('OfmapSramSzkB', 64)),
      state: { ...NO_SRAM },
      dram: { GBps: (num('Bandwidth', 10) * clockMHz) / 1000, model: 'scalesim', stalls: interfaceBandwidth() === 'USER' },
    },
    energy: 'horowitz-45nm',
  };
  return withEnergy(spec, file);
}

/** Names of the hw-models that ship in hw-models/ (JSON and .cfg). */
export function listHwModels(): string[] {
  return readdirSync(HW_MODELS_DIR)
    .filter((f) => (f.endsWith('.json') && f !== 'schema.json') || f.endsWith('.cfg'))
    .map((f) => f.replace(/\.(json|cfg)$/, ''))
    .sort();
}

/** A path to a .json / .cfg file, or the name of a shipped hw-model. */
export function loadHwModel(spec: string): HwModel {
  let file = spec;
  if (!existsSync(file)) {
    const hit = /[/\\]/.test(spec) ? undefined : ['.json', '.cfg'].map((e) => join(HW_MODELS_DIR, spec + e)).find(existsSync);
    if (!hit) throw new InputError(`no such hw-model file or built-in; built-ins: ${listHwModels().join(', ')}`, { file: spec });
    file = hit;
  }
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.cfg') ? parseScaleSimCfg(text, file) : parseHwModelJson(text, file);
}

/** A copy of a systolic model with some fields replaced (sweeps, property tests); `memories` merges per buffer. */
export function withSystolic(
  m: HwModel & SystolicSpec,
  patch: Partial<Omit<SystolicSpec, 'memories'>> & { memories?: MemoriesPatch },
): HwModel & SystolicSpec {
  return { ...m, ...patch, memories: withMemories(m.memories, patch.memories) };
}

export type MemoriesPatch = { [B in keyof Memories]?: Partial<Memories[B]> };

/** Memories with some buffers' fields replaced. */
export function withMemories(m: Memories, patch: MemoriesPatch = {}): Memories {
  return {
    ifmap: { ...m.ifmap, ...patch.ifmap },
    filter: { ...m.filter, ...patch.filter },
    ofmap: { ...m.ofmap, ...patch.ofmap },
    state: { ...m.state, ...patch.state },
    dram: { ...m.dram, ...patch.dram },
  };
}
