import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db, UserRow } from '../db/tables.js';
import { findUsersAfter, userRowToUser, userSortKey, type UserFilter, type UserSort } from './user.repository.js';
import type { User } from './user.schemas.js';

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

// Users per keyset read: big enough to amortize a query, small enough to keep memory flat.
const PAGE = 1000;

/**
 * Every user matching `filter`, in `sort` order, read page by page with keyset
 * paging: memory stays flat however many users match.
 */
export async function* streamUserRows(db: Db, orgId: number, filter: UserFilter, sort: UserSort, pageSize = PAGE): AsyncGenerator<UserRow> {
  let after: { key: string | null; userId: string } | null = null;
  for (;;) {
    const rows = await findUsersAfter(db, orgId, filter, sort, after, pageSize);
    yield* rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { key: userSortKey(last, sort.field), userId: last.user_id };
  }
}

/** A user as one CSV record, in USER_CSV_COLUMNS order (null and absent values are empty fields). */
export function userToCsvRecord(user: User): string[] {
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

async function* csvRecords(rows: AsyncIterable<UserRow>): AsyncGenerator<string[]> {
  for await (const row of rows) yield userToCsvRecord(userRowToUser(row));
}

/** The users as a byte stream in the format: NDJSON lines, or CSV (RFC 4180, LF line ends) with a header row. */
export function formatUserStream(rows: AsyncIterable<UserRow>, format: StreamFormat): Readable {
  if (format === 'ndjson') return Readable.from(ndjsonLines(rows), { objectMode: false });
  // A lone CR would end a record for some readers: quote any field holding one.
  const csv = stringify({ header: true, columns: [...USER_CSV_COLUMNS], record_delimiter: 'unix', quoted_match: /\r/ });
  const source = Readable.from(csvRecords(rows));
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

/** Answers `GET users` as a stream of every matching user (no paging) when the Accept header asks for one. */
export function sendUserStream(request: FastifyRequest, reply: FastifyReply, rows: AsyncIterable<UserRow>, format: StreamFormat): FastifyReply {
  const body = formatUserStream(rows, format);
  body.on('error', (error) => request.log.error({ err: error }, 'user stream failed'));
  return reply.header('vary', 'accept').type(`${STREAM_MEDIA_TYPES[format]}; charset=utf-8`).send(body);
}

/** The `200` of `GET users` in the OpenAPI document: the JSON page, or the whole list streamed as NDJSON or CSV. */
export const usersListResponse = {
  description: 'A page of users (JSON), or with `Accept: application/x-ndjson` or `text/csv` every matching user, unpaged, streamed',
  content: {
    'application/json': { schema: Type.Ref('UsersPage') },
    [STREAM_MEDIA_TYPES.ndjson]: {
      schema: Type.String({ description: 'one user object per line (LF), in the sort order; paging parameters are ignored' }),
    },
    [STREAM_MEDIA_TYPES.csv]: {
      schema: Type.String({
        description: `a header row then one user per row (RFC 4180, LF): columns ${USER_CSV_COLUMNS.join(', ')}; lists are \`;\`-separated, null and absent values empty`,
      }),
    },
  },
};
