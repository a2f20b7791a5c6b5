/**
 * The self-contained HTML report: inline CSS, charts as data: URIs, no scripts and no
 * external requests, so the file can be mailed, archived or opened offline. Every piece of
 * text from the run is HTML-escaped. The summary is the overview's plain tables (overview.ts);
 * what it has no table for (run.json's versions, extra summary keys) is rendered generically:
 * objects of scalars become key/value tables, objects of such objects one matrix table, arrays
 * of objects record tables. Every table sits in its own scrolling box, so a wide one never
 * widens the page.
 */
import { escapeHtml as esc, formatValue } from './format.js';
import type { Cell, DisplayTable } from './data.js';
import type { Overview } from './overview.js';

export interface ReportChart {
  title: string;
  png: Uint8Array;
  file: string;
}

/** A table of a section; `folded` puts it in a <details> element with that summary line. */
export interface SectionTable {
  table: DisplayTable;
  folded?: string;
}

export interface ReportContent {
  title: string;
  /** run.json: the exact argv and package versions. */
  run?: unknown;
  overview: Overview;
  charts: ReportChart[];
  /** Sections after the charts (`layers`, `sweep`), each a heading and its tables. */
  sections: { id: string; title: string; tables: SectionTable[] }[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || typeof v !== 'object';
const isScalarList = (v: unknown): v is Json[] => Array.isArray(v) && v.every(isScalar);
const isFlat = (v: unknown): v is Obj => isObj(v) && Object.values(v).every((x) => isScalar(x) || isScalarList(x));

const cellOf = (key: string, v: Json): string => (isScalarList(v) ? v.map((x) => formatValue(key, x)).join(', ') : formatValue(key, v));
const td = (key: string, v: Json) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${esc(cellOf(key, v))}</td>`;

function keyValueTable(o: Obj): string {
  const rows = Object.entries(o).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th>${td(k, v)}</tr>`);
  return wrap(`<table class="kv"><tbody>${rows.join('')}</tbody></table>`);
}

/** Outer keys as columns, the union of inner keys as rows: `{dense: {...}, delta: {...}}`. */
function matrixTable(o: { [k: string]: Obj }): string {
  const cols = Object.keys(o);
  const rowKeys = [...new Set(cols.flatMap((c) => Object.keys(o[c]!)))];
  const head = `<tr><th></th>${cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr>`;
  const body = rowKeys.map((k) => `<tr><th scope="row">${esc(k)}</th>${cols.map((c) => td(k, o[c]![k] ?? null)).join('')}</tr>`);
  return wrap(`<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`);
}

function recordsTable(items: Obj[]): string {
  const cols = [...new Set(items.flatMap((i) => Object.keys(i)))];
  const head = `<tr>${cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr>`;
  const body = items.map((i) => `<tr>${cols.map((c) => td(c, i[c] ?? null)).join('')}</tr>`);
  return wrap(`<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`);
}

const wrap = (table: string) => `<div class="scroll">${table}</div>`;

/** Render any JSON value as headings and tables; `level` is the heading level for nested keys. */
export function renderJson(v: unknown, level = 3): string {
  const h = (k: string) => `<h${Math.min(level, 6)}>${esc(k)}</h${Math.min(level, 6)}>`;
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every(isObj) && v.every(isFlat)) return recordsTable(v);
    return `<p>${esc(v.map((x) => (isScalar(x) ? formatValue('', x) : JSON.stringify(x))).join(', '))}</p>`;
  }
  if (!isObj(v)) return `<p>${esc(formatValue('', v as Json))}</p>`;
  const entries = Object.entries(v);
  if (entries.length > 1 && entries.every(([, x]) => isFlat(x))) return matrixTable(v as { [k: string]: Obj });
  const flat = Object.fromEntries(entries.filter(([, x]) => isScalar(x) || isScalarList(x)));
  const parts = Object.keys(flat).length ? [keyValueTable(flat)] : [];
  for (const [k, x] of entries) if (!(k in flat)) parts.push(h(k), renderJson(x, level + 1));
  return parts.join('\n');
}

/** A shell-pasteable command line from argv. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w/.,:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A display table with its note above; a table without columns is only its note. */
function displayTable(t: DisplayTable): string {
  if (t.columns.length === 0) return t.note ? `<p class="note">${esc(t.note)}</p>` : '';
  const cell = (c: Cell) => {
    const body = `${esc(c.text)}${c.sub !== undefined ? `<br><small>${esc(c.sub)}</small>` : ''}`;
    const cls = [c.numeric ? 'num' : '', c.flag ? 'flag' : ''].filter(Boolean).join(' ');
    return c.head ? `<th scope="row">${body}</th>` : `<td${cls ? ` class="${cls}"` : ''}>${body}</td>`;
  };
  const head = `<tr>${t.columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`);
  return (
    (t.note ? `<p class="note">${esc(t.note)}</p>` : '') + wrap(`<table><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`)
  );
}

function runHeader(run: unknown): string {
  if (!isObj(run)) return '<p class="note">No run.json: the command and versions that produced this run are unknown.</p>';
  const { argv, command, ...rest } = run;
  const cmd = isScalarList(argv) ? shellQuote(argv.map(String)) : typeof command === 'string' ? command : undefined;
  return (cmd !== undefined ? `<h3>Command</h3><pre><code>${esc(cmd)}</code></pre>` : '') + renderJson(rest, 3);
}

/** The overview: the run's facts, its warnings, its tables, and summary.json's other keys. */
function overviewHtml(o: Overview): string {
  const facts = o.facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const parts = [wrap(`<table class="kv"><tbody>${facts}</tbody></table>`)];
  if (o.warnings.length) parts.push(`<ul class="warn">${o.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  for (const t of o.tables) parts.push(`<h3>${esc(t.title)}</h3>`, displayTable(t.table));
  if (Object.keys(o.extra).length) parts.push('<h3>More in summary.json</h3>', renderJson(o.extra, 4));
  return parts.join('\n');
}

function sectionTable(t: SectionTable): string {
  return t.folded ? `<details><summary>${esc(t.folded)}</summary>${displayTable(t.table)}</details>` : displayTable(t.table);
}

const CSS = `
body{font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #4e79a7;padding-bottom:.2rem;margin-top:2.2rem}
h3,h4,h5,h6{margin:1.2rem 0 .4rem}
pre{background:#f4f6f8;padding:.7rem;border-radius:4px;white-space:pre-wrap;word-break:break-all}
.scroll{overflow:auto;max-width:100%;max-height:80vh;margin:.5rem 0}
.scroll>table{margin:0}
.scroll tbody th{position:sticky;left:0;z-index:1}
ul.warn{background:#fff4e5;border-left:4px solid #e15759;padding:.5rem 1rem .5rem 2rem;margin:.8rem 0}
details{margin:.8rem 0}summary{cursor:pointer;color:#4e79a7;font-weight:600}
table{border-collapse:collapse;font-size:.88rem}
th,td{border:1px solid #d5d9de;padding:.25rem .55rem;text-align:left;vertical-align:top}
thead th{background:#eef1f5;position:sticky;top:0;z-index:2}tbody tr:nth-child(even){background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td small{color:#666}
tbody th{background:#f4f6f8;font-weight:600;text-align:left}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption{font-size:.85rem;color:#555}.note{color:#555;font-size:.9rem}
td.flag{color:#b00020;font-weight:700;background:#fdecea}
`;

const toDataUri = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

/** The whole report page. */
export function renderReport(c: ReportContent): string {
  const sections = [
    `<header><h1>${esc(c.title)}</h1>${runHeader(c.run)}</header>`,
    `<section id="summary"><h2>Summary</h2>${overviewHtml(c.overview)}</section>`,
  ];
  if (c.charts.length) {
    const figs = c.charts.map(
      (ch) =>
        `<figure><img src="${toDataUri(ch.png)}" alt="${esc(ch.title)}"><figcaption>${esc(ch.title)} (charts/${esc(ch.file)})</figcaption></figure>`,
    );
    sections.push(`<section id="charts"><h2>Charts</h2>${figs.join('\n')}</section>`);
  }
  for (const s of c.sections)
    sections.push(`<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.tables.map(sectionTable).join('\n')}</section>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(c.title)}</title>
<style>${CSS}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}
