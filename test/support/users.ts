import { randomUUID } from 'node:crypto';
import type { Connection } from '../../src/db/connect.js';
import { bumpWriteVersion } from '../../src/orgs/org.repository.js';
import { foldUsername } from '../../src/db/username-keys.js';
import { userToRow, type StoredUser } from '../../src/users/user.mapper.js';
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
  const stored = users.map((u): StoredUser => ({
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
  await conn.db.transaction().execute(async (trx) => {
    for (const user of stored) await insertUser(trx, userToRow(orgId, user, 1));
    await bumpWriteVersion(trx, orgId);
  });
  return stored;
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
