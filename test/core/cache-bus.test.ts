import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryBus } from '../../src/core/bus/bus.js';
import { createMemoryCache } from '../../src/core/cache/cache.js';
import { startTestApp } from '../helpers/app.js';

const redisSkip = process.env.REDIS_URL ? false : 'REDIS_URL is not set: the Redis variant runs in CI when Redis answers';

describe('memory cache', () => {
  test('get/set/delete/clear with hit and miss counts', async () => {
    const cache = createMemoryCache({ name: 'unit', maxBytes: 1024, ttlSeconds: 60 });
    assert.equal(await cache.get('a'), null);
    await cache.set('a', 'alpha');
    assert.equal(await cache.get('a'), 'alpha');
    await cache.delete('a');
    assert.equal(await cache.get('a'), null);
    await cache.set('b', 'beta');
    await cache.clear();
    assert.equal(await cache.get('b'), null);
    assert.deepEqual(cache.counts(), { hits: 1, misses: 3 });
  });

  test('is bounded by bytes and evicts the least recently used entry', async () => {
    const cache = createMemoryCache({ name: 'lru', maxBytes: 100, ttlSeconds: 60 });
    await cache.set('k1', 'x'.repeat(40));
    await cache.set('k2', 'y'.repeat(40));
    await cache.get('k1'); // k2 is now the least recently used
    await cache.set('k3', 'z'.repeat(40));
    assert.equal(await cache.get('k2'), null);
    assert.ok(await cache.get('k1'), "await cache.get('k1')");
    assert.ok(await cache.get('k3'), "await cache.get('k3')");
    const stats = await cache.stats();
    assert.equal(stats.entries, 2);
    assert.ok(stats.bytes <= 100, 'stats.bytes <= 100');
    await cache.set('huge', 'h'.repeat(500));
    assert.equal(await cache.get('huge'), null, 'an entry larger than the cache is not kept');
  });

  test('entries expire after their TTL', async () => {
    const cache = createMemoryCache({ name: 'ttl', maxBytes: 1024, ttlSeconds: 60 });
    await cache.set('short', 'v', 0.05);
    assert.equal(await cache.get('short'), 'v');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(await cache.get('short'), null);
  });
});

describe('memory bus', () => {
  test('delivers to every subscriber of a channel until it unsubscribes', async () => {
    const bus = createMemoryBus();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = bus.subscribe('room', (message) => a.push(message));
    bus.subscribe('room', (message) => b.push(message));
    bus.subscribe('other', () => assert.fail('wrong channel'));
    await bus.publish('room', { n: 1 });
    stopA();
    await bus.publish('room', { n: 2 });
    assert.deepEqual(a, [{ n: 1 }]);
    assert.deepEqual(b, [{ n: 1 }, { n: 2 }]);
  });
});

describe('Redis cache and bus, shared by two instances', { skip: redisSkip }, () => {
  test('a value cached by one instance is read by another; clear empties both', async () => {
    const prefix = `shared${Date.now()}:`;
    const one = await startTestApp({ REDIS_PREFIX: prefix });
    const two = await startTestApp({ REDIS_PREFIX: prefix });
    try {
      const cacheOne = one.app.createCache({ name: 'answers', maxBytes: 1 << 20, ttlSeconds: 60 });
      const cacheTwo = two.app.createCache({ name: 'answers', maxBytes: 1 << 20, ttlSeconds: 60 });
      await cacheOne.set('q', 'forty-two');
      assert.equal(await cacheTwo.get('q'), 'forty-two');
      const stats = await cacheTwo.stats();
      assert.equal(stats.entries, 1);
      assert.ok(stats.bytes >= 'forty-two'.length, "stats.bytes >= 'forty-two'.length");
      await cacheTwo.clear();
      assert.equal(await cacheOne.get('q'), null);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a message published on one instance reaches subscribers on the other', async () => {
    const prefix = `bus${Date.now()}:`;
    const one = await startTestApp({ REDIS_PREFIX: prefix });
    const two = await startTestApp({ REDIS_PREFIX: prefix });
    try {
      const received = new Promise<unknown>((resolve) => two.app.bus.subscribe('investigation:1', resolve));
      // The subscription is asynchronous: publish until it lands (bounded), as a client would retry.
      let message: unknown;
      for (let attempt = 0; attempt < 50 && message === undefined; attempt++) {
        await one.app.bus.publish('investigation:1', { type: 'entity.created', id: 'e1' });
        message = await Promise.race([received, new Promise((resolve) => setTimeout(() => resolve(undefined), 100))]);
      }
      assert.deepEqual(message, { type: 'entity.created', id: 'e1' });
    } finally {
      await one.close();
      await two.close();
    }
  });
});
