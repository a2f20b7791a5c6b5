/**
 * Seeded mutation fuzzing for the input parsers (issue 17, item 9). Mutant `i` of a run is a pure
 * function of (seed, i) — `prng(seed, i)` from lib/prng.ts — so any failure is reproduced by its
 * index alone. `fuzz` runs a parser over the mutants and collects every outcome that is neither a
 * parsed result nor an InputError with a short one-line message, or that takes over SLOW_MS.
 *
 * FUZZ_STATS=1 logs parsed / refused counts and times per parser; FUZZ_VERBOSE=1 lists every failure
 * (the assertion shows the first 8).
 */
import { expect } from 'chai';
import { InputError } from '../../lib/errors.js';
import { prng, type Rng } from '../../lib/prng.js';

const enc = new TextEncoder();
const utf8 = (s: string): Uint8Array => enc.encode(s);

/** Tokens spliced into inputs: quotes, NULs, line breaks, separators, huge / odd numbers, deep nesting, long runs. */
export const TOKENS: readonly string[] = [
  '"',
  "'",
  '""',
  '\0',
  '\n',
  '\r',
  '\r\n',
  '\u2028',
  '\ufeff',
  '\t',
  ' ',
  ',',
  ':',
  '=',
  '#',
  ';',
  '\\',
  '/',
  '../',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  'é',
  '\ud83d\ude00',
  '0',
  '-1',
  '-0',
  '1.5',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '99999999999999999999999999999999',
  '0x1F',
  'NaN',
  'Infinity',
  'null',
  'true',
  '__proto__',
  '"__proto__"',
  'constructor',
  '%s%n',
  '$' + '{x}',
  'a'.repeat(5000),
  '"'.repeat(64),
  ','.repeat(2000),
  '\n'.repeat(2000),
  '['.repeat(20000),
  '{"a":'.repeat(20000),
  '9'.repeat(400),
];

/** JSON values swapped into documents: wrong types, extremes, odd strings, paths, deep nesting. */
export const VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1,
  0.5,
  2,
  3,
  64,
  1e308,
  -1e308,
  5e-324,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  '',
  'x',
  'os',
  'conv2d',
  'dense',
  'uint8',
  'horowitz-45nm',
  'a'.repeat(10000),
  'line one\nline two',
  '\0',
  'a\0.npy',
  'x.npy',
  '../x.npy',
  '../../../../etc/passwd',
  '/etc/passwd',
  '/tmp/x.npy',
  'C:\\x.npy',
  `${'n'.repeat(300)}.npy`,
  '.npy',
  '..npy',
  '__proto__',
  [],
  {},
  [1],
  [1, 2],
  [1, 2, 3, 4],
  [0, 0, 0, 0],
  [-1, 1],
  { a: 1 },
  JSON.parse('{"__proto__": {"rows": 1}, "constructor": 1}'),
  nest(1000),
];

function nest(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

export interface Mutant {
  /** What was done, for the failure report. */
  ops: string[];
  bytes: Uint8Array;
}

function splice(b: Uint8Array, at: number, del: number, ins: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(b.length - del + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at + del), at + ins.length);
  return out;
}

/** One byte-level mutation of `b`, described. */
function byteOp(r: Rng, b: Uint8Array, tokens: readonly string[]): [string, Uint8Array] {
  const at = r.int(b.length + 1);
  switch (r.int(8)) {
    case 0: {
      if (b.length === 0) return ['insert @0', utf8(r.pick(tokens))];
      const out = b.slice();
      const i = r.int(b.length);
      out[i] ^= 1 << r.int(8);
      return [`bit flip @${i}`, out];
    }
    case 1: {
      if (b.length === 0) return ['noop', b];
      const out = b.slice();
      const i = r.int(b.length);
      out[i] = r.int(256);
      return [`byte ${out[i]} @${i}`, out];
    }
    case 2:
      return [`truncate @${at}`, b.subarray(0, at)];
    case 3:
    case 4: {
      const t = r.pick(tokens);
      return [`insert ${JSON.stringify(t.length > 12 ? `${t.slice(0, 12)}…×${t.length}` : t)} @${at}`, splice(b, at, 0, utf8(t))];
    }
    case 5: {
      const n = Math.min(b.length - at, 1 + r.int(16));
      return [`delete ${n} @${at}`, splice(b, at, n)];
    }
    case 6: {
      const from = r.int(b.length + 1);
      const chunk = b.slice(from, from + 1 + r.int(64));
      return [`copy ${chunk.length} from ${from} @${at}`, splice(b, at, 0, chunk)];
    }
    default: {
      const from = r.int(b.length + 1);
      const chunk = b.slice(from, from + 1 + r.int(32));
      const times = 1 + r.int(1000);
      const rep = new Uint8Array(chunk.length * times);
      for (let k = 0; k < times; k++) rep.set(chunk, k * chunk.length);
      return [`repeat ${chunk.length} bytes ×${times} @${at}`, splice(b, at, 0, rep)];
    }
  }
}

/** 1–3 byte-level mutations of `base`. */
export function mutateBytes(r: Rng, base: Uint8Array, tokens: readonly string[] = TOKENS): Mutant {
  let bytes = base;
  const ops: string[] = [];
  for (let k = 1 + r.int(3); k > 0; k--) {
    const [op, next] = byteOp(r, bytes, tokens);
    ops.push(op);
    bytes = next;
  }
  return { ops, bytes };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every container in `doc` with its JSON pointer. */
function containers(doc: Json, at = ''): [string, Json[] | { [k: string]: Json }][] {
  const out: [string, Json[] | { [k: string]: Json }][] = [];
  const stack: [string, Json][] = [[at, doc]];
  while (stack.length) {
    const [p, v] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    out.push([p, v]);
    for (const [k, c] of Object.entries(v)) stack.push([`${p}/${k}`, c]);
  }
  return out;
}

/**
 * A valid-JSON mutation: parse `base`, then replace a value (from `values`), delete a key or
 * element, add an unknown key, or swap in another node's value; re-serialised compact or indented.
 */
export function mutateJson(r: Rng, base: string, values: readonly unknown[] = VALUES): Mutant {
  const doc = JSON.parse(base) as Json;
  const ops: string[] = [];
  const all = containers(doc);
  for (let k = 1 + r.int(2); k > 0; k--) {
    const [p, c] = r.pick(all);
    const keys = Object.keys(c);
    const key = keys.length ? r.pick(keys) : '0';
    const set = (v: unknown) => ((c as Record<string, unknown>)[key] = v);
    const value = r.pick(values);
    const show = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 24);
    switch (r.int(5)) {
      case 0:
      case 1:
        set(structuredClone(value));
        ops.push(`${p}/${key} = ${show(value)}`);
        break;
      case 2:
        if (Array.isArray(c)) c.splice(Number(key), 1);
        else delete c[key];
        ops.push(`delete ${p}/${key}`);
        break;
      case 3:
        if (Array.isArray(c)) c.push(structuredClone(value) as Json);
        else c[r.pick(['zz', 'name', 'kind', '__proto__', 'constructor', ''])] = structuredClone(value) as Json;
        ops.push(`add to ${p}: ${show(value)}`);
        break;
      default: {
        const [q, d] = r.pick(all);
        set(structuredClone(d));
        ops.push(`${p}/${key} = copy of ${q}`);
      }
    }
  }
  return { ops, bytes: utf8(JSON.stringify(doc, null, r.int(2) ? 2 : undefined)) };
}

export interface FuzzOptions {
  seed: number;
  /** Mutants in all. */
  count: number;
  /** The valid inputs mutants are made from. */
  bases: readonly Uint8Array[];
  /** Share of structural JSON mutants (0 for non-JSON inputs). */
  jsonShare?: number;
  tokens?: readonly string[];
  values?: readonly unknown[];
  /** A parser-specific mutator and the share of mutants it makes (taken before the JSON share). */
  custom?: { share: number; make: (r: Rng, base: string) => Mutant };
}

/** Mutant `i`: a pure function of (seed, i). */
export function mutant(o: FuzzOptions, i: number): Mutant & { base: number } {
  const r = prng(o.seed, i);
  const base = r.int(o.bases.length);
  const bytes = Uint8Array.from(o.bases[base]!); // a copy: a Buffer's slice() is a view
  const p = r.next();
  const custom = o.custom?.share ?? 0;
  const m =
    o.custom && p < custom
      ? o.custom.make(r, new TextDecoder().decode(bytes))
      : p < custom + (o.jsonShare ?? 0)
        ? mutateJson(r, new TextDecoder().decode(bytes), o.values)
        : mutateBytes(r, bytes, o.tokens);
  return { ...m, base };
}

/** Longest message an InputError may have (the file name aside): the rules ask for short excerpts of raw input. */
export const MAX_MESSAGE = 400;

/** How `fn` ended: 'parsed', 'rejected' (a proper InputError), or what was wrong. */
export function outcome(fn: () => unknown, file = ''): 'parsed' | 'rejected' | { bad: string } {
  try {
    fn();
    return 'parsed';
  } catch (e) {
    if (!(e instanceof InputError)) return { bad: `${(e as Error)?.name}: ${String((e as Error)?.message ?? e).slice(0, 200)}` };
    const m = e.message;
    if (/[\r\n\u2028\u2029]/.test(m)) return { bad: `InputError on several lines: ${JSON.stringify(m.slice(0, 200))}` };
    const rest = file && m.startsWith(file) ? m.slice(file.length) : m;
    if (rest.length > MAX_MESSAGE) return { bad: `InputError of ${m.length} characters: ${JSON.stringify(m.slice(0, 200))}…` };
    return 'rejected';
  }
}

export interface FuzzStats {
  parsed: number;
  rejected: number;
  ms: number;
  slowestMs: number;
}

/** Longest a single mutant may take: anything slower is treated as a hang (regex backtracking, quadratic loops). */
export const SLOW_MS = 2000;

/**
 * Run the parser over every mutant and assert that each ended well and none was slow. `run` gets
 * the mutant's bytes and returns the call to judge; `file` is the name its errors carry (left out
 * when measuring the message).
 */
export function fuzz(o: FuzzOptions, run: (bytes: Uint8Array, i: number) => () => unknown, file = ''): FuzzStats {
  const failures: string[] = [];
  const stats: FuzzStats = { parsed: 0, rejected: 0, ms: 0, slowestMs: 0 };
  const t0 = performance.now();
  for (let i = 0; i < o.count; i++) {
    const m = mutant(o, i);
    const t = performance.now();
    const result = outcome(run(m.bytes, i), file);
    const ms = performance.now() - t;
    stats.slowestMs = Math.max(stats.slowestMs, ms);
    const problem = typeof result === 'object' ? result.bad : ms > SLOW_MS ? `took ${Math.round(ms)} ms` : undefined;
    if (problem) {
      const text = new TextDecoder().decode(m.bytes.subarray(0, 120));
      failures.push(`#${i} (base ${m.base}; ${m.ops.join('; ')}): ${problem}\n      input starts ${JSON.stringify(text)}`);
    } else if (result === 'parsed') stats.parsed++;
    else stats.rejected++;
  }
  stats.ms = performance.now() - t0;
  if (process.env.FUZZ_VERBOSE) for (const f of failures) console.log(`  ${f}`);
  expect(
    failures,
    `${failures.length} of ${o.count} mutants (seed ${o.seed}) ended badly:\n  ${failures.slice(0, 8).join('\n  ')}\n`,
  ).to.have.length(0);
  return stats;
}
