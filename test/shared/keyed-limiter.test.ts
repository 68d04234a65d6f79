import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyedLimiter, LimiterFullError } from '../../src/shared/keyed-limiter.js';

// The per-organization limit of uncached list queries (docs/security.md, section 18). No database: pure logic.

describe('keyed limiter', () => {
  it('runs at most `running` per key, queues `queued` more in order, refuses the next; other keys go on', async () => {
    const limiter = createKeyedLimiter(2, 2);
    const a1 = await limiter.acquire(1);
    const a2 = await limiter.acquire(1);
    const order: string[] = [];
    const w1 = limiter.acquire(1).then((release) => (order.push('w1'), release));
    const w2 = limiter.acquire(1).then((release) => (order.push('w2'), release));
    await assert.rejects(limiter.acquire(1), LimiterFullError);
    const b = await limiter.acquire(2); // another organization is not held up
    b();
    a1();
    (await w1)();
    a2();
    (await w2)();
    assert.deepEqual(order, ['w1', 'w2']);
    // All released: the key starts afresh with its full allowance.
    const again = await Promise.all([limiter.acquire(1), limiter.acquire(1)]);
    again.forEach((release) => release());
  });

  it('releasing twice frees one slot only', async () => {
    const limiter = createKeyedLimiter(1, 0);
    const first = await limiter.acquire(7);
    first();
    first();
    const second = await limiter.acquire(7);
    await assert.rejects(limiter.acquire(7), LimiterFullError);
    second();
  });
});
