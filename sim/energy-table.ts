/** Energy tables (hw-models/energy/*.json): energy per action, every number with its source. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { InputError } from '../lib/errors.js';
import { parseJsonText } from '../lib/json.js';
import { ENERGY_DIR } from './paths.js';
import { schemaError } from '../lib/schema-error.js';

export interface Sourced {
  source: string;
}
export type ActionName =
  | 'mac8'
  | 'mac16'
  | 'mac32'
  | 'macGated'
  | 'macSkipped'
  | 'activate'
  | 'deltaCompare'
  | 'synOp'
  | 'nocHop'
  | 'dramPerByte';

export interface EnergyTable {
  name: string;
  description?: string;
  technologyNm: number;
  actions: Record<ActionName, Sourced & { pJ: number }>;
  /** pJ per byte accessed vs SRAM capacity (log-log interpolation, clamped). */
  sramPerByte: (Sourced & { kiB: number; pJ: number })[];
  leakage: { sramPerKiB: Sourced & { uW: number }; perPE: Sourced & { uW: number } };
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
  if (!validate(doc)) throw schemaError(validate.errors, file);
  const t = doc as EnergyTable;
  t.sramPerByte = [...t.sramPerByte].sort((a, b) => a.kiB - b.kiB);
  return t;
}

/** pJ per byte for an SRAM of `kiB` capacity: bigger arrays cost more per access (longer wires). */
export function sramPJPerByte(t: EnergyTable, kiB: number): number {
  const pts = t.sramPerByte;
  if (kiB <= pts[0]!.kiB) return pts[0]!.pJ;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (kiB <= b.kiB) {
      const f = Math.log(kiB / a.kiB) / Math.log(b.kiB / a.kiB);
      return Math.exp(Math.log(a.pJ) + f * (Math.log(b.pJ) - Math.log(a.pJ)));
    }
  }
  return pts[pts.length - 1]!.pJ;
}

/** Energy of one MAC at the wider of the two operand widths. */
export function macPJ(t: EnergyTable, bits: number): number {
  return t.actions[bits <= 8 ? 'mac8' : bits <= 16 ? 'mac16' : 'mac32'].pJ;
}
