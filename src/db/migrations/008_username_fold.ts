import { sql, type Kysely, type Migration } from 'kysely';
import { foldUsername, usernameSkeleton } from '../username-keys.js';
import type { Dialect } from '../connect.js';

/**
 * Usernames unique under full Unicode case folding and look-alike skeletons (src/db/username-keys.ts,
 * docs/security.md section 14). `username_fold` is recomputed with full folding (it was NFC + toLowerCase,
 * which misses `ß`/`ss`, final sigma, ligatures, fullwidth forms), and a new `username_skeleton` column
 * carries the look-alike key, unique per organization. The values are computed in JS (SQL has neither
 * rule). Only usernames with a non-ASCII character change: for ASCII the old fold, the new fold and the
 * skeleton are all the lower-cased username, so those rows are copied in one statement.
 *
 * Two users whose usernames now fold or look alike are never merged: the migration stops before changing
 * anything and lists them, and an administrator renames all but one of each group, then migrates again.
 */

const NON_ASCII = /[^\p{ASCII}]/u;
const READ_PAGE = 5000;
const LOOKUP_CHUNK = 500;
/** How many colliding groups the error lists (the rest are counted). */
const LISTED_GROUPS = 50;

interface Recomputed {
  readonly id: number;
  readonly orgId: number;
  readonly username: string;
  readonly fold: string;
  readonly skeleton: string;
}

/** Every user whose username has a non-ASCII character, with its new fold and skeleton (read page by page). */
async function recomputeNonAscii(db: Kysely<any>): Promise<Recomputed[]> {
  const changed: Recomputed[] = [];
  for (let after = 0; ;) {
    const rows = (await db
      .selectFrom('users')
      .select(['id', 'org_id', 'username'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(READ_PAGE)
      .execute()) as { id: number; org_id: number; username: string }[];
    for (const row of rows) {
      if (!NON_ASCII.test(row.username)) continue;
      const { id, org_id: orgId, username } = row;
      changed.push({ id, orgId, username, fold: foldUsername(username), skeleton: usernameSkeleton(username) });
    }
    if (rows.length < READ_PAGE) return changed;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * The groups of usernames that would share a skeleton in one organization. An ASCII username's skeleton
 * is its current fold, so the recomputed rows are checked against those with an indexed look-up.
 */
async function findCollisions(db: Kysely<any>, dialect: Dialect, changed: readonly Recomputed[]): Promise<string[]> {
  const groups = new Map<string, { orgId: number; usernames: string[] }>();
  for (const row of changed) {
    const key = `${row.orgId}\u0000${row.skeleton}`;
    const group = groups.get(key) ?? { orgId: row.orgId, usernames: [] };
    group.usernames.push(row.username);
    groups.set(key, group);
  }
  const byOrg = new Map<number, string[]>();
  for (const row of changed) byOrg.set(row.orgId, [...(byOrg.get(row.orgId) ?? []), row.skeleton]);
  for (const [orgId, skeletons] of byOrg) {
    const unique = [...new Set(skeletons)];
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const chunk = unique.slice(i, i + LOOKUP_CHUNK);
      const inChunk =
        dialect === 'sqlite'
          ? sql<boolean>`username_fold in (select value from json_each(${JSON.stringify(chunk)}))`
          : sql<boolean>`username_fold = any(${chunk}::text[])`;
      const ascii = (await db
        .selectFrom('users')
        .select(['username', 'username_fold'])
        .where('org_id', '=', orgId)
        .where(inChunk)
        .execute()) as { username: string; username_fold: string }[];
      for (const row of ascii)
        if (!NON_ASCII.test(row.username))
          groups.get(`${orgId}\u0000${row.username_fold}`)?.usernames.push(row.username);
    }
  }
  const names = new Map(
    ((await db.selectFrom('organizations').select(['id', 'name']).execute()) as { id: number; name: string }[]).map(
      (o) => [o.id, o.name],
    ),
  );
  return [...groups.values()]
    .filter((g) => g.usernames.length > 1)
    .map(
      (g) => `organization "${names.get(g.orgId) ?? g.orgId}": ${g.usernames.map((u) => JSON.stringify(u)).join(', ')}`,
    );
}

function collisionMessage(collisions: readonly string[]): string {
  const listed = collisions.slice(0, LISTED_GROUPS).map((c) => `  - ${c}`);
  const more = collisions.length > LISTED_GROUPS ? [`  … and ${collisions.length - LISTED_GROUPS} more groups`] : [];
  return [
    `${collisions.length} group(s) of usernames would be the same user under full Unicode case folding or look alike (docs/security.md, section 14); nothing was changed:`,
    ...listed,
    ...more,
    'Rename all but one user of each group (PATCH users/{user} with a new "username", served by the Roster version you are upgrading from), then run "roster migrate" again.',
  ].join('\n');
}

async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  // Read and check first: a collision stops the migration before any change.
  const changed = await recomputeNonAscii(db);
  const collisions = await findCollisions(db, dialect, changed);
  if (collisions.length > 0) throw new Error(collisionMessage(collisions));

  await db.schema.alterTable('users').addColumn('username_skeleton', 'text').execute();
  await sql`update users set username_skeleton = username_fold`.execute(db);
  for (const row of changed) {
    await db
      .updateTable('users')
      .set({ username_fold: row.fold, username_skeleton: row.skeleton })
      .where('id', '=', row.id)
      .execute();
  }
  if (dialect === 'postgres') {
    await sql`alter table users alter column username_skeleton set not null`.execute(db);
    await sql`alter table users alter column username_skeleton type text collate "C"`.execute(db);
  }
  await db.schema
    .createIndex('users_org_username_skeleton_uq')
    .on('users')
    .columns(['org_id', 'username_skeleton'])
    .unique()
    .execute();
}

export function usernameFoldMigration(dialect: Dialect): Migration {
  return {
    // All or nothing: Kysely runs PostgreSQL's migrations in a transaction but not SQLite's, whose DDL is
    // transactional too.
    async up(db: Kysely<any>) {
      if (db.isTransaction) return up(db, dialect);
      await db.transaction().execute((trx) => up(trx, dialect));
    },
    // The recomputed folds stay: they are what the code before this migration compares too (lower-cased forms).
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('users_org_username_skeleton_uq').execute();
      await db.schema.alterTable('users').dropColumn('username_skeleton').execute();
    },
  };
}
