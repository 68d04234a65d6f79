import { sql } from 'kysely';
import type { Connection } from '../db/connect.js';

/** How a column's values convert between the dialects (SQLite keeps booleans as 0/1 and JSON as text). */
export type ColumnKind = 'boolean' | 'json' | 'timestamp' | 'plain';

export interface CatalogColumn {
  readonly name: string;
  readonly kind: ColumnKind;
}

function kindOf(type: string): ColumnKind {
  const t = type.toLowerCase();
  if (t.startsWith('bool')) return 'boolean';
  if (t.startsWith('json')) return 'json';
  if (t.startsWith('timestamp')) return 'timestamp';
  return 'plain';
}

/**
 * The columns a copy reads and writes, in the table's order: every stored
 * column, generated ones left out (the target computes its own).
 */
export async function listColumns(conn: Connection, table: string): Promise<CatalogColumn[]> {
  if (conn.dialect === 'postgres') {
    const { rows } = await sql<{ name: string; type: string }>`select column_name as name, data_type as type
      from information_schema.columns
      where table_schema = current_schema() and table_name = ${table} and is_generated = 'NEVER'
      order by ordinal_position`.execute(conn.db);
    return rows.map((r) => ({ name: r.name, kind: kindOf(r.type) }));
  }
  // table_xinfo's hidden: 0 a stored column, 1 a virtual table's hidden one, 2 and 3 generated ones.
  const { rows } = await sql<{ name: string; type: string; hidden: number }>`select name, type, hidden
    from pragma_table_xinfo(${table}) order by cid`.execute(conn.db);
  return rows.filter((r) => r.hidden === 0).map((r) => ({ name: r.name, kind: kindOf(r.type) }));
}
