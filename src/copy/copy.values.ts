import type { Dialect } from '../db/connect.js';
import type { CatalogColumn } from './copy.catalog.js';

/** A row as read: column name → driver value. */
export type SourceRow = Record<string, unknown>;

/**
 * A stored value in its dialect-free form: booleans as booleans (SQLite
 * stores 0/1), JSON as the parsed value (SQLite stores text), timestamps as
 * text (the `pg` driver reads timestamptz as a Date). What travels to the
 * target and what the verification compares.
 */
export function normalizeValue(value: unknown, kind: CatalogColumn['kind'], dialect: Dialect): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (kind === 'boolean' && typeof value === 'number') return value !== 0;
  if (kind === 'json' && dialect === 'sqlite' && typeof value === 'string') return JSON.parse(value) as unknown;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** The row's values in column order, normalised (normalizeValue). */
export function normalizeRow(row: SourceRow, columns: readonly CatalogColumn[], dialect: Dialect): unknown[] {
  return columns.map((c) => normalizeValue(row[c.name], c.kind, dialect));
}

/** JSON with object keys sorted, so that two equal JSON values give one text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
