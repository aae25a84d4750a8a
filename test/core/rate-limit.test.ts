import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, createMemoryRateLimitStore, createRedisRateLimitStore, type RateLimitCount, type RateLimitStore } from '../../src/core/http/rate-limit.js';
import { call, startTestApp } from '../helpers/app.js';

const redisSkip = process.env.REDIS_URL ? false : 'REDIS_URL is not set: the Redis variant runs in CI when Redis answers';

const hit = (store: RateLimitStore, key: string, windowMs: number) =>
  new Promise<RateLimitCount>((resolve, reject) => store.hit(key, windowMs, (error, counted) => (error ? reject(error) : resolve(counted!))));

describe('rate-limit budget keys', () => {
  test('an IPv4 address is its own key', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
  });

  test('IPv6 addresses count by their /64, however they are written', () => {
    const key = addressKey('2001:db8:85a3:12::8a2e:370:7334');
    assert.equal(key, '2001:db8:85a3:12::/64');
    assert.equal(addressKey('2001:0DB8:85A3:0012:ffff:ffff:ffff:ffff'), key, 'another host of the same /64, upper case, no compression');
    assert.equal(addressKey('2001:db8:85a3:12::1%eth0'), key, 'a zone index is not part of the address');
    assert.notEqual(addressKey('2001:db8:85a3:13::1'), key, 'the next /64 is another budget');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::'), 'fe80:0:0:0::/64');
  });

  test('an IPv4-mapped IPv6 address counts as its IPv4 address, in either notation', () => {
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::FFFF:cb00:7107'), '203.0.113.7');
  });

  test('a port some proxies add to the address is not part of the key', () => {
    assert.equal(addressKey('203.0.113.7:50001'), '203.0.113.7');
    assert.equal(addressKey('[2001:db8:85a3:12::1]:443'), '2001:db8:85a3:12::/64');
    assert.equal(addressKey('[2001:db8:85a3:12::1]'), '2001:db8:85a3:12::/64');
  });

  test('text too long to be an address shares one key, whatever it says', () => {
    assert.equal(addressKey('x'.repeat(10_000)), addressKey(`${'y'.repeat(65)}:1`));
  });

  test('text that is not an IPv6 address is kept as it is (lower case), never thrown on', () => {
    assert.equal(addressKey('1:2:3'), '1:2:3');
    assert.equal(addressKey('1::2::3'), '1::2::3');
    assert.equal(addressKey('::ffff:1.2.3.999'), '::ffff:1.2.3.999');
    assert.equal(addressKey('G::1'), 'g::1');
  });
});

describe('memory rate-limit store', () => {
  test('counts within a fixed window, then starts again', async () => {
    const store = createMemoryRateLimitStore();
    const first = await hit(store, 'a', 40);
    assert.equal(first.count, 1);
    assert.equal(first.resetMs, 40);
    const second = await hit(store, 'a', 40);
    assert.equal(second.count, 2);
    assert.ok(second.resetMs > 0 && second.resetMs <= 40, `${second.resetMs} ms left`);
    assert.equal((await hit(store, 'b', 40)).count, 1, 'keys are counted apart');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await hit(store, 'a', 40)).count, 1, 'a new window');
  });

  test('answers synchronously, so the hook costs no promise', () => {
    const store = createMemoryRateLimitStore();
    let answered = false;
    store.hit('k', 1000, () => (answered = true));
    assert.equal(answered, true);
  });

  test('remembers at most its bound of keys, forgetting the window that began first', async () => {
    const store = createMemoryRateLimitStore(3);
    for (const key of ['a', 'b', 'c']) await hit(store, key, 60_000);
    await hit(store, 'a', 60_000);
    await hit(store, 'd', 60_000);
    assert.equal((await hit(store, 'a', 60_000)).count, 1, "a's window began first: forgotten when d came");
    assert.equal((await hit(store, 'd', 60_000)).count, 2, 'd is remembered');
  });
});

describe('Redis rate-limit store', () => {
  test('a Redis that is connected but does not answer lets the request through after the wait, once', async () => {
    const hung = {
      defineCommand(name: string) {
        (this as unknown as Record<string, unknown>)[name] = () => new Promise(() => undefined);
      },
    };
    const store = createRedisRateLimitStore(hung as never, 'p:', 30);
    const started = performance.now();
    const outcomes: (Error | null)[] = [];
    await new Promise<void>((resolve) =>
      store.hit('k', 60_000, (error) => {
        outcomes.push(error);
        resolve();
      }),
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 25 && waited < 1000, `waited ${waited} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(outcomes.length, 1);
    assert.match(String(outcomes[0]?.message), /did not answer in time/);
  });
});

describe('rate-limit budgets in Redis, shared by two instances', { skip: redisSkip }, () => {
  test('the per-IP budget is one across instances, with the same headers', async () => {
    const prefix = `limit${Date.now()}:`;
    const one = await startTestApp({ REDIS_PREFIX: prefix, RATE_LIMIT_MAX: '3' });
    const two = await startTestApp({ REDIS_PREFIX: prefix, RATE_LIMIT_MAX: '3' });
    try {
      const first = await call(one.app, { method: 'GET', url: '/api/auth/me' });
      assert.equal(first.response.headers['x-ratelimit-limit'], '3');
      assert.equal(first.response.headers['x-ratelimit-remaining'], '2');
      assert.ok(Number(first.response.headers['x-ratelimit-reset']) > 50, 'a one-minute window');
      assert.equal((await call(two.app, { method: 'GET', url: '/api/auth/me' })).response.headers['x-ratelimit-remaining'], '1');
      assert.equal((await call(one.app, { method: 'GET', url: '/api/auth/me' })).status, 401);
      const limited = await call(two.app, { method: 'GET', url: '/api/auth/me' });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.code, 'RATE_LIMITED');
      assert.equal(limited.response.headers['x-ratelimit-remaining'], '0');
      assert.equal(limited.response.headers['retry-after'], limited.response.headers['x-ratelimit-reset']);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
