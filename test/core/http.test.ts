import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Type } from 'typebox';
import type { AppModule } from '../../src/core/module.js';
import { isWholeCents, MoneyAmount, Nullable } from '../../src/core/http/schemas.js';
import { FULL_REPORT_MAX_VALUES } from '../../src/core/http/validation.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp } from '../helpers/app.js';

/** A module whose routes fail on purpose, to see what a client gets. */
const failingModule: AppModule = {
  name: 'failing',
  migrations: [],
  async plugin(app) {
    app.get('/test/boom', async () => {
      throw new Error('secret internals: SELECT * FROM users at /srv/app.ts:12');
    });
  },
};

describe('HTTP plumbing', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ BODY_LIMIT_MB: '0.01' }, { modules: [failingModule] });
  });
  after(() => t.close());

  test('malformed JSON is 400 INVALID_JSON', async () => {
    const { status, body } = await call(t.app, { method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email": "a@b.c",' });
    assert.equal(status, 400);
    assert.deepEqual(body, { error: 'Malformed JSON in request body', code: 'INVALID_JSON' });
  });

  test('an empty JSON body is no body: a route that needs one says so, a bodiless one answers', async () => {
    const json = { 'content-type': 'application/json' };
    const login = await call(t.app, { method: 'POST', url: '/api/auth/login', headers: json, payload: '' });
    assert.equal(login.status, 400);
    assert.equal(login.body.code, 'VALIDATION_FAILED');
    const user = await registerUser(t.app);
    const logout = await call(t.app, { method: 'POST', url: '/api/auth/logout', headers: { ...user.headers, ...json }, payload: '' });
    assert.equal(logout.status, 204);
    assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 401, 'the logout took effect');
  });

  test('validation details: one line per bad field, from the union branch the value came closest to', async () => {
    const details = async (method: 'POST' | 'PUT', url: string, payload: object, headers = {}) => {
      const { status, body } = await call(t.app, { method, url, payload, headers });
      assert.equal(status, 400);
      return body.details;
    };
    assert.deepEqual(await details('POST', '/api/auth/login', { email: 'alice@example.com' }), [{ field: 'password', message: 'is required' }]);
    const user = await registerUser(t.app);
    assert.deepEqual(await details('PUT', '/api/auth/me', { name: 5 }, user.headers), [{ field: 'name', message: 'must be string' }], 'no "must be null"');
    assert.deepEqual(await details('PUT', '/api/auth/me', { name: ' \t ' }, user.headers), [{ field: 'name', message: 'must not be blank' }]);
    const admin = await registerAdmin(t.app);
    assert.deepEqual(await details('PUT', `/api/admin/users/${user.user.id}`, { role: 'superuser' }, admin.headers), [{ field: 'role', message: 'must be one of: user, admin' }]);
  });

  test('an unpaired UTF-16 surrogate anywhere in a JSON body is 400; a pair (an emoji) is text', async () => {
    const register = (name: string, email: string) =>
      call(t.app, { method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload: `{"email":"${email}","password":"password-123","name":"${name}","first_name":"x"}` });
    for (const name of ['a\\ud800b', '\\uDC00', 'x\\ud83d']) {
      const refused = await register(name, 'lone@example.com');
      assert.equal(refused.status, 400, name);
      assert.equal(refused.body.code, 'INVALID_CHARACTER');
    }
    const nested = await call(t.app, { method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload: `{"email":"lone@example.com","password":"password-123","deep":${'['.repeat(3000)}"\\ud800"${']'.repeat(3000)}}` });
    assert.equal(nested.status, 400);
    assert.equal(nested.body.code, 'INVALID_CHARACTER');
    const emoji = await register('a\\ud83d\\ude00b', 'lone@example.com');
    assert.equal(emoji.status, 201, 'the refused bodies created nothing');
    assert.equal(emoji.body.user.name, 'a\u{1F600}b');
  });

  test('a NUL character anywhere in a JSON body is 400 and changes nothing; an escaped backslash before u0000 is text', async () => {
    const register = (name: string) =>
      call(t.app, { method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload: `{"email":"nul@example.com","password":"password-123","name":"${name}"}` });
    const refused = await register('a\\u0000b');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INVALID_CHARACTER');
    const accepted = await register('a\\\\u0000b');
    assert.equal(accepted.status, 201, 'the first registration changed nothing');
    assert.equal(accepted.body.user.name, 'a\\u0000b');
  });

  test('invalid UTF-8 is 400 INVALID_ENCODING', async () => {
    const payload = Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc3, 0x28]), Buffer.from('@x.io","password":"12345678"}')]);
    const { status, body } = await call(t.app, { method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload });
    assert.equal(status, 400);
    assert.equal(body.code, 'INVALID_ENCODING');
  });

  test('a body over BODY_LIMIT_MB is 413', async () => {
    const { status, body } = await call(t.app, {
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(20_000) }),
    });
    assert.equal(status, 413);
    assert.equal(body.code, 'PAYLOAD_TOO_LARGE');
  });

  test('wrong types are 400, never coerced', async () => {
    const { status, body } = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 12345, password: true } });
    assert.equal(status, 400);
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.ok(body.details.length > 0, 'body.details.length > 0');
  });

  test('a prototype-poisoning body is refused', async () => {
    const { status } = await call(t.app, {
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":"p@example.com","password":"12345678","__proto__":{"role":"admin"}}',
    });
    assert.equal(status, 400);
  });

  test('an unsupported content type is 415, text/plain included; an empty text/plain body is no body', async () => {
    const { status, body } = await call(t.app, { method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    assert.equal(status, 415);
    assert.equal(body.code, 'UNSUPPORTED_MEDIA_TYPE');
    const user = await registerUser(t.app);
    const text = await call(t.app, { method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'text/plain;charset=UTF-8' }, payload: JSON.stringify({ email: user.email, password: user.password }) });
    assert.equal(text.status, 415, JSON.stringify(text.body));
    assert.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    const bodiless = await call(t.app, { method: 'POST', url: '/api/auth/logout', headers: { ...user.headers, 'content-type': 'text/plain' } });
    assert.equal(bodiless.status, 204, JSON.stringify(bodiless.body));
  });

  test('a NUL character in the URL is 400 INVALID_CHARACTER (PostgreSQL would fail on it: a 500)', async () => {
    const admin = await registerAdmin(t.app);
    const refused = await call(t.app, { method: 'GET', url: '/api/admin/users?search=a%00b', headers: admin.headers });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INVALID_CHARACTER');
  });

  test('a malformed URL and oversized request headers answer in the error shape too', async () => {
    const badUrl = await call(t.app, { method: 'GET', url: '/api/clients/%zz' });
    assert.equal(badUrl.status, 400);
    assert.deepEqual(badUrl.body, { error: 'Malformed URL', code: 'BAD_REQUEST' });
    // Header overflow is refused by node:http before Fastify sees the request: a real socket is needed.
    const url = new URL(await t.listen());
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 431 /);
    assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), { error: 'Request headers are too large', code: 'HEADERS_TOO_LARGE' });
  });

  test('an HTTP/1.1 request without a Host header is 400 in the error shape; HTTP/1.0 needs none', async () => {
    // node:http would refuse it itself, with a bare 400: a real socket shows what the client gets.
    const url = new URL(await t.listen());
    // Written without ending our side: node:http drops a request whose client half-closes before the
    // answer is ready (/health's database check is asynchronous on PostgreSQL). The server closes.
    const rawAnswer = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    const refused = await rawAnswer('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.match(refused, /\r\nx-content-type-options: nosniff\r\n/i, 'with the security headers');
    assert.deepEqual(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)), { error: 'An HTTP/1.1 request must carry a Host header', code: 'MISSING_HOST' });
    assert.match(await rawAnswer('GET /health HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /);
  });

  test('an unknown route is 404 in the error shape', async () => {
    const { status, body } = await call(t.app, { method: 'GET', url: '/api/nothing-here?x=1' });
    assert.equal(status, 404);
    assert.deepEqual(body, { error: 'Route GET /api/nothing-here not found', code: 'NOT_FOUND' });
  });

  test('an unexpected error is a bare 500 with a request id and no internals', async () => {
    const { status, body, response } = await call(t.app, { method: 'GET', url: '/test/boom' });
    assert.equal(status, 500);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'request_id']);
    assert.equal(body.code, 'INTERNAL_ERROR');
    assert.equal(body.request_id, response.headers['x-request-id']);
    assert.ok(!response.body.includes('secret') && !response.body.includes('SELECT'), "!response.body.includes('secret') && !response.body.includes('SELECT')");
  });

  test('request ids: a safe incoming x-request-id is kept, anything else replaced', async () => {
    const kept = await call(t.app, { method: 'GET', url: '/health/live', headers: { 'x-request-id': 'abc-123' } });
    assert.equal(kept.response.headers['x-request-id'], 'abc-123');
    const replaced = await call(t.app, { method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id\twith<junk>' } });
    const generated = String(replaced.response.headers['x-request-id']);
    assert.match(generated, /^[A-Za-z0-9_-]{8}-[0-9a-z]+$/, 'a generated id: process tag and sequence');
    const next = await call(t.app, { method: 'GET', url: '/health/live' });
    assert.notEqual(next.response.headers['x-request-id'], generated, 'every request gets its own id');
  });

  test('security headers are set and x-powered-by is not', async () => {
    const { response } = await call(t.app, { method: 'GET', url: '/health' });
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'");
    assert.equal(response.headers['cross-origin-resource-policy'], 'same-origin');
    assert.match(String(response.headers['strict-transport-security']), /max-age=/);
    assert.equal(response.headers['x-powered-by'], undefined);
  });

  test('CORS is off unless CORS_ORIGINS says otherwise', async () => {
    const { response } = await call(t.app, { method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });

  test('validation comes after authentication: a bad body without a token is 401', async () => {
    const { status } = await call(t.app, { method: 'POST', url: '/api/auth/password', payload: { nonsense: true } });
    assert.equal(status, 401);
  });
});

describe('CORS', () => {
  test('listed origins are allowed, others are not; "*" allows any', async () => {
    const listed = await startTestApp({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' });
    try {
      const allowed = await listed.app.inject({ method: 'OPTIONS', url: '/api/auth/me', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
      const refused = await listed.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example' } });
      assert.equal(refused.headers['access-control-allow-origin'], undefined);
    } finally {
      await listed.close();
    }
    const any = await startTestApp({ CORS_ORIGINS: '*' });
    try {
      const response = await any.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://anything.example' } });
      assert.equal(response.headers['access-control-allow-origin'], 'https://anything.example');
    } finally {
      await any.close();
    }
  });
});

describe('CORS_ORIGINS as people write them', () => {
  test('an origin with a trailing slash, capitals or its default port matches what browsers send', async () => {
    const t = await startTestApp({ CORS_ORIGINS: 'https://App.Example.com/, https://admin.example.com:443, capacitor://localhost' });
    try {
      for (const origin of ['https://app.example.com', 'https://admin.example.com', 'capacitor://localhost']) {
        const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/auth/me', headers: { origin, 'access-control-request-method': 'GET' } });
        assert.equal(preflight.headers['access-control-allow-origin'], origin, origin);
      }
    } finally {
      await t.close();
    }
  });
});

describe('rate limits', () => {
  test('the global limit answers 429 with Retry-After; health probes are not limited', async () => {
    const t = await startTestApp({ RATE_LIMIT_MAX: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(t.app, { method: 'GET', url: '/api/auth/me' })).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const limited = await call(t.app, { method: 'GET', url: '/api/auth/me' });
      assert.equal(limited.body.code, 'RATE_LIMITED');
      assert.ok(Number(limited.response.headers['retry-after']) > 0, "Number(limited.response.headers['retry-after']) > 0");
      for (let i = 0; i < 5; i++) assert.equal((await call(t.app, { method: 'GET', url: '/health' })).status, 200);
    } finally {
      await t.close();
    }
  });

  test('probing unknown routes spends the same per-IP budget', async () => {
    const t = await startTestApp({ RATE_LIMIT_MAX: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(t.app, { method: 'GET', url: `/no-such-route-${i}` })).status);
      assert.deepEqual(statuses, [404, 404, 404, 429]);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me' })).status, 429, 'one budget for the IP');
    } finally {
      await t.close();
    }
  });

  test('unknown routes with a bad body and malformed URLs spend the same budget, before any body is read', async () => {
    const t = await startTestApp({ RATE_LIMIT_MAX: '2' });
    try {
      const badBody = { method: 'POST', url: '/no-such-route', headers: { 'content-type': 'application/json' }, payload: '{not json' } as const;
      // Fastify parses a body before it finds no route (400 for bad JSON); the limit is spent before that.
      assert.deepEqual([(await call(t.app, badBody)).status, (await call(t.app, badBody)).status, (await call(t.app, badBody)).status], [400, 400, 429]);
      const other = { remoteAddress: '10.7.7.7' };
      const malformed = { method: 'GET', url: '/api/auth/%zz', ...other } as const;
      assert.deepEqual([(await call(t.app, malformed)).status, (await call(t.app, malformed)).status], [400, 400]);
      const refused = await call(t.app, malformed);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.code, 'RATE_LIMITED');
    } finally {
      await t.close();
    }
  });

  test('requests a plugin-wide guard refuses are counted too (admin routes, module routes)', async () => {
    const t = await startTestApp({ RATE_LIMIT_MAX: '3' });
    try {
      const statuses = [];
      for (const url of ['/api/admin/users', '/api/clients', '/api/investigations', '/api/admin/users']) {
        statuses.push((await call(t.app, { method: 'GET', url, headers: { authorization: 'Bearer a.b.c' } })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
    } finally {
      await t.close();
    }
  });

  test('behind TRUST_PROXY=true, what a client writes into X-Forwarded-For does not give it a fresh budget', async () => {
    const t = await startTestApp({ RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' });
    try {
      const viaProxy = [];
      for (let i = 0; i < 3; i++) {
        // The proxy (loopback) appended the address it saw; the left part is the client's own claim.
        const headers = { 'x-forwarded-for': `6.6.6.${i}, 203.0.113.9` };
        viaProxy.push((await call(t.app, { method: 'GET', url: '/api/auth/me', headers })).status);
      }
      assert.deepEqual(viaProxy, [401, 401, 429], 'counted as 203.0.113.9, the address the proxy saw');
      const direct = [];
      for (let i = 0; i < 3; i++) {
        const headers = { 'x-forwarded-for': `6.6.6.${i}` };
        direct.push((await call(t.app, { method: 'GET', url: '/api/auth/me', headers, remoteAddress: '198.51.100.1' })).status);
      }
      assert.deepEqual(direct, [401, 401, 429], 'a client on a public address is no proxy: its header is not believed');
    } finally {
      await t.close();
    }
  });

  test('auth routes have their own, stricter limit', async () => {
    const t = await startTestApp({ AUTH_RATE_LIMIT: '2' });
    try {
      const user = await registerUser(t.app);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
      const limited = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.response.headers['retry-after']) > 60, 'a 15-minute window');
      assert.equal(limited.response.headers['x-ratelimit-reset'], limited.response.headers['retry-after'], 'the headers describe the budget that refused');
      assert.equal(limited.response.headers['x-ratelimit-limit'], '2');
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
    } finally {
      await t.close();
    }
  });
});

const moneyModule: AppModule = {
  name: 'money',
  migrations: [],
  async plugin(app) {
    const body = Type.Object({ amounts: Type.Array(MoneyAmount()), total: MoneyAmount() }, { additionalProperties: false });
    app.post('/test/money', { schema: { body, response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true }));
    const counts = Type.Object({ counts: Type.Array(Nullable(Type.Integer({ minimum: 0 }))) }, { additionalProperties: false });
    app.post('/test/counts', { schema: { body: counts, response: { 200: Type.Object({ ok: Type.Boolean() }) } } }, async () => ({ ok: true }));
  },
};

/** Response shapes the serializer is given in a simpler form (nullable fields, unions of strings). */
const Shape = Type.Object({
  name: Nullable(Type.String()),
  count: Nullable(Type.Integer()),
  owner: Nullable(Type.Object({ id: Type.String(), role: Type.Union([Type.Literal('user'), Type.Literal('admin')]) })),
  tags: Nullable(Type.Array(Type.String())),
  kind: Type.Enum(['a', 'b']),
  email: Type.Union([Type.String({ format: 'email' }), Type.Literal('')]),
  when: Nullable(Type.String({ format: 'date-time' })),
  either: Type.Union([Type.String(), Type.Integer()]),
});
const shapesModule: AppModule = {
  name: 'shapes',
  migrations: [],
  async plugin(app) {
    const bodies = [
      { name: 'n', count: 0, owner: { id: 'u1', role: 'admin', secret: 'x' }, tags: ['t'], kind: 'b', email: 'a@b.io', when: new Date(Date.UTC(2026, 0, 2)), either: 3, extra: 1 },
      { name: null, count: null, owner: null, tags: null, kind: 'a', email: '', when: null, either: 'x' },
    ];
    app.get<{ Params: { index: string } }>('/test/shapes/:index', { schema: { response: { 200: Shape } } }, async (request) => bodies[Number(request.params.index)]);
  },
};

describe('response serialization', () => {
  for (const NODE_ENV of ['development', 'production']) {
    test(`nullable fields, unions and formats are written as declared (${NODE_ENV})`, async () => {
      const t = await startTestApp({ NODE_ENV }, { modules: [shapesModule] });
      try {
        const full = await call(t.app, { method: 'GET', url: '/test/shapes/0' });
        assert.equal(full.status, 200);
        assert.deepEqual(full.body, {
          name: 'n',
          count: 0,
          owner: { id: 'u1', role: 'admin' },
          tags: ['t'],
          kind: 'b',
          email: 'a@b.io',
          when: '2026-01-02T00:00:00.000Z',
          either: 3,
        });
        const empty = await call(t.app, { method: 'GET', url: '/test/shapes/1' });
        assert.equal(empty.status, 200);
        assert.deepEqual(empty.body, { name: null, count: null, owner: null, tags: null, kind: 'a', email: '', when: null, either: 'x' });
      } finally {
        await t.close();
      }
    });
  }
});

describe('production mode (schemas compiled on first use)', () => {
  test('validation, error details and response filtering behave exactly as in development', async () => {
    const t = await startTestApp({ NODE_ENV: 'production' });
    try {
      const invalid = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: 'nope', password: 'short', extra: 1 } });
      assert.equal(invalid.status, 400);
      assert.deepEqual(invalid.body.details.map((detail: { field: string }) => detail.field).sort(), ['email', 'extra', 'password']);
      const again = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: 'nope' } });
      assert.deepEqual(again.body.details.map((detail: { field: string }) => detail.field).sort(), ['email', 'password'], 'errors are not carried over');
      const user = await registerUser(t.app);
      const me = await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
      assert.equal(me.status, 200);
      assert.equal(me.body.email, user.email);
      assert.ok(!('password_hash' in me.body) && !('session_id' in me.body), 'the response schema filters fields');
      assert.equal((await call(t.app, { method: 'GET', url: '/api/admin/users?limit=0', headers: user.headers })).status, 403);
    } finally {
      await t.close();
    }
  });
});

describe('load shedding', () => {
  test('while the event loop is stalled past MAX_EVENT_LOOP_DELAY_MS, requests get 503 OVERLOADED with Retry-After', async () => {
    const t = await startTestApp({ MAX_EVENT_LOOP_DELAY_MS: '50' });
    try {
      assert.equal((await call(t.app, { method: 'GET', url: '/health/live' })).status, 200);
      let overloaded: Awaited<ReturnType<typeof call>> | undefined;
      // Keep the loop saturated (100 ms synchronous slices, as under sustained overload) for longer
      // than the plugin's 1 s sampling window, then ask.
      for (let attempt = 0; attempt < 5 && !overloaded; attempt++) {
        const saturatedUntil = Date.now() + 1300;
        while (Date.now() < saturatedUntil) {
          const sliceEnd = Date.now() + 100;
          while (Date.now() < sliceEnd);
          await new Promise((resolve) => setImmediate(resolve));
        }
        const probes = await Promise.all(['/health/live', '/health', '/health/ready', '/metrics'].map((url) => call(t.app, { method: 'GET', url })));
        const answer = await call(t.app, { method: 'GET', url: '/api/auth/me' });
        if (answer.status === 503) {
          overloaded = answer;
          assert.deepEqual(probes.map((probe) => probe.status), [200, 200, 200, 200], 'probes are answered while load is shed');
          assert.equal(probes[1]!.body.status, 'ok');
        }
      }
      assert.ok(overloaded, 'a stalled loop is detected');
      assert.equal(overloaded.body.code, 'OVERLOADED');
      assert.equal(overloaded.response.headers['retry-after'], '5');
    } finally {
      await t.close();
    }
  });
});

describe('money amounts (MoneyAmount)', () => {
  test('whole cents: every two-decimal amount passes, a third decimal does not', () => {
    // Spread over the whole range, up to the clinic's maximum of 100,000,000.00.
    for (let cents = 0; cents <= 10_000_000_000; cents += 9_999_991) {
      for (const c of [cents, cents + 7, cents + 99]) {
        const amount = Number(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`);
        assert.ok(isWholeCents(amount), String(amount));
      }
    }
    for (const amount of [0.07, 10.99, 33.33, 99_999_999.99]) assert.ok(isWholeCents(amount), String(amount));
    for (const amount of [50.004, 10.999, 150.255, 0.001, 1e-7, 99_999_999.995]) assert.ok(!isWholeCents(amount), String(amount));
  });


  test('each item of an array of unions is reported on its own', async () => {
    const t = await startTestApp({}, { modules: [moneyModule] });
    try {
      const { status, body } = await call(t.app, { method: 'POST', url: '/test/counts', payload: { counts: [1, -1, null, 'x'] } });
      assert.equal(status, 400);
      assert.deepEqual(body.details, [
        { field: 'counts.1', message: 'must be >= 0' },
        { field: 'counts.3', message: 'must be integer' },
      ]);
    } finally {
      await t.close();
    }
  });

  test('a body of more values than a full report is worth is refused with its first error only; a valid one passes', async () => {
    const t = await startTestApp({}, { modules: [moneyModule] });
    try {
      const many = Array<number>(FULL_REPORT_MAX_VALUES + 1).fill(-1);
      const refused = await call(t.app, { method: 'POST', url: '/test/counts', payload: { counts: many } });
      assert.equal(refused.status, 400);
      assert.deepEqual(refused.body.details, [{ field: 'counts.0', message: 'must be >= 0' }]);
      const few = await call(t.app, { method: 'POST', url: '/test/counts', payload: { counts: many.slice(0, 3) } });
      assert.equal(few.body.details.length, 3, 'an ordinary body lists every bad field');
      assert.equal((await call(t.app, { method: 'POST', url: '/test/counts', payload: { counts: many.map(() => 1) } })).status, 200);
    } finally {
      await t.close();
    }
  });

  test('a body amount with a third decimal is 400 naming the field, before anything is done', async () => {
    const t = await startTestApp({}, { modules: [moneyModule] });
    try {
      const refused = await call(t.app, { method: 'POST', url: '/test/money', payload: { amounts: [10.99, 50.004], total: 0.07 } });
      assert.equal(refused.status, 400);
      assert.deepEqual(refused.body.details, [{ field: 'amounts.1', message: 'must have at most two decimal places (whole cents)' }]);
      assert.equal((await call(t.app, { method: 'POST', url: '/test/money', payload: { amounts: [10.99, 0.07], total: 99_999_999.99 } })).status, 200);
    } finally {
      await t.close();
    }
  });
});
