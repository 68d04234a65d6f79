/**
 * Loads a benchmark data set straight into a fresh database (never over
 * HTTP): Roster's own migrations, then bulk inserts with the secondary
 * indexes (and SQLite's trigram triggers) set aside and rebuilt afterwards,
 * then the statistics and visibility a long-running database would have
 * (`VACUUM (FREEZE, ANALYZE)` on PostgreSQL, `ANALYZE` on SQLite).
 */
import { rmSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget } from '../src/config.js';
import { connect } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { insertBillingGroup } from '../src/billing-groups/billing-group.repository.js';
import { syncIdSequences } from '../src/db/dialect.js';
import { insertGroup } from '../src/groups/group.repository.js';
import { createKeyService } from '../src/auth/key.service.js';
import { createOrgService } from '../src/orgs/org.service.js';
import { userToRow } from '../src/users/user.mapper.js';
import type { NewUserRow } from '../src/db/tables.js';
import { datasetBillingGroups, datasetGroups, generateUsers, type DatasetOptions } from './dataset.js';

export interface OrgSpec extends DatasetOptions {
  readonly name: string;
}

export interface LoadedOrg {
  readonly name: string;
  readonly orgId: number;
  readonly count: number;
  readonly readKey: string;
  readonly writeKey: string;
}

const USER_COLUMNS = [
  'id',
  'org_id',
  'user_id',
  'username',
  'username_fold',
  'username_skeleton',
  'name',
  'name_fold',
  'email',
  'phone',
  'call_detail_level',
  'restrict_recording_download',
  'status',
  'last_login_date',
  'last_updated_date',
  'deactivation_date',
  'roles',
  'roles_mask',
  'billing_groups',
  'group_owners',
  'version',
  'created_at',
] as const;
const PG_TYPES: Record<string, string> = {
  id: 'int',
  org_id: 'int',
  restrict_recording_download: 'int',
  roles_mask: 'int',
  version: 'int',
};
const SECONDARY_TABLES = ['users', 'user_billing_groups', 'user_group_owners'];

type Row = NewUserRow & { id: number };

/** Appends one row to arrays held column by column (what PostgreSQL's unnest inserts take). */
function pushRow(columns: number[][], values: readonly number[]): void {
  values.forEach((value, k) => columns[k]!.push(value));
}

/** Drops and re-creates the benchmark database (PostgreSQL) or deletes the file (SQLite). */
async function resetDatabase(target: DatabaseTarget): Promise<void> {
  if (target.dialect === 'sqlite') {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${target.file}${suffix}`, { force: true });
    return;
  }
  const url = new URL(target.url);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.query(`create database "${name}" template template0 encoding 'UTF8'`);
  await admin.end();
}

/** Creates and fills the database: organizations, their billing groups, groups, users and read/write keys. */
export async function loadDatabase(
  target: DatabaseTarget,
  orgs: readonly OrgSpec[],
  log: (line: string) => void,
): Promise<LoadedOrg[]> {
  await resetDatabase(target);
  const conn = connect(target);
  await migrateToLatest(conn);
  const loaded: { spec: OrgSpec; orgId: number }[] = [];
  const organizations = createOrgService(conn.db);
  const keys = createKeyService(conn.db);
  for (const spec of orgs) {
    const orgId = await organizations.createOrganization(spec.name);
    await conn.db.transaction().execute(async (trx) => {
      for (const bg of datasetBillingGroups(spec)) await insertBillingGroup(trx, { ...bg, org_id: orgId });
      for (const g of datasetGroups(spec)) await insertGroup(trx, { ...g, org_id: orgId });
      await syncIdSequences(trx, conn.dialect);
    });
    loaded.push({ spec, orgId });
  }
  const started = Date.now();
  if (target.dialect === 'sqlite') loadSqlite(target.file, loaded, log);
  else await loadPostgres(target.url, loaded, log);
  log(
    `  loaded ${orgs.reduce((n, o) => n + o.count, 0).toLocaleString('en-US')} users in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const out: LoadedOrg[] = [];
  for (const { spec, orgId } of loaded) {
    out.push({
      name: spec.name,
      orgId,
      count: spec.count,
      readKey: (await keys.createApiKey(orgId, 'read')).key,
      writeKey: (await keys.createApiKey(orgId, 'write')).key,
    });
  }
  await conn.close();
  return out;
}

function* rowsOf(loaded: { spec: OrgSpec; orgId: number }[]): Generator<Row> {
  let id = 1;
  for (const { spec, orgId } of loaded) {
    for (const user of generateUsers(spec)) yield { ...userToRow(orgId, user, 1), id: id++ };
  }
}

function loadSqlite(file: string, loaded: { spec: OrgSpec; orgId: number }[], log: (line: string) => void): void {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const indexes = db
    .prepare(
      `select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${SECONDARY_TABLES.map(() => '?').join(',')})`,
    )
    .all(...SECONDARY_TABLES) as { name: string; sql: string }[];
  // Unique indexes stay (they are what keeps the data set honest); the others are rebuilt in bulk.
  const dropped = indexes.filter((i) => !/^create unique/i.test(i.sql));
  for (const i of dropped) db.exec(`drop index ${i.name}`);
  // The trigram index's triggers as the migrations left them (migration 011 rewrote 004's), put back after.
  const trigramTriggers = db
    .prepare(`select name, sql from sqlite_master where type = 'trigger' and name like 'users_trgm_%'`)
    .all() as { name: string; sql: string }[];
  for (const t of trigramTriggers) db.exec(`drop trigger ${t.name}`);

  const insertUser = db.prepare(
    `insert into users (${USER_COLUMNS.join(',')}) values (${USER_COLUMNS.map((c) => `@${c}`).join(',')})`,
  );
  const insertBg = db.prepare('insert into user_billing_groups (org_id, user_pk, billing_group_id) values (?, ?, ?)');
  const insertGo = db.prepare('insert into user_group_owners (org_id, user_pk, group_id) values (?, ?, ?)');
  const batch = db.transaction((rows: Row[]) => {
    for (const row of rows) {
      insertUser.run(row);
      if (row.billing_groups !== '')
        for (const b of row.billing_groups.split(',')) insertBg.run(row.org_id, row.id, Number(b));
      if (row.group_owners !== '')
        for (const g of row.group_owners.split(',')) insertGo.run(row.org_id, row.id, Number(g));
    }
  });
  let rows: Row[] = [];
  let n = 0;
  for (const row of rowsOf(loaded)) {
    rows.push(row);
    if (rows.length === 50_000) {
      batch(rows);
      n += rows.length;
      rows = [];
      if (n % 200_000 === 0) log(`  ${n.toLocaleString('en-US')} users`);
    }
  }
  batch(rows);
  let t = Date.now();
  for (const i of dropped) db.exec(i.sql);
  log(`  rebuilt ${dropped.length} indexes in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  db.exec(`insert into users_trgm(users_trgm) values ('rebuild')`);
  for (const t of trigramTriggers) db.exec(t.sql);
  log(`  rebuilt the trigram index in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  db.exec('analyze');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function loadPostgres(
  url: string,
  loaded: { spec: OrgSpec; orgId: number }[],
  log: (line: string) => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`set maintenance_work_mem = '512MB'`);
  // Secondary indexes that back no constraint are set aside and rebuilt after the load.
  const { rows: indexes } = await client.query<{ name: string; def: string }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
      where t.relname = any($1) and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
        and not i.indisunique`,
    [SECONDARY_TABLES],
  );
  for (const i of indexes) await client.query(`drop index ${i.name}`);

  const insertUsers = `insert into users (${USER_COLUMNS.join(',')}) select * from unnest(${USER_COLUMNS.map((c, k) => `$${k + 1}::${PG_TYPES[c] ?? 'text'}[]`).join(',')})`;
  const flush = async (rows: Row[]) => {
    const columns = USER_COLUMNS.map((c) => rows.map((r) => r[c] ?? null));
    const bg: [number[], number[], number[]] = [[], [], []];
    const go: [number[], number[], number[]] = [[], [], []];
    for (const r of rows) {
      if (r.billing_groups !== '')
        for (const b of r.billing_groups.split(',')) pushRow(bg, [r.org_id, r.id, Number(b)]);
      if (r.group_owners !== '') for (const g of r.group_owners.split(',')) pushRow(go, [r.org_id, r.id, Number(g)]);
    }
    await client.query('begin');
    await client.query(insertUsers, columns);
    await client.query(
      'insert into user_billing_groups (org_id, user_pk, billing_group_id) select * from unnest($1::int[], $2::int[], $3::int[])',
      bg,
    );
    await client.query(
      'insert into user_group_owners (org_id, user_pk, group_id) select * from unnest($1::int[], $2::int[], $3::int[])',
      go,
    );
    await client.query('commit');
  };
  let rows: Row[] = [];
  let n = 0;
  for (const row of rowsOf(loaded)) {
    rows.push(row);
    if (rows.length === 10_000) {
      await flush(rows);
      n += rows.length;
      rows = [];
      if (n % 200_000 === 0) log(`  ${n.toLocaleString('en-US')} users`);
    }
  }
  if (rows.length > 0) await flush(rows);
  await client.query(`select setval(pg_get_serial_sequence('users', 'id'), (select max(id) from users))`);
  let t = Date.now();
  for (const i of indexes) await client.query(i.def);
  log(`  rebuilt ${indexes.length} indexes in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  // Fold the per-statement count deltas the triggers appended during the load.
  for (const { orgId } of loaded) {
    await client.query(
      `with gone as (delete from user_counts where org_id = $1 returning status, roles_mask, n)
       insert into user_counts (org_id, status, roles_mask, n) select $1, status, roles_mask, sum(n) from gone group by status, roles_mask`,
      [orgId],
    );
  }
  t = Date.now();
  await client.query('vacuum (freeze, analyze)');
  log(`  vacuum (freeze, analyze) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await client.end();
}
