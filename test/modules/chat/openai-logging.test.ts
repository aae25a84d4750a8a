import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

/**
 * The /v1 error handler logs like the core's: an expected 503 (upstream down) is one warning line
 * without a stack. Logs go to stdout through pino, so the app runs in a child process with
 * LOG_LEVEL=warn and this test reads what it wrote.
 */

const run = promisify(execFile);
const at = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

const script = `
import { startFakeOllama } from ${at('../../fake-ollama.ts')};
import { chatModule } from ${at('../../../src/modules/chat/index.ts')};
import { registerUser, startTestApp } from ${at('../../helpers/app.ts')};
const fake = await startFakeOllama({ down: true });
const t = await startTestApp({ OLLAMA_URL: fake.url, LOG_LEVEL: 'warn', REDIS_URL: '' }, { modules: [chatModule] });
const user = await registerUser(t.app);
const payload = { messages: [{ role: 'user', content: 'hi' }] };
const statuses = [];
for (const url of ['/v1/chat/completions', '/api/chat-optimized']) {
  statuses.push((await t.app.inject({ method: 'POST', url, headers: user.headers, payload })).statusCode);
}
await t.close();
await fake.close();
process.stderr.write(JSON.stringify(statuses));
`;

test('an upstream outage on /v1/chat/completions is logged as one warning line, as on the native routes', async () => {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { timeout: 60_000 });
  assert.deepEqual(JSON.parse(stderr.trim().split('\n').at(-1)!), [503, 503], stderr);
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; code?: string; err?: unknown });
  const outage = lines.filter((line) => line.code === 'LLM_UNAVAILABLE');
  assert.equal(outage.length, 2, `one line per failed request: ${stdout}`);
  for (const line of outage) {
    assert.equal(line.level, 40, `a warning, not an error: ${JSON.stringify(line)}`);
    assert.equal(line.err, undefined, `no error object or stack: ${JSON.stringify(line)}`);
  }
  assert.ok(!lines.some((line) => line.level >= 50), `nothing logged as an error: ${stdout}`);
});
