import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Dialect } from '../db/connect.js';
import type { Database } from '../db/tables.js';
import type { CatalogColumn } from './copy.catalog.js';
import { CopyError } from './copy.errors.js';
import { countOrgRows, readOrgPage } from './copy.repository.js';
import type { CopiedTable } from './copy.tables.js';
import { canonicalJson, normalizeRow, type SourceRow } from './copy.values.js';

/** One side of a comparison: a database (or transaction), its dialect, the copied columns as it stores them. */
export interface Side {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  readonly columns: readonly CatalogColumn[];
}

export interface TableCheck {
  readonly table: string;
  readonly rows: number;
  /** sha256 over every row's canonical stored form, in the table's order: equal on both sides. */
  readonly checksum: string;
}

const PAGE = 5000;

function describeRow(table: CopiedTable, row: SourceRow): string {
  const key = table.order.map((c) => `${c}=${String(row[c])}`).join(', ');
  return typeof row.user_id === 'string' ? `${key}, user_id=${row.user_id}` : key;
}

function firstDifference(a: unknown[], b: unknown[], columns: readonly CatalogColumn[]): string {
  const i = a.findIndex((v, k) => canonicalJson(v) !== canonicalJson(b[k]));
  const column = columns[i]?.name ?? '?';
  return `column ${column}: source ${canonicalJson(a[i])}, target ${canonicalJson(b[i])}`;
}

/**
 * Compares the organization's rows of one table, source against target: the
 * count first, then every row's canonical form (values normalised across the
 * dialects) in the table's order. Throws a CopyError naming the first
 * difference; returns the count and the checksum both sides share.
 */
export async function verifyTable(table: CopiedTable, orgId: number, source: Side, target: Side): Promise<TableCheck> {
  const [expected, actual] = [await countOrgRows(source.db, table, orgId), await countOrgRows(target.db, table, orgId)];
  if (expected !== actual) {
    throw new CopyError(
      `verification failed: ${table.name} has ${expected} rows in the source, ${actual} in the target`,
    );
  }
  const hash = createHash('sha256');
  let after: { s: unknown[] | null; t: unknown[] | null } = { s: null, t: null };
  for (;;) {
    const [a, b] = await Promise.all([
      readOrgPage(source.db, table, source.columns, orgId, after.s, PAGE),
      readOrgPage(target.db, table, target.columns, orgId, after.t, PAGE),
    ]);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const [ra, rb] = [a[i], b[i]];
      if (!ra || !rb) {
        const row = (ra ?? rb) as SourceRow;
        throw new CopyError(
          `verification failed: ${table.name} row ${describeRow(table, row)} is only in the ${ra ? 'source' : 'target'}`,
        );
      }
      const va = normalizeRow(ra, source.columns, source.dialect);
      const vb = normalizeRow(rb, target.columns, target.dialect);
      const [ca, cb] = [canonicalJson(va), canonicalJson(vb)];
      if (ca !== cb) {
        throw new CopyError(
          `verification failed: ${table.name} row ${describeRow(table, ra)} differs: ${firstDifference(va, vb, source.columns)}`,
        );
      }
      hash.update(ca).update('\n');
    }
    if (a.length < PAGE && b.length < PAGE) break;
    const last = (rows: SourceRow[]) => table.order.map((c) => (rows.at(-1) as SourceRow)[c]);
    after = { s: last(a), t: last(b) };
  }
  return { table: table.name, rows: expected, checksum: hash.digest('hex') };
}
