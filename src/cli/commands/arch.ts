/** `deltasim arch list | show NAME|FILE`: the hw-models that ship, and one model in full. */
import type { CommandModule } from 'yargs';
import {
  areaLine,
  areaOf,
  assumedEntries,
  BUFFERS,
  DRAM_INTERFACES,
  dramBytesPerCycle,
  dramInterfaceFor,
  dramPJPerByte,
  engineFor,
  listHwModels,
  loadHwModel,
  sramAccessPJ,
  sramExtrapolation,
  sramBytesPerCycle,
  type HwModel,
} from '../../../sim/index.js';

/** One energy-table number as a line: key, value, and its source or why it is assumed. */
const entry = (key: string, value: string, e: { source?: string; assumed?: string }): string =>
  `  ${key}: ${value} — ${e.source !== undefined ? e.source : `ASSUMED: ${e.assumed}`}`;
/** A table number at 4 significant digits (a node-scaled table's are products). */
const sig = (x: number): number => Number(x.toPrecision(4));
import { table } from '../../../lib/table.js';
import { InputError } from '../../../lib/errors.js';

function describeModel(m: HwModel): string {
  const mem = m.memories;
  const lines = [`${m.name} (${m.kind}) — ${m.source}`, m.description ?? ''];
  const d = engineFor(m).describe(m);
  lines.push(...d.details);
  const p = m.precisions;
  lines.push(`precisions: activations ${p.activationBits} b, weights ${p.weightBits} b, accumulators ${p.accumulatorBits} b`);
  const t = m.energyTable;
  const dramIface = mem.dram.interface ?? dramInterfaceFor(t, mem.dram.GBps);
  const area = areaOf(m);
  const extrapolated = (kiB: number): string => {
    const x = sramExtrapolation(t, kiB);
    return x ? `extrapolated ${x.ratio.toFixed(1)}× ${x.beyond} the table` : '';
  };
  lines.push(
    '',
    table(
      ['memory', 'capacity', 'word', 'banks × ports', 'B/cycle', 'pJ/access', 'mm²', 'note'],
      [
        ...BUFFERS.map((b) => {
          const s = mem[b];
          return [
            `${b} SRAM`,
            `${s.kiB} KiB`,
            `${s.wordBits} b`,
            `${s.banks} × ${s.ports}`,
            sramBytesPerCycle(s),
            s.kiB > 0 ? sramAccessPJ(t, s.kiB, s.wordBits).toFixed(2) : '',
            area && s.kiB > 0 ? area.sramMm2[b].toFixed(3) : '',
            [s.kiB > 0 ? extrapolated(s.kiB) : 'none', s.stalls === false ? 'never stalls (SCALE-Sim)' : ''].filter(Boolean).join('; '),
          ];
        }),
        [
          `DRAM ${dramIface}${mem.dram.interface ? '' : ' (from bandwidth)'}`,
          '',
          '',
          '',
          dramBytesPerCycle(m).toFixed(1),
          `${dramPJPerByte(t, dramIface).toFixed(1)} /B`,
          '',
          `${mem.dram.GBps} GB/s, model ${mem.dram.model ?? 'steady'}${mem.dram.stalls === false ? ', never stalls (SCALE-Sim CALC)' : ''}`,
        ],
      ],
    ),
    area ? areaLine(area) : `area: energy table ${t.name} gives no area figures`,
    '',
    `energy table ${t.name} (${t.technologyNm} nm); every number with its source, or why it is assumed:`,
    ...[
      ...Object.entries(t.actions).map(([k, v]) => entry(`actions.${k}`, `${sig(v.pJ)} pJ`, v)),
      ...t.sram.points.map((s) => entry(`sram ${s.kiB} KiB`, `${sig(s.pJ)} pJ per ${s.wordBits}-bit access`, s)),
      entry(
        'sram width',
        `E(w) = E${t.sram.width.atBits}·(${t.sram.width.fixedShare} + ${1 - t.sram.width.fixedShare}·w/${t.sram.width.atBits})`,
        t.sram.width,
      ),
      ...DRAM_INTERFACES.map((d) => entry(`dram ${d}`, `${t.dram[d].pJPerBit} pJ/bit`, t.dram[d])),
      entry('leakage SRAM', `${t.leakage.sramPerKiB.uW} µW/KiB`, t.leakage.sramPerKiB),
      entry(`leakage per ${d.unit}`, `${t.leakage.perPE.uW} µW`, t.leakage.perPE),
      entry('idle: gated logic', `${t.leakage.gatedLogicShare.share} of its leakage`, t.leakage.gatedLogicShare),
      entry('idle: SRAM retention', `${t.leakage.sramRetentionShare.share} of its leakage`, t.leakage.sramRetentionShare),
      ...(t.area?.sram ?? []).map((p) => entry(`area sram ${p.kiB} KiB`, `${sig(p.mm2PerKiB)} mm²/KiB`, p)),
      ...(t.area ? [entry(`area per ${d.unit}`, `${sig(t.area.perPE.mm2)} mm²`, t.area.perPE)] : []),
    ],
    '',
    `assumed (no published source): ${assumedEntries(t)
      .map((a) => a.key)
      .join(', ')}`,
    `idle power gating: ${m.idlePowerGating ? 'on (logic gated, SRAMs in retention between frames)' : 'off'}`,
  );
  return lines.filter((l, i) => l !== '' || i > 1).join('\n');
}

const command: CommandModule = {
  command: 'arch <action> [name]',
  describe: 'List the hw-models that ship, or show one (name or .json/.cfg file)',
  builder: (y) =>
    y
      .positional('action', { choices: ['list', 'show'] as const, describe: 'list | show' })
      .positional('name', { type: 'string', describe: 'hw-model name or file (for show)' }),
  handler: (a) => {
    if (a.action === 'list') {
      const rows = listHwModels().map((n) => {
        const m = loadHwModel(n);
        const d = engineFor(m).describe(m);
        return [n, m.kind, d.shape, d.features, m.energyTable.name];
      });
      console.log(table(['name', 'kind', 'shape', 'features', 'energy table'], rows));
      return;
    }
    if (!a.name) throw new InputError('`arch show` needs a hw-model name or a .json / .cfg file');
    console.log(describeModel(loadHwModel(String(a.name))));
  },
};

export default command;
