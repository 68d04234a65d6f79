/**
 * Opens an import file as a stream of checked rows, whatever its size: CSV
 * (import.csv.ts), NDJSON or a JSON array (import.json.ts). Each row keeps its
 * line number and its exact text, for the report and the rejects file.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { csvRows } from './import.csv.js';
import { ImportFileError } from './import.errors.js';
import { jsonArrayRows, ndjsonRows } from './import.json.js';
import type { CheckedRow } from './import.rows.js';

export const IMPORT_FORMATS = ['csv', 'ndjson', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

// Callers catch the file's problems from here, where they open it.
export { ImportFileError };

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
    throw new ImportFileError(
      code === 'ENOENT'
        ? `${path}: no such file`
        : code === 'EISDIR'
          ? `${path} is a folder, not a file`
          : `${path}: cannot read the file (${code ?? 'error'})`,
    );
  }
  if (head.includes(0)) throw new ImportFileError(`${path} is not CSV, NDJSON or JSON: it holds binary data`);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw new ImportFileError(`${path} is not UTF-8 text: save it as UTF-8 (with or without BOM) and import it again`);
  }
  const first = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()[0];
  const ext = extname(path).toLowerCase();
  let format: ImportFormat =
    given ??
    (ext === '.csv'
      ? 'csv'
      : ext === '.ndjson' || ext === '.jsonl'
        ? 'ndjson'
        : first === '['
          ? 'json'
          : first === '{'
            ? 'ndjson'
            : 'csv');
  // A .json file holds either an array or one object per line.
  if (format === 'json' && first === '{') format = 'ndjson';
  if (format === 'ndjson' && first === '[') format = 'json';

  if (format === 'csv' && (first === '{' || first === '[')) {
    throw new ImportFileError(
      `${path} does not start with a CSV header row naming user fields. It looks like JSON: import it with --format ndjson or --format json.`,
    );
  }
  let stream: ReadStream | null = null;
  const counted = () => (stream = createReadStream(path));
  let header: string | null = null;
  const rows =
    format === 'csv'
      ? () => csvRows(counted(), path, (h) => (header = h))
      : format === 'ndjson'
        ? () => ndjsonRows(counted())
        : () => jsonArrayRows(counted(), path);
  return { format, size, bytesRead: () => stream?.bytesRead ?? 0, header: () => header, rows };
}
