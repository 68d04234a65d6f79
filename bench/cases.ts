/**
 * The benchmark's cases Q1–Q11 (issues 4 and 13), each as the request stream Roster
 * gets and the equivalent stream the peer (Platformatic DB's generated REST
 * API over the same PostgreSQL table: where/limit/offset/totalCount) gets.
 */
import { fold } from '../src/shared/text.js';
import { userToRow } from '../src/users/user.mapper.js';
import { userAt, usernameSearchTerms, type DatasetOptions } from './dataset.js';

export interface BenchRequest {
  readonly method: 'GET' | 'PATCH' | 'PUT';
  readonly path: string;
  readonly body?: string;
  /** PATCH through Roster needs the write key. */
  readonly write?: boolean;
}

export interface BenchCase {
  readonly id: string;
  readonly title: string;
  /** Roster's requests, used in rotation. */
  readonly roster: readonly BenchRequest[];
  /** The peer's equivalents (null: no equivalent measured). */
  readonly peer: readonly BenchRequest[] | null;
  /** Whether the ceiling row is measured (it replays Roster's answers to `roster`). */
  readonly ceiling: boolean;
  /** Sample Roster's memory during the run (Q8). */
  readonly watchMemory?: boolean;
  /** Connections for this case when not the run's default (Q8: each answer is ~5 MB, and autocannon parses every byte). */
  readonly connections?: number;
}

const get = (path: string): BenchRequest => ({ method: 'GET', path });
const enc = encodeURIComponent;

/**
 * Q4c's terms: none of Q4's, each once, one in five of them 2–3 characters long (the common ones that match
 * the most users: the issue's hard case), the rest 3–6 characters.
 */
function coldSearchTerms(warm: readonly string[], count: number, big: DatasetOptions): string[] {
  const seen = new Set(warm);
  const fresh = (terms: string[]) => terms.filter((t) => !seen.has(t) && seen.add(t));
  const short = fresh(usernameSearchTerms(Math.ceil(count / 5), big, { minLength: 2, maxLength: 3, salt: 0xc01d }));
  const long = fresh(usernameSearchTerms(warm.length + count, big)).slice(0, count - short.length);
  return long.flatMap((t, i) => (i % 4 === 3 && short.length > 0 ? [t, short.pop()!] : [t])).concat(short);
}

/** Builds the cases for an organization `orgId` holding the data set `big` (the peer has no API key: it serves the table). */
export function buildCases(
  big: DatasetOptions,
  orgId: number,
  apiRoot: string,
  options: { rotation: number; terms: number; coldTerms: number },
): BenchCase[] {
  const users = `${apiRoot}/users`;
  const org = `where.or=(orgId.eq=${orgId})`; // Platformatic reads `where.orgId…` as `where.or…`: this is its one-condition form
  const peerPage = (where: string, limit: number, offset = 0) =>
    get(`/users?${org}${where}&orderby.usernameFold=asc&limit=${limit}&offset=${offset}&totalCount=true`);
  const step = Math.max(1, Math.floor(big.count / options.rotation));
  const sample = Array.from({ length: Math.min(options.rotation, big.count) }, (_, i) =>
    userAt((i * step + 7) % big.count, big),
  );
  const terms = usernameSearchTerms(options.terms, big);
  const deepPage = Math.min(20000, Math.max(2, Math.floor(big.count / 50)));

  const q2 = sample.map((u) => get(`${users}/${enc(u.username)}`));
  const q1 = get(`${users}?pagesize=25`);
  const patches: BenchRequest[] = sample.map((u, i) => ({
    method: 'PATCH',
    path: `${users}/${enc(u.user_id)}`,
    body: JSON.stringify({ phone: `206-555-${String(i % 10000).padStart(4, '0')}` }),
    write: true,
  }));
  // Platformatic's update of one row by primary key (users are loaded with ids 1..count in index order): its PUT
  // takes the whole row, so the peer gets the stored row with the same phone change as Roster's PATCH number i.
  const peerPatch = (i: number): BenchRequest => {
    const row = {
      ...userToRow(orgId, sample[i % sample.length]!, 1),
      phone: (JSON.parse(patches[i % sample.length]!.body!) as { phone: string }).phone,
    };
    const camel = Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]),
    );
    return {
      method: 'PUT',
      path: `/users/${(((i % sample.length) * step + 7) % big.count) + 1}`,
      body: JSON.stringify(camel),
    };
  };
  // 90% reads (alternating the first page and a user by username), 10% PATCH of a user.
  const mixed: BenchRequest[] = [];
  const peerMixed: BenchRequest[] = [];
  for (let i = 0; i < 100; i++) {
    const u = sample[i % sample.length]!;
    if (i % 10 === 9) {
      mixed.push(patches[i % sample.length]!);
      peerMixed.push(peerPatch(i));
    } else if (i % 2 === 0) {
      mixed.push(q1);
      peerMixed.push(peerPage('', 25));
    } else {
      mixed.push(get(`${users}/${enc(u.username)}`));
      peerMixed.push(get(`/users?${org}&where.usernameFold.eq=${enc(fold(u.username))}&limit=1`));
    }
  }

  // Q10: 90% substring searches over Q4's rotating terms, 10% PATCH of a user's phone (issue 13).
  const searchMixed: BenchRequest[] = [];
  const peerSearchMixed: BenchRequest[] = [];
  for (let i = 0, k = 0; i < Math.ceil((terms.length * 10) / 9); i++) {
    if (i % 10 === 9) {
      searchMixed.push(patches[i % sample.length]!);
      peerSearchMixed.push(peerPatch(i));
    } else {
      const t = terms[k++ % terms.length]!;
      searchMixed.push(get(`${users}?username=${enc(t)}&pagesize=25`));
      peerSearchMixed.push(peerPage(`&where.usernameFold.like=${enc(`%${t}%`)}`, 25));
    }
  }

  return [
    { id: 'Q1', title: 'first page (pagesize=25) with total', roster: [q1], peer: [peerPage('', 25)], ceiling: true },
    {
      id: 'Q2',
      title: `get by username (${q2.length} users)`,
      roster: q2,
      peer: sample.map((u) => get(`/users?${org}&where.usernameFold.eq=${enc(fold(u.username))}&limit=1`)),
      ceiling: true,
    },
    {
      id: 'Q3',
      title: `get by user_id (${sample.length} users)`,
      roster: sample.map((u) => get(`${users}/${u.user_id}`)),
      peer: sample.map((u) => get(`/users?${org}&where.userId.eq=${u.user_id}&limit=1`)),
      ceiling: true,
    },
    {
      id: 'Q4',
      title: `username substring with total (${terms.length} terms, pagesize=25)`,
      roster: terms.map((t) => get(`${users}?username=${enc(t)}&pagesize=25`)),
      peer: terms.map((t) => peerPage(`&where.usernameFold.like=${enc(`%${t}%`)}`, 25)),
      ceiling: true,
    },
    {
      id: 'Q5',
      title: 'name substring of two characters (name=an, pagesize=25)',
      roster: [get(`${users}?name=an&pagesize=25`)],
      peer: [peerPage(`&where.nameFold.like=${enc('%an%')}`, 25)],
      ceiling: true,
    },
    {
      id: 'Q6',
      title: 'status + role exact filters (pagesize=25)',
      roster: [get(`${users}?status=activated&role=reporting&pagesize=25`)],
      peer: [peerPage(`&where.status.eq=activated&where.roles.like=${enc('%reporting%')}`, 25)],
      ceiling: true,
    },
    {
      id: 'Q7',
      title: `deep page (pagenumber=${deepPage}&pagesize=25)`,
      roster: [get(`${users}?pagenumber=${deepPage}&pagesize=25`)],
      peer: [peerPage('', 25, (deepPage - 1) * 25)],
      ceiling: true,
    },
    {
      id: 'Q8',
      title: 'default page (10,000 users) with total, 10 connections',
      roster: [get(users)],
      peer: [peerPage('', 10000)],
      ceiling: true,
      watchMemory: true,
      connections: 10,
    },
    { id: 'Q9', title: 'mixed: 90% reads (Q1, Q2), 10% PATCH', roster: mixed, peer: peerMixed, ceiling: true },
    {
      id: 'Q11',
      title: `PATCH alone: a user's phone (${sample.length} users)`,
      roster: patches,
      peer: sample.map((_u, i) => peerPatch(i)),
      ceiling: false,
    },
    {
      id: 'Q10',
      title: `mixed: 90% username substrings (Q4's ${terms.length} terms), 10% PATCH`,
      roster: searchMixed,
      peer: peerSearchMixed,
      ceiling: true,
    },
    {
      id: 'Q4c',
      title: `username substring, cold (fresh terms, 1 in 5 of 2–3 characters, each asked once, after a warm-up on others)`,
      roster: coldSearchTerms(terms, options.coldTerms, big).map((t) => get(`${users}?username=${enc(t)}&pagesize=25`)),
      peer: null,
      ceiling: false,
    },
  ];
}
