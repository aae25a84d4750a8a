import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCache } from '../../../src/core/cache/cache.js';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';

/**
 * REDIS_URL is set but Redis cannot be reached (a port nothing listens on), without touching the
 * shared Redis server: what can degrade does, the rest says 503 clearly.
 */

let counter = 0;
const unique = (text = 'hello') => `${text} #${++counter}-${Date.now()}`;
const userMessage = (content: string) => [{ role: 'user', content }];

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the Redis cache while Redis is unreachable', () => {
  let client: Redis;
  before(async () => {
    // The options of src/core/redis.ts: no offline queue, so commands fail at once.
    client = new Redis(`redis://127.0.0.1:${await deadPort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 1000 });
    client.on('error', () => undefined);
  });
  after(() => client.disconnect());

  test('get is a miss; read, set, delete and clear throw 503 CACHE_UNAVAILABLE; stats still answers', async () => {
    const cache = createRedisCache(client, 'outage:', { name: 'probe', maxBytes: 1024, ttlSeconds: 60 });
    assert.equal(await cache.get('k'), null);
    const unavailable = { statusCode: 503, code: 'CACHE_UNAVAILABLE' };
    await assert.rejects(cache.read('k'), unavailable);
    await assert.rejects(cache.set('k', 'v'), unavailable);
    await assert.rejects(cache.delete('k'), unavailable);
    await assert.rejects(cache.clear(), unavailable);
    assert.deepEqual(await cache.stats(), { entries: 0, bytes: 0, max_bytes: 1024, hits: 0, misses: 1 });
  });
});

describe('the chat module with REDIS_URL set and Redis down', () => {
  let fake: FakeOllama;
  let t: TestApp;
  let user: TestUser;
  let admin: TestUser;
  before(async () => {
    fake = await startFakeOllama();
    t = await startTestApp({ OLLAMA_URL: fake.url, REDIS_URL: `redis://127.0.0.1:${await deadPort()}` }, { modules: [chatModule] });
    user = await registerUser(t.app);
    admin = await registerAdmin(t.app);
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('chat works without the response cache: every request is a miss, never a 500', async () => {
    const payload = { messages: userMessage(unique()), stream: false };
    const before = fake.stats.chat;
    for (let i = 0; i < 2; i++) {
      const { status, body } = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.cached, false);
    }
    assert.equal(fake.stats.chat, before + 2);
    const stats = await call(t.app, { method: 'GET', url: '/api/cache-stats', headers: user.headers });
    assert.equal(stats.status, 200);
  });

  test('clearing the cache is 503 CACHE_UNAVAILABLE, not a 500; warm_model does not need Redis', async () => {
    for (const action of ['clear', 'clear_response_cache']) {
      const { status, body, response } = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action } });
      assert.equal(status, 503, `${action}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'CACHE_UNAVAILABLE');
      assert.match(body.error, /unavailable/);
      assert.equal(response.headers['retry-after'], '5');
    }
    const warm = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'warm_model' } });
    assert.equal(warm.status, 200);
  });
});
