import { AppError } from '../errors.js';
import { createKeyedLimiter, LimiterFullError } from './keyed-limiter.js';

// Uncached list queries of one organization that may wait for a slot; past this, a 429 at once.
const ORG_QUERY_QUEUE = 64;

/**
 * The slots for one organization's costly (uncached) list queries, shared by every API that runs them
 * (`GET users`, SCIM's `/Users` and group members): `concurrency` at once, up to 64 more waiting, and past
 * that the 429 that says the organization's line is full. Other organizations never wait for it.
 */
export function createOrgQueryGate(concurrency: number) {
  const limiter = createKeyedLimiter(concurrency, ORG_QUERY_QUEUE);
  return {
    /** Resolves with the release function once the organization has a free slot. */
    async acquire(orgId: number): Promise<() => void> {
      try {
        return await limiter.acquire(orgId);
      } catch (error) {
        if (!(error instanceof LimiterFullError)) throw error;
        throw new AppError(
          'TOO_MANY_CONCURRENT',
          `Your organization has ${ORG_QUERY_QUEUE} uncached list queries waiting on this server already; retry shortly, or send fewer at once.`,
          { headers: { 'retry-after': '1' } },
        );
      }
    },

    /** Runs `work` in one of the organization's slots. */
    async run<T>(orgId: number, work: () => Promise<T>): Promise<T> {
      const release = await this.acquire(orgId);
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}

export type OrgQueryGate = ReturnType<typeof createOrgQueryGate>;
