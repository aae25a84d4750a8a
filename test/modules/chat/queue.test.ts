import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';
import { contentOf, getSse, openStream, parseEvents } from './sse-client.js';

let fake: FakeOllama;
let t: TestApp;
let base: string;
let owner: TestUser;
let stranger: TestUser;
let counter = 0;
const unique = (text: string) => `${text} #${++counter}-${Date.now()}`;
const expected = (said: string) => `You said: ${said}. This answer comes from the fake Ollama server.`;

async function enqueue(app: TestApp['app'], who: TestUser, content: string, priority?: number) {
  const { status, body } = await call(app, { method: 'POST', url: '/api/chat-queue', headers: who.headers, payload: { messages: [{ role: 'user', content }], ...(priority === undefined ? {} : { priority }) } });
  assert.equal(status, 202, JSON.stringify(body));
  return body as { request_id: string; status: { queue_position: number; queue_length: number; estimated_wait_time: number; is_processing: boolean } };
}

async function poll(app: TestApp['app'], who: TestUser, id: string) {
  return call(app, { method: 'GET', url: `/api/chat-queue?requestId=${id}`, headers: who.headers });
}

async function waitCompleted(app: TestApp['app'], who: TestUser, id: string) {
  for (let i = 0; i < 1000; i++) {
    const { body } = await poll(app, who, id);
    if (body.completed) return body;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} did not complete`);
}

before(async () => {
  fake = await startFakeOllama();
  t = await startTestApp({ OLLAMA_URL: fake.url, CHAT_MAX_CONCURRENT: '1' }, { modules: [chatModule] });
  base = await t.listen();
  owner = await registerUser(t.app);
  stranger = await registerUser(t.app);
});

after(async () => {
  fake.release();
  await t.close();
  await fake.close();
});

describe('the chat queue', () => {
  test('one worker: highest priority first, then first in first out, with 1-based positions', async () => {
    const start = fake.requests.length;
    const blocker = await enqueue(t.app, owner, unique('[[hold]] blocker'));
    await fake.waitFor(() => fake.requests.length === start + 1);
    const a = await enqueue(t.app, owner, unique('first normal'));
    const b = await enqueue(t.app, owner, unique('second normal'));
    const c = await enqueue(t.app, owner, unique('urgent'), 5);
    assert.deepEqual(a.status, { queue_position: 1, queue_length: 1, estimated_wait_time: a.status.estimated_wait_time, is_processing: false });
    assert.equal(b.status.queue_position, 2);
    assert.equal(c.status.queue_position, 1, 'the urgent job jumps the queue');

    const running = await poll(t.app, owner, blocker.request_id);
    assert.deepEqual(running.body, { request_id: blocker.request_id, completed: false, status: { queue_position: 0, queue_length: 3, estimated_wait_time: 0, is_processing: true } });
    assert.equal((await poll(t.app, owner, c.request_id)).body.status.queue_position, 1);
    assert.equal((await poll(t.app, owner, a.request_id)).body.status.queue_position, 2);
    assert.equal((await poll(t.app, owner, b.request_id)).body.status.queue_position, 3);
    const overview = await call(t.app, { method: 'GET', url: '/api/chat-queue', headers: owner.headers });
    assert.deepEqual(overview.body, { queue_length: 3, is_processing: true, max_concurrent: 1 });

    fake.release();
    const results = await Promise.all([blocker, c, a, b].map((job) => waitCompleted(t.app, owner, job.request_id)));
    const order = fake.requests.slice(start).map((request) => request.messages.at(-1)!.content);
    assert.deepEqual(order, results.map((result) => result.result.message.content.replace(/^You said: (.*)\. This answer comes from the fake Ollama server\.$/, '$1')));
    assert.ok(order[1]!.startsWith('urgent') && order[2]!.startsWith('first') && order[3]!.startsWith('second'), order.join(' | '));
    assert.equal(fake.stats.maxActive, 1, 'never more than CHAT_MAX_CONCURRENT upstream calls');
  });

  test('results: the answer, kept for the owner only; the estimate comes from measured generations', async () => {
    const said = unique('remember me');
    const job = await enqueue(t.app, owner, said);
    const done = await waitCompleted(t.app, owner, job.request_id);
    assert.deepEqual(done, { request_id: job.request_id, completed: true, result: { message: { role: 'assistant', content: expected(said) } }, cached: false });
    assert.equal((await poll(t.app, stranger, job.request_id)).status, 404);
    assert.equal((await call(t.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${job.request_id}`, headers: stranger.headers })).status, 404);
    assert.equal((await getSse(`${base}/api/chat-queue/${job.request_id}/stream`, stranger.headers)).status, 404);
    assert.equal((await poll(t.app, owner, 'no-such-job')).status, 404);

    const again = await enqueue(t.app, owner, said);
    const cached = await waitCompleted(t.app, owner, again.request_id);
    assert.equal(cached.cached, true, 'queued jobs go through the response cache');
    const replayed = await getSse(`${base}/api/chat-queue/${again.request_id}/stream`, owner.headers);
    assert.equal(contentOf(replayed.events), expected(said));
    for (const piece of replayed.events.slice(0, -1)) assert.equal((piece as { cached?: boolean }).cached, true, 'the pieces of a cached answer are marked cached: true');
    assert.deepEqual(replayed.events.at(-1), { done: true, cached: true, request_id: again.request_id });

    // With a generation measured, a waiting job gets a non-zero estimate.
    const blocker = await enqueue(t.app, owner, unique('[[hold]] estimate'));
    await fake.waitFor(() => fake.stats.active === 1);
    const waiting = await enqueue(t.app, owner, unique('estimated'));
    assert.ok(waiting.status.estimated_wait_time > 0, JSON.stringify(waiting.status));
    fake.release();
    await waitCompleted(t.app, owner, blocker.request_id);
    await waitCompleted(t.app, owner, waiting.request_id);
  });

  test('cancel: a queued job never reaches the upstream; a running one is aborted upstream', async () => {
    const start = fake.requests.length;
    const blocker = await enqueue(t.app, owner, unique('[[hang]] runs until cancelled'));
    await fake.waitFor(() => fake.requests.length === start + 1);
    const queuedText = unique('never sent');
    const queued = await enqueue(t.app, owner, queuedText);

    const cancelQueued = await call(t.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${queued.request_id}`, headers: owner.headers });
    assert.deepEqual(cancelQueued.body, { request_id: queued.request_id, cancelled: true });
    assert.deepEqual((await poll(t.app, owner, queued.request_id)).body, { request_id: queued.request_id, completed: true, error: 'Cancelled by the user' });

    const cancelledBefore = fake.stats.cancelled;
    const cancelRunning = await call(t.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${blocker.request_id}`, headers: owner.headers });
    assert.deepEqual(cancelRunning.body, { request_id: blocker.request_id, cancelled: true });
    await fake.waitFor(() => fake.stats.cancelled === cancelledBefore + 1);

    const next = await enqueue(t.app, owner, unique('after the cancel'));
    await waitCompleted(t.app, owner, next.request_id);
    assert.ok(!fake.requests.some((request) => request.messages.at(-1)!.content === queuedText), 'the cancelled job never ran');

    const again = await call(t.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${next.request_id}`, headers: owner.headers });
    assert.deepEqual(again.body, { request_id: next.request_id, cancelled: false }, 'a finished job cannot be cancelled');
    const missing = await call(t.app, { method: 'DELETE', url: '/api/chat-queue', headers: owner.headers });
    assert.equal(missing.status, 400);
    assert.equal((await call(t.app, { method: 'DELETE', url: '/api/chat-queue?requestId=nope', headers: owner.headers })).status, 404);
  });

  test("a job's SSE stream follows it live, and replays it once finished", async () => {
    const start = fake.requests.length;
    const said = unique('[[hold]] stream me');
    const job = await enqueue(t.app, owner, said);
    await fake.waitFor(() => fake.requests.length === start + 1);
    const streaming = getSse(`${base}/api/chat-queue/${job.request_id}/stream`, owner.headers);
    await new Promise((resolve) => setTimeout(resolve, 50));
    fake.release();
    const live = await streaming;
    assert.equal(live.status, 200);
    assert.match(live.contentType, /^text\/event-stream/);
    assert.equal(contentOf(live.events), expected(said));
    assert.deepEqual(live.events.at(-1), { done: true, cached: false, request_id: job.request_id });

    const replay = await getSse(`${base}/api/chat-queue/${job.request_id}/stream`, owner.headers);
    assert.equal(contentOf(replay.events), expected(said));
    assert.deepEqual(replay.events.at(-1), { done: true, cached: false, request_id: job.request_id });
  });

  test('bad bodies are 400', async () => {
    for (const payload of [{ messages: [] }, { messages: [{ role: 'user', content: 'x' }], stream: true }, { messages: [{ role: 'user', content: 'x' }], priority: 'high' }]) {
      assert.equal((await call(t.app, { method: 'POST', url: '/api/chat-queue', headers: owner.headers, payload })).status, 400);
    }
  });
});

describe('a full queue and shutdown', () => {
  let small: TestApp;
  let smallBase: string;
  let who: TestUser;
  before(async () => {
    small = await startTestApp({ OLLAMA_URL: fake.url, CHAT_MAX_CONCURRENT: '1', CHAT_QUEUE_MAX: '2', SHUTDOWN_TIMEOUT_MS: '20000' }, { modules: [chatModule] });
    smallBase = await small.listen();
    who = await registerUser(small.app);
  });
  after(() => small.close());

  test('CHAT_QUEUE_MAX waiting jobs, then 429; on close running jobs finish and waiting ones fail clearly', async () => {
    const start = fake.requests.length;
    const runningText = unique('[[hold]] running at shutdown');
    const running = await enqueue(small.app, who, runningText);
    await fake.waitFor(() => fake.requests.length === start + 1);
    const waiting1 = await enqueue(small.app, who, unique('waiting one'));
    await enqueue(small.app, who, unique('waiting two'));
    const full = await call(small.app, { method: 'POST', url: '/api/chat-queue', headers: who.headers, payload: { messages: [{ role: 'user', content: unique('one too many') }] } });
    assert.equal(full.status, 429);
    assert.equal(full.body.code, 'QUEUE_FULL');
    const direct = await call(small.app, { method: 'POST', url: '/api/chat-optimized', headers: who.headers, payload: { messages: [{ role: 'user', content: unique('direct') }], stream: false } });
    assert.equal(direct.status, 429, 'direct requests share the queue');

    // Both streams are open (headers received) before the server starts closing.
    const runningResponse = await openStream(`${smallBase}/api/chat-queue/${running.request_id}/stream`, who.headers);
    const waitingResponse = await openStream(`${smallBase}/api/chat-queue/${waiting1.request_id}/stream`, who.headers);
    assert.equal(runningResponse.status, 200);
    assert.equal(waitingResponse.status, 200);
    const closing = small.close();
    const failed = { events: parseEvents(await waitingResponse.text()) };
    assert.equal((failed.events.at(-1) as { done: boolean }).done, true);
    assert.match(String((failed.events.at(-1) as { error: string }).error), /shutting down/);
    fake.release();
    const finished = { events: parseEvents(await runningResponse.text()) };
    assert.equal(contentOf(finished.events), expected(runningText), 'the running job finished during the drain');
    await closing;
  });
});
