import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createUpstream } from '../../../src/modules/chat/upstream.js';
import { freePort } from '../../helpers/server.js';

/** The health check's probe of the language model server, against servers that misbehave in each way it must survive. */

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.closeAllConnections();
  return Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    handler(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const upstream = (provider: 'ollama' | 'openai', baseUrl: string, apiKey: string | null = null) =>
  createUpstream({ provider, baseUrl, keepAlive: '5m', timeoutMs: 5000, apiKey });

describe('llm health probe', () => {
  test('Ollama: a 2xx from GET /api/tags is up, any other status is down', async () => {
    let status = 200;
    const ollama = await serve((_request, response) => response.writeHead(status, { 'content-type': 'application/json' }).end('{"models":[]}'));
    assert.equal(await upstream('ollama', ollama.url).ping(1000), true);
    assert.equal(ollama.seen.at(-1)!.url, '/api/tags');
    status = 500;
    assert.equal(await upstream('ollama', ollama.url).ping(1000), false);
    status = 404;
    assert.equal(await upstream('ollama', ollama.url).ping(1000), false);
  });

  test('OpenAI-compatible: GET /v1/models carries the API key; a 401 is down', async () => {
    const openai = await serve((request, response) => response.writeHead(request.headers.authorization === 'Bearer right-key' ? 200 : 401).end('{}'));
    assert.equal(await upstream('openai', `${openai.url}/v1`, 'right-key').ping(1000), true);
    assert.equal(openai.seen.at(-1)!.url, '/v1/models');
    assert.equal(await upstream('openai', openai.url, 'wrong-key').ping(1000), false);
  });

  test('nothing listening, a server that never answers, or one that stalls mid-body: down or up within the timeout, never a hang or a crash', async () => {
    assert.equal(await upstream('ollama', `http://127.0.0.1:${await freePort()}`).ping(1000), false);

    const silent = await serve(() => undefined);
    const started = performance.now();
    assert.equal(await upstream('ollama', silent.url).ping(300), false);
    const waited = performance.now() - started;
    assert.ok(waited >= 250 && waited < 2000, `gave up after the timeout (${Math.round(waited)} ms)`);

    // The status is known at once; the timeout then cuts the body short without an unhandled error.
    const stalling = await serve((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).write('{"models":['));
    assert.equal(await upstream('ollama', stalling.url).ping(200), true);
    await new Promise((resolve) => setTimeout(resolve, 400));
  });

  test('a base URL no HTTP client can use is down, not an exception', async () => {
    assert.equal(await upstream('ollama', 'http://[not-an-address').ping(200), false);
  });
});
