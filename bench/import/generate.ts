/**
 * Writes the import benchmark's file: `count` users of bench/dataset.ts as
 * NDJSON, one user object per line exactly as the API answers them.
 * Deterministic: the same count and seed give the same bytes.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { UserRow } from '../../src/db/tables.js';
import { userAt } from '../dataset.js';
import { userRowToUser, userToRow } from '../../src/users/user.mapper.js';

/** Writes the data set to `path`; resolves when the file is complete. */
export async function writeDatasetNdjson(path: string, count: number, seed: number): Promise<void> {
  const out = createWriteStream(path);
  let buffer = '';
  for (let i = 0; i < count; i++) {
    const row = { ...userToRow(0, userAt(i, { count, seed }), 1), id: 0 } as UserRow;
    buffer += `${JSON.stringify(userRowToUser(row))}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.write(buffer);
  out.end();
  await once(out, 'finish');
}
