import type { ProblemItem } from '../errors.js';
import { quoteValue } from './text.js';

/**
 * Timestamps in the wire format of the Marketing Edge Users API (docs/contract.md,
 * section 1, Timestamps). Stored as fixed-width text
 * `YYYY-MM-DDTHH:MM:SS.fffffff` (UTC, always 7 fraction digits): it keeps every
 * digit on SQLite and PostgreSQL alike, and sorts lexicographically in time order.
 */

const WIRE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$/i;

/** Parses the wire form (UTC, no offset) or RFC 3339 with `Z`/offset; returns the stored form, or null if invalid. */
export function parseTimestamp(input: string): string | null {
  const m = WIRE.exec(input);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m as unknown as string[];
  const year = Number(y),
    month = Number(mo),
    day = Number(d),
    hour = Number(h),
    minute = Number(mi),
    second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, 0);
  let ms = check.getTime();
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const oh = Number(zone.slice(1, 3)),
      om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  const utc = new Date(ms);
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return null;
  return `${utc.toISOString().slice(0, 19)}.${frac.padEnd(7, '0')}`;
}

/**
 * Parses a timestamp a client sent. When it is not one, adds a problem item at
 * `where` saying what is accepted (`alternative`: the RFC 3339 form the field
 * suggests) and returns null.
 */
export function readTimestamp(
  value: string,
  where: Omit<ProblemItem, 'message'>,
  alternative: string,
  problems: ProblemItem[],
): string | null {
  const stored = parseTimestamp(value);
  if (stored === null)
    problems.push({
      ...where,
      message: `must be a timestamp such as 2016-03-03T16:13:59.1917141 (UTC) or ${alternative} (got ${quoteValue(value)})`,
    });
  return stored;
}

/** Formats a stored timestamp for the wire: trailing zeros trimmed, no `.` when the fraction is zero. */
export function formatTimestamp(stored: string): string {
  const trimmed = stored.replace(/0+$/, '');
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

let lastNow = '';
// The last millisecond formatted, and its stored form: many requests share one millisecond, and formatting
// a Date costs more than the rest of nowTimestamp.
let lastMs = Number.NaN;
let lastMsStored = '';

/**
 * The current time in the stored form, strictly increasing within this process. It is the wall clock
 * (Date.now(), kept in step with NTP), not the time origin plus the monotonic clock, which drifts from wall
 * time in a long-running process: expiry and audit times must agree with other processes and people. Two
 * calls in one millisecond differ in the sub-millisecond digits.
 */
export function nowTimestamp(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    const iso = new Date(ms).toISOString();
    lastMs = ms;
    lastMsStored = `${iso.slice(0, 19)}.${iso.slice(20, 23)}0000`;
  }
  let value = lastMsStored;
  if (value <= lastNow) value = bumpTick(lastNow);
  lastNow = value;
  return value;
}

function bumpTick(stored: string): string {
  const frac = Number(stored.slice(20)) + 1;
  if (frac < 10_000_000) return `${stored.slice(0, 20)}${String(frac).padStart(7, '0')}`;
  const next = new Date(Date.parse(`${stored.slice(0, 19)}Z`) + 1000).toISOString();
  return `${next.slice(0, 19)}.0000000`;
}
