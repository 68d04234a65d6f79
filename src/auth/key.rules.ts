import { hash, randomBytes } from 'node:crypto';
import { SCOPES, type Scope } from '../http/caller.js';
import { OrgError } from '../orgs/org.service.js';
import { parseTimestamp } from '../shared/timestamps.js';

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
  return hash('sha256', key, 'hex');
}

/** True when a key of scope `held` may do what `needed` requires (read < write < admin). */
export function scopeAllows(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

const DURATION = /^([0-9]{1,6})([mhdw])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Parses `--expires`: a duration from now (`90m`, `12h`, `30d`, `2w`) or a timestamp; returns the stored form, in the future. */
export function parseKeyExpiry(input: string, now: Date = new Date()): string {
  const duration = DURATION.exec(input.trim());
  let stored: string | null;
  if (duration) {
    const at = new Date(now.getTime() + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
    stored = at.getUTCFullYear() <= 9999 ? parseTimestamp(at.toISOString()) : null;
  } else {
    stored = parseTimestamp(input.trim());
  }
  if (stored === null) {
    throw new OrgError(
      `--expires "${input}" must be a duration such as 90m, 12h, 30d or 2w, or a timestamp such as 2027-01-31T00:00:00Z`,
    );
  }
  if (stored <= parseTimestamp(now.toISOString())!) throw new OrgError(`--expires "${input}" is not in the future`);
  return stored;
}
