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
    if (where.file !== undefined) parts.push(where.file);
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.pointer !== undefined) parts.push(`at ${where.pointer === '' ? '/' : where.pointer}`);
    if (where.offset !== undefined) parts.push(`byte offset ${where.offset}`);
    super(parts.length ? `${parts.join(', ')}: ${message}` : message);
    this.name = 'InputError';
    this.where = where;
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
