import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Connection } from '../../src/db/connect.js';
import { bumpWriteVersion } from '../../src/orgs/org.repository.js';
import { foldUsername } from '../../src/db/username-keys.js';
import { rolesMask, userToRow, type StoredUser } from '../../src/users/user.mapper.js';
import { insertUser } from '../../src/users/user.repository.js';

/** A user to store for a test: only `username` is required; the rest has plain defaults. */
export type TestUser = Partial<StoredUser> & { username: string };

/**
 * Stores users straight into an organization (the read side's tests need data the demo lacks), as a write
 * does: one transaction that bumps the organization's write_version. Returns them.
 */
export async function insertTestUsers(
  conn: Connection,
  orgId: number,
  users: readonly TestUser[],
): Promise<StoredUser[]> {
  const stored = testUsers(users);
  await conn.db.transaction().execute(async (trx) => {
    for (const user of stored) await insertUser(trx, userToRow(orgId, user, 1));
    await bumpWriteVersion(trx, orgId);
  });
  return stored;
}

/** Whole users from test users: a new user_id each, plain defaults for what is not given. */
export function testUsers(users: readonly TestUser[]): StoredUser[] {
  return users.map((u): StoredUser => ({
    user_id: randomUUID(),
    name: u.username,
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: null,
    last_updated_date: '2020-01-01T00:00:00.0000000',
    roles: ['reporting'],
    access: { billing_groups: [], group_owners: [] },
    ...u,
  }));
}

/** The folded form the contract's case-insensitive matching implies: NFC, then Unicode lower case. */
export const foldText = (s: string): string => s.normalize('NFC').toLowerCase().normalize('NFC');

/**
 * The contract's substring match: folded `hay` holds folded `needle`. A needle ending in a Greek sigma matches
 * either form of it (lower-casing writes `ς` at a word's end, `σ` elsewhere, and a needle may end mid-word).
 */
export function holdsNeedle(hay: string, needle: string): boolean {
  const h = foldText(hay);
  const n = foldText(needle);
  const forms = /[σς]$/.test(n) ? [`${n.slice(0, -1)}σ`, `${n.slice(0, -1)}ς`] : [n];
  return forms.some((form) => h.includes(form));
}

/** The username search's match: full case folding on both sides (src/db/username-keys.ts, one form of sigma). */
export function holdsUsernameNeedle(hay: string, needle: string): boolean {
  return foldUsername(hay).includes(foldUsername(needle));
}

/** A user's keys in the contract's order (a deactivated user's; others have no deactivation_date). */
export const USER_KEY_ORDER = [
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
  'access',
];

/** Code-point order (the order of UTF-8 bytes), as both backends sort text. */
export const byCodePoint = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Parses an RFC 8288 Link header into rel → URL. */
export function parseLinks(header: string | undefined): Record<string, string> {
  const links: Record<string, string> = {};
  for (const part of (header ?? '').split(/,\s*(?=<)/)) {
    const m = /^<([^>]*)>;\s*rel="([^"]+)"$/.exec(part.trim());
    if (m) links[m[2]!] = m[1]!;
  }
  return links;
}

/**
 * Stores `count` (< 1,000,000) plain users (`bulk<i>`, names `Bulk user <filler> <i>`) in one statement per dialect, for
 * tests that need volume (thousands of users in well under a second); the triggers keep counts and indexes.
 */
export async function insertBulkUsers(conn: Connection, orgId: number, count: number, filler = ''): Promise<void> {
  const series =
    conn.dialect === 'sqlite'
      ? sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${count}) select i from s`
      : sql`select i from generate_series(1, ${count}::int) as g(i)`;
  const uuid =
    conn.dialect === 'sqlite'
      ? sql`printf('00000000-0000-4000-8000-%06d%06d', ${orgId}, i)`
      : sql`'00000000-0000-4000-8000-' || lpad(${orgId}::text, 6, '0') || lpad(i::text, 6, '0')`;
  await conn.db.transaction().execute(async (trx) => {
    await sql`insert into users (org_id, user_id, username, username_fold, username_skeleton, name, name_fold, email, phone,
        call_detail_level, restrict_recording_download, status, last_login_date, last_updated_date,
        deactivation_date, roles, roles_mask, billing_groups, group_owners, version)
      select ${orgId}, ${uuid}, 'bulk' || i, 'bulk' || i, 'bulk' || i, 'Bulk user ' || ${filler} || ' ' || i,
        'bulk user ' || ${filler} || ' ' || i, 'bulk' || i || '@example.com', '', 'full', 0, 'activated', null,
        '2020-01-01T00:00:00.0000000', null, 'reporting', ${rolesMask(['reporting'])}, '', '', 1
      from (${series}) as series`.execute(trx);
    await bumpWriteVersion(trx, orgId);
  });
}
