/**
 * Number formatting for report tables: the unit comes from the key's name (`_pj`, `_cycles`,
 * `_us`, `_bytes`, …), so summary.json and CSV columns render with units without a schema.
 * Output never depends on the machine's locale.
 */

const en = (digits: number) => new Intl.NumberFormat('en-US', { maximumSignificantDigits: digits });
const sig3 = en(3);
const sig4 = en(4);
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Scale `v` (given in units[0]) to the largest unit it reaches, stepping by `factor`. */
function scaled(v: number, units: string[], factor: number): string {
  let i = 0;
  while (i < units.length - 1 && Math.abs(v) >= factor) {
    v /= factor;
    i++;
  }
  return `${sig4.format(v)} ${units[i]}`;
}

interface UnitRule {
  test: RegExp;
  format: (v: number) => string;
}

/** First matching rule wins; keys are compared in lower case. */
const RULES: UnitRule[] = [
  { test: /(^|_)(pj)$/, format: (v) => scaled(v, ['pJ', 'nJ', 'µJ', 'mJ', 'J'], 1000) },
  { test: /(^|_)(nj)$/, format: (v) => scaled(v, ['nJ', 'µJ', 'mJ', 'J'], 1000) },
  { test: /(^|_)(uj)$/, format: (v) => scaled(v, ['µJ', 'mJ', 'J'], 1000) },
  { test: /(^|_)(mj)$/, format: (v) => scaled(v, ['mJ', 'J'], 1000) },
  { test: /(^|_)(us)$/, format: (v) => scaled(v, ['µs', 'ms', 's'], 1000) },
  { test: /(^|_)(ms)$/, format: (v) => scaled(v, ['ms', 's'], 1000) },
  { test: /(^|_)(uw)$/, format: (v) => scaled(v, ['µW', 'mW', 'W'], 1000) },
  { test: /(^|_)(mw)$/, format: (v) => scaled(v, ['mW', 'W'], 1000) },
  { test: /(^|_)(w|watts)$/, format: (v) => `${sig4.format(v)} W` },
  { test: /(^|_)(mhz)$/, format: (v) => scaled(v, ['MHz', 'GHz'], 1000) },
  { test: /(^|_)(hz)$/, format: (v) => scaled(v, ['Hz', 'kHz', 'MHz', 'GHz'], 1000) },
  { test: /(^|_)(bytes)$/, format: (v) => scaled(v, ['B', 'KiB', 'MiB', 'GiB', 'TiB'], 1024) },
  { test: /(^|_)(kib)$/, format: (v) => scaled(v, ['KiB', 'MiB', 'GiB'], 1024) },
  { test: /(^|_)(gbps|gb_s)$/, format: (v) => `${sig4.format(v)} GB/s` },
  { test: /(^|_)(cycles)$/, format: (v) => `${int.format(v)} cycles` },
  { test: /(speedup|gain)/, format: (v) => `${sig3.format(v)}×` },
  { test: /(sparsity|fraction|ratio|density)$/, format: (v) => (Math.abs(v) <= 1 ? `${sig3.format(100 * v)} %` : sig4.format(v)) },
  { test: /(^|_)(pct|percent)$/, format: (v) => `${sig3.format(v)} %` },
  { test: /(^|_)(macs|ops|sops|events)$/, format: (v) => siCount(v) },
];

/** Large counts as 12.3 M, small ones exactly. */
export function siCount(v: number): string {
  if (Math.abs(v) < 1e4) return Number.isInteger(v) ? int.format(v) : sig4.format(v);
  return scaled(v, ['', 'k', 'M', 'G', 'T', 'P'], 1000).replace(/ $/, '');
}

/**
 * Format a numeric value for display, with the unit the key's name implies. A dotted key of a nested
 * value (latencyUs.p95, energy.sramPJ.ifmap) takes the unit of its innermost part that names one.
 */
export function formatNumber(key: string, v: number): string {
  if (!Number.isFinite(v)) return String(v);
  // camelCase keys (latencyUs) read like snake_case ones (latency_us).
  const k = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  for (const part of [k, ...k.split('.').reverse()]) {
    const rule = RULES.find((r) => r.test.test(part));
    if (rule) return rule.format(v);
  }
  return Number.isInteger(v) ? int.format(v) : sig4.format(v);
}

/** Format any JSON scalar for display. */
export function formatValue(key: string, v: unknown): string {
  if (typeof v === 'number') return formatNumber(key, v);
  if (v === null || v === undefined) return '—';
  return String(v);
}

/** A CSV cell is numeric when it parses completely as a finite number. */
export function asNumber(cell: string | undefined): number | undefined {
  if (cell === undefined || cell.trim() === '') return undefined;
  const n = Number(cell);
  return Number.isFinite(n) ? n : undefined;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escape text for element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
