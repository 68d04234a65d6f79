import { sql, type ColumnDefinitionBuilder } from 'kysely';
import type { Dialect } from '../connect.js';

/**
 * Column modifiers the migrations share, per dialect: PostgreSQL ids are
 * identity columns and its text columns use the "C" collation (code-point
 * order, as on SQLite), so that answers never depend on the backend.
 */
export function columnsFor(dialect: Dialect) {
  const pg = dialect === 'postgres';
  const id = (col: ColumnDefinitionBuilder) =>
    pg ? col.generatedByDefaultAsIdentity().primaryKey() : col.primaryKey().autoIncrement();
  const text = (col: ColumnDefinitionBuilder) => (pg ? col.modifyEnd(sql`collate "C"`) : col);
  return { id, text };
}
