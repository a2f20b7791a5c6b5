/**
 * The console report of `simulate --sensitivity`: the nominal gains, the parameters with the largest
 * swings (low → high of each gain, flips marked), and the skipped keys with their reasons.
 */
import { table } from '../../lib/table.js';
import { SENSITIVITY_METRICS, type Sensitivity, type SensitivityMetric, type SensitivitySide } from '../../sim/index.js';

/** How many ranked parameters the console shows (sensitivity.csv has them all). */
export const CONSOLE_PARAMETERS = 10;

/** A metric's name as the console's summary table heads it. */
export const METRIC_TEXT: Record<SensitivityMetric, string> = {
  speedup: 'speedup',
  energyGain: 'energy gain',
  periodEnergyGain: 'gain/period',
};

const times = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(3)}×`);
const gainAt = (s: SensitivitySide, m: SensitivityMetric) => ('gains' in s ? s.gains[m] : undefined);

export function sensitivityTable(s: Sensitivity, more = 'sensitivity.csv'): string {
  const metrics = SENSITIVITY_METRICS.filter((m) => s.nominal[m] !== null);
  const shown = s.parameters.slice(0, CONSOLE_PARAMETERS);
  const lines = [
    `sensitivity of ${s.mode} on ${s.hwModel}: each numeric hw-model key ÷${s.factor} and ×${s.factor}, one at a time; ` +
      `gains vs ${s.reference} on the same perturbed hw-model`,
    `nominal: ${metrics.map((m) => `${METRIC_TEXT[m]} ${times(s.nominal[m])}`).join(', ')}; ranked by the largest swing; ` +
      `"flips": the gain crosses 1×; -: that side is invalid`,
    table(
      ['parameter', 'low · nominal · high', ...metrics.map((m) => `${METRIC_TEXT[m]} low → high`), 'flips'],
      shown.map((p) => [
        p.parameter,
        `${p.low.value} · ${p.nominal} · ${p.high.value}`,
        ...metrics.map((m) => `${times(gainAt(p.low, m))} → ${times(gainAt(p.high, m))}`),
        p.flips.map((m) => METRIC_TEXT[m]).join(', ') || '-',
      ]),
    ),
  ];
  if (s.parameters.length > shown.length) lines.push(`… ${s.parameters.length - shown.length} more parameters in ${more}`);
  for (const p of s.parameters)
    for (const k of ['low', 'high'] as const) {
      const side = p[k];
      if ('error' in side) lines.push(`${p.parameter} ${k} ${side.value} not run: ${side.error}`);
    }
  for (const k of s.skipped) lines.push(`skipped ${k.parameter}: ${k.reason}`);
  return lines.join('\n');
}
