import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';
import { contentOf, openRequest, postAndLeave, postSse } from './sse-client.js';

let fake: FakeOllama;
let t: TestApp;
let base: string;
let user: TestUser;
let admin: TestUser;
let counter = 0;
/** A prompt no other test uses, so cache entries never leak between tests. */
const unique = (text = 'hello') => `${text} #${++counter}-${Date.now()}`;
const expected = (said: string) => `You said: ${said}. This answer comes from the fake Ollama server.`;
const userMessage = (content: string) => [{ role: 'user', content }];

async function stats() {
  const { body } = await call(t.app, { method: 'GET', url: '/api/cache-stats', headers: user.headers });
  return body;
}

/** A TCP port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

before(async () => {
  fake = await startFakeOllama();
  t = await startTestApp({ OLLAMA_URL: fake.url, CHAT_MAX_CONCURRENT: '8' }, { modules: [chatModule] });
  base = await t.listen();
  user = await registerUser(t.app);
  admin = await registerAdmin(t.app);
});

after(async () => {
  await t.close();
  await fake.close();
});

describe('POST /api/chat-optimized, non-streaming', () => {
  test('a miss asks the upstream once; the same request again is a cache hit', async () => {
    const said = unique();
    const before = fake.stats.chat;
    const first = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { message: { role: 'assistant', content: expected(said) }, cached: false, model: 'llama3.2' });
    assert.equal(fake.stats.chat, before + 1);
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.keepAlive, '15m');
    assert.equal(sent.stream, true);

    const second = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, { message: { role: 'assistant', content: expected(said) }, cached: true, model: 'llama3.2' });
    assert.equal(fake.stats.chat, before + 1, 'the hit did not reach the upstream');
  });

  test('use_cache: false always asks the upstream; model and system prompt are part of the key', async () => {
    const said = unique();
    const payload = { messages: userMessage(said), stream: false };
    await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload });
    const before = fake.stats.chat;
    const fresh = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { ...payload, use_cache: false } });
    assert.equal(fresh.body.cached, false);
    assert.equal(fake.stats.chat, before + 1);

    const otherModel = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { ...payload, model: 'qwen2.5:0.5b' } });
    assert.equal(otherModel.body.cached, false);
    assert.equal(otherModel.body.model, 'qwen2.5:0.5b');
    assert.equal(fake.requests.at(-1)!.model, 'qwen2.5:0.5b');

    const withPrompt = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { ...payload, system_prompt: 'Be brief.' } });
    assert.equal(withPrompt.body.cached, false);
    assert.deepEqual(fake.requests.at(-1)!.messages[0], { role: 'system', content: 'Be brief.' });
    assert.equal(fake.stats.chat, before + 3);
    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { ...payload, system_prompt: 'Be brief.' } });
    assert.equal(again.body.cached, true);
  });
});

describe('POST /api/chat-optimized, streaming', () => {
  test('SSE framing: content pieces, then done with cached and request_id; a hit replays word-sized pieces', async () => {
    const said = unique('tell me a story');
    const before = fake.stats.chat;
    const first = await postSse(`${base}/api/chat-optimized`, { messages: userMessage(said) }, user.headers);
    assert.equal(first.status, 200);
    assert.match(first.contentType, /^text\/event-stream/);
    assert.match(first.raw, /^(data: [^\n]+\n\n)+$/);
    const last = first.events.at(-1) as Record<string, unknown>;
    assert.equal(last.done, true);
    assert.equal(last.cached, false);
    assert.equal(typeof last.request_id, 'string');
    const pieces = first.events.slice(0, -1) as Record<string, unknown>[];
    assert.ok(pieces.length > 3, 'pieces.length > 3');
    for (const piece of pieces) {
      assert.deepEqual(Object.keys(piece).sort(), ['content', 'done']);
      assert.equal(piece.done, false);
    }
    assert.equal(contentOf(pieces), expected(said));
    assert.equal(fake.stats.chat, before + 1);

    const replay = await postSse(`${base}/api/chat-optimized`, { messages: userMessage(said), stream: true }, user.headers);
    const replayed = replay.events.slice(0, -1) as { content: string }[];
    assert.equal(contentOf(replayed), expected(said));
    assert.equal(replayed.length, expected(said).split(' ').length, 'one piece per word');
    for (const piece of replayed) {
      assert.match(piece.content, /^\S+\s*$/);
      assert.deepEqual(piece, { content: piece.content, done: false, cached: true }, 'a cache hit\'s pieces are marked cached: true');
    }
    assert.deepEqual({ ...(replay.events.at(-1) as object), request_id: 'x' }, { done: true, cached: true, request_id: 'x' });
    assert.equal(fake.stats.chat, before + 1);
  });

  test('a failure after the stream started ends it with {done: true, error}, and nothing is cached', async () => {
    const said = unique('[[midfail]] please break');
    const before = fake.stats.chat;
    const result = await postSse(`${base}/api/chat-optimized`, { messages: userMessage(said) }, user.headers);
    assert.equal(result.status, 200);
    const last = result.events.at(-1) as Record<string, unknown>;
    assert.equal(last.done, true);
    assert.match(String(last.error), /failed mid-answer/);
    assert.ok(result.events.length > 1, 'pieces arrived before the failure');

    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    assert.equal(again.status, 502);
    assert.equal(again.body.code, 'LLM_ERROR');
    assert.equal(fake.stats.chat, before + 2, 'the failed answer was not cached');
  });

  test('a stream the upstream ends without its final object is 502 LLM_BAD_RESPONSE (not the protocol), and nothing is cached', async () => {
    const said = unique('[[truncate]] please stop short');
    const before = fake.stats.chat;
    const streamed = await postSse(`${base}/api/chat-optimized`, { messages: userMessage(said) }, user.headers);
    assert.equal(streamed.status, 200);
    assert.ok(streamed.events.length > 1, 'pieces arrived before the stream ended');
    const last = streamed.events.at(-1) as Record<string, unknown>;
    assert.equal(last.done, true);
    assert.equal(typeof last.error, 'string');

    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    assert.equal(again.status, 502);
    assert.equal(again.body.code, 'LLM_BAD_RESPONSE');
    assert.equal(fake.stats.chat, before + 2, 'the truncated answer was not cached');
  });

  test('upstream errors before the stream are JSON errors: 502 for errors and nonsense, 503 when busy', async () => {
    const cases: [string, number, string][] = [
      ['[[fail]]', 502, 'LLM_ERROR'],
      ['[[nonsense]]', 502, 'LLM_BAD_RESPONSE'],
      ['[[busy]]', 503, 'LLM_UNAVAILABLE'],
    ];
    for (const [marker, status, code] of cases) {
      const response = await fetch(`${base}/api/chat-optimized`, {
        method: 'POST',
        headers: { ...user.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: userMessage(unique(marker)) }),
      });
      assert.equal(response.status, status, marker);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await response.json()) as { code: string }).code, code, marker);
    }
  });

  test('a model the upstream does not have is the caller\'s error: 404 MODEL_NOT_FOUND, streaming or not, never cached', async () => {
    for (const stream of [false, true]) {
      const missing = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(unique()), model: 'missing-model', stream } });
      assert.equal(missing.status, 404, `stream: ${stream}`);
      assert.equal(missing.body.code, 'MODEL_NOT_FOUND');
      assert.match(missing.body.error, /missing-model/);
      assert.match(String(missing.response.headers['content-type']), /application\/json/);
    }
    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage('same'), model: 'missing-model', stream: false } });
    const twice = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage('same'), model: 'missing-model', stream: false } });
    assert.deepEqual([again.status, twice.status], [404, 404]);
    assert.equal(twice.body.code, 'MODEL_NOT_FOUND', 'the error was not cached as an answer');
  });
});

describe('single-flight dedup and cancellation', () => {
  test('five identical concurrent callers (streaming and not) share one upstream generation and all get the whole answer', async () => {
    const said = unique('[[hold]] shared question');
    const before = { chat: fake.stats.chat, dedup: (await stats()).batch_processor.deduplicated_requests };
    const payload = { messages: userMessage(said) };
    const streamers = [user, admin, user].map((who) => postSse(`${base}/api/chat-optimized`, payload, who.headers));
    const plainCallers = [user, admin].map((who) =>
      call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: who.headers, payload: { ...payload, stream: false } }),
    );
    await fake.waitFor(() => fake.stats.chat === before.chat + 1);
    // Every caller has joined before the upstream answers.
    for (let i = 0; i < 500 && (await stats()).batch_processor.deduplicated_requests < before.dedup + 4; i++) await new Promise((r) => setTimeout(r, 10));
    fake.release();
    for (const streamed of await Promise.all(streamers)) {
      assert.equal(contentOf(streamed.events), expected(said));
      assert.equal((streamed.events.at(-1) as { done: boolean }).done, true);
    }
    for (const plain of await Promise.all(plainCallers)) assert.equal(plain.body.message.content, expected(said));
    assert.equal(fake.stats.chat, before.chat + 1, 'one upstream call for five callers');
    assert.equal((await stats()).batch_processor.deduplicated_requests, before.dedup + 4);
  });

  test('a streaming caller that leaves cancels the upstream generation', async () => {
    const said = unique(`[[slow]] ${'word '.repeat(60)}`);
    const before = fake.stats.cancelled;
    const received = await postAndLeave(`${base}/api/chat-optimized`, { messages: userMessage(said) }, user.headers);
    assert.match(received, /^data: /);
    await fake.waitFor(() => fake.stats.cancelled === before + 1);
  });

  test('a non-streaming caller that leaves cancels the upstream generation', async () => {
    const before = { chat: fake.stats.chat, cancelled: fake.stats.cancelled };
    const open = openRequest(`${base}/api/chat-optimized`, { messages: userMessage(unique('[[hang]]')), stream: false }, user.headers);
    await fake.waitFor(() => fake.stats.chat === before.chat + 1);
    open.leave();
    await fake.waitFor(() => fake.stats.cancelled === before.cancelled + 1);
  });

  test('a caller that leaves does not cancel a generation another caller still shares', async () => {
    const said = unique(`[[slow]] ${'again '.repeat(40)}`);
    const before = { chat: fake.stats.chat, cancelled: fake.stats.cancelled };
    const staying = postSse(`${base}/api/chat-optimized`, { messages: userMessage(said) }, user.headers);
    await fake.waitFor(() => fake.stats.chat === before.chat + 1);
    await postAndLeave(`${base}/api/chat-optimized`, { messages: userMessage(said) }, admin.headers);
    const result = await staying;
    assert.equal(contentOf(result.events), expected(said));
    assert.equal(fake.stats.chat, before.chat + 1);
    assert.equal(fake.stats.cancelled, before.cancelled);
  });
});

describe('bounds and access', () => {
  test('bad bodies are 400 and reach nothing upstream', async () => {
    const before = fake.stats.chat;
    const bodies: unknown[] = [
      { messages: [] },
      { messages: [{ role: 'robot', content: 'hi' }] },
      { messages: [{ role: 'user' }] },
      { messages: userMessage('hi'), surprise: true },
      { messages: userMessage('hi'), priority: 1000 },
      { messages: userMessage('hi'), model: '../etc' },
      { messages: Array.from({ length: 201 }, () => ({ role: 'user', content: 'x' })) },
      { messages: Array.from({ length: 3 }, () => ({ role: 'user', content: 'x'.repeat(90_000) })) },
      { messages: 'hello' },
    ];
    for (const payload of bodies) {
      const { status, body } = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: payload as object });
      assert.equal(status, 400, JSON.stringify(payload).slice(0, 80));
      assert.equal(body.code, 'VALIDATION_FAILED');
    }
    assert.equal(fake.stats.chat, before);
  });

  test("oversized: past the chat's own limits 400 VALIDATION_FAILED (the contract), past BODY_LIMIT_MB the core's 413", async () => {
    const before = fake.stats.chat;
    const tooLong = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: 'x'.repeat(100_001) }] } });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.code, 'VALIDATION_FAILED');
    const huge = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: Array.from({ length: 12 }, () => ({ role: 'user', content: 'x'.repeat(100_000) })) } });
    assert.equal(huge.status, 413, 'over BODY_LIMIT_MB (1 MB) the body is never read');
    assert.equal(huge.body.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(fake.stats.chat, before);
  });

  test('chat routes need a logged-in user (CHAT_PUBLIC is off)', async () => {
    for (const [method, url] of [
      ['POST', '/api/chat-optimized'],
      ['POST', '/api/chat-queue'],
      ['GET', '/api/chat-queue'],
      ['GET', '/api/cache-stats'],
      ['POST', '/v1/chat/completions'],
      ['GET', '/v1/models'],
    ] as const) {
      const { status } = await call(t.app, { method, url, payload: method === 'POST' ? { messages: userMessage('hi') } : undefined });
      assert.equal(status, 401, `${method} ${url}`);
    }
  });
});

describe('/api/cache-stats', () => {
  test('real counters, upstream reachability, and the queue', async () => {
    const body = await stats();
    assert.ok(body.response_cache.total_entries >= 1, 'body.response_cache.total_entries >= 1');
    assert.ok(body.response_cache.total_size_mb > 0, 'body.response_cache.total_size_mb > 0');
    assert.equal(body.response_cache.max_size_mb, 256);
    assert.ok(body.response_cache.hits >= 1 && body.response_cache.misses >= 1, 'body.response_cache.hits >= 1 && body.response_cache.misses >= 1');
    assert.equal(body.response_cache.hit_rate + body.response_cache.miss_rate, 1);
    assert.ok(body.batch_processor.total_requests >= body.batch_processor.cached_responses + body.batch_processor.deduplicated_requests, 'body.batch_processor.total_requests >= body.batch_processor.cached_responses + body.batch_processor.deduplicated_requests');
    assert.ok(body.batch_processor.deduplicated_requests >= 4, 'body.batch_processor.deduplicated_requests >= 4');
    assert.equal(body.queue_length, 0);
    assert.deepEqual(body.upstream, { url: fake.url, model: 'llama3.2', reachable: true });
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)), '!Number.isNaN(Date.parse(body.timestamp))');
  });

  test('mutations are for admins; warm_model loads the model upstream; clear empties the cache and resets counters', async () => {
    assert.equal((await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: user.headers, payload: { action: 'clear' } })).status, 403);
    const bad = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'explode' } });
    assert.equal(bad.status, 400);

    const warm = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'warm_model', data: { model: 'qwen2.5:0.5b' } } });
    assert.equal(warm.status, 200);
    assert.equal(warm.body.success, true);
    assert.equal(fake.warmed.at(-1), 'qwen2.5:0.5b');
    const missing = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'warm_model', data: { model: 'missing-one' } } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'MODEL_NOT_FOUND');

    const said = unique();
    await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    const onlyCache = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'clear_response_cache' } });
    assert.deepEqual(onlyCache.body, { success: true, message: 'Response cache cleared' });
    const afterClearCache = await stats();
    assert.equal(afterClearCache.response_cache.total_entries, 0);
    assert.ok(afterClearCache.batch_processor.total_requests > 0, 'counters kept');
    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: userMessage(said), stream: false } });
    assert.equal(again.body.cached, false);

    const cleared = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'clear' } });
    assert.equal(cleared.body.success, true);
    const afterClear = await stats();
    assert.equal(afterClear.response_cache.total_entries, 0);
    assert.equal(afterClear.batch_processor.total_requests, 0);
    assert.equal(afterClear.response_cache.hits, 0);
  });

  test('/health reports llm ok, and /metrics has the queue depth gauge', async () => {
    const health = await call(t.app, { method: 'GET', url: '/health' });
    assert.equal(health.body.checks.llm, 'ok');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /chat_queue_depth\{state="waiting"\} 0/);
    assert.match(metrics.body, /chat_queue_depth\{state="running"\} 0/);
  });
});

describe('an upstream URL with credentials (Ollama behind a proxy with basic auth)', () => {
  for (const provider of ['ollama', 'openai']) {
    test(`${provider}: they are sent as basic auth and never shown to users`, async () => {
      const withCredentials = fake.url.replace('http://', 'http://ops:s%40cret@');
      const env: Record<string, string> = provider === 'ollama' ? { OLLAMA_URL: withCredentials } : { LLM_PROVIDER: 'openai', LLM_BASE_URL: `${withCredentials}/v1` };
      const guarded = await startTestApp(env, { modules: [chatModule] });
      try {
        const who = await registerUser(guarded.app);
        const stats = await call(guarded.app, { method: 'GET', url: '/api/cache-stats', headers: who.headers });
        assert.equal(stats.body.upstream.url, fake.url, 'no credentials in what users see');
        assert.equal(stats.body.upstream.reachable, true);
        const said = unique('behind a proxy');
        const answer = await call(guarded.app, { method: 'POST', url: '/api/chat-optimized', headers: who.headers, payload: { messages: userMessage(said), stream: false } });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.message.content, expected(said));
        assert.equal(fake.requests.at(-1)!.authorization, `Basic ${Buffer.from('ops:s@cret').toString('base64')}`);
        assert.equal((await call(guarded.app, { method: 'GET', url: '/v1/models', headers: who.headers })).status, 200);
      } finally {
        await guarded.close();
      }
    });
  }

  test('a % that starts no escape is sent as written, not a failed start', async () => {
    const guarded = await startTestApp({ OLLAMA_URL: fake.url.replace('http://', 'http://ops:50%zz@') }, { modules: [chatModule] });
    try {
      const who = await registerUser(guarded.app);
      const said = unique('odd password');
      const answer = await call(guarded.app, { method: 'POST', url: '/api/chat-optimized', headers: who.headers, payload: { messages: userMessage(said), stream: false } });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(fake.requests.at(-1)!.authorization, `Basic ${Buffer.from('ops:50%zz').toString('base64')}`);
    } finally {
      await guarded.close();
    }
  });
});

describe('a default CHAT_MODEL the upstream does not have', () => {
  let misconfigured: TestApp;
  let who: TestUser;
  let boss: TestUser;
  before(async () => {
    misconfigured = await startTestApp({ OLLAMA_URL: fake.url, CHAT_MODEL: 'missing-default' }, { modules: [chatModule] });
    who = await registerUser(misconfigured.app);
    boss = await registerAdmin(misconfigured.app);
  });
  after(() => misconfigured.close());

  test("is the server's misconfiguration, not the caller's: 502 LLM_ERROR, for chat and warm_model", async () => {
    const chat = await call(misconfigured.app, { method: 'POST', url: '/api/chat-optimized', headers: who.headers, payload: { messages: userMessage(unique()), stream: false } });
    assert.equal(chat.status, 502);
    assert.equal(chat.body.code, 'LLM_ERROR');
    assert.match(chat.body.error, /default model/);
    const warm = await call(misconfigured.app, { method: 'POST', url: '/api/cache-stats', headers: boss.headers, payload: { action: 'warm_model' } });
    assert.equal(warm.status, 502);
    assert.equal(warm.body.code, 'LLM_ERROR');
  });
});

describe('with no upstream at all', () => {
  let down: TestApp;
  let downUser: TestUser;
  before(async () => {
    down = await startTestApp({ OLLAMA_URL: `http://127.0.0.1:${await deadPort()}`, CHAT_RATE_LIMIT: '3' }, { modules: [chatModule] });
    downUser = await registerUser(down.app);
  });
  after(() => down.close());

  test('chat answers 503 LLM_UNAVAILABLE, /health says llm: down, everything else works, the per-user limit applies', async () => {
    const streaming = await call(down.app, { method: 'POST', url: '/api/chat-optimized', headers: downUser.headers, payload: { messages: userMessage('hi') } });
    assert.equal(streaming.status, 503);
    assert.equal(streaming.body.code, 'LLM_UNAVAILABLE');
    const plain = await call(down.app, { method: 'POST', url: '/api/chat-optimized', headers: downUser.headers, payload: { messages: userMessage('hi'), stream: false } });
    assert.equal(plain.status, 503);
    assert.equal(plain.body.code, 'LLM_UNAVAILABLE');
    const third = await call(down.app, { method: 'POST', url: '/v1/chat/completions', headers: downUser.headers, payload: { messages: userMessage('hi') } });
    assert.equal(third.status, 503);
    const limited = await call(down.app, { method: 'POST', url: '/api/chat-optimized', headers: downUser.headers, payload: { messages: userMessage('hi'), stream: false } });
    assert.equal(limited.status, 429, 'CHAT_RATE_LIMIT=3 per user per minute, one budget for all generation routes');
    const otherUser = await registerUser(down.app);
    const notLimited = await call(down.app, { method: 'POST', url: '/api/chat-optimized', headers: otherUser.headers, payload: { messages: userMessage('hi'), stream: false } });
    assert.equal(notLimited.status, 503, 'the limit is per user, not per IP');

    const health = await call(down.app, { method: 'GET', url: '/health' });
    assert.equal(health.status, 200);
    assert.equal(health.body.checks.llm, 'down');
    assert.equal(health.body.checks.database, 'ok');
    const me = await call(down.app, { method: 'GET', url: '/api/auth/me', headers: downUser.headers });
    assert.equal(me.status, 200);
    const cacheStats = await call(down.app, { method: 'GET', url: '/api/cache-stats', headers: downUser.headers });
    assert.equal(cacheStats.status, 200);
    assert.equal(cacheStats.body.upstream.reachable, false);
    const models = await call(down.app, { method: 'GET', url: '/v1/models', headers: downUser.headers });
    assert.equal(models.status, 503);
  });
});
