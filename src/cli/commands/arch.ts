/** `deltasim arch list | show NAME|FILE`: the hw-models that ship, and one model in full. */
import type { CommandModule } from 'yargs';
import { engineFor, listHwModels, loadHwModel, sramPJPerByte, type HwModel } from '../../../sim/index.js';
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
  lines.push(
    '',
    table(
      ['memory', 'capacity', 'pJ/byte'],
      [
        ['ifmap SRAM', `${mem.ifmapKiB} KiB`, sramPJPerByte(t, mem.ifmapKiB).toFixed(2)],
        ['filter SRAM', `${mem.filterKiB} KiB`, sramPJPerByte(t, mem.filterKiB).toFixed(2)],
        ['ofmap SRAM', `${mem.ofmapKiB} KiB`, sramPJPerByte(t, mem.ofmapKiB).toFixed(2)],
        ['state SRAM', `${mem.stateKiB} KiB`, sramPJPerByte(t, mem.stateKiB).toFixed(2)],
        ['DRAM', `${mem.dramGBps} GB/s`, t.actions.dramPerByte.pJ.toFixed(2)],
      ],
    ),
    '',
    `energy table ${t.name} (${t.technologyNm} nm)`,
    table(
      ['action', 'pJ', 'source'],
      [
        ...Object.entries(t.actions).map(([k, v]) => [k, v.pJ, v.source]),
        ...t.sramPerByte.map((s) => [`SRAM ${s.kiB} KiB /byte`, s.pJ, s.source]),
        ['leakage SRAM µW/KiB', t.leakage.sramPerKiB.uW, t.leakage.sramPerKiB.source],
        [`leakage µW per ${d.unit}`, t.leakage.perPE.uW, t.leakage.perPE.source],
      ],
    ),
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
