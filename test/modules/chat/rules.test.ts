import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { RecentAverage, cacheKey, estimatedWaitMs, nextIndex, queuePosition, ratio, totalChars, withSystemPrompt, wordChunks } from '../../../src/modules/chat/rules.js';
import { onClientGone } from '../../../src/modules/chat/sse.js';
import { keepAliveValue, openAiBase, type ChatMessage } from '../../../src/modules/chat/upstream.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('cacheKey', () => {
  const request = { model: 'llama3.2', messages: [user('hi')] };
  test('is a SHA-256 hex digest, stable for the same model, system prompt and messages', () => {
    assert.match(cacheKey(request, null), /^[0-9a-f]{64}$/);
    assert.equal(cacheKey(request, null), cacheKey({ model: 'llama3.2', messages: [user('hi')] }, null));
  });
  test('changes with the model, the system prompt, a message, a role, and options', () => {
    const keys = new Set([
      cacheKey(request, null),
      cacheKey({ ...request, model: 'qwen2.5' }, null),
      cacheKey(request, 'Be brief.'),
      cacheKey({ ...request, messages: [user('hi!')] }, null),
      cacheKey({ ...request, messages: [{ role: 'assistant', content: 'hi' }] }, null),
      cacheKey({ ...request, options: { temperature: 0 } }, null),
      cacheKey({ ...request, format: 'json' }, null),
    ]);
    assert.equal(keys.size, 7);
  });
  test('options are keyed regardless of their order, and empty options are no options', () => {
    assert.equal(cacheKey({ ...request, options: { temperature: 0, seed: 1 } }, null), cacheKey({ ...request, options: { seed: 1, temperature: 0 } }, null));
    assert.equal(cacheKey({ ...request, options: {} }, null), cacheKey(request, null));
  });
  test('message boundaries matter: ["ab"] and ["a", "b"] differ', () => {
    assert.notEqual(cacheKey({ model: 'm', messages: [user('ab')] }, null), cacheKey({ model: 'm', messages: [user('a'), user('b')] }, null));
  });
});

describe('wordChunks', () => {
  test('pieces are words with their trailing whitespace and join back to the text exactly', () => {
    const text = 'Hello,  world!\nA second line\twith tabs. ';
    const pieces = wordChunks(text);
    assert.equal(pieces.join(''), text);
    assert.deepEqual(pieces, ['Hello,  ', 'world!\n', 'A ', 'second ', 'line\t', 'with ', 'tabs. ']);
    assert.deepEqual(wordChunks(''), []);
    assert.deepEqual(wordChunks('  lead'), ['  lead']);
  });
});

describe('queue order', () => {
  const a = { priority: 0, seq: 1 };
  const b = { priority: 0, seq: 2 };
  const c = { priority: 5, seq: 3 };
  const d = { priority: -1, seq: 0 };
  test('highest priority first, then first in first out', () => {
    assert.equal(nextIndex([]), -1);
    assert.equal(nextIndex([a, b, c, d]), 2);
    assert.equal(nextIndex([b, a, d]), 1);
    assert.equal(nextIndex([d]), 0);
  });
  test('positions are 1-based and follow the same order', () => {
    const queue = [a, b, c, d];
    assert.deepEqual(queue.map((entry) => queuePosition(queue, entry)), [2, 3, 1, 4]);
  });
});

describe('estimatedWaitMs', () => {
  test('one average generation per round of workers ahead; zero with nothing measured', () => {
    assert.equal(estimatedWaitMs(1, 1, 2000), 2000);
    assert.equal(estimatedWaitMs(3, 1, 2000), 6000);
    assert.equal(estimatedWaitMs(3, 2, 2000), 4000);
    assert.equal(estimatedWaitMs(0, 1, 2000), 0);
    assert.equal(estimatedWaitMs(5, 1, null), 0);
  });
  test('RecentAverage keeps the latest samples only', () => {
    const average = new RecentAverage(2);
    assert.equal(average.value(), null);
    average.add(100);
    average.add(200);
    average.add(400);
    assert.equal(average.value(), 300);
  });
});

describe('withSystemPrompt', () => {
  test('an explicit prompt goes first; the default only when the conversation has no system message', () => {
    assert.deepEqual(withSystemPrompt([user('hi')], 'Be brief.', 'Default'), { messages: [{ role: 'system', content: 'Be brief.' }, user('hi')], system: 'Be brief.' });
    assert.deepEqual(withSystemPrompt([user('hi')], undefined, 'Default'), { messages: [{ role: 'system', content: 'Default' }, user('hi')], system: 'Default' });
    const own: ChatMessage[] = [{ role: 'system', content: 'Mine' }, user('hi')];
    assert.deepEqual(withSystemPrompt(own, undefined, 'Default'), { messages: own, system: null });
    assert.deepEqual(withSystemPrompt([user('hi')], undefined, null), { messages: [user('hi')], system: null });
  });
});

test('totalChars and ratio', () => {
  assert.equal(totalChars([user('abc'), user('de')]), 5);
  assert.equal(ratio(1, 3), 0.3333);
  assert.equal(ratio(0, 0), 0);
});

test('keep_alive: numbers are seconds, anything else a duration string; OpenAI base URLs with or without /v1', () => {
  assert.equal(keepAliveValue('-1'), -1);
  assert.equal(keepAliveValue('300'), 300);
  assert.equal(keepAliveValue('15m'), '15m');
  assert.equal(openAiBase('http://host:8000/v1/'), 'http://host:8000');
  assert.equal(openAiBase('http://host:8000'), 'http://host:8000');
});

describe('onClientGone', () => {
  test('fires for a client that left before it was registered, and not for a finished answer', async () => {
    const calls: string[] = [];
    const server = http.createServer((req, res) => {
      if (req.url === '/left') {
        server.emit('arrived');
        // Registered only after the client has gone, as after an await in a handler.
        res.on('close', () => {
          onClientGone({ raw: res }, () => calls.push('left'));
          server.emit('checked');
        });
        return;
      }
      res.end('done', () => {
        onClientGone({ raw: res }, () => calls.push('finished'));
        server.emit('checked');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const checked = () => new Promise((resolve) => server.once('checked', resolve));
      const leftChecked = checked();
      // Gone once the server has the request: on a loaded machine a fixed delay could end the
      // connection before the request arrived, and nothing would ever be checked.
      server.once('arrived', () => leaving.destroy());
      const leaving = http.get({ port, host: '127.0.0.1', path: '/left' });
      leaving.on('error', () => undefined);
      await leftChecked;
      const finishedChecked = checked();
      await new Promise((resolve) => http.get({ port, host: '127.0.0.1', path: '/done' }, (res) => res.resume().on('end', resolve)));
      await finishedChecked;
      assert.deepEqual(calls, ['left']);
    } finally {
      server.close();
    }
  });
});
