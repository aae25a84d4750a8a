import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { hashSync as bcryptHash } from '@node-rs/bcrypt';
import { openDatabase } from '../../src/core/db/connect.js';
import { call, registerAdmin, registerUser, startTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function signJwt(header: object, payload: object, secret = TEST_JWT_SECRET): string {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

describe('auth', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  describe('register', () => {
    test('creates a user and returns tokens, never the password hash', async () => {
      const { status, body } = await call(t.app, {
        method: 'POST',
        url: '/api/auth/register',
        payload: { email: 'Alice@Example.com', password: 'long enough pw', name: 'Alice', username: 'alice', first_name: 'Alice', last_name: 'Liddell' },
      });
      assert.equal(status, 201);
      assert.equal(body.message, 'User registered successfully');
      assert.match(body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.ok(body.refresh_token.length >= 40, 'body.refresh_token.length >= 40');
      assert.equal(body.user.email, 'alice@example.com');
      assert.equal(body.user.username, 'alice');
      assert.equal(body.user.role, 'user');
      assert.equal(body.user.is_active, true);
      assert.match(body.user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      assert.ok(!('password_hash' in body.user) && !('password' in body.user) && !('failed_logins' in body.user), "!('password_hash' in body.user) && !('password' in body.user) && !('failed_logins' in body.user)");
    });

    test('an email imported in mixed case logs in and stays taken, whatever the case', async () => {
      const user = await registerUser(t.app);
      const imported = `Imported.${user.email.split('@')[0]}@Example.COM`;
      await t.app.db.updateTable('users').set({ email: imported }).where('id', '=', user.user.id).execute();
      const login = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: imported.toLowerCase(), password: user.password } });
      assert.equal(login.status, 200);
      const again = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: imported.toLowerCase(), password: 'long enough pw' } });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'EMAIL_TAKEN');
      const count = await t.app.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where(sql<string>`lower(email)`, '=', imported.toLowerCase()).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
    });

    test('two registrations racing for one username: the loser is told the username is taken', async () => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, (_, i) => call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: `racer${i}-${Date.now()}@example.com`, password: 'long enough pw', username: `racer-${process.pid}` } })),
      );
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409, 409, 409]);
      for (const answer of answers.filter((candidate) => candidate.status === 409)) assert.equal(answer.body.code, 'USERNAME_TAKEN');
    });

    test('409 for a taken email or username, whatever their case', async () => {
      const user = await registerUser(t.app, { username: 'TakenName' });
      const email = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: user.email.toUpperCase(), password: 'long enough pw' } });
      assert.equal(email.status, 409);
      assert.equal(email.body.code, 'EMAIL_TAKEN');
      const username = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: 'other@example.com', password: 'long enough pw', username: 'takenname' } });
      assert.equal(username.status, 409);
      assert.equal(username.body.code, 'USERNAME_TAKEN');
    });

    test('400 with one detail per bad field, and nothing is created', async () => {
      const { status, body } = await call(t.app, {
        method: 'POST',
        url: '/api/auth/register',
        payload: { email: 'not-an-email', password: 'short', username: 'a b', role: 'admin' },
      });
      assert.equal(status, 400);
      assert.equal(body.code, 'VALIDATION_FAILED');
      const fields = body.details.map((detail: { field: string }) => detail.field).sort();
      assert.deepEqual(fields, ['email', 'password', 'role', 'username']);
      const login = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'not-an-email', password: 'short' } });
      assert.equal(login.status, 401);
    });

    test('a password over 128 characters is refused', async () => {
      const { status } = await call(t.app, { method: 'POST', url: '/api/auth/register', payload: { email: 'long@example.com', password: 'x'.repeat(129) } });
      assert.equal(status, 400);
    });
  });

  describe('login', () => {
    test('by email (any case) or by username', async () => {
      const user = await registerUser(t.app, { username: 'LoginName' });
      const byEmail = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email.toUpperCase(), password: user.password } });
      assert.equal(byEmail.status, 200);
      assert.equal(byEmail.body.message, 'Login successful');
      assert.equal(byEmail.body.user.id, user.user.id);
      const byUsername = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { username: 'loginname', password: user.password } });
      assert.equal(byUsername.status, 200);
      assert.ok(byUsername.body.token && byUsername.body.refresh_token, 'byUsername.body.token && byUsername.body.refresh_token');
    });

    test('unknown user and wrong password get the same 401', async () => {
      const user = await registerUser(t.app);
      const wrong = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'wrong password' } });
      const unknown = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'nobody@example.com', password: 'wrong password' } });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      assert.equal(wrong.body.error, 'Invalid credentials');
    });

    test('five failures in a row lock the account for 15 minutes, even for the right password', async () => {
      const user = await registerUser(t.app);
      for (let i = 0; i < 5; i++) {
        const { status } = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: `wrong ${i}` } });
        assert.equal(status, 401);
      }
      const locked = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.code, 'ACCOUNT_LOCKED');
      const retryAfter = Number(locked.response.headers['retry-after']);
      assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
    });

    test('a success resets the failure count', async () => {
      const user = await registerUser(t.app);
      for (let i = 0; i < 4; i++) await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'wrong' } });
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
      for (let i = 0; i < 4; i++) await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'wrong' } });
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
    });

    test('an expired lock lets the user in again', async () => {
      const user = await registerUser(t.app);
      await t.app.db.updateTable('users').set({ failed_logins: 5, locked_until: new Date(Date.now() - 1000).toISOString() }).where('id', '=', user.user.id).execute();
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
    });

    test('a bcrypt hash from a migrated system verifies and is replaced by argon2id', async () => {
      const user = await registerUser(t.app);
      for (const prefix of ['$2b$', '$2a$']) {
        const legacy = bcryptHash('legacy password', 10).replace(/^\$2[aby]\$/, prefix);
        await t.app.db.updateTable('users').set({ password_hash: legacy }).where('id', '=', user.user.id).execute();
        const wrong = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'not it' } });
        assert.equal(wrong.status, 401);
        const { status } = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'legacy password' } });
        assert.equal(status, 200);
        const row = await t.app.db.selectFrom('users').select('password_hash').where('id', '=', user.user.id).executeTakeFirstOrThrow();
        assert.match(row.password_hash, /^\$argon2id\$/);
        assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'legacy password' } })).status, 200);
      }
    });

    test('a deactivated account cannot log in', async () => {
      const user = await registerUser(t.app);
      await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', user.user.id).execute();
      const { status, body } = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } });
      assert.equal(status, 403);
      assert.equal(body.code, 'ACCOUNT_DISABLED');
    });
  });

  describe('tokens', () => {
    test('missing, malformed, tampered, foreign, alg:none and expired tokens are 401', async () => {
      const user = await registerUser(t.app);
      const [header, payload] = user.token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const cases: Record<string, string | undefined> = {
        missing: undefined,
        'not bearer': `Token ${user.token}`,
        garbage: 'Bearer abc.def',
        tampered: `Bearer ${header}.${b64({ ...claims, sub: '00000000-0000-7000-8000-000000000000' })}.${user.token.split('.')[2]}`,
        'other secret': `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-another-secret-another-secret')}`,
        'alg none': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
        'alg none with signature': `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${user.token.split('.')[2]}`,
        expired: `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: 1_000_000, exp: 1_000_100 })}`,
        'HS512 with our secret': `Bearer ${(() => {
          const unsigned = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(claims)}`;
          return `${unsigned}.${createHmac('sha512', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
        })()}`,
      };
      for (const [name, authorization] of Object.entries(cases)) {
        const { status, body } = await call(t.app, { method: 'GET', url: '/api/auth/me', headers: authorization ? { authorization } : {} });
        assert.equal(status, 401, name);
        assert.equal(body.code, 'UNAUTHORIZED', name);
      }
      // The genuine token still works: the cases above failed for their own reason.
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
      // The scheme name is case-insensitive.
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `bearer ${user.token}` } })).status, 200);
    });

    test('a correctly signed token for a session that does not exist is 401', async () => {
      const user = await registerUser(t.app);
      const forged = signJwt({ alg: 'HS256', typ: 'JWT' }, { sub: user.user.id, sid: '00000000-0000-7000-8000-000000000000', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${forged}` } })).status, 401);
    });

    test('a token that worked stops working when it expires (verified tokens are remembered only until then)', async () => {
      const user = await registerUser(t.app);
      const claims = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString());
      const exp = Math.floor(Date.now() / 1000) + 2;
      const shortLived = `Bearer ${signJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp })}`;
      const me = () => call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: shortLived } });
      assert.equal((await me()).status, 200);
      assert.equal((await me()).status, 200);
      await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 50));
      assert.equal((await me()).status, 401);
    });

    test('the access token expires after JWT_TTL (7 days by default)', async () => {
      const user = await registerUser(t.app);
      const claims = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString());
      assert.equal(claims.exp - claims.iat, 7 * 86400);
    });
  });

  describe('me', () => {
    test('GET returns the user, PUT updates the profile', async () => {
      const user = await registerUser(t.app);
      const me = await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
      assert.equal(me.status, 200);
      assert.equal(me.body.email, user.email);
      const updated = await call(t.app, {
        method: 'PUT',
        url: '/api/auth/me',
        headers: user.headers,
        payload: { name: 'New Name', username: `renamed${Date.now()}`, first_name: 'New', last_name: null, avatar: 'https://example.com/a.png' },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.name, 'New Name');
      assert.equal(updated.body.last_name, null);
      assert.equal(updated.body.avatar, 'https://example.com/a.png');
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).body.name, 'New Name');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const unchanged = await call(t.app, { method: 'PUT', url: '/api/auth/me', headers: user.headers, payload: {} });
      assert.equal(unchanged.status, 200);
      assert.deepEqual(unchanged.body, updated.body, 'an empty update changes nothing, updated_at included');
    });

    test('PUT refuses a taken username, unknown fields, a role change and a javascript: avatar', async () => {
      const other = await registerUser(t.app, { username: `other${Date.now()}` });
      const user = await registerUser(t.app);
      const taken = await call(t.app, { method: 'PUT', url: '/api/auth/me', headers: user.headers, payload: { username: other.user.username!.toUpperCase() } });
      assert.equal(taken.status, 409);
      for (const payload of [{ role: 'admin' }, { email: 'x@example.com' }, { avatar: 'javascript:alert(1)' }, { name: 42 }]) {
        const { status, body } = await call(t.app, { method: 'PUT', url: '/api/auth/me', headers: user.headers, payload });
        assert.equal(status, 400, JSON.stringify(payload));
        assert.equal(body.code, 'VALIDATION_FAILED');
      }
      const me = await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
      assert.equal(me.body.role, 'user');
      assert.equal(me.body.username, null);
    });

    test('401 comes before 400: without a token the body is not examined', async () => {
      const { status } = await call(t.app, { method: 'PUT', url: '/api/auth/me', payload: { role: 'admin' } });
      assert.equal(status, 401);
    });
  });

  describe('refresh', () => {
    test('rotates: the new pair works, the old refresh token stops working', async () => {
      const user = await registerUser(t.app);
      const first = await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } });
      assert.equal(first.status, 200);
      assert.notEqual(first.body.refresh_token, user.refresh_token);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${first.body.token}` } })).status, 200);
      const second = await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: first.body.refresh_token } });
      assert.equal(second.status, 200);
    });

    test('presenting a used refresh token revokes the whole session', async () => {
      const user = await registerUser(t.app);
      const rotated = await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } });
      const reuse = await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } });
      assert.equal(reuse.status, 401);
      assert.equal(reuse.body.code, 'REFRESH_TOKEN_REUSED');
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: rotated.body.refresh_token } })).status, 401);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${rotated.body.token}` } })).status, 401);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 401);
    });

    test('ten concurrent refreshes with one token: at most one succeeds, the rest are 401, none fails', async () => {
      // On PostgreSQL they once deadlocked on the rows they update and delete (a 500 in about one round in five).
      const own = await startTestApp({ AUTH_RATE_LIMIT: '1000' });
      try {
        for (let round = 0; round < 8; round++) {
          const user = await registerUser(own.app);
          const results = await Promise.all(Array.from({ length: 10 }, () => call(own.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } })));
          const statuses = results.map((result) => result.status);
          assert.ok(statuses.every((status) => status === 200 || status === 401), `statuses: ${statuses.join(', ')}`);
          assert.ok(statuses.filter((status) => status === 200).length <= 1, `statuses: ${statuses.join(', ')}`);
        }
      } finally {
        await own.close();
      }
    });

    test('unknown and expired refresh tokens are 401 and revoke nothing', async () => {
      const user = await registerUser(t.app);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: 'not-a-real-token' } })).status, 401);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
      await t.app.db.updateTable('refresh_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } })).status, 401);
    });
  });

  describe('logout and password change', () => {
    test('logout ends this session at once and only this one', async () => {
      const user = await registerUser(t.app);
      const second = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } });
      // Checked once before, so the session's last check is remembered (see "the session check").
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
      const { status } = await call(t.app, { method: 'POST', url: '/api/auth/logout', headers: user.headers });
      assert.equal(status, 204);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 401);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } })).status, 401);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${second.body.token}` } })).status, 200);
    });

    test('password change keeps this session, revokes the others, and swaps the password', async () => {
      const user = await registerUser(t.app);
      const other = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } });
      const wrong = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: 'nope nope', new_password: 'brand new password' } });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.code, 'INVALID_CURRENT_PASSWORD');
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${other.body.token}` } })).status, 200);

      const changed = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: user.password, new_password: 'brand new password' } });
      assert.equal(changed.status, 204);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
      assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${other.body.token}` } })).status, 401);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: other.body.refresh_token } })).status, 401);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 401);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'brand new password' } })).status, 200);
    });

    test('wrong current passwords count toward the account lock: a stolen token cannot guess on unhindered', async () => {
      const user = await registerUser(t.app);
      for (let i = 0; i < 5; i++) {
        const wrong = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: `wrong guess ${i}`, new_password: 'brand new password' } });
        assert.equal(wrong.body.code, 'INVALID_CURRENT_PASSWORD');
      }
      const locked = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: user.password, new_password: 'brand new password' } });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.code, 'ACCOUNT_LOCKED');
      assert.ok(Number(locked.response.headers['retry-after']) > 14 * 60, `Retry-After ${locked.response.headers['retry-after']}`);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 429, 'logins share the lock');

      const admin = await registerAdmin(t.app);
      assert.equal((await call(t.app, { method: 'POST', url: `/api/admin/users/${user.user.id}/unlock`, headers: admin.headers })).status, 200);
      const changed = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: user.password, new_password: 'brand new password' } });
      assert.equal(changed.status, 204);
    });

    test('a new password shorter than 8 characters is refused', async () => {
      const user = await registerUser(t.app);
      const { status } = await call(t.app, { method: 'POST', url: '/api/auth/password', headers: user.headers, payload: { current_password: user.password, new_password: 'short' } });
      assert.equal(status, 400);
    });
  });

  // On SQLite a session's last check is reused while the database has not changed (guards.ts):
  // these show that no change, from this process or another, and no expiry, goes unseen.
  describe('the session check', () => {
    const sessionOf = (user: { token: string }) => JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString()).sid as string;

    test('a session revoked or a user deactivated through another connection (another worker, the CLI) is refused at once', async () => {
      const other = await openDatabase(t.config);
      try {
        const revoked = await registerUser(t.app);
        const deactivated = await registerUser(t.app);
        for (const user of [revoked, deactivated]) {
          for (let i = 0; i < 2; i++) assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
        }
        await other.db.updateTable('sessions').set({ revoked_at: new Date().toISOString() }).where('id', '=', sessionOf(revoked)).execute();
        assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: revoked.headers })).status, 401);
        assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: deactivated.headers })).status, 200);
        await other.db.updateTable('users').set({ is_active: false }).where('id', '=', deactivated.user.id).execute();
        assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: deactivated.headers })).status, 401);
      } finally {
        await other.close();
      }
    });

    test('an administrator demoted through another connection loses the admin routes at once, and a profile change shows at once', async () => {
      const other = await openDatabase(t.config);
      try {
        const admin = await registerAdmin(t.app);
        assert.equal((await call(t.app, { method: 'GET', url: '/api/admin/users', headers: admin.headers })).status, 200);
        await other.db.updateTable('users').set({ name: 'Renamed Elsewhere' }).where('id', '=', admin.user.id).execute();
        assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: admin.headers })).body.name, 'Renamed Elsewhere');
        await other.db.updateTable('users').set({ role: 'user' }).where('id', '=', admin.user.id).execute();
        assert.equal((await call(t.app, { method: 'GET', url: '/api/admin/users', headers: admin.headers })).status, 403);
      } finally {
        await other.close();
      }
    });

    test('a session whose expiry passes is refused, though nothing was written since its last check', async () => {
      const short = await startTestApp({ REFRESH_TTL: '2' });
      try {
        const user = await registerUser(short.app);
        const me = () => call(short.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
        assert.equal((await me()).status, 200);
        assert.equal((await me()).status, 200);
        const expiresAt = await short.app.db.selectFrom('sessions').select('expires_at').where('id', '=', sessionOf(user)).executeTakeFirstOrThrow();
        await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt.expires_at) - Date.now() + 50));
        assert.equal((await me()).status, 401);
      } finally {
        await short.close();
      }
    });
  });
});

describe('login lock under concurrent guesses', () => {
  // An app of its own: the bursts below would spend most of the shared app's AUTH_RATE_LIMIT.
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT: '1000' });
  });
  after(() => t.close());

  test('guesses sent all at once: no more than five are checked, the rest are refused as locked', async () => {
    const user = await registerUser(t.app);
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: `wrong ${i}` } })),
    );
    const statuses = guesses.map((guess) => guess.status);
    assert.equal(statuses.filter((status) => status === 401).length, 5, `statuses ${statuses.join(',')}`);
    assert.equal(statuses.filter((status) => status === 429).length, 15, `statuses ${statuses.join(',')}`);
    for (const refused of guesses.filter((guess) => guess.status === 429)) {
      assert.equal(refused.body.code, 'ACCOUNT_LOCKED');
      assert.ok(Number(refused.response.headers['retry-after']) > 14 * 60, `Retry-After ${refused.response.headers['retry-after']}`);
    }
    assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 429);
  });

  test('guesses sent all at once after a lock expired: still no more than five are checked', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await registerUser(t.app);
      await t.app.db.updateTable('users').set({ failed_logins: 5, locked_until: new Date(Date.now() - 1000).toISOString() }).where('id', '=', user.user.id).execute();
      const guesses = await Promise.all(
        Array.from({ length: 60 }, (_, i) => call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: `wrong ${i}` } })),
      );
      const statuses = guesses.map((guess) => guess.status);
      assert.equal(statuses.filter((status) => status === 401).length, 5, `statuses ${statuses.join(',')}`);
    }
  });

  test('a correct password sent with a burst of wrong ones is not let in past the lock', async () => {
    const user = await registerUser(t.app);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: i === 19 ? user.password : `wrong ${i}` } })),
    );
    assert.equal(answers[19]!.status, 429, 'the twentieth attempt comes after five failures');
  });
});
