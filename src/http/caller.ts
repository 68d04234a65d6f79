import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WriteContext } from '../shared/actor.js';

/** What a key may do, each scope allowing all the previous one does: read < write < admin. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: set on every request under the API root by the authentication hook (auth/auth.hook.ts). */
export interface Caller {
  readonly orgId: number;
  readonly keyId: number;
  readonly prefix: string;
  readonly scope: Scope;
  /** The organization's write_version when the request arrived (read with the key: no extra round trip). */
  readonly writeVersion: number;
}

/**
 * An onRequest guard of the API root (the key check, then the rate limit): throws to refuse, and returns a
 * promise only when it has to wait, so that an answer it can give at once costs no turn of the event loop.
 */
export type RequestGuard = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; GET and HEAD default to `read`, every other method to `write`. */
    scope?: Scope;
  }
}

/** The write context of an authenticated API request (the key is the actor; the request id links logs and audit). */
export function writeContextOf(request: FastifyRequest): WriteContext {
  return {
    orgId: request.caller.orgId,
    actor: { keyId: request.caller.keyId, label: request.caller.prefix, requestId: request.id },
  };
}
