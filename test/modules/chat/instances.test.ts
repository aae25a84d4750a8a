import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerUser, startTestApp, type TestApp } from '../../helpers/app.js';
import { openStream, parseEvents } from './sse-client.js';

// Two instances sharing one database and one Redis, as behind a load balancer. Without Redis,
// instances share nothing to ask through; workers of one server are covered in workers.test.ts.
const skip = process.env.REDIS_URL ? false : 'needs REDIS_URL (the workers of one server are tested without it in workers.test.ts)';

describe('chat jobs on two instances sharing Redis', { skip }, () => {
  let fake: FakeOllama;
  let first: TestApp;
  let second: TestApp;

  before(async () => {
    fake = await startFakeOllama();
    const shared = { OLLAMA_URL: fake.url, CHAT_MAX_CONCURRENT: '1', REDIS_PREFIX: `t${randomBytes(4).toString('hex')}:` };
    first = await startTestApp(shared, { modules: [chatModule] });
    second = await startTestApp(
      { ...shared, DATA_DIR: first.config.dataDir, ...(first.config.databaseUrl ? { DATABASE_URL: first.config.databaseUrl } : {}) },
      { modules: [chatModule] },
    );
  });

  after(async () => {
    fake.release();
    await second.close();
    await first.close();
    await fake.close();
  });

  test('the other instance answers polls, streams and cancels of a job the first holds, only for its owner', async () => {
    const owner = await registerUser(first.app);
    const stranger = await registerUser(first.app);
    const said = `[[hold]] across instances ${randomBytes(3).toString('hex')}`;
    const queued = await call(first.app, { method: 'POST', url: '/api/chat-queue', headers: owner.headers, payload: { messages: [{ role: 'user', content: said }] } });
    assert.equal(queued.status, 202);
    const id = queued.body.request_id as string;

    const polled = await call(second.app, { method: 'GET', url: `/api/chat-queue?requestId=${id}`, headers: owner.headers });
    assert.equal(polled.status, 200);
    assert.equal(polled.body.completed, false);
    assert.equal(typeof polled.body.status.queue_position, 'number');
    assert.equal((await call(second.app, { method: 'GET', url: `/api/chat-queue?requestId=${id}`, headers: stranger.headers })).status, 404);

    const stream = await openStream(`${await second.listen()}/api/chat-queue/${id}/stream`, owner.headers);
    assert.equal(stream.status, 200);
    fake.release();
    const events = parseEvents(await stream.text()) as { content?: string; done: boolean; request_id?: string }[];
    assert.deepEqual(events.at(-1), { done: true, cached: false, request_id: id });
    assert.equal(events.map((event) => event.content ?? '').join(''), `You said: ${said}. This answer comes from the fake Ollama server.`);

    const held = await call(first.app, { method: 'POST', url: '/api/chat-queue', headers: owner.headers, payload: { messages: [{ role: 'user', content: `[[hold]] cancel ${said}` }] } });
    const heldId = held.body.request_id as string;
    assert.equal((await call(second.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${heldId}`, headers: stranger.headers })).status, 404);
    const cancelled = await call(second.app, { method: 'DELETE', url: `/api/chat-queue?requestId=${heldId}`, headers: owner.headers });
    assert.deepEqual(cancelled.body, { request_id: heldId, cancelled: true });
    const finished = await call(second.app, { method: 'GET', url: `/api/chat-queue?requestId=${heldId}`, headers: owner.headers });
    assert.deepEqual(finished.body, { request_id: heldId, completed: true, error: 'Cancelled by the user' });
  });
});
