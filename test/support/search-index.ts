import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { bearer } from './app.js';

/** The search index part of /readyz. */
export interface SearchIndexReadiness {
  state: 'off' | 'building' | 'ready';
  organizations_ready: number;
  organizations_building: number;
  rows_indexed: number;
  rows_total: number;
}

/** The app's search index progress, as /readyz says it. */
export async function searchIndexReadiness(app: FastifyInstance): Promise<SearchIndexReadiness> {
  return (await app.inject({ url: '/readyz' })).json<{ search_index: SearchIndexReadiness }>().search_index;
}

/** Searches answered by the search index (`index`) and by the database instead, from the app's /metrics. */
export async function searchIndexAnswers(app: FastifyInstance): Promise<{ index: number; database: number }> {
  const text = (await app.inject({ url: '/metrics' })).body;
  const count = (by: string) =>
    Number(new RegExp(`^roster_search_index_answers_total\\{by="${by}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { index: count('index'), database: count('database') };
}

/** Starts the key's organization's search index (by searching) and waits until /readyz says it is built. */
export async function awaitSearchIndex(app: FastifyInstance, key: string): Promise<void> {
  await app.inject({ url: '/api/v1/users?username=an&pagesize=1', headers: bearer(key) });
  for (let tries = 0; tries < 1500; tries++) {
    const progress = await searchIndexReadiness(app);
    if (progress.state === 'ready' && progress.organizations_ready > 0) return;
    await delay(20);
  }
  throw new Error('the search index was not built within 30 s');
}
