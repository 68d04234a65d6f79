import { Migrator, type Migration, type MigrationResultSet } from 'kysely';
import type { Connection, Dialect } from './connect.js';
import { dropChangeLogStatistics } from './statistics.js';
import { coreMigration } from './migrations/001_core.js';
import { auditMigration } from './migrations/002_audit.js';
import { writesMigration } from './migrations/003_writes.js';
import { performanceMigration } from './migrations/004_performance.js';
import { hardeningMigration } from './migrations/006_hardening.js';
import { scimMigration } from './migrations/007_scim.js';
import { usernameFoldMigration } from './migrations/008_username_fold.js';
import { auditNumberingMigration } from './migrations/009_audit_numbering.js';
import { changeLogMigration } from './migrations/010_change_log.js';
import { orgTrigramsMigration } from './migrations/011_org_trigrams.js';
import { boundedPruneMigration } from './migrations/012_bounded_prune.js';

/** Every migration, in order. One list for the CLI, the server and the tests. */
function listMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_core': coreMigration(dialect),
    '002_audit': auditMigration(dialect),
    '003_writes': writesMigration(dialect),
    '004_performance': performanceMigration(dialect),
    '006_hardening': hardeningMigration(dialect),
    '007_scim': scimMigration(dialect),
    '008_username_fold': usernameFoldMigration(dialect),
    '009_audit_numbering': auditNumberingMigration(dialect),
    '010_change_log': changeLogMigration(dialect),
    '011_org_trigrams': orgTrigramsMigration(dialect),
    '012_bounded_prune': boundedPruneMigration(dialect),
  };
}

export class MigrationError extends Error {}

function migratorFor(conn: Connection): Migrator {
  return new Migrator({
    db: conn.db,
    provider: { getMigrations: async () => listMigrations(conn.dialect) },
    migrationTableName: 'roster_migrations',
    migrationLockTableName: 'roster_migrations_lock',
    // Numbers need not follow on (004 is followed by 006), and a migration may land after one with a higher
    // number was applied: apply it all the same.
    allowUnorderedMigrations: true,
  });
}

/** A driver error in words: some (an AggregateError of refused connections) have an empty message but a code. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return error.message || (typeof code === 'string' ? code : error.name);
}

function check({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    // No failed migration means none ran: the database could not be reached or read at all.
    throw new MigrationError(
      failed
        ? `migration ${failed} failed: ${describeError(error)}`
        : `cannot migrate the database: ${describeError(error)}`,
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied. Safe to call from several processes at once. */
export async function migrateToLatest(conn: Connection): Promise<string[]> {
  const applied = check(await migratorFor(conn).migrateToLatest());
  await dropChangeLogStatistics(conn);
  return applied;
}

/** Reverts the most recent migration; returns its name. */
export async function migrateDown(conn: Connection): Promise<string[]> {
  return check(await migratorFor(conn).migrateDown());
}
