import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisCache } from '../../../src/core/cache/cache.js';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';
import { getSse } from './sse-client.js';

/**
 * REDIS_URL is set but Redis cannot be reached (a port nothing listens on), without touching the
 * shared Redis server: what can degrade does, the rest says 503 clearly.
 */

let counter = 0;
const unique = (text = 'hello') => `${text} #${++counter}-${Date.now()}`;
const userMessage = (content: string) => [{ role: 'user', content }];
const expected = (said: string) => `You said: ${said}. This answer comes from the fake Ollama server.`;
const redisSkip = process.env.REDIS_URL ? false : 'REDIS_URL is not set: needs a real Redis to come back';

async function enqueue(app: TestApp['app'], who: TestUser, content: string) {
  const { status, body } = await call(app, { method: 'POST', url: '/api/chat-queue', headers: who.headers, payload: { messages: userMessage(content) } });
  assert.equal(status, 202, JSON.stringify(body));
  return body as { request_id: string };
}

async function waitCompleted(app: TestApp['app'], who: TestUser, id: string) {
  for (let i = 0; i < 1000; i++) {
    const { status, body } = await call(app, { method: 'GET', url: `/api/chat-queue?requestId=${id}`, headers: who.headers });
    assert.equal(status, 200, JSON.stringify(body));
    if (body.completed) return body;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} did not complete`);
}

/** A TCP relay to the real Redis that can be switched off (connections refused) and on again. */
async function redisSwitch(target: URL): Promise<{ port: number; on(): void; off(): void; close(): Promise<void> }> {
  let open = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    if (!open) return void socket.destroy();
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on('error', () => undefined);
      end.on('close', () => {
        sockets.delete(end);
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    on: () => (open = true),
    off() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

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
  let base: string;
  let user: TestUser;
  let admin: TestUser;
  before(async () => {
    fake = await startFakeOllama();
    t = await startTestApp({ OLLAMA_URL: fake.url, REDIS_URL: `redis://127.0.0.1:${await deadPort()}` }, { modules: [chatModule] });
    base = await t.listen();
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

  test('a queued job keeps its result in this process: poll, stream and cancel answer it, nothing is lost', async () => {
    const said = unique('queued while Redis is down');
    const job = await enqueue(t.app, user, said);
    const done = await waitCompleted(t.app, user, job.request_id);
    assert.deepEqual(done, { request_id: job.request_id, completed: true, result: { message: { role: 'assistant', content: expected(said) } }, cached: false });
    // Later polls still find it (it was not dropped when the write failed).
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${job.request_id}`, headers: user.headers })).status, 200);
    const replay = await getSse(`${base}/api/chat-queue/${job.request_id}/stream`, user.headers);
    assert.equal(replay.status, 200);
    assert.deepEqual(replay.events.at(-1), { done: true, cached: false, request_id: job.request_id });
    const cancel = await call(t.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${job.request_id}`, headers: user.headers });
    assert.deepEqual(cancel.body, { request_id: job.request_id, cancelled: false });
    // Still only the owner's.
    const stranger = await registerUser(t.app);
    assert.equal((await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${job.request_id}`, headers: stranger.headers })).status, 503, 'not in this process for them, and Redis cannot say');
  });

  test('a job this process does not hold cannot be looked up: 503 CACHE_UNAVAILABLE, not a false 404', async () => {
    for (const [method, url] of [
      ['GET', '/api/chat-queue?requestId=elsewhere'],
      ['DELETE', '/api/chat-queue?requestId=elsewhere'],
    ] as const) {
      const { status, body } = await call(t.app, { method, url, headers: user.headers });
      assert.equal(status, 503, `${method} ${url}`);
      assert.equal(body.code, 'CACHE_UNAVAILABLE');
    }
    const stream = await getSse(`${base}/api/chat-queue/elsewhere/stream`, user.headers);
    assert.equal(stream.status, 503);
  });
});

describe('job results held while Redis is down are bounded', () => {
  let fake: FakeOllama;
  let t: TestApp;
  let user: TestUser;
  before(async () => {
    // Each answer is ~600 kB: two of them fill CACHE_MAX_SIZE_MB=1.
    fake = await startFakeOllama({ reply: (request) => (request.messages.at(-1)!.content.includes('[[big]]') ? `${'x'.repeat(10_000)} `.repeat(60) : undefined) });
    t = await startTestApp({ OLLAMA_URL: fake.url, REDIS_URL: `redis://127.0.0.1:${await deadPort()}`, CACHE_MAX_SIZE_MB: '1' }, { modules: [chatModule] });
    user = await registerUser(t.app);
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('once the held results reach CACHE_MAX_SIZE_MB, new jobs are refused with 503 (the held ones stay readable)', async () => {
    const first = await enqueue(t.app, user, unique('[[big]] one'));
    const second = await enqueue(t.app, user, unique('[[big]] two'));
    await waitCompleted(t.app, user, first.request_id);
    await waitCompleted(t.app, user, second.request_id);
    const refused = await call(t.app, { method: 'POST', url: '/api/chat-queue', headers: user.headers, payload: { messages: userMessage(unique()) } });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'CACHE_UNAVAILABLE');
    const still = await waitCompleted(t.app, user, first.request_id);
    assert.equal(still.result.message.content.length, 600_060);
    const direct = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(unique()), stream: false } });
    assert.equal(direct.status, 200, 'direct chat does not need the results store');
  });
});

describe('a result held during an outage is written once Redis is back', { skip: redisSkip }, () => {
  let fake: FakeOllama;
  let t: TestApp;
  let user: TestUser;
  let relay: Awaited<ReturnType<typeof redisSwitch>>;
  let direct: Redis;
  before(async () => {
    const target = new URL(process.env.REDIS_URL!);
    relay = await redisSwitch(target);
    direct = new Redis(process.env.REDIS_URL!);
    fake = await startFakeOllama();
    t = await startTestApp({ OLLAMA_URL: fake.url, REDIS_URL: `redis://127.0.0.1:${relay.port}` }, { modules: [chatModule] });
    user = await registerUser(t.app);
  });
  after(async () => {
    await t.close();
    await fake.close();
    relay.off();
    await relay.close();
    direct.disconnect();
  });

  test('the job is answered from this process during the outage, then from Redis', async () => {
    const said = unique('held then stored');
    const job = await enqueue(t.app, user, said);
    const done = await waitCompleted(t.app, user, job.request_id);
    assert.equal(done.result.message.content, expected(said));
    const key = `${t.config.redisPrefix}cache:chat-results:${job.request_id}`;
    assert.equal(await direct.get(key), null, 'not stored while Redis is unreachable');

    relay.on();
    let stored: string | null = null;
    for (let i = 0; i < 100 && stored === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      stored = await direct.get(key);
    }
    assert.ok(stored, 'the held result reached Redis once it was back');
    assert.deepEqual(JSON.parse(stored).outcome, { ok: true, content: expected(said), cached: false });
    const ttl = await direct.ttl(key);
    assert.ok(ttl > 3500 && ttl <= 3600, `the rest of CHAT_RESULT_TTL_SECONDS: ${ttl}`);
    assert.equal((await waitCompleted(t.app, user, job.request_id)).result.message.content, expected(said));
  });
});
