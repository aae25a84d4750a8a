import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chatModule } from '../../../src/modules/chat/index.js';
import { startFakeOllama, type FakeOllama } from '../../fake-ollama.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';
import { contentOf, postSse } from './sse-client.js';

let fake: FakeOllama;
let counter = 0;
const unique = (text = 'hello') => `${text} #${++counter}-${Date.now()}`;
const expected = (said: string) => `You said: ${said}. This answer comes from the fake Ollama server.`;

before(async () => {
  fake = await startFakeOllama();
});
after(() => fake.close());

describe('the OpenAI-compatible front door (Ollama upstream)', () => {
  let t: TestApp;
  let base: string;
  let user: TestUser;
  before(async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url }, { modules: [chatModule] });
    base = await t.listen();
    user = await registerUser(t.app);
  });
  after(() => t.close());

  test('non-streaming: a chat.completion object, served through the same cache as the native route', async () => {
    const said = unique();
    const before = fake.stats.chat;
    const { status, body } = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { model: 'llama3.2', messages: [{ role: 'user', content: said }] } });
    assert.equal(status, 200);
    assert.match(body.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(typeof body.created, 'number');
    assert.equal(body.model, 'llama3.2');
    assert.deepEqual(body.choices, [{ index: 0, message: { role: 'assistant', content: expected(said) }, finish_reason: 'stop' }]);
    assert.ok(body.usage.completion_tokens > 0, 'body.usage.completion_tokens > 0');
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
    assert.equal(fake.stats.chat, before + 1);

    const native = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: said }], stream: false } });
    assert.equal(native.body.cached, true, 'same model and messages: the same cache entry');
    assert.equal(fake.stats.chat, before + 1);
  });

  test('streaming: chat.completion.chunk events ending with data: [DONE]; text parts and sampling options are passed on', async () => {
    const said = unique('stream');
    const result = await postSse(
      `${base}/v1/chat/completions`,
      { messages: [{ role: 'developer', content: 'Be kind.' }, { role: 'user', content: [{ type: 'text', text: said }] }], stream: true, temperature: 0.2, max_tokens: 64, stream_options: { include_usage: true } },
      user.headers,
    );
    assert.equal(result.status, 200);
    assert.match(result.contentType, /^text\/event-stream/);
    assert.equal(result.events.at(-1), '[DONE]');
    const chunks = result.events.slice(0, -1) as { object: string; choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[]; usage?: unknown }[];
    for (const chunk of chunks) assert.equal(chunk.object, 'chat.completion.chunk');
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
    const withChoices = chunks.filter((chunk) => chunk.choices.length > 0);
    assert.equal(withChoices.at(-1)!.choices[0]!.finish_reason, 'stop');
    assert.equal(withChoices.map((chunk) => chunk.choices[0]!.delta.content ?? '').join(''), expected(said));
    assert.ok(chunks.at(-1)!.usage, 'include_usage adds a usage chunk');
    const sent = fake.requests.at(-1)!;
    assert.deepEqual(sent.messages[0], { role: 'system', content: 'Be kind.' });
    assert.deepEqual(sent.options, { temperature: 0.2, num_predict: 64 });
  });

  test('settings sent as null (OpenAI client libraries send None that way) mean "not given", as OpenAI reads them', async () => {
    const said = unique('nulls');
    const nulls = { temperature: null, top_p: null, max_tokens: null, max_completion_tokens: null, seed: null, stop: null, n: null, stream: null, stream_options: null, presence_penalty: null, frequency_penalty: null };
    const first = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'user', content: said }], ...nulls } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.object, 'chat.completion');
    assert.equal(first.body.choices[0].message.content, expected(said));
    assert.equal(fake.requests.at(-1)!.options, undefined, 'no sampling option was passed on');
    const before = fake.stats.chat;
    const again = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'user', content: said }] } });
    assert.equal(again.status, 200);
    assert.equal(fake.stats.chat, before, 'the same request without the nulls is the same cache entry');
    const wrong = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'user', content: said }], temperature: 3 } });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.param, 'temperature');
  });

  test('errors come in the OpenAI shape; a mid-stream failure is an error event', async () => {
    const anonymous = await call(t.app, { method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.type, 'authentication_error');
    assert.equal(anonymous.body.error.code, 'UNAUTHORIZED');
    const bad = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'tool', content: 'x' }] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.type, 'invalid_request_error');
    assert.equal(typeof bad.body.error.message, 'string');
    const busy = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'user', content: unique('[[busy]]') }] } });
    assert.equal(busy.status, 503);
    assert.equal(busy.body.error.code, 'LLM_UNAVAILABLE');

    const broken = await postSse(`${base}/v1/chat/completions`, { messages: [{ role: 'user', content: unique('[[midfail]]') }], stream: true }, user.headers);
    const last = broken.events.at(-1) as { error: { message: string; type: string } };
    assert.match(last.error.message, /failed mid-answer/);
    assert.ok(!broken.events.includes('[DONE]'), "!broken.events.includes('[DONE]')");
  });

  test('GET /v1/models lists the upstream models', async () => {
    const { status, body } = await call(t.app, { method: 'GET', url: '/v1/models', headers: user.headers });
    assert.equal(status, 200);
    assert.equal(body.object, 'list');
    assert.deepEqual(body.data.map((model: { id: string }) => model.id), ['llama3.2:latest', 'qwen2.5:0.5b']);
    for (const model of body.data) assert.equal(model.object, 'model');
  });

  test("an unknown model is 404 in OpenAI's error shape, streaming or not", async () => {
    for (const stream of [false, true]) {
      const { status, body } = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { model: 'missing-model', messages: [{ role: 'user', content: unique() }], stream } });
      assert.equal(status, 404, `stream: ${stream}`);
      assert.deepEqual(body.error, { message: body.error.message, type: 'not_found_error', code: 'MODEL_NOT_FOUND', param: null });
      assert.match(body.error.message, /missing-model/);
    }
  });
});

describe('an OpenAI-compatible upstream (LLM_PROVIDER=openai)', () => {
  let t: TestApp;
  let base: string;
  let user: TestUser;
  let admin: TestUser;
  before(async () => {
    t = await startTestApp({ LLM_PROVIDER: 'openai', LLM_BASE_URL: `${fake.url}/v1`, CHAT_MODEL: 'qwen2.5:0.5b' }, { modules: [chatModule] });
    base = await t.listen();
    user = await registerUser(t.app);
    admin = await registerAdmin(t.app);
  });
  after(() => t.close());

  test('the native routes stream and cache through /v1/chat/completions upstream', async () => {
    const said = unique('via openai');
    const before = fake.stats.openai;
    const streamed = await postSse(`${base}/api/chat-optimized`, { messages: [{ role: 'user', content: said }] }, user.headers);
    assert.equal(contentOf(streamed.events), expected(said));
    assert.deepEqual({ ...(streamed.events.at(-1) as object), request_id: 'x' }, { done: true, cached: false, request_id: 'x' });
    assert.equal(fake.stats.openai, before + 1);
    assert.equal(fake.requests.at(-1)!.model, 'qwen2.5:0.5b');
    const again = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: said }], stream: false } });
    assert.equal(again.body.cached, true);
    assert.equal(fake.stats.openai, before + 1);

    const broken = await postSse(`${base}/api/chat-optimized`, { messages: [{ role: 'user', content: unique('[[midfail]]') }] }, user.headers);
    assert.match(String((broken.events.at(-1) as { error: string }).error), /the model crashed/);
    const truncated = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: unique('[[truncate]]') }], stream: false } });
    assert.equal(truncated.status, 502, 'an event stream without data: [DONE] is not the protocol');
    assert.equal(truncated.body.code, 'LLM_BAD_RESPONSE');
    const missing = await call(t.app, { method: 'POST', url: '/api/chat-optimized', headers: user.headers, payload: { messages: [{ role: 'user', content: 'x' }], model: 'missing-x', stream: false } });
    assert.equal(missing.status, 404, "an OpenAI 404 model_not_found is the caller's error too");
    assert.equal(missing.body.code, 'MODEL_NOT_FOUND');
  });

  test("the upstream's token usage reaches OpenAI clients (its streams report usage only when asked)", async () => {
    const said = unique('count my tokens');
    const { status, body } = await call(t.app, { method: 'POST', url: '/v1/chat/completions', headers: user.headers, payload: { messages: [{ role: 'user', content: said }] } });
    assert.equal(status, 200);
    const words = expected(said).split(' ').length;
    assert.deepEqual(body.usage, { prompt_tokens: 5, completion_tokens: words, total_tokens: 5 + words });
  });

  test('health, models and warm-up use the OpenAI endpoints', async () => {
    const health = await call(t.app, { method: 'GET', url: '/health' });
    assert.equal(health.body.checks.llm, 'ok');
    const models = await call(t.app, { method: 'GET', url: '/v1/models', headers: user.headers });
    assert.deepEqual(models.body.data.map((model: { id: string }) => model.id), ['llama3.2:latest', 'qwen2.5:0.5b']);
    const before = fake.stats.openai;
    const warm = await call(t.app, { method: 'POST', url: '/api/cache-stats', headers: admin.headers, payload: { action: 'warm_model' } });
    assert.equal(warm.status, 200);
    assert.equal(fake.stats.openai, before + 1);
    assert.equal(fake.requests.at(-1)!.model, 'qwen2.5:0.5b');
  });
});
