/**
 * Reads a CSV import file as checked rows (csv-parse), keeping each record's
 * first line number and its exact text for the report and the rejects file.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { CsvError, Parser, type Options } from 'csv-parse';
import { quoteValue } from '../shared/text.js';
import { USER_CSV_COLUMNS, type UserCsvColumn } from '../users/user.formats.js';
import { ImportFileError } from './import.errors.js';
import { checkCsvRecord, type CheckedRow } from './import.rows.js';

const BLANK_LINE = /^(?:[ \t]*\r?\n)*/;

/** Holds the bytes the CSV parser has been given but not yet returned as records, to cut out each record's exact text. */
class ByteWindow {
  private chunks: Buffer[] = [];
  private start = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  /** The bytes from the window's start up to `end` (an absolute offset); drops them. */
  take(end: number): Buffer {
    const out: Buffer[] = [];
    let need = end - this.start;
    while (need > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      if (chunk.length <= need) {
        out.push(chunk);
        this.chunks.shift();
        need -= chunk.length;
      } else {
        out.push(chunk.subarray(0, need));
        this.chunks[0] = chunk.subarray(need);
        need = 0;
      }
    }
    this.start = end;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * csv-parse's stream, except that a parse error ends the records instead of
 * destroying the stream: a destroyed stream drops the records it had parsed but
 * not yet handed over, and every row before the break must be imported or reported.
 */
class ParserToTheBreak extends Parser {
  failure: Error | null = null;

  override _transform(chunk: Buffer, encoding: BufferEncoding, done: TransformCallback): void {
    super._transform(chunk, encoding, (error) => this.settle(error, done));
  }

  override _flush(done: TransformCallback): void {
    super._flush((error) => this.settle(error, done));
  }

  private settle(error: Error | null | undefined, done: TransformCallback): void {
    if (error) {
      this.failure = error;
      this.push(null);
    }
    done();
  }
}

interface CsvRecord {
  readonly record: string[];
  /** The line the record starts on. */
  readonly line: number;
  /** The record's text as in the file, without its line end. */
  readonly raw: string;
  /** Its line end (\n or \r\n). */
  readonly eol: string;
}

/** The records after the header, checked; `onHeader` receives the header line as in the file, with its line end. */
export async function* csvRows(
  input: Readable,
  path: string,
  onHeader: (line: string) => void,
): AsyncGenerator<CheckedRow> {
  const window = new ByteWindow();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      window.push(chunk);
      done(null, chunk);
    },
  });
  let line = 1; // where the next record starts (before any blank lines)
  let first = true;
  // on_record runs as each record is parsed, so `line` is exact when the parser fails on the next one.
  const parser = new ParserToTheBreak({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record: string[], info: { bytes: number }): CsvRecord => {
      let text = window.take(info.bytes).toString('utf8');
      if (first) text = text.replace(/^\uFEFF/, '');
      first = false;
      const blank = BLANK_LINE.exec(text)![0];
      const start = line + countNewlines(blank);
      line += countNewlines(text);
      const body = text.slice(blank.length);
      const raw = body.replace(/\r?\n$/, '');
      return { record, line: start, raw, eol: body.slice(raw.length) || '\n' };
    },
  } as unknown as Options);
  input.pipe(tap).pipe(parser);
  input.on('error', (error: Error) => parser.destroy(error));
  let columns: UserCsvColumn[] | null = null;
  try {
    for await (const { record, line: start, raw, eol } of parser as AsyncIterable<CsvRecord>) {
      if (columns === null) {
        columns = checkHeader(record, path);
        onHeader(raw + eol);
        continue;
      }
      yield { line: start, raw, source: 'csv', ...checkCsvRecord(columns, record) };
    }
  } finally {
    // After a break the parser takes no more input: stop reading the file.
    input.destroy();
    parser.destroy();
  }
  if (parser.failure) throw unreadableAt(parser.failure, path, line);
}

/** The parser's error as the person fixing the file reads it; `line` is where the record it could not read starts. */
function unreadableAt(error: Error, path: string, line: number): Error {
  if (!(error instanceof CsvError)) return error;
  const at = `${path}, line ${line}`;
  if (error.code === 'CSV_QUOTE_NOT_CLOSED')
    return new ImportFileError(
      `${at}: a quoted field starts in this row and is never closed (an unterminated "); close the quote, or double each " inside a quoted field ("")`,
      line,
    );
  if (error.code === 'CSV_INVALID_CLOSING_QUOTE' || error.code === 'INVALID_OPENING_QUOTE')
    return new ImportFileError(
      `${at}: a " in the middle of a field; put the whole field in quotes and double each " inside it ("")`,
      line,
    );
  return new ImportFileError(`${at}: not valid CSV (${error.message})`, line);
}

function checkHeader(record: string[], path: string): UserCsvColumn[] {
  const names = record.map((n) => n.trim().toLowerCase());
  const known = new Set<string>(USER_CSV_COLUMNS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const none =
      unknown.length === names.length
        ? `${path} does not start with a CSV header row naming user fields.`
        : `${path}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map(quoteValue).join(', ')} in the header.`;
    throw new ImportFileError(
      `${none} The columns are ${USER_CSV_COLUMNS.join(', ')} (any order, any subset with user_id or username).`,
    );
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ImportFileError(`${path}: the header names the column "${dup}" twice`);
  if (!names.includes('user_id') && !names.includes('username'))
    throw new ImportFileError(
      `${path}: the header needs a user_id or a username column, to know which user each row is`,
    );
  return names as UserCsvColumn[];
}
