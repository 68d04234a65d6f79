/**
 * A deterministic, realistic data set for benchmarks (and the import
 * benchmark): users in the stored form `userToRow` takes (timestamps with 7
 * fraction digits), plus the billing groups and groups their access lists
 * refer to.
 *
 * Every user is a pure function of (seed, index): `userAt(i)` can be called
 * in any order, so a benchmark can name existing users (Q2, Q3) without
 * keeping a million objects around. Usernames and user_ids are unique within
 * a data set; user_ids are unique across seeds with overwhelming probability
 * (random v4 UUIDs), so two organizations must use two different seeds
 * (user_id is unique across the whole database).
 */
import { prng } from '../src/shared/prng.js';
import type { StoredUser } from '../src/users/user.mapper.js';
import { CALL_DETAIL_LEVELS, ROLES, STATUSES, type Role } from '../src/users/user.schemas.js';

export interface DatasetOptions {
  /** How many users. */
  readonly count: number;
  /** Any 32-bit integer; different seeds give disjoint user_ids. */
  readonly seed: number;
  /**
   * First id of this data set's billing groups and groups (ids are unique
   * across organizations): billing groups take idBase .. idBase+50, groups
   * idBase+100 .. idBase+299. Default 100000.
   */
  readonly idBase?: number;
}

export interface DatasetBillingGroup {
  readonly id: number;
  readonly name: string;
  readonly status: 'active' | 'inactive';
  readonly parent_id: number | null;
  readonly depth: number;
}

export interface DatasetGroup {
  readonly id: number;
  readonly name: string;
  readonly billing_group_id: number;
  readonly status: 'active' | 'inactive';
}

const FIRST = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Charles',
  'Karen',
  'Daniel',
  'Nancy',
  'Matthew',
  'Lisa',
  'Anthony',
  'Betty',
  'Mark',
  'Sandra',
  'Steven',
  'Ashley',
  'Paul',
  'Kimberly',
  'Andrew',
  'Emily',
  'Joshua',
  'Donna',
  'Kevin',
  'Michelle',
  'Brian',
  'Carol',
  'George',
  'Amanda',
  'Ava',
  'Émile',
  'Zoë',
  'José',
  'Søren',
  'Łukasz',
  'Mei',
  'Aarav',
  'Chloé',
  'Dmitri',
  'Fatima',
  'Hiroshi',
  'Ingrid',
  'Jamal',
  'Kofi',
  'Lucía',
  'Mateo',
  'Nadia',
  'Oskar',
  'Priya',
  'Quinn',
  'Renée',
  'Siobhán',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zainab',
  'Björn',
  'Ángel',
  'Çağla',
  'Đorđe',
  'Øystein',
  'Ðặng',
  'Ивана',
  'Алексей',
  'Γιώργος',
  'Ελένη',
  '美咲',
  '翔太',
  '지민',
  'أحمد',
] as const;

const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Miller',
  'Davis',
  'Wilson',
  'Anderson',
  'Taylor',
  'Thomas',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Thompson',
  'White',
  'Harris',
  'Clark',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Hill',
  'Green',
  'Adams',
  'Baker',
  'Nelson',
  'Carter',
  'Mitchell',
  'Roberts',
  'Turner',
  'Müller',
  'García',
  'Nguyễn',
  'O’Brien',
  'Kowalski',
  'Dubois',
  'Johansson',
  'Rossi',
  'Tanaka',
  'Okafor',
  'Patel',
  'Ivanova',
  'Haddad',
  'Larsen',
  'Fernández',
  'Chen',
  'Novák',
  'Andersen',
  'Silva',
  'Kim',
  'Wójcik',
  'Brennan',
  'Costa',
  'Ødegård',
  'Şahin',
  'Größe',
  'Papadopoulos',
  'Смирнов',
  'Παπαδάκης',
  '佐藤',
  '김',
  'Al-Farsi',
  'D’Angelo',
  'van der Berg',
] as const;

const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'corp.example.com', 'exemple.fr'] as const;

/** Latin letters with marks → ASCII, for usernames and emails that people type. */
function asciiOf(value: string): string {
  return value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[øØ]/g, (c) => (c === 'ø' ? 'o' : 'O'))
    .replace(/[łŁ]/g, (c) => (c === 'ł' ? 'l' : 'L'))
    .replace(/[đĐð]/g, 'd')
    .replace(/ß/g, 'ss')
    .replace(/[^A-Za-z]/g, '');
}

/** A 32-bit integer hash (murmur3 finalizer): decorrelates (seed, index) pairs. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const hex8 = (x: number) => (x >>> 0).toString(16).padStart(8, '0');

/**
 * A v4-shaped UUID that is injective in (seed, index): the first 32 bits are a
 * bijection of the index (for a given seed) and bits 64..95 carry the seed's
 * hash xor a function of the first block, so no two (seed, index) pairs share one.
 */
function uuidFor(seed: number, index: number, next: () => number): string {
  const s = mix(seed ^ 0x9e3779b9);
  const a = mix((index ^ s) >>> 0);
  const b = Math.floor(next() * 0x100000000);
  const c = (s ^ mix(a ^ 0x85ebca6b)) >>> 0;
  const d = Math.floor(next() * 0x100000000);
  const hb = hex8(b),
    hd = hex8(d);
  const variant = '89ab'[b & 3]!;
  return `${hex8(a)}-${hb.slice(0, 4)}-4${hb.slice(4, 7)}-${variant}${hd.slice(0, 3)}-${hex8(c)}${hd.slice(3, 7)}`;
}

const FROM_MS = Date.UTC(2012, 0, 1);
const SPAN_MS = Date.UTC(2026, 0, 1) - FROM_MS;

function stamp(next: () => number): string {
  const ms = FROM_MS + Math.floor(next() * SPAN_MS);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(Math.floor(next() * 10_000_000)).padStart(7, '0')}`;
}

const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)]!;

/** The data set's billing groups: one root, 10 children, 40 grandchildren (leaves); ids from idBase. */
export function datasetBillingGroups(options: Pick<DatasetOptions, 'idBase'> = {}): DatasetBillingGroup[] {
  const base = options.idBase ?? 100000;
  const out: DatasetBillingGroup[] = [{ id: base, name: 'Headquarters', status: 'active', parent_id: null, depth: 1 }];
  const regions = [
    'North',
    'South',
    'East',
    'West',
    'Central',
    'Pacific',
    'Atlantic',
    'Mountain',
    'Île-de-France',
    'Bayern',
  ];
  regions.forEach((region, r) => {
    const id = base + 1 + r;
    out.push({ id, name: `${region} Region`, status: 'active', parent_id: base, depth: 2 });
  });
  regions.forEach((region, r) => {
    for (let k = 0; k < 4; k++) {
      const id = base + 11 + r * 4 + k;
      out.push({
        id,
        name: `${region} ${['Sales', 'Support', 'Marketing', 'Partners'][k]}`,
        status: k === 3 && r % 3 === 0 ? 'inactive' : 'active',
        parent_id: base + 1 + r,
        depth: 3,
      });
    }
  });
  return out;
}

/** The leaf billing group ids (where groups hang and most access lists point). */
function datasetLeafBillingGroupIds(options: Pick<DatasetOptions, 'idBase'> = {}): number[] {
  return datasetBillingGroups(options)
    .filter((b) => b.depth === 3)
    .map((b) => b.id);
}

/** The data set's groups (advertisers): 200 of them on the leaf billing groups; ids from idBase + 100. */
export function datasetGroups(options: Pick<DatasetOptions, 'idBase'> = {}): DatasetGroup[] {
  const base = options.idBase ?? 100000;
  const leaves = datasetLeafBillingGroupIds(options);
  const trades = ['Plumbing', 'Dental', 'Roofing', 'Auto', 'Travel', 'Legal', 'Realty', 'HVAC', 'Insurance', 'Café'];
  const out: DatasetGroup[] = [];
  for (let g = 0; g < 200; g++) {
    out.push({
      id: base + 100 + g,
      name: `${pick(prng(mix(g + base)), LAST)} ${trades[g % trades.length]} ${g}`,
      billing_group_id: leaves[g % leaves.length]!,
      status: g % 17 === 0 ? 'inactive' : 'active',
    });
  }
  return out;
}

/**
 * The user at `index` (0 ≤ index < count) of the data set `seed`. Usernames
 * are letters then the index in decimal (`jsmith48213`, `zoë.nguyễn.7`), so
 * they are unique case-insensitively; names are first + last with Unicode.
 */
export function userAt(index: number, options: DatasetOptions): StoredUser {
  const next = prng(mix((options.seed >>> 0) ^ mix(index + 1)));
  const base = options.idBase ?? 100000;
  const first = pick(next, FIRST);
  const last = pick(next, LAST);
  const style = index % 10;
  let username: string;
  if (style < 6) username = `${asciiOf(first).slice(0, 1)}${asciiOf(last)}`.toLowerCase() + index;
  else if (style < 8) username = `${asciiOf(first)}.${asciiOf(last)}`.toLowerCase() + `.${index}`;
  else if (style === 8) username = `${first}.${last}`.toLowerCase().replace(/[\s’]/g, '') + `.${index}`;
  else username = `${asciiOf(first)}${asciiOf(last)}${index}`; // mixed case: JamesSmith9
  if (!/[A-Za-z\u00c0-\uffff]/.test(username.slice(0, 1))) username = `u${username}`; // all-symbol names (e.g. 김)
  const name = `${first} ${last}`;
  const status = STATUSES[index % 3]!;
  const roleCount = 1 + Math.floor(next() * 3);
  const roles: Role[] = [ROLES[index % ROLES.length]!];
  while (roles.length < roleCount) {
    const r = pick(next, ROLES);
    if (!roles.includes(r)) roles.push(r);
  }
  const lastUpdated = stamp(next);
  const neverLoggedIn = status === 'awaiting_approval' || index % 7 === 0;
  const lastLogin = neverLoggedIn ? null : stamp(next);
  const billing: string[] = [];
  const bgCount = Math.floor(next() * 3.2); // 0..3
  for (let k = 0; k < bgCount; k++) {
    const id = String(next() < 0.1 ? base + 1 + Math.floor(next() * 10) : base + 11 + Math.floor(next() * 40));
    if (!billing.includes(id)) billing.push(id);
  }
  const owned: string[] = [];
  if (index % 5 === 0) {
    const n = 1 + Math.floor(next() * 2);
    for (let k = 0; k < n; k++) {
      const id = String(base + 100 + Math.floor(next() * 200));
      if (!owned.includes(id)) owned.push(id);
    }
  }
  const emailLocal = asciiOf(username) ? username.normalize('NFD').replace(/[^A-Za-z0-9.]/g, '') : `user${index}`;
  return {
    user_id: uuidFor(options.seed, index, next),
    username,
    name,
    email: index % 11 === 0 ? '' : `${emailLocal}@${DOMAINS[index % DOMAINS.length]}`,
    phone: index % 4 === 0 ? '' : `${200 + (index % 800)}-555-${String(index % 10000).padStart(4, '0')}`,
    call_detail_level: CALL_DETAIL_LEVELS[Math.floor(index / 3) % 3]!,
    restrict_recording_download: index % 6 === 1,
    status,
    last_login_date: lastLogin,
    last_updated_date: lastUpdated,
    ...(status === 'deactivated' ? { deactivation_date: lastUpdated } : {}),
    roles,
    access: { billing_groups: billing, group_owners: owned },
  };
}

/** Every user of the data set, in index order. */
export function* generateUsers(options: DatasetOptions): Generator<StoredUser> {
  for (let i = 0; i < options.count; i++) yield userAt(i, options);
}

/**
 * `n` distinct username substring needles of 3–6 characters (or as given) that
 * occur in the data set (fragments of last names, first names and index
 * digits), deterministic for a seed: what Q4 rotates over; Q4c also asks short ones.
 */
export function usernameSearchTerms(
  n: number,
  options: DatasetOptions,
  { minLength = 3, maxLength = 6, salt = 0x5eed } = {},
): string[] {
  const next = prng(mix(options.seed ^ salt));
  const terms = new Set<string>();
  for (let tries = 0; terms.size < n && tries < n * 50; tries++) {
    const u = userAt(Math.floor(next() * options.count), options).username.toLowerCase();
    const len = minLength + Math.floor(next() * (maxLength - minLength + 1));
    if (u.length < len) continue;
    const at = Math.floor(next() * (u.length - len + 1));
    terms.add(u.slice(at, at + len));
  }
  return [...terms];
}
