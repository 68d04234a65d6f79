import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../../src/db/connect.js';
import type { UserRow } from '../../src/db/tables.js';
import { importUsers, type ImportCounts, type Rejection } from '../../src/import/import.service.js';
import { openImportSource, type ImportFormat } from '../../src/import/import.source.js';
import { userToRow, type StoredUser } from '../../src/users/user.mapper.js';
import { rosterArgs } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'roster-import-'));
let n = 0;

/** Writes a temp file (string or bytes) and returns its path. */
export function tempFile(name: string, content: string | Buffer): string {
  const path = join(dir, `${++n}-${name}`);
  writeFileSync(path, content);
  return path;
}

/** A temp path that does not exist yet. */
export const tempPath = (name: string) => join(dir, `${++n}-${name}`);

export interface ImportRun {
  counts: ImportCounts;
  rejections: Rejection[];
  /** `line N, field: reason` lines, as the CLI prints them. */
  messages: string[];
}

/** Imports a file in-process, as `roster import` does, collecting the rejections. */
export async function importFile(
  conn: Connection,
  orgId: number,
  path: string,
  options: { format?: ImportFormat; createMissing?: boolean; strict?: boolean; batchSize?: number } = {},
): Promise<ImportRun> {
  const source = await openImportSource(path, options.format);
  const rejections: Rejection[] = [];
  const counts = await importUsers(
    conn,
    source.rows(),
    {
      orgId,
      dialect: conn.dialect,
      createMissing: options.createMissing ?? false,
      strict: options.strict ?? false,
      batchSize: options.batchSize,
      label: 'test',
    },
    { onRejected: (r) => rejections.push(r) },
  );
  const messages = rejections.flatMap((r) => r.problems.map((p) => `line ${r.line}, ${p.field}: ${p.reason}`));
  return { counts, rejections, messages };
}

/** Runs the real CLI as a process (support/cli.ts). */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, rosterArgs(...args), {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The CSV header with every column, in the user object's order. */
export const ALL_COLUMNS =
  'user_id,username,name,email,phone,call_detail_level,restrict_recording_download,status,last_login_date,last_updated_date,deactivation_date,roles,billing_groups,group_owners';

/** A user row as the database would hold it, with internal id `pk`, for the tests of what decides without a database. */
export function storedUserRow(
  orgId: number,
  pk: number,
  user: Partial<StoredUser> & Pick<StoredUser, 'user_id' | 'username'>,
  version = 1,
): UserRow {
  const stored: StoredUser = {
    name: user.username,
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: null,
    last_updated_date: '2020-01-01T00:00:00.0000000',
    roles: ['reporting'],
    access: { billing_groups: [], group_owners: [] },
    ...user,
  };
  return { ...userToRow(orgId, stored, version), id: pk } as UserRow;
}
