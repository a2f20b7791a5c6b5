/**
 * Parsing JSON input files: the one place a JSON syntax error becomes an InputError. The message
 * names the file, the line and column, what was expected and a short excerpt of what was found,
 * on one line (V8's own messages quote up to 20 characters of raw input, line breaks included).
 */
import { InputError, quote } from './errors.js';

/** JSON.parse, with a syntax error reported as an InputError naming `file`, the line and the column. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw jsonSyntaxError(text, file, e);
  }
}

/** The InputError for text that JSON.parse refused. */
export function jsonSyntaxError(text: string, file: string, cause?: Error): InputError {
  const at = findJsonError(text);
  if (!at) return new InputError(`malformed JSON (${quote(cause?.message ?? 'refused by JSON.parse', 120)})`, { file });
  const lineStart = text.lastIndexOf('\n', at.offset - 1) + 1;
  const line = 1 + countNewlines(text, at.offset);
  const found = at.offset >= text.length ? 'the end of the file' : quote(text.slice(at.offset, at.offset + 20), 20);
  return new InputError(`malformed JSON at column ${at.offset - lineStart + 1}: expected ${at.expected}, found ${found}`, { file, line });
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Where JSON text first breaks the grammar (RFC 8259), and what was expected there; undefined if
 * it is valid. Iterative (an explicit stack), so deep nesting cannot overflow the call stack.
 */
export function findJsonError(text: string): { offset: number; expected: string } | undefined {
  let i = 0;
  const stack: ('{' | '[')[] = [];
  let state: 'value' | 'firstValue' | 'key' | 'firstKey' | 'after' = 'value';
  const skipWs = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  /** At an opening quote: move past the string, or stop at what breaks it. */
  const string = (): string | undefined => {
    for (i++; i < text.length; ) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'an escape such as \\n or \\u0001 for a control character in a string';
      if (c !== 0x5c) {
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === 'u') {
        if (!HEX4.test(text.slice(i + 2, i + 6))) return 'four hex digits after \\u';
        i += 6;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
      else return 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)';
    }
    return "a closing '\"'";
  };
  for (;;) {
    skipWs();
    const c = text[i];
    switch (state) {
      case 'firstValue':
        if (c === ']') {
          stack.pop();
          i++;
          state = 'after';
          continue;
        }
        state = 'value';
        continue;
      case 'firstKey':
        if (c === '}') {
          stack.pop();
          i++;
          state = 'after';
          continue;
        }
        state = 'key';
        continue;
      case 'key': {
        if (c !== '"') return { offset: i, expected: 'a double-quoted key' };
        const bad = string();
        if (bad) return { offset: i, expected: bad };
        skipWs();
        if (text[i] !== ':') return { offset: i, expected: "':'" };
        i++;
        state = 'value';
        continue;
      }
      case 'value': {
        if (c === '{' || c === '[') {
          stack.push(c);
          i++;
          state = c === '{' ? 'firstKey' : 'firstValue';
          continue;
        }
        if (c === '"') {
          const bad = string();
          if (bad) return { offset: i, expected: bad };
        } else {
          const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
          if (word) i += word.length;
          else {
            NUMBER.lastIndex = i;
            const m = NUMBER.exec(text);
            if (!m) return { offset: i, expected: 'a value' };
            i += m[0].length;
          }
        }
        state = 'after';
        continue;
      }
      default: {
        const top = stack.at(-1);
        if (top === undefined) return i < text.length ? { offset: i, expected: 'the end of the file' } : undefined;
        const close = top === '{' ? '}' : ']';
        if (c === ',') {
          i++;
          state = top === '{' ? 'key' : 'value';
        } else if (c === close) {
          stack.pop();
          i++;
        } else return { offset: i, expected: `',' or '${close}'` };
      }
    }
  }
}
