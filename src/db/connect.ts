import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import { openCommitStamp } from './commit-stamp.js';
import { prepareWrites } from './pg-prepared.js';
import { withPgSession, type PgSession } from './session.js';
import type { Database } from './tables.js';

export type Dialect = DatabaseTarget['dialect'];

/** An open database: the Kysely instance and which dialect it speaks. */
export interface Connection {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** PostgreSQL only: runs `work` in a session of its own (session.ts), for COPY and temporary tables. */
  readonly withSession?: <T>(work: (session: PgSession) => Promise<T>) => Promise<T>;
  /** SQLite only: runs a compiled read at once (see readAtOnce); undefined when it must wait its turn in Kysely. */
  readonly readNow?: ReadNow;
  /** SQLite only (a file): the stamp of the last commit (commit-stamp.ts); undefined when it cannot tell. */
  readonly commitStamp?: () => string | undefined;
  close(): Promise<void>;
}

/** Runs a compiled read synchronously, or returns undefined when the connection is not free for it now. */
export type ReadNow = <R>(query: CompiledQuery<R>) => R[] | undefined;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

const STATEMENT_CACHE = 256;

/**
 * Kysely prepares every query anew, and preparing costs more than running a
 * small query: keep the most recently used statements by SQL text. Reuse is
 * safe because better-sqlite3 runs a statement synchronously to completion and
 * Kysely hands its one connection to one query (or stream) at a time.
 */
function cacheStatements(sqlite: SQLite.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement) {
      cache.delete(source);
    } else {
      statement = prepare(source);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, statement);
    return statement;
  }) as typeof sqlite.prepare;
}

/**
 * A read run synchronously on the event loop's thread, without Kysely's queue for its one connection (a
 * queued query costs a few promises, more than this whole read on a cached statement). It is safe only
 * while no transaction holds the connection (a read inside one would see its uncommitted rows) and no
 * statement is stepping through rows (better-sqlite3 refuses that with a TypeError): then, and when
 * another connection holds a lock the read would have to wait for, undefined says to run it through Kysely.
 */
function readAtOnce(sqlite: SQLite.Database): ReadNow {
  const columnsOf = new WeakMap<SQLite.Statement, string[]>();
  return <R>(query: CompiledQuery<R>): R[] | undefined => {
    if (sqlite.inTransaction) return undefined;
    try {
      const statement = sqlite.prepare(query.sql);
      let columns = columnsOf.get(statement);
      if (!columns) columnsOf.set(statement, (columns = statement.columns().map((c) => c.name)));
      // Rows as arrays, made objects here: better-sqlite3 builds each object's properties one native call at
      // a time, which cost a quarter of a 25-user read (docs/performance.md). The statement is shared with
      // Kysely, so it leaves raw mode before anything else can run it.
      statement.raw(true);
      let values: unknown[][];
      try {
        values = statement.all(query.parameters) as unknown[][];
      } finally {
        statement.raw(false);
      }
      return values.map((value) => {
        const row: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = value[i];
        return row as R;
      });
    } catch (error) {
      if (error instanceof TypeError || (error instanceof SQLite.SqliteError && error.code.startsWith('SQLITE_BUSY')))
        return undefined;
      throw error;
    }
  };
}

/** How long a SQLite statement waits for another connection's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/** Opens the database a DatabaseTarget names (creating the SQLite file and its folder if needed). */
export function connect(
  target: DatabaseTarget,
  options: { poolSize?: number; preparedWrites?: boolean } = {},
): Connection {
  if (target.dialect === 'sqlite') {
    if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
    const sqlite = new SQLite(target.file);
    // WAL lets the CLI and several server processes share the file; FULL makes a 2xx survive a crash.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    // Reads of a large directory (a million users per organization): a bigger page cache and memory-mapped I/O (docs/performance.md).
    sqlite.pragma('cache_size = -65536');
    sqlite.pragma('mmap_size = 1073741824');
    cacheStatements(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    const stamp = target.file === ':memory:' ? undefined : openCommitStamp(target.file);
    return {
      db,
      dialect: 'sqlite',
      readNow: readAtOnce(sqlite),
      ...(stamp ? { commitStamp: () => stamp.read() } : {}),
      close: async () => {
        stamp?.close();
        await db.destroy();
      },
    };
  }
  // count(*) and bigint come back as numbers: every count Roster makes fits in 2^53.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
      oid === INT8_OID || oid === NUMERIC_OID
        ? Number
        : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString: target.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    types,
  });
  // An idle client's error (e.g. the server restarting) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // Nor may a checked-out client's (pg-pool listens only to idle ones): the query it was about to run fails as
  // "not queryable", which is a 503, and the pool drops the client on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (options.preparedWrites ?? true) prepareWrites(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    withSession: (work) => withPgSession(target.url, types, work),
    close: () => db.destroy(),
  };
}
