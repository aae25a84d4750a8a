import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { call, registerUser, startTestApp, type TestApp } from '../helpers/app.js';

const require = createRequire(import.meta.url);

describe('service routes', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('GET /health reports status, version, modules and every dependency', async () => {
    const { status, body } = await call(t.app, { method: 'GET', url: '/health' });
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)), '!Number.isNaN(Date.parse(body.timestamp))');
    assert.equal(typeof body.uptime_s, 'number');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.ok(Array.isArray(body.modules), 'Array.isArray(body.modules)');
    assert.equal(body.checks.database, 'ok');
    assert.equal(body.checks.redis, process.env.REDIS_URL ? 'ok' : 'disabled');
    assert.ok(['ok', 'down', 'disabled'].includes(body.checks.llm), "['ok', 'down', 'disabled'].includes(body.checks.llm)");
  });

  test('live and ready', async () => {
    assert.deepEqual((await call(t.app, { method: 'GET', url: '/health/live' })).body, { status: 'alive' });
    const ready = await call(t.app, { method: 'GET', url: '/health/ready' });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });

  test('GET /metrics exposes request counts and latencies by route and status, event-loop lag and the DB pool', async () => {
    const user = await registerUser(t.app);
    await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
    await call(t.app, { method: 'GET', url: '/api/auth/me' });
    const { status, body, response } = await call(t.app, { method: 'GET', url: '/metrics' });
    assert.equal(status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(body, /http_requests_total\{method="GET",route="\/api\/auth\/me",status="200"\} 1/);
    assert.match(body, /http_requests_total\{method="GET",route="\/api\/auth\/me",status="401"\} 1/);
    assert.match(body, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/auth\/me",status="200"\}/);
    await call(t.app, { method: 'GET', url: '/no-such-route' });
    const after = (await call(t.app, { method: 'GET', url: '/metrics' })).body as string;
    assert.match(after, /http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.match(after, /http_requests_total\{method="GET",route="\/metrics",status="200"\} 1/);
    assert.match(body, /nodejs_eventloop_lag_seconds/);
    assert.match(body, /db_pool_connections\{state="total"\}/);
  });

  test('GET /openapi.json documents every route with a response schema', async () => {
    const { status, body } = await call(t.app, { method: 'GET', url: '/openapi.json' });
    assert.equal(status, 200);
    assert.match(body.openapi, /^3\./);
    for (const path of ['/health', '/api/auth/register', '/api/auth/login', '/api/auth/me', '/api/auth/refresh', '/api/auth/logout', '/api/auth/password', '/api/admin/users', '/api/admin/users/{id}', '/api/admin/users/{id}/unlock']) {
      assert.ok(body.paths[path], `${path} is documented`);
    }
    for (const [path, operations] of Object.entries(body.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const responses = Object.keys(operation.responses ?? {});
        assert.ok(responses.some((code) => /^2/.test(code)), `${method.toUpperCase()} ${path} has a success response schema`);
        const failure = operation.responses?.default as { content: Record<string, { schema: unknown }> } | undefined;
        assert.deepEqual(Object.values(failure?.content ?? {})[0]?.schema, { $ref: '#/components/schemas/ErrorBody' }, `${method.toUpperCase()} ${path} documents its errors`);
      }
    }
    assert.deepEqual(body.components.schemas.ErrorBody.required, ['error', 'code']);
    assert.ok(body.paths['/api/auth/register'].post.requestBody, 'request bodies are documented');
    // A token is required by default, and not where a route says so.
    assert.deepEqual(body.security, [{ bearerAuth: [] }]);
    for (const [path, method] of [['/health', 'get'], ['/health/live', 'get'], ['/health/ready', 'get'], ['/metrics', 'get'], ['/api/auth/register', 'post'], ['/api/auth/login', 'post'], ['/api/auth/refresh', 'post']] as const) {
      assert.deepEqual(body.paths[path][method].security, [], `${path} needs no token`);
    }
    assert.equal(body.paths['/api/auth/me'].get.security, undefined, '/api/auth/me needs the token');
  });

  test('GET /docs serves the interactive reference, loaded on its first request', async () => {
    // Loaded modules are per process and node:test runs each file in its own: nothing in this file
    // asks for /docs before this test.
    const pageModuleLoaded = () => Object.keys(require.cache).some((file) => file.includes('@fastify/swagger-ui'));
    assert.equal(pageModuleLoaded(), false, 'the page is not loaded at start-up');
    const response = await t.app.inject({ method: 'GET', url: '/docs' });
    const page = response.statusCode === 302 ? await t.app.inject({ method: 'GET', url: String(response.headers.location) }) : response;
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/, "the page's own CSP replaces the API's default-src 'none'");
    assert.ok(page.headers['x-request-id'], 'the API-wide headers are still set');
    assert.equal(pageModuleLoaded(), true);

    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    assert.deepEqual(spec.json(), (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json(), 'the page shows the document the API serves');

    const script = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.equal(Number(script.headers['content-length']), script.rawPayload.length);
    const cached = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js', headers: { 'if-none-match': String(script.headers.etag) } });
    assert.equal(cached.statusCode, 304, 'conditional requests are answered by the page server');
    const head = await t.app.inject({ method: 'HEAD', url: '/docs/static/swagger-ui-bundle.js' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');

    const missing = await call(t.app, { method: 'GET', url: '/docs/static/nope.js' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
    const escape = await call(t.app, { method: 'GET', url: '/docs/static/..%2f..%2fpackage.json' });
    assert.equal(escape.status, 404, "no file outside the page's assets");
    assert.equal(escape.body.code, 'NOT_FOUND');
  });
});

describe('health when the database is down', () => {
  test('503 with status degraded and database: down; live still answers', async () => {
    const t = await startTestApp();
    try {
      await t.app.database.close();
      const { status, body } = await call(t.app, { method: 'GET', url: '/health' });
      assert.equal(status, 503);
      assert.equal(body.status, 'degraded');
      assert.equal(body.checks.database, 'down');
      assert.equal((await call(t.app, { method: 'GET', url: '/health/ready' })).status, 503);
      assert.equal((await call(t.app, { method: 'GET', url: '/health/live' })).status, 200);
      const login = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.io', password: 'whatever1' } });
      assert.equal(login.status, 503);
      assert.equal(login.body.code, 'DATABASE_UNAVAILABLE');
    } finally {
      // The database is closed already; closing the app closes it again, which must not throw.
      await t.close().catch(() => undefined);
    }
  });
});

describe('health when Redis is unreachable', () => {
  test('the server keeps answering and /health says redis: down', async () => {
    const t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: 'down:' });
    try {
      const { status, body } = await call(t.app, { method: 'GET', url: '/health' });
      assert.equal(status, 200);
      assert.equal(body.status, 'ok');
      assert.equal(body.checks.redis, 'down');
      const user = await registerUser(t.app);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
    } finally {
      await t.close();
    }
  });
});
