import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENTRY_OVERHEAD_BYTES, PageCache } from '../../src/users/user.cache.js';
import { bearer, buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// The answer cache charges keys and a per-entry overhead to its byte budget (docs/performance.md).

const BUDGET = 1024 * 1024;

/** The cache's charged bytes as /metrics reports them. */
async function chargedBytes(t: TestApp): Promise<number> {
  const text = (await t.app.inject({ url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith('roster_answer_cache_bytes '));
  assert.ok(line, 'roster_answer_cache_bytes in /metrics');
  return Number(line.split(' ')[1]);
}

describe('PageCache accounting', () => {
  it('charges the key, the body, the ETag and the overhead; a stale entry gives its bytes back', () => {
    const cache = new PageCache(BUDGET, BUDGET);
    cache.set('k'.repeat(1000), { version: 1, body: 'b'.repeat(10), total: 1, etag: '"e"' });
    assert.equal(cache.chargedBytes, ENTRY_OVERHEAD_BYTES + 1000 + 10 + 3);
    assert.equal(cache.get('k'.repeat(1000), 2), undefined);
    assert.equal(cache.chargedBytes, 0);
  });

  it('once full, admits an answer the second time its key comes, evicting the least recently used', () => {
    const page = { version: 1, body: 'b'.repeat(100), total: 1 };
    const cost = ENTRY_OVERHEAD_BYTES + 2 + 100;
    const cache = new PageCache(3 * cost, 3 * cost);
    for (const key of ['k1', 'k2', 'k3']) cache.set(key, page);
    assert.equal(cache.chargedBytes, 3 * cost, 'while there is room, every answer is kept');
    cache.set('k4', page);
    assert.equal(cache.get('k4', 1), undefined, 'a first coming into a full cache is turned away');
    assert.ok(cache.get('k1', 1), 'and evicts nothing');
    assert.equal(cache.refused, 1);
    cache.set('k4', page);
    assert.ok(cache.get('k4', 1), 'the second coming is admitted');
    assert.equal(cache.get('k2', 1), undefined, 'in place of the least recently used');
    assert.ok(cache.get('k1', 1) && cache.get('k3', 1));
    assert.equal(cache.chargedBytes, 3 * cost);
    cache.set('k1', { ...page, version: 2 });
    assert.equal(cache.get('k1', 2)?.version, 2, 'a key held is replaced, not refused');
    assert.equal(cache.refused, 1);
  });

  it('an entry whose key alone exceeds the entry limit is not kept', () => {
    const cache = new PageCache(BUDGET, 4096);
    cache.set('k'.repeat(8000), { version: 1, body: '{}', total: 0 });
    assert.equal(cache.chargedBytes, 0);
    assert.equal(cache.get('k'.repeat(8000), 1), undefined);
  });
});

for (const dialect of DIALECTS) {
  describe(`the answer cache under a flood of distinct long URLs (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await buildTestApp(dialect, { RATE_LIMIT: '0', ROSTER_CACHE_BYTES: String(BUDGET) });
    });
    after(() => t.close());

    it('4,000 distinct 7 KiB URLs keep the charged size within the budget, and it fills', async () => {
      // Repeated values are dropped before the query (it stays cheap), but the URL, the cache key, stays long.
      const filler = Array<string>(400).fill('status=activated').join('&');
      let urlBytes = 0;
      for (let i = 1; i <= 4000; i++) {
        const url = `/api/v1/users?pagesize=1&pagenumber=${i}&${filler}`;
        urlBytes += url.length;
        const res = await t.app.inject({ url, headers: bearer(t.demo.read) });
        assert.equal(res.statusCode, 200);
        if (i % 1000 === 0) assert.ok((await chargedBytes(t)) <= BUDGET, `over budget after ${i} requests`);
      }
      const charged = await chargedBytes(t);
      assert.ok(urlBytes > 20 * BUDGET, 'the flood is many times the budget');
      assert.ok(charged <= BUDGET && charged > BUDGET - 8 * 1024, `charged ${charged}`);
      // The most recent answers are still served from the cache (the same body again).
      const last = `/api/v1/users?pagesize=1&pagenumber=4000&${filler}`;
      assert.equal((await t.app.inject({ url: last, headers: bearer(t.demo.read) })).statusCode, 200);
    });
  });
}
