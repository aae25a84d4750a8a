import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { startFakeOllama } from '../../fake-ollama.js';
import { onNewConnection, startServer } from '../../helpers/server.js';
import { parseEvents } from './sse-client.js';

/** Request ids start with a tag per process: which worker answered. */
const workerOf = (requestId: string) => requestId.split('-')[0]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A GET kept open on a connection of its own; `received` grows as the body arrives. */
function openOnNewConnection(url: string, headers: Record<string, string>): Promise<{ response: IncomingMessage; worker: string; received: () => string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      resolve({ response, worker: workerOf(String(response.headers['x-request-id'])), received: () => text });
    })
      .on('error', reject)
      .end();
  });
}

describe('chat jobs with WORKERS=2 (the worker that took a job is not the one asked)', () => {
  test('polls, streams and cancels reach the worker holding the job; other users and unknown ids get 404 from either', async () => {
    const fake = await startFakeOllama();
    const server = await startServer({ WORKERS: '2', MODULES: 'chat', OLLAMA_URL: fake.url, CHAT_MAX_CONCURRENT: '1' });
    const streams: IncomingMessage[] = [];
    try {
      const bothReady = Date.now() + 30_000;
      while ((server.output().match(/server ready/g) ?? []).length < 2 && Date.now() < bothReady) await sleep(100);
      const register = async (email: string) => {
        const registered = await onNewConnection(`${server.url}/api/auth/register`, 'POST', {}, { email, password: 'correct horse battery' });
        return { authorization: `Bearer ${(registered.json as { token: string }).token}` };
      };
      const owner = await register('owner@example.com');
      const stranger = await register('stranger@example.com');
      const queue = (auth: Record<string, string>, content: string) => onNewConnection(`${server.url}/api/chat-queue`, 'POST', auth, { messages: [{ role: 'user', content }] });
      const poll = (auth: Record<string, string>, id: string) => onNewConnection(`${server.url}/api/chat-queue?requestId=${id}`, 'GET', auth);

      const said = '[[hold]] across workers';
      const queued = await queue(owner, said);
      assert.equal(queued.status, 202);
      const id = (queued.json as { request_id: string }).request_id;
      const home = workerOf(queued.requestId);

      // Polls from both workers see the job waiting for the held generation; a stranger's never do.
      const answered = new Set<string>();
      for (let i = 0; i < 20 && answered.size < 2; i++) {
        const polled = await poll(owner, id);
        assert.equal(polled.status, 200, JSON.stringify(polled.json));
        assert.deepEqual({ ...(polled.json as object), status: undefined }, { request_id: id, completed: false, status: undefined });
        answered.add(workerOf(polled.requestId));
      }
      assert.equal(answered.size, 2, 'both workers answered a poll');
      const strangerWorkers = new Set<string>();
      for (let i = 0; i < 20 && strangerWorkers.size < 2; i++) {
        const polled = await poll(stranger, id);
        assert.equal(polled.status, 404);
        strangerWorkers.add(workerOf(polled.requestId));
      }
      assert.equal(strangerWorkers.size, 2, 'both workers refused the stranger');

      // A stream opened on the other worker gets the pieces and the outcome.
      let stream: Awaited<ReturnType<typeof openOnNewConnection>> | undefined;
      for (let i = 0; i < 20 && !stream; i++) {
        const opened = await openOnNewConnection(`${server.url}/api/chat-queue/${id}/stream`, owner);
        streams.push(opened.response);
        assert.equal(opened.response.statusCode, 200);
        if (opened.worker === home) opened.response.destroy();
        else stream = opened;
      }
      assert.ok(stream, 'a stream was opened on the worker that did not take the job');
      while (!stream.received().includes(': connected')) await sleep(20);
      fake.release();
      const deadline = Date.now() + 10_000;
      while (!stream.received().includes('"done":true') && Date.now() < deadline) await sleep(20);
      const events = parseEvents(stream.received()) as { content?: string; done: boolean; request_id?: string; error?: string }[];
      const last = events.at(-1)!;
      assert.deepEqual({ done: last.done, request_id: last.request_id, error: last.error }, { done: true, request_id: id, error: undefined });
      const content = events.map((event) => event.content ?? '').join('');
      assert.equal(content, `You said: ${said}. This answer comes from the fake Ollama server.`);

      // Finished, its result lives in the memory cache of the worker that ran it (no Redis here), and both answer for it.
      const finishedOn = new Set<string>();
      for (let i = 0; i < 20 && finishedOn.size < 2; i++) {
        const polled = await poll(owner, id);
        assert.deepEqual(polled.json, { request_id: id, completed: true, result: { message: { role: 'assistant', content } }, cached: false });
        finishedOn.add(workerOf(polled.requestId));
      }
      assert.equal(finishedOn.size, 2, 'both workers answered for the finished job');

      // Cancelling through the other worker: queue held jobs until one's DELETE lands elsewhere.
      let crossed = false;
      for (let i = 0; i < 10 && !crossed; i++) {
        const job = await queue(owner, `[[hold]] cancel me ${i}`);
        const jobId = (job.json as { request_id: string }).request_id;
        const cancelled = await onNewConnection(`${server.url}/api/chat-queue?requestId=${jobId}`, 'DELETE', owner);
        assert.deepEqual(cancelled.json, { request_id: jobId, cancelled: true });
        crossed = workerOf(cancelled.requestId) !== workerOf(job.requestId);
        if (crossed) {
          const after = await poll(owner, jobId);
          assert.deepEqual(after.json, { request_id: jobId, completed: true, error: 'Cancelled by the user' });
        }
      }
      assert.ok(crossed, 'a cancel went through the worker that did not take the job');

      for (let i = 0; i < 2; i++) assert.equal((await poll(owner, '00000000-0000-4000-8000-000000000000')).status, 404);
    } finally {
      for (const stream of streams) stream.destroy();
      fake.release();
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      await fake.close();
    }
  });
});
