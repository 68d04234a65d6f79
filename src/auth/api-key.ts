import { createHash, randomBytes } from 'node:crypto';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const KEY_PREFIX = 'rst_';
/** Characters of a key shown as its public prefix (`rst_` and 8 random characters). */
export const PREFIX_LENGTH = KEY_PREFIX.length + 8;

/** A new random API key (192 bits), its public prefix and its hash. The key itself is never stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: hashApiKey(key) };
}

/**
 * The stored form of a key. A fast hash is right here: keys are 192-bit random
 * values, so there is nothing to brute-force, and lookups stay one indexed read.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** True when a key of scope `held` may do what `needed` requires (read < write < admin). */
export function scopeAllows(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}
