/**
 * Parsing CSV input files: the one place a CSV syntax error (csv-parse's CsvError: a stray or
 * unclosed quote) becomes an InputError naming the file and the line, on one line (csv-parse's own
 * messages quote the raw field).
 */
import { CsvError, parse, type Options } from 'csv-parse/sync';
import { InputError, quote } from './errors.js';

export interface CsvRecord {
  cells: string[];
  /** The line the record ends on (1-based). */
  line: number;
}

/** csv-parse with `options`, each record with its line; a syntax error is an InputError naming `file` and the line. */
export function parseCsvText(text: string, file: string, options: Omit<Options, 'info' | 'columns' | 'raw'> = {}): CsvRecord[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { ...options, info: true }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) throw csvSyntaxError(e, file);
    throw e;
  }
  return records.map((r) => ({ cells: r.record, line: r.info.lines }));
}

const WHAT: Partial<Record<CsvError['code'], string>> = {
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the whole field and double the quotes inside it)',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is still open at the end of the file',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote followed by more text in the same field',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a closing quote followed by more text in the same field',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'a row with a different number of fields',
  CSV_MAX_RECORD_SIZE: 'a record that is too long',
};

/** The InputError for a CsvError csv-parse threw while reading `file`. */
export function csvSyntaxError(e: CsvError, file: string): InputError {
  const line = typeof e.lines === 'number' && e.lines > 0 ? e.lines : undefined;
  const field = typeof e.column === 'number' && e.code !== 'CSV_QUOTE_NOT_CLOSED' ? `, field ${e.column + 1}` : '';
  const what = WHAT[e.code] ?? quote(e.message, 100);
  return new InputError(`not valid CSV${field}: ${what}`, line === undefined ? { file } : { file, line });
}
