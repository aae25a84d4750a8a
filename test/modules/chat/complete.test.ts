import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AppModule } from '../../../src/core/module.js';
import { chatModule, complete } from '../../../src/modules/chat/index.js';
import { createUpstream } from '../../../src/modules/chat/upstream.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerUser, startTestApp, type TestApp } from '../../helpers/app.js';

let fake: FakeOllama;
let counter = 0;
const unique = (text = 'hello') => `${text} #${++counter}-${Date.now()}`;

/** A module of our own that calls complete() from its encapsulated plugin, as freelance does. */
const callerModule: AppModule = {
  name: 'caller',
  migrations: [],
  async plugin(app: FastifyInstance) {
    app.post('/test/complete', async (request) => {
      const { content, json } = request.body as { content: string; json?: boolean };
      return complete(app, { messages: [{ role: 'user', content }], ...(json ? { format: 'json' as const } : {}) });
    });
  },
};

before(async () => {
  fake = await startFakeOllama();
});
after(() => fake.close());

describe('complete() with the chat module mounted', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, CHAT_SYSTEM_PROMPT: 'You are terse.' }, { modules: [callerModule, chatModule] });
  });
  after(() => t.close());

  test('goes through the gateway: cache, dedup, system prompt, JSON format', async () => {
    const said = unique();
    const before = fake.stats.chat;
    const first = await call(t.app, { method: 'POST', url: '/test/complete', payload: { content: said } });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { content: `You said: ${said}. This answer comes from the fake Ollama server.`, cached: false, model: 'llama3.2' });
    assert.deepEqual(fake.requests.at(-1)!.messages[0], { role: 'system', content: 'You are terse.' });
    const second = await call(t.app, { method: 'POST', url: '/test/complete', payload: { content: said } });
    assert.equal(second.body.cached, true);
    assert.equal(fake.stats.chat, before + 1);

    const shared = unique('[[hold]] together');
    const both = [1, 2, 3].map(() => complete(t.app, { messages: [{ role: 'user', content: shared }] }));
    await fake.waitFor(() => fake.stats.chat === before + 2);
    fake.release();
    const answers = await Promise.all(both);
    assert.equal(new Set(answers.map((answer) => answer.content)).size, 1);
    assert.equal(fake.stats.chat, before + 2, 'three concurrent complete() calls, one upstream call');

    const json = await call(t.app, { method: 'POST', url: '/test/complete', payload: { content: unique(), json: true } });
    assert.equal(fake.requests.at(-1)!.format, 'json');
    assert.ok(JSON.parse(json.body.content).answer, 'JSON.parse(json.body.content).answer');
  });

  test('an aborted signal gives up and cancels the upstream call', async () => {
    const controller = new AbortController();
    const before = { chat: fake.stats.chat, cancelled: fake.stats.cancelled };
    const pending = complete(t.app, { messages: [{ role: 'user', content: unique('[[hang]]') }], signal: controller.signal });
    await fake.waitFor(() => fake.stats.chat === before.chat + 1);
    controller.abort();
    await assert.rejects(pending, { code: 'CANCELLED' });
    await fake.waitFor(() => fake.stats.cancelled === before.cancelled + 1);
  });
});

test('complete() without the chat module is 503 LLM_UNAVAILABLE', async () => {
  const t = await startTestApp({ OLLAMA_URL: fake.url }, { modules: [callerModule] });
  try {
    const { status, body } = await call(t.app, { method: 'POST', url: '/test/complete', payload: { content: 'hi' } });
    assert.equal(status, 503);
    assert.equal(body.code, 'LLM_UNAVAILABLE');
    const health = await call(t.app, { method: 'GET', url: '/health' });
    assert.equal(health.body.checks.llm, 'disabled');
  } finally {
    await t.close();
  }
});

describe('CHAT_PUBLIC=true', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, CHAT_PUBLIC: 'true', CHAT_RATE_LIMIT: '2' }, { modules: [chatModule] });
  });
  after(() => t.close());

  test('anyone may chat, limited per IP; jobs of anonymous callers stay theirs; cache administration stays admin-only', async () => {
    const said = unique('anonymous');
    const first = await call(t.app, { method: 'POST', url: '/api/chat-optimized', payload: { messages: [{ role: 'user', content: said }], stream: false } });
    assert.equal(first.status, 200);
    const job = await call(t.app, { method: 'POST', url: '/api/chat-queue', payload: { messages: [{ role: 'user', content: said }] } });
    assert.equal(job.status, 202);
    const polled = await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${job.body.request_id}` });
    assert.equal(polled.status, 200);
    const elsewhere = await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${job.body.request_id}`, remoteAddress: '10.1.2.3' });
    assert.equal(elsewhere.status, 404, 'another anonymous caller does not see it');
    const member = await registerUser(t.app);
    assert.equal((await call(t.app, { method: 'GET', url: `/api/chat-queue?requestId=${job.body.request_id}`, headers: member.headers })).status, 404);

    const third = await call(t.app, { method: 'POST', url: '/api/chat-optimized', payload: { messages: [{ role: 'user', content: said }], stream: false } });
    assert.equal(third.status, 429, 'CHAT_RATE_LIMIT=2 per IP for anonymous callers, spent by the chat and the queue request');
    const otherIp = await call(t.app, { method: 'POST', url: '/api/chat-optimized', payload: { messages: [{ role: 'user', content: said }], stream: false }, remoteAddress: '10.9.9.9' });
    assert.equal(otherIp.status, 200);
    const ipv6Statuses = [];
    for (const host of ['1', '2', '3']) {
      const chat = { method: 'POST', url: '/api/chat-optimized', payload: { messages: [{ role: 'user', content: said }], stream: false }, remoteAddress: `2001:db8:7:7::${host}` } as const;
      ipv6Statuses.push((await call(t.app, chat)).status);
    }
    assert.deepEqual(ipv6Statuses, [200, 200, 429], 'the addresses of one IPv6 /64 share one budget');
    const stats = await call(t.app, { method: 'GET', url: '/api/cache-stats' });
    assert.equal(stats.status, 200);
    assert.equal((await call(t.app, { method: 'POST', url: '/api/cache-stats', payload: { action: 'clear' } })).status, 401);
    assert.equal((await call(t.app, { method: 'GET', url: '/api/chat-optimized', headers: { authorization: 'Bearer nonsense' } })).status, 404);
    const forged = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: { authorization: 'Bearer a.b.c' }, payload: { messages: [{ role: 'user', content: said }], stream: false } });
    assert.equal(forged.status, 401, 'a bad token is refused, not treated as anonymous');
  });
});

describe('the upstream client', () => {
  test('times out with 503 LLM_UNAVAILABLE; a dead server is 503; aborting rejects with the reason', async () => {
    const upstream = createUpstream({ provider: 'ollama', baseUrl: fake.url, keepAlive: '5m', timeoutMs: 200 });
    await assert.rejects(upstream.chat({ model: 'm', messages: [{ role: 'user', content: '[[hang]]' }] }, { signal: new AbortController().signal }), {
      statusCode: 503,
      code: 'LLM_UNAVAILABLE',
      message: /did not finish within/,
    });
    const dead = createUpstream({ provider: 'ollama', baseUrl: 'http://127.0.0.1:9', keepAlive: '5m', timeoutMs: 2000 });
    await assert.rejects(dead.chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal: new AbortController().signal }), { statusCode: 503, code: 'LLM_UNAVAILABLE' });
    assert.equal(await dead.ping(500), false);
    assert.equal(await upstream.ping(500), true);

    const slow = createUpstream({ provider: 'ollama', baseUrl: fake.url, keepAlive: '5m', timeoutMs: 10_000 });
    const controller = new AbortController();
    const pieces: string[] = [];
    const pending = slow.chat({ model: 'm', messages: [{ role: 'user', content: `[[slow]] ${'x '.repeat(50)}` }] }, { signal: controller.signal, onPiece: (piece) => pieces.push(piece) });
    await fake.waitFor(() => pieces.length >= 2);
    const reason = new Error('caller left');
    controller.abort(reason);
    await assert.rejects(pending, reason);
  });

  test('the final NDJSON object gives the finish reason and token counts', async () => {
    const upstream = createUpstream({ provider: 'ollama', baseUrl: fake.url, keepAlive: '5m', timeoutMs: 5000 });
    const pieces: string[] = [];
    let accepted = false;
    const answer = await upstream.chat(
      { model: 'm', messages: [{ role: 'user', content: 'count me' }] },
      { signal: new AbortController().signal, onAccepted: () => (accepted = true), onPiece: (piece) => pieces.push(piece) },
    );
    assert.equal(accepted, true);
    assert.equal(answer.content, pieces.join(''));
    assert.equal(answer.finish_reason, 'stop');
    assert.equal(answer.completion_tokens, pieces.length);
    assert.ok(answer.prompt_tokens > 0, 'answer.prompt_tokens > 0');
  });
});
