import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMemoryBudget, createMemoryCache } from '../../../src/core/cache/cache.js';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';

/** One byte budget for the response cache and the job results in memory (CACHE_MAX_SIZE_MB). */

describe('memory caches sharing one budget', () => {
  test('together they never hold more than the budget; the least recently used entries make room', async () => {
    const budget = createMemoryBudget(100);
    const one = createMemoryCache({ name: 'one', maxBytes: 100, ttlSeconds: 60, budget });
    const two = createMemoryCache({ name: 'two', maxBytes: 100, ttlSeconds: 60, budget });
    await one.set('a1', 'x'.repeat(38)); // 40 bytes with its key
    await two.set('b1', 'y'.repeat(38));
    await one.set('a2', 'z'.repeat(38)); // over 100: the oldest entry (a1) goes
    const bytes = (await one.stats()).bytes + (await two.stats()).bytes;
    assert.ok(bytes <= 100, `both caches together: ${bytes} bytes`);
    assert.equal(await one.get('a1'), null);
    assert.ok(await two.get('b1'), 'b1 kept');
    assert.ok(await one.get('a2'), 'a2 kept');
  });

  test("a 'ttl' cache keeps its entries until they expire: 'lru' entries make room, and a value that does not fit is 503 CACHE_FULL", async () => {
    const budget = createMemoryBudget(100);
    const responses = createMemoryCache({ name: 'responses', maxBytes: 100, ttlSeconds: 60, budget });
    const results = createMemoryCache({ name: 'results', maxBytes: 100, ttlSeconds: 60, budget, eviction: 'ttl' });
    await responses.set('r1', 'x'.repeat(48)); // 50 bytes
    await results.set('j1', 'a'.repeat(38)); // 40
    await results.set('j2', 'b'.repeat(38)); // 40: r1 makes room
    assert.equal(await responses.get('r1'), null, 'the cached response was evicted for the result');
    await responses.set('r2', 'y'.repeat(28)); // 30: does not fit beside two kept results; not stored, no error
    assert.equal(await responses.get('r2'), null);
    await assert.rejects(results.set('j3', 'c'.repeat(38)), { statusCode: 503, code: 'CACHE_FULL' });
    assert.equal(await results.read('j1'), 'a'.repeat(38), 'kept results are never evicted');
    assert.equal(await results.read('j2'), 'b'.repeat(38));
    await assert.rejects(results.set('huge', 'h'.repeat(500)), { code: 'CACHE_FULL' });
  });

  test("expired 'ttl' entries make room", async () => {
    const budget = createMemoryBudget(100);
    const results = createMemoryCache({ name: 'results', maxBytes: 100, ttlSeconds: 60, budget, eviction: 'ttl' });
    await results.set('old', 'a'.repeat(78), 0.05);
    await assert.rejects(results.set('new', 'b'.repeat(38)), { code: 'CACHE_FULL' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    await results.set('new', 'b'.repeat(38));
    assert.equal(await results.read('new'), 'b'.repeat(38));
  });
});

describe('the chat module in memory: responses and job results share CACHE_MAX_SIZE_MB', () => {
  let fake: FakeOllama;
  let t: TestApp;
  let user: TestUser;
  let counter = 0;
  const big = `${'x'.repeat(10_000)} `.repeat(40); // ~400 kB: two results fill most of 1 MB
  before(async () => {
    fake = await startFakeOllama({ reply: (request) => (request.messages.at(-1)!.content.includes('[[big]]') ? big : undefined) });
    t = await startTestApp({ OLLAMA_URL: fake.url, REDIS_URL: '', CACHE_MAX_SIZE_MB: '1', CHAT_MAX_CONCURRENT: '1' }, { modules: [chatModule] });
    user = await registerUser(t.app);
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  async function finished(id: string) {
    for (let i = 0; i < 1000; i++) {
      const { status, body } = await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${id}`, headers: user.headers });
      assert.equal(status, 200, `job ${id}: ${JSON.stringify(body).slice(0, 200)}`);
      if (body.completed) return body;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`job ${id} did not complete`);
  }

  test('results are not evicted before their TTL; when they fill the budget new jobs get 503 CACHE_FULL and nothing is lost', async () => {
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const { status, body } = await call(t.app, { method: 'POST', url: '/api/chat-queue', headers: user.headers, payload: { messages: [{ role: 'user', content: `[[big]] ${name} #${++counter}` }] } });
      assert.equal(status, 202, JSON.stringify(body));
      ids.push(body.request_id);
      await finished(body.request_id);
    }
    const refused = await call(t.app, { method: 'POST', url: '/api/chat-queue', headers: user.headers, payload: { messages: [{ role: 'user', content: `small #${++counter}` }] } });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CACHE_FULL');
    for (const id of ids) assert.equal((await finished(id)).result.message.content, big, 'every result is still there');

    const stats = await call(t.app, { method: 'GET', url: '/api/cache-stats', headers: user.headers });
    assert.equal(stats.body.response_cache.max_size_mb, 1);
    assert.ok(stats.body.response_cache.total_size_mb <= 1 - (2 * big.length) / (1024 * 1024), `cached responses made room for the results: ${stats.body.response_cache.total_size_mb} MB`);
    const direct = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: `still chatting #${++counter}` }], stream: false } });
    assert.equal(direct.status, 200, 'direct chat works with a full budget (its answer is just not cached)');
  });
});
