import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { UserRow } from '../db/tables.js';
import { userRowToUser } from './user.mapper.js';
import type { User } from './user.schemas.js';

// The formats `GET users` and `roster export` stream users in. No SQL and no HTTP here: rows in, bytes out.

/** The formats users stream in: one user object per line, or CSV with a header row. */
export type StreamFormat = 'ndjson' | 'csv';

export const STREAM_MEDIA_TYPES: Record<StreamFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
};

/** The CSV columns: the user object's keys in its order, `access` flattened; lists are `;`-separated. */
export const USER_CSV_COLUMNS = [
  'user_id',
  'username',
  'name',
  'email',
  'phone',
  'call_detail_level',
  'restrict_recording_download',
  'status',
  'last_login_date',
  'last_updated_date',
  'deactivation_date',
  'roles',
  'billing_groups',
  'group_owners',
] as const;
export type UserCsvColumn = (typeof USER_CSV_COLUMNS)[number];

/** Separates the items of a list inside one CSV field. */
export const CSV_LIST_SEPARATOR = ';';

/** A user as one CSV record, in USER_CSV_COLUMNS order (null and absent values are empty fields). */
function userToCsvRecord(user: User): string[] {
  return [
    user.user_id,
    user.username,
    user.name,
    user.email,
    user.phone,
    user.call_detail_level,
    String(user.restrict_recording_download),
    user.status,
    user.last_login_date ?? '',
    user.last_updated_date,
    user.deactivation_date ?? '',
    user.roles.join(CSV_LIST_SEPARATOR),
    user.access.billing_groups.join(CSV_LIST_SEPARATOR),
    user.access.group_owners.join(CSV_LIST_SEPARATOR),
  ];
}

async function* ndjsonLines(rows: AsyncIterable<UserRow>): AsyncGenerator<string> {
  let buffer = '';
  let n = 0;
  for await (const row of rows) {
    buffer += `${JSON.stringify(userRowToUser(row))}\n`;
    if (++n % 500 === 0) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer !== '') yield buffer;
}

/** A field a spreadsheet would run as a formula: it starts with `=`, `+`, `-`, `@`, a tab or a CR (OWASP, CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** The field with a leading `'` when a spreadsheet would take it for a formula: the cell then shows the text as is. */
function neutralizeFormula(field: string): string {
  return FORMULA_START.test(field) ? `'${field}` : field;
}

async function* csvRecords(rows: AsyncIterable<UserRow>, neutralize: boolean): AsyncGenerator<string[]> {
  for await (const row of rows) {
    const record = userToCsvRecord(userRowToUser(row));
    yield neutralize ? record.map(neutralizeFormula) : record;
  }
}

export interface StreamOptions {
  /** CSV: prefix fields that start like a formula with `'` (GET users always; `roster export` unless --keep-formulas). */
  readonly neutralizeFormulas: boolean;
}

/** The users as a byte stream in the format: NDJSON lines, or CSV (RFC 4180, LF line ends) with a header row. */
export function formatUserStream(rows: AsyncIterable<UserRow>, format: StreamFormat, options: StreamOptions): Readable {
  if (format === 'ndjson') return Readable.from(ndjsonLines(rows), { objectMode: false });
  // A lone CR would end a record for some readers: quote any field holding one.
  const csv = stringify({ header: true, columns: [...USER_CSV_COLUMNS], record_delimiter: 'unix', quoted_match: /\r/ });
  const source = Readable.from(csvRecords(rows, options.neutralizeFormulas));
  source.on('error', (error) => csv.destroy(error));
  return source.pipe(csv);
}

/** The stream format an Accept header asks for first, or null for the JSON page (the default). */
export function streamFormatOf(accept: string | undefined): StreamFormat | null {
  if (!accept) return null;
  const ranked = accept
    .split(',')
    .map((part, i) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1, i };
    })
    .filter((m) => m.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { type } of ranked) {
    if (type === STREAM_MEDIA_TYPES.ndjson) return 'ndjson';
    if (type === STREAM_MEDIA_TYPES.csv) return 'csv';
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return null;
  }
  return null;
}
