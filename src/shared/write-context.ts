import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import type { Actor } from '../audit/audit.repository.js';
import { isRetryable } from '../db/db-errors.js';
import type { Database, Db } from '../db/tables.js';
import { bumpWriteVersion } from '../orgs/org.repository.js';

/** Who writes, for which organization: what every write service takes. */
export interface WriteContext {
  readonly orgId: number;
  readonly actor: Actor;
}

/** The write context of an authenticated API request (the key is the actor; the request id links logs and audit). */
export function writeContextOf(request: FastifyRequest): WriteContext {
  return { orgId: request.caller.orgId, actor: { keyId: request.caller.keyId, label: request.caller.prefix, requestId: request.id } };
}

const ATTEMPTS = 3;

/**
 * Runs one write as one transaction. It first bumps the organization's
 * write_version: on PostgreSQL that row lock queues the organization's writes
 * one after another (so checks made inside see every earlier commit and no two
 * writes deadlock); on SQLite the connection already serializes transactions.
 * A serialization failure or deadlock is retried; any other error rolls back.
 */
export async function inWriteTransaction<T>(db: Db, orgId: number, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        await bumpWriteVersion(trx, orgId);
        return work(trx);
      });
    } catch (error) {
      if (attempt < ATTEMPTS && isRetryable(error)) continue;
      throw error;
    }
  }
}
