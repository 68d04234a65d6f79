/**
 * Reads an import file as a stream of checked rows, whatever its size: CSV
 * (csv-parse), NDJSON, or a JSON array. Each row keeps its line number and its
 * exact text, for the report and the rejects file.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CsvError, parse, type Options } from 'csv-parse';
import { USER_CSV_COLUMNS, type UserCsvColumn } from '../users/user.formats.js';
import { checkCsvRecord, checkJsonUser, type CheckedRow } from './import.rows.js';

export const IMPORT_FORMATS = ['csv', 'ndjson', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** A problem with the file as a whole (not one row): its message is shown as is. */
export class ImportFileError extends Error {}

export interface ImportSource {
  /** csv, ndjson, or json (an array). */
  readonly format: ImportFormat;
  /** The file's size in bytes. */
  readonly size: number;
  /** Bytes read so far (for the progress bar). */
  bytesRead(): number;
  /** CSV only: the header line as in the file, with its line end, for the rejects file. */
  header(): string | null;
  /** The records after the header, checked, in file order. */
  rows(): AsyncGenerator<CheckedRow>;
}

const SNIFF = 64 * 1024;

/** Opens an import file: checks it is text, settles its format (given, from the extension, else from the content). */
export async function openImportSource(path: string, given?: ImportFormat): Promise<ImportSource> {
  let size: number;
  let head: Buffer;
  try {
    size = (await stat(path)).size;
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(SNIFF, size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImportFileError(code === 'ENOENT' ? `${path}: no such file` : code === 'EISDIR' ? `${path} is a folder, not a file` : `${path}: cannot read the file (${code ?? 'error'})`);
  }
  if (head.includes(0)) throw new ImportFileError(`${path} is not CSV, NDJSON or JSON: it holds binary data`);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw new ImportFileError(`${path} is not UTF-8 text: save it as UTF-8 (with or without BOM) and import it again`);
  }
  const first = head.toString('utf8').replace(/^\uFEFF/, '').trimStart()[0];
  const ext = extname(path).toLowerCase();
  let format: ImportFormat = given ?? (ext === '.csv' ? 'csv' : ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv');
  // A .json file holds either an array or one object per line.
  if (format === 'json' && first === '{') format = 'ndjson';
  if (format === 'ndjson' && first === '[') format = 'json';

  if (format === 'csv' && (first === '{' || first === '[')) {
    throw new ImportFileError(`${path} does not start with a CSV header row naming user fields. It looks like JSON: import it with --format ndjson or --format json.`);
  }
  let stream: ReturnType<typeof createReadStream> | null = null;
  const counted = () => (stream = createReadStream(path));
  let header: string | null = null;
  const rows = format === 'csv' ? () => csvRows(counted(), path, (h) => (header = h)) : format === 'ndjson' ? () => ndjsonRows(counted()) : () => jsonArrayRows(counted(), path);
  return { format, size, bytesRead: () => stream?.bytesRead ?? 0, header: () => header, rows };
}

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

interface CsvRecord {
  readonly record: string[];
  /** The line the record starts on. */
  readonly line: number;
  /** The record's text as in the file, without its line end. */
  readonly raw: string;
  /** Its line end (\n or \r\n). */
  readonly eol: string;
}

async function* csvRows(input: NodeJS.ReadableStream, path: string, onHeader: (line: string) => void): AsyncGenerator<CheckedRow> {
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
  const parser = input.pipe(tap).pipe(
    parse({
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
    } as unknown as Options),
  );
  input.on('error', (error) => parser.destroy(error));
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
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const at = `line ${line}`;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') throw new ImportFileError(`${path}, ${at}: a quoted field starts in this row and is never closed (an unterminated "); close the quote, or double each " inside a quoted field ("")`);
    if (error.code === 'CSV_INVALID_CLOSING_QUOTE' || error.code === 'INVALID_OPENING_QUOTE') {
      throw new ImportFileError(`${path}, ${at}: a " in the middle of a field; put the whole field in quotes and double each " inside it ("")`);
    }
    throw new ImportFileError(`${path}, ${at}: not valid CSV (${error.message})`);
  }
}

function checkHeader(record: string[], path: string): UserCsvColumn[] {
  const names = record.map((n) => n.trim().toLowerCase());
  const known = new Set<string>(USER_CSV_COLUMNS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    const none = unknown.length === names.length ? `${path} does not start with a CSV header row naming user fields.` : `${path}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(u)).join(', ')} in the header.`;
    throw new ImportFileError(`${none} The columns are ${USER_CSV_COLUMNS.join(', ')} (any order, any subset with user_id or username).`);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ImportFileError(`${path}: the header names the column "${dup}" twice`);
  if (!names.includes('user_id') && !names.includes('username')) throw new ImportFileError(`${path}: the header needs a user_id or a username column, to know which user each row is`);
  return names as UserCsvColumn[];
}

async function* ndjsonRows(input: NodeJS.ReadableStream): AsyncGenerator<CheckedRow> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (let text of lines) {
    line++;
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, raw: text, source: 'json', input: {}, problems: [{ field: '(line)', reason: `is not valid JSON (${(error as Error).message}); each line must be one user object` }] };
      continue;
    }
    yield { line, raw: text, source: 'json', ...checkJsonUser(value) };
  }
}

/** Splits a top-level JSON array into its elements' texts as they stream in (string- and nesting-aware), with their line numbers. */
async function* jsonArrayRows(input: NodeJS.ReadableStream, path: string): AsyncGenerator<CheckedRow> {
  const decoder = new StringDecoder('utf8');
  let line = 1;
  let state: 'before' | 'between' | 'after' | 'element' = 'before';
  let expectComma = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let text = '';
  let startLine = 0;
  const fail = (what: string): never => {
    throw new ImportFileError(`${path}, line ${line}: not a JSON array of user objects (${what})`);
  };
  const finish = (): CheckedRow => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { line: startLine, raw: text, source: 'json', input: {}, problems: [{ field: '(element)', reason: `is not valid JSON (${(error as Error).message})` }] };
    }
    return { line: startLine, raw: text, source: 'json', ...checkJsonUser(value) };
  };
  let firstChunk = true;
  for await (const chunk of input) {
    let s = decoder.write(chunk as Buffer);
    if (firstChunk) {
      s = s.replace(/^\uFEFF/, '');
      firstChunk = false;
    }
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (state === 'element') {
        text += c;
        if (c === '\n') line++;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        if (!inString && depth === 0 && (c === '}' || c === ']' || c === '"')) {
          state = 'between';
          expectComma = true;
          yield finish();
        } else if (depth < 0) fail('unbalanced brackets');
        continue;
      }
      if (c === '\n') line++;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
      if (state === 'before') {
        if (c !== '[') fail(`expected "[" but found ${JSON.stringify(c)}`);
        state = 'between';
      } else if (state === 'after') fail(`unexpected ${JSON.stringify(c)} after the closing "]"`);
      else if (c === ']') state = 'after';
      else if (c === ',') {
        if (!expectComma) fail('a "," where a user object was expected');
        expectComma = false;
      } else if (expectComma) fail(`expected "," or "]" but found ${JSON.stringify(c)}`);
      else if (c === '{' || c === '[' || c === '"') {
        state = 'element';
        text = c;
        startLine = line;
        depth = c === '"' ? 0 : 1;
        inString = c === '"';
      } else fail(`expected a user object but found ${JSON.stringify(c)}`);
    }
  }
  if (state === 'before') return;
  if (state !== 'after') fail('the array is never closed with "]"');
}
