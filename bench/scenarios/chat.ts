import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario, ScenarioFile } from '../scenario.js';

/**
 * Chat gateway: a cache hit of POST /api/chat-optimized (non-streaming). The fake Ollama server runs
 * as its own process (the load generator may block this one), and the answer is put in the cache
 * once during setup, so the measured path is auth + validation + SHA-256 key + cache read + JSON.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error('the fake Ollama server exited at start-up');
    try {
      if ((await fetch(`${url}/api/tags`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the fake Ollama server did not start');
}

const body = {
  messages: [
    { role: 'user', content: 'Summarise the benefits of response caching for an LLM gateway in two sentences.' },
  ],
  stream: false,
};

export const scenarios: Scenario[] = [
  {
    name: 'chat.cache-hit',
    description: 'POST /api/chat-optimized stream:false, answer in the response cache (auth + SHA-256 key + cache read)',
    async setup(client) {
      const user = await client.newUser();
      const first = await client.request<{ cached: boolean }>('POST', '/api/chat-optimized', body, user.headers);
      const second = await client.request<{ cached: boolean }>('POST', '/api/chat-optimized', body, user.headers);
      if (first.cached || !second.cached) throw new Error('chat.cache-hit: the answer did not land in the cache');
      return { method: 'POST', path: '/api/chat-optimized', headers: user.headers, body };
    },
  },
];

export const beforeStart: ScenarioFile['beforeStart'] = async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fake-ollama.ts')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', FAKE_LLM_DELAY_MS: '0' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitUntilUp(url, child);
  return {
    env: { OLLAMA_URL: url, CHAT_RATE_LIMIT: '1000000000' },
    async cleanup() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
};
