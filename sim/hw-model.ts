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
import { loadEnergyTable, type EnergyTable } from './energy-table.js';
import { schemaError } from '../lib/schema-error.js';

export type Dataflow = 'os' | 'ws' | 'is';

export interface Precisions {
  activationBits: number;
  weightBits: number;
  accumulatorBits: number;
}

export interface Memories {
  ifmapKiB: number;
  filterKiB: number;
  ofmapKiB: number;
  stateKiB: number;
  dramGBps: number;
}

interface Common {
  name: string;
  description?: string;
  clockMHz: number;
  precisions: Precisions;
  memories: Memories;
  /** Fixed cycles per layer (configuration, synchronisation). */
  layerOverheadCycles?: number;
  /** Energy table name (hw-models/energy/NAME.json) or a path relative to the model file. */
  energy: string;
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
}

export interface EventSpec extends Common {
  kind: 'event';
  cores: number;
  synOpsPerCyclePerCore: number;
  eventOverheadCycles: number;
  neuronUpdateCycles: number;
  nocHopsPerEvent: number;
}

export type HwSpec = SystolicSpec | EventSpec;

/** A loaded hw-model: its spec, the file it came from and its resolved energy table. */
export type HwModel = HwSpec & { source: string; energyTable: EnergyTable };

const ajv = new Ajv.default({ allErrors: true, discriminator: true, strict: false });
const validateSpec = ajv.compile(JSON.parse(readFileSync(join(HW_MODELS_DIR, 'schema.json'), 'utf8')));

export function parseHwModelJson(text: string, file: string): HwModel {
  const doc = parseJsonText(text, file);
  if (!validateSpec(doc)) throw schemaError(validateSpec.errors, file);
  return withEnergy(doc as HwSpec, file);
}

function withEnergy(spec: HwSpec, file: string): HwModel {
  const local = resolve(dirname(file), spec.energy);
  const tableFile = /[/\\]|\.json$/.test(spec.energy) && existsSync(local) ? local : join(ENERGY_DIR, `${spec.energy}.json`);
  if (!existsSync(tableFile))
    throw new InputError(`energy table ${quote(spec.energy)} not found (looked in ${ENERGY_DIR})`, { file, pointer: '/energy' });
  return { ...spec, source: file, energyTable: loadEnergyTable(tableFile) };
}

/**
 * SCALE-Sim .cfg (configparser style, `key: value` or `key = value`). SCALE-Sim gives no clock,
 * precision or energy: deltasim assumes 1 GHz, 8-bit operands (1-byte words), and the 45 nm table;
 * `Bandwidth` (words per cycle) becomes dramGBps at that clock. The array never skips or gates.
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
  const df = kv.get('dataflow');
  if (!df) throw new InputError('missing key "Dataflow"', { file });
  if (!['os', 'ws', 'is'].includes(df.value))
    throw new InputError(`"Dataflow" must be os, ws or is, got ${quote(df.value)}`, { file, line: df.line });
  const clockMHz = 1000;
  const spec: SystolicSpec = {
    kind: 'systolic',
    name: kv.get('run_name')?.value || basename(file, extname(file)),
    description: `SCALE-Sim configuration ${basename(file)}`,
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
      ifmapKiB: num('IfmapSramSzkB', 64),
      filterKiB: num('FilterSramSzkB', 64),
      ofmapKiB: num('OfmapSramSzkB', 64),
      stateKiB: 0,
      dramGBps: (num('Bandwidth', 10) * clockMHz) / 1000,
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

/** A copy of a systolic model with some fields replaced (sweeps, property tests). */
export function withSystolic(m: HwModel & SystolicSpec, patch: Partial<SystolicSpec>): HwModel & SystolicSpec {
  return { ...m, ...patch, memories: { ...m.memories, ...(patch.memories ?? {}) } };
}
