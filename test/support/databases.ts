import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseDatabaseUrl, type DatabaseTarget } from '../../src/config.js';
import type { Dialect } from '../../src/db/connect.js';

/** The dialects this run tests: ROSTER_TEST_DIALECTS=sqlite,postgres (the default is both). */
export const DIALECTS: Dialect[] = (process.env.ROSTER_TEST_DIALECTS ?? 'sqlite,postgres')
  .split(',')
  .map((d) => d.trim())
  .filter((d): d is Dialect => d === 'sqlite' || d === 'postgres');

/** The PostgreSQL server tests create their databases on (an admin connection URL). */
export const PG_ADMIN_URL = process.env.ROSTER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly target: DatabaseTarget;
  drop(): Promise<void>;
}

/** A fresh, empty database of the dialect: a temp SQLite file, or a new PostgreSQL database. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'roster-test-'));
    return {
      target: parseDatabaseUrl(`sqlite:${join(dir, 'roster.db')}`),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `roster_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: parseDatabaseUrl(url.toString()),
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Runs `work` while another PostgreSQL session holds the users table in ACCESS EXCLUSIVE mode, so that any read
 * of it waits: a read's time limit, not its data, then decides when it ends. Returns how long `work` took.
 */
export async function whileUsersLocked(url: string, work: () => Promise<void>): Promise<number> {
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  try {
    await locker.query('begin');
    await locker.query('lock table users in access exclusive mode');
    const started = Date.now();
    await work();
    return Date.now() - started;
  } finally {
    await locker.query('rollback');
    await locker.end();
  }
}
