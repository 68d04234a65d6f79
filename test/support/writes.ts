import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** A body sent as is (no JSON encoding). */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** Calls the API of a test app: JSON bodies, the key as a bearer token, paths relative to the API root. */
export function caller(t: TestApp, defaultKey: string) {
  return (method: Method, path: string, options: CallOptions = {}): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? defaultKey}` };
    let payload: string | Buffer | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    return t.app.inject({
      method,
      url: `/api/v1/${path}`,
      headers: { ...headers, ...options.headers },
      ...(payload !== undefined ? { payload } : {}),
    });
  };
}

/** A valid POST users body for a username, with overrides. */
export function newUser(username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    username,
    name: `Test ${username}`,
    email: `${username.replace(/[^a-z0-9]/gi, '')}@example.com`,
    call_detail_level: 'full',
    roles: ['reporting'],
    ...extra,
  };
}

/** The audit entries of one target, oldest first. */
export async function auditOf(t: TestApp, targetId: string) {
  return t.conn.db.selectFrom('audit_entries').selectAll().where('target_id', '=', targetId).orderBy('id').execute();
}

/** How many audit entries the organization has. */
export async function auditCount(t: TestApp, orgId: number): Promise<number> {
  const row = await t.conn.db
    .selectFrom('audit_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The organization's write_version. */
export async function writeVersionOf(t: TestApp, orgId: number): Promise<number> {
  const row = await t.conn.db
    .selectFrom('organizations')
    .select('write_version')
    .where('id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(row.write_version);
}
