import { prng } from '../shared/prng.js';
import type { StoredUser } from '../users/user.mapper.js';
import { CALL_DETAIL_LEVELS, ROLES, STATUSES, type Role } from '../users/user.schemas.js';

/** The demo organization's billing groups: a three-level hierarchy holding 1234 and 5555, the ids of the contract's sample users. */
export const DEMO_BILLING_GROUPS = [
  { id: 1000, name: 'Marchex Demo', status: 'active', parent_id: null, depth: 1 },
  { id: 1234, name: 'Sales', status: 'active', parent_id: 1000, depth: 2 },
  { id: 5555, name: 'Support', status: 'active', parent_id: 1000, depth: 2 },
  { id: 2000, name: 'Marketing', status: 'active', parent_id: 1000, depth: 2 },
  { id: 2001, name: 'Marketing East', status: 'active', parent_id: 2000, depth: 3 },
  { id: 2002, name: 'Marketing West', status: 'inactive', parent_id: 2000, depth: 3 },
  { id: 3000, name: 'Partners', status: 'active', parent_id: null, depth: 1 },
] as const;

/** Groups (advertisers), each on a leaf billing group. */
export const DEMO_GROUPS = [
  { id: 7001, name: 'Acme Plumbing', billing_group_id: 1234, status: 'active' },
  { id: 7002, name: 'Bright Smile Dental', billing_group_id: 1234, status: 'active' },
  { id: 7003, name: 'Côte d’Azur Travel', billing_group_id: 5555, status: 'active' },
  { id: 7004, name: 'Northside Roofing', billing_group_id: 2001, status: 'active' },
  { id: 7005, name: 'Westward Auto', billing_group_id: 2002, status: 'inactive' },
  { id: 7006, name: 'Partner Leads', billing_group_id: 3000, status: 'active' },
] as const;

const SEED_ROLES: Role[] = ['call_record_listen', 'reporting', 'administrator', 'ordering'];

/** The four sample users of the Marketing Edge Users API, with exactly its values (docs/contract.md, section 4). */
const SAMPLE_USERS: StoredUser[] = [
  {
    user_id: '627b4c86-1ff1-4ca7-8827-95c214666636',
    username: 'rsmith',
    name: 'Rob Smith',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'deactivated',
    last_login_date: '2016-03-03T16:13:59.1917141',
    last_updated_date: '2015-12-03T20:06:02.0830000',
    deactivation_date: '2016-08-24T13:39:03.9370000',
    roles: SEED_ROLES,
    access: { billing_groups: ['1234'], group_owners: [] },
  },
  {
    user_id: '9cb5bf2a-ed88-4b63-a76e-bfdb92b2121a',
    username: 'mhopper',
    name: 'Mike Hopper',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'deactivated',
    last_login_date: '2015-07-07T12:24:54.4230000',
    last_updated_date: '2015-07-07T12:25:16.4200000',
    deactivation_date: '2022-05-02T13:45:59.9370000',
    roles: SEED_ROLES,
    access: { billing_groups: ['1234'], group_owners: [] },
  },
  {
    user_id: 'fe3949c2-b3f5-46f8-9377-05568c748dbc',
    username: 'ewoods',
    name: 'Edward Woods',
    email: '',
    phone: '705-722-4398',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: '2011-08-15T13:16:42.2830000',
    last_updated_date: '2015-11-17T14:23:53.6430000',
    roles: SEED_ROLES,
    access: { billing_groups: ['5555'], group_owners: [] },
  },
  {
    user_id: '00f12ba7-b26a-4503-9ab4-0ec04914f71f',
    username: 'test1',
    name: 'test1',
    email: '',
    phone: '',
    call_detail_level: 'full',
    restrict_recording_download: false,
    status: 'activated',
    last_login_date: '2022-05-02T14:38:49.5177442',
    last_updated_date: '2021-08-03T16:14:45.8890787',
    roles: ['administrator'],
    access: { billing_groups: ['1234'], group_owners: [] },
  },
];

const FIRST = [
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
  'Grace',
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
];
const LAST = [
  'Smith',
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
];
const ASCII: Record<string, string> = {
  É: 'E',
  é: 'e',
  ë: 'e',
  è: 'e',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  ü: 'u',
  í: 'i',
  á: 'a',
  ó: 'o',
  ñ: 'n',
  ễ: 'e',
  ã: 'a',
  ń: 'n',
  ö: 'o',
  '’': '',
};

function uuidFrom(next: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16));
  hex[12] = '4';
  hex[16] = (Math.floor(next() * 4) + 8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function stamp(next: () => number, fromYear: number, toYear: number): string {
  const from = Date.UTC(fromYear, 0, 1),
    to = Date.UTC(toYear, 0, 1);
  const ms = Math.floor(from + next() * (to - from));
  const ticks = String(Math.floor(next() * 10_000_000)).padStart(7, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${ticks}`;
}

const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)]!;

/** The demo organization's 165 users: the four sample users, then 161 generated deterministically. */
export function demoUsers(): StoredUser[] {
  const next = prng(20160303);
  const users = [...SAMPLE_USERS];
  const taken = new Set(users.map((u) => u.username));
  const leaves = ['1234', '5555', '2001', '2002', '3000'];
  for (let i = 0; users.length < 165; i++) {
    const first = pick(next, FIRST),
      last = pick(next, LAST);
    const unicodeName = i % 7 === 3;
    const base = unicodeName
      ? `${first}.${last}`.toLowerCase()
      : `${first[0]}${last}`.toLowerCase().replace(/./g, (c) => ASCII[c] ?? c);
    let username = base;
    for (let n = 2; taken.has(username); n++) username = `${base}${n}`;
    taken.add(username);
    const status = STATUSES[i % 3]!;
    const roleCount = 1 + Math.floor(next() * 3);
    const roles = [ROLES[i % ROLES.length]!];
    while (roles.length < roleCount) {
      const r = pick(next, ROLES);
      if (!roles.includes(r)) roles.push(r);
    }
    const lastUpdated = stamp(next, 2015, 2026);
    const neverLoggedIn = status === 'awaiting_approval' || i % 5 === 0;
    const billing = leaves.filter(() => next() < 0.35);
    const owned = i % 4 === 0 ? [String(pick(next, [7001, 7002, 7003, 7004, 7005, 7006]))] : [];
    users.push({
      user_id: uuidFrom(next),
      username,
      name: `${first} ${last}`,
      email: i % 6 === 0 ? '' : `${username}@example.com`,
      phone: i % 3 === 0 ? '' : `${200 + (i % 700)}-555-${String(1000 + i).slice(-4)}`,
      call_detail_level: CALL_DETAIL_LEVELS[i % 3]!,
      restrict_recording_download: i % 4 === 1,
      status,
      last_login_date: neverLoggedIn ? null : stamp(next, 2015, 2026),
      last_updated_date: lastUpdated,
      ...(status === 'deactivated' ? { deactivation_date: lastUpdated } : {}),
      roles,
      access: { billing_groups: billing, group_owners: owned },
    });
  }
  return users;
}
