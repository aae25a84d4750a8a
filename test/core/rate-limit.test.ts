import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, createMemoryRateLimitStore, createRedisRateLimitStore, type RateLimitCount, type RateLimitStore } from '../../src/core/http/rate-limit.js';
import { createBatchCounter, createPrimaryCountedStores, type PrimaryChannel } from '../../src/core/http/rate-limit-relay.js';
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

  test("an IPv4 client seen through NAT64's well-known prefix counts as its IPv4 address", () => {
    assert.equal(addressKey('64:ff9b::203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('64:FF9B::cb00:7108'), '203.0.113.8', 'another client behind the same translator is another budget');
    assert.equal(addressKey('64:ff9b:1::cb00:7107'), '64:ff9b:1:0::/64', 'the local-use prefix (RFC 8215) embeds addresses as its operator chooses: kept by /64');
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

/**
 * A worker's channel to a primary played in this process: each batch sent is counted by `primary`
 * (when `answering`) and the answer delivered on a later turn, as IPC does.
 */
function playedChannel(primary: ReturnType<typeof createBatchCounter>) {
  const listeners = new Set<(value: unknown) => void>();
  const played = {
    connected: true,
    answering: true,
    failSends: false,
    /** Keeps the worker's event loop busy this long after each send, as a worker under load. */
    busyAfterSendMs: 0,
    sent: [] as unknown[],
    listeners,
    send(message: unknown, _handle: undefined, _options: undefined, callback: (error: Error | null) => void) {
      played.sent.push(message);
      setImmediate(() => {
        if (played.failSends) return callback(new Error('channel closed'));
        callback(null);
        const answer = played.answering ? primary(message) : null;
        if (answer) for (const listener of listeners) listener(structuredClone(answer));
      });
      const busyUntil = performance.now() + played.busyAfterSendMs;
      while (performance.now() < busyUntil);
      return true;
    },
    on: (_event: 'message', listener: (value: unknown) => void) => listeners.add(listener),
    off: (_event: 'message', listener: (value: unknown) => void) => listeners.delete(listener),
  };
  return played satisfies PrimaryChannel;
}

describe('rate-limit counts kept by the primary (WORKERS > 1 without Redis)', () => {
  test("two workers' hits count against one window per budget and key", async () => {
    const primary = createBatchCounter();
    const one = createPrimaryCountedStores(playedChannel(primary));
    const two = createPrimaryCountedStores(playedChannel(primary));
    assert.equal((await hit(one.store('ip'), 'ip:1.2.3.4', 60_000)).count, 1);
    assert.equal((await hit(two.store('ip'), 'ip:1.2.3.4', 60_000)).count, 2);
    const third = await hit(one.store('ip'), 'ip:1.2.3.4', 60_000);
    assert.equal(third.count, 3);
    assert.ok(third.resetMs > 59_000 && third.resetMs <= 60_000, `${third.resetMs} ms left`);
    assert.equal((await hit(two.store('auth'), 'ip:1.2.3.4', 60_000)).count, 1, 'budgets are counted apart');
    assert.equal((await hit(two.store('ip'), 'ip:5.6.7.8', 60_000)).count, 1, 'keys are counted apart');
  });

  test('the hits of one turn of the event loop travel in one message, and each gets its own count', async () => {
    const channel = playedChannel(createBatchCounter());
    const stores = createPrimaryCountedStores(channel);
    const counts = await Promise.all([
      hit(stores.store('ip'), 'ip:a', 60_000),
      hit(stores.store('auth'), 'auth:a', 60_000),
      hit(stores.store('ip'), 'ip:a', 60_000),
    ]);
    assert.deepEqual(
      counts.map((counted) => counted.count),
      [1, 1, 2],
    );
    assert.equal(channel.sent.length, 1);
    await hit(stores.store('ip'), 'ip:a', 60_000);
    assert.equal(channel.sent.length, 2, 'a later turn sends its own');
  });

  test('a primary that does not answer in time: the worker counts the batch itself, once, and ignores a late answer', async () => {
    const channel = playedChannel(createBatchCounter());
    channel.answering = false;
    const stores = createPrimaryCountedStores(channel, 30);
    const started = performance.now();
    const answers: RateLimitCount[] = [];
    await new Promise<void>((resolve) =>
      stores.store('ip').hit('ip:a', 60_000, (error, counted) => {
        assert.equal(error, null);
        answers.push(counted!);
        resolve();
      }),
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 25 && waited < 1000, `waited ${waited} ms`);
    assert.equal(answers[0]!.count, 1);
    for (const listener of channel.listeners) listener({ rateLimitCounts: 1, counts: [[7, 1000]] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(answers.length, 1, 'answered once');
    assert.equal((await hit(stores.store('ip'), 'ip:a', 60_000)).count, 2, 'the local count goes on while the primary is silent');
  });

  test('a worker busy past the wait still takes the answer that came meanwhile, not a count of its own', async () => {
    const primary = createBatchCounter();
    const other = createPrimaryCountedStores(playedChannel(primary));
    assert.equal((await hit(other.store('auth'), 'auth:a', 60_000)).count, 1);
    const channel = playedChannel(primary);
    channel.busyAfterSendMs = 60;
    const busy = createPrimaryCountedStores(channel, 20);
    assert.equal((await hit(busy.store('auth'), 'auth:a', 60_000)).count, 2, "the primary's count, not a fresh local window");
  });

  test('a channel that is closed or fails to send: counted in the worker at once, not after the wait', async () => {
    const channel = playedChannel(createBatchCounter());
    channel.failSends = true;
    const stores = createPrimaryCountedStores(channel, 10_000);
    const started = performance.now();
    assert.equal((await hit(stores.store('ip'), 'ip:a', 60_000)).count, 1);
    channel.connected = false;
    assert.equal((await hit(stores.store('ip'), 'ip:a', 60_000)).count, 2);
    assert.ok(performance.now() - started < 1000, 'answered without waiting for the primary');
    assert.equal(channel.sent.length, 1, 'nothing is sent on a closed channel');
  });

  test('closing counts the hits still waiting at once and stops listening', async () => {
    const channel = playedChannel(createBatchCounter());
    channel.answering = false;
    const stores = createPrimaryCountedStores(channel, 10_000);
    const answers: RateLimitCount[] = [];
    stores.store('ip').hit('ip:a', 60_000, (_error, counted) => answers.push(counted!));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(channel.sent.length, 1);
    assert.equal(answers.length, 0, 'still waiting for the primary');
    stores.close();
    assert.deepEqual(
      answers.map((answer) => answer.count),
      [1],
      'counted in the worker as the stores closed',
    );
    assert.equal(channel.listeners.size, 0);
  });

  test("the primary counts only well-formed batches: the bus's messages and malformed ones are not answered", () => {
    const primary = createBatchCounter();
    for (const message of [
      null,
      'text',
      { busRelay: true, channel: 'c', json: '{}' },
      { rateLimitHits: 1.5, hits: [] },
      { rateLimitHits: 1, hits: [['ip', 'k']] },
      { rateLimitHits: 1, hits: [['ip', 'k', 0]] },
      { rateLimitHits: 1, hits: [['ip', 7, 1000]] },
    ]) {
      assert.equal(primary(message), null, JSON.stringify(message));
    }
    assert.deepEqual(primary({ rateLimitHits: 9, hits: [['ip', 'k', 1000]] }), { rateLimitCounts: 9, counts: [[1, 1000]] });
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
