/**
 * The one error type for bad user input anywhere in deltasim (files, keys, flags).
 * The CLI prints `message` alone (no stack) and exits non-zero; everything else is a bug and
 * gets a stack. It lives in lib/, which every part (sim/ and traces/ included) may import.
 */
export interface InputErrorWhere {
  /** The file the bad input came from. */
  file?: string;
  /** JSON pointer (RFC 6901) of the offending key, for JSON inputs. */
  pointer?: string;
  /** Byte offset of the bad data, for binary inputs. */
  offset?: number;
  /** Line number (1-based), for text inputs such as CSV or .cfg. */
  line?: number;
}

export class InputError extends Error {
  readonly where: InputErrorWhere;
  constructor(message: string, where: InputErrorWhere = {}) {
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(oneLine(where.file));
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.pointer !== undefined) parts.push(`at ${where.pointer === '' ? '/' : pointerText(where.pointer)}`);
    if (where.offset !== undefined) parts.push(`byte offset ${where.offset}`);
    super(parts.length ? `${parts.join(', ')}: ${message}` : message);
    this.name = 'InputError';
    this.where = where;
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}

/** One key as a JSON pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerKey(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Longest excerpt of raw input an error message quotes (characters of the input). */
export const EXCERPT_CHARS = 60;

// Characters that break or hide text on a terminal: C0/C1 controls, line and paragraph separators,
// bidi and zero-width marks, the BOM. JSON.stringify escapes the C0 ones; these get \uXXXX too.
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const escapeInvisible = (s: string): string => s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** `s` cut to `max` characters (not splitting a surrogate pair), and whether it was cut. */
function clip(s: string, max: number): [string, boolean] {
  if (s.length <= max) return [s, false];
  const end = /[\ud800-\udbff]/.test(s[max - 1]!) ? max - 1 : max;
  return [s.slice(0, end), true];
}

/**
 * Raw input quoted for an error message: double-quoted with JSON string escapes (so line breaks,
 * NULs and quotes show as \n, \u0000, \"), invisible characters escaped, at most `max` characters
 * of the input with "…" where it was cut. Messages stay one line whatever the input holds.
 */
export function quote(text: string, max = EXCERPT_CHARS): string {
  const [s, cut] = clip(text, max);
  const q = escapeInvisible(JSON.stringify(s));
  return cut ? `${q.slice(0, -1)}…"` : q;
}

/** A JSON value for an error message: its JSON text, cut to `max` characters with "…". */
export function quoteJson(value: unknown, max = EXCERPT_CHARS): string {
  if (typeof value === 'string') return quote(value, max);
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value); // nested too deep to stringify
  }
  const [s, cut] = clip(json, max);
  return escapeInvisible(cut ? `${s}…` : s);
}

/** `s` with line breaks and invisible characters escaped (a file name, a pointer), not quoted. */
function oneLine(s: string): string {
  return escapeInvisible(s.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1)));
}

/** A JSON pointer for a message: each key on one line and cut to 40 characters. */
function pointerText(pointer: string): string {
  return pointer
    .split('/')
    .map((key) => {
      const [s, cut] = clip(key, 40);
      return oneLine(s) + (cut ? '…' : '');
    })
    .join('/');
}
