import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { call, registerAdmin, registerUser, startTestApp, type TestApp } from '../helpers/app.js';

describe('admin user management', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('401 without a token, 403 for a non-admin, on every admin route', async () => {
    const user = await registerUser(t.app);
    const routes = [
      { method: 'GET' as const, url: '/api/admin/users' },
      { method: 'PUT' as const, url: `/api/admin/users/${user.user.id}`, payload: { role: 'admin' } },
      { method: 'POST' as const, url: `/api/admin/users/${user.user.id}/unlock` },
    ];
    for (const route of routes) {
      assert.equal((await call(t.app, route)).status, 401, route.url);
      const forbidden = await call(t.app, { ...route, headers: user.headers });
      assert.equal(forbidden.status, 403, route.url);
      assert.equal(forbidden.body.code, 'FORBIDDEN');
    }
    const me = await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers });
    assert.equal(me.body.role, 'user');
  });

  test('lists users in pages with a total, and searches', async () => {
    const admin = await registerAdmin(t.app);
    for (let i = 0; i < 3; i++) await registerUser(t.app, { name: `Paged Person ${i}` });
    const page = await call(t.app, { method: 'GET', url: '/api/admin/users?limit=2&offset=1', headers: admin.headers });
    assert.equal(page.status, 200);
    assert.equal(page.body.users.length, 2);
    assert.equal(page.body.pagination.limit, 2);
    assert.equal(page.body.pagination.offset, 1);
    assert.ok(page.body.pagination.total >= 4, 'page.body.pagination.total >= 4');
    assert.ok(page.body.users.every((user: Record<string, unknown>) => !('password_hash' in user)), "page.body.users.every((user: Record<string, unknown>) => !('password_hash' in user))");
    const search = await call(t.app, { method: 'GET', url: '/api/admin/users?search=paged%20PERSON', headers: admin.headers });
    assert.equal(search.body.pagination.total, 3);
    const tooMany = await call(t.app, { method: 'GET', url: '/api/admin/users?limit=201', headers: admin.headers });
    assert.equal(tooMany.status, 400);
    // Parameters given empty (a client's blank filter fields) are parameters not given.
    const blank = await call(t.app, { method: 'GET', url: '/api/admin/users?limit=&offset=&search=', headers: admin.headers });
    assert.equal(blank.status, 200, JSON.stringify(blank.body));
    assert.deepEqual([blank.body.pagination.limit, blank.body.pagination.offset], [50, 0], 'the defaults');
    assert.equal(blank.body.pagination.total, page.body.pagination.total, 'no search');
    const literal = await call(t.app, { method: 'GET', url: '/api/admin/users?search=%25', headers: admin.headers });
    assert.equal(literal.body.pagination.total, 0, '% is matched literally, not as a wildcard');
  });

  test('promotes, deactivates (revoking sessions at once) and reactivates', async () => {
    const admin = await registerAdmin(t.app);
    const user = await registerUser(t.app);
    const promoted = await call(t.app, { method: 'PUT', url: `/api/admin/users/${user.user.id}`, headers: admin.headers, payload: { role: 'admin' } });
    assert.equal(promoted.status, 200);
    assert.equal(promoted.body.role, 'admin');
    assert.equal((await call(t.app, { method: 'GET', url: '/api/admin/users', headers: user.headers })).status, 200);

    const deactivated = await call(t.app, { method: 'PUT', url: `/api/admin/users/${user.user.id}`, headers: admin.headers, payload: { is_active: false } });
    assert.equal(deactivated.body.is_active, false);
    assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 401);
    assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/refresh', payload: { refresh_token: user.refresh_token } })).status, 401);

    await call(t.app, { method: 'PUT', url: `/api/admin/users/${user.user.id}`, headers: admin.headers, payload: { is_active: true } });
    assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
  });

  test('refuses bad input: unknown id 404, bad id 400, empty or unknown fields 400, demoting yourself 400', async () => {
    const admin = await registerAdmin(t.app);
    const missing = await call(t.app, { method: 'PUT', url: '/api/admin/users/01900000-0000-7000-8000-000000000000', headers: admin.headers, payload: { role: 'admin' } });
    assert.equal(missing.status, 404);
    assert.equal((await call(t.app, { method: 'PUT', url: '/api/admin/users/not-a-uuid', headers: admin.headers, payload: { role: 'admin' } })).status, 400);
    assert.equal((await call(t.app, { method: 'PUT', url: `/api/admin/users/${admin.user.id}`, headers: admin.headers, payload: {} })).status, 400);
    assert.equal((await call(t.app, { method: 'PUT', url: `/api/admin/users/${admin.user.id}`, headers: admin.headers, payload: { role: 'superuser' } })).status, 400);
    const self = await call(t.app, { method: 'PUT', url: `/api/admin/users/${admin.user.id}`, headers: admin.headers, payload: { role: 'user' } });
    assert.equal(self.status, 400);
    assert.equal(self.body.code, 'CANNOT_MODIFY_SELF');
    assert.equal((await call(t.app, { method: 'GET', url: '/api/auth/me', headers: admin.headers })).body.role, 'admin');
  });

  test('unlock lifts a login lock', async () => {
    const admin = await registerAdmin(t.app);
    const user = await registerUser(t.app);
    for (let i = 0; i < 5; i++) await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: 'wrong' } });
    assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 429);
    const unlocked = await call(t.app, { method: 'POST', url: `/api/admin/users/${user.user.id}/unlock`, headers: admin.headers });
    assert.equal(unlocked.status, 200);
    assert.equal(unlocked.body.user.id, user.user.id);
    assert.equal((await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: user.password } })).status, 200);
    assert.equal((await call(t.app, { method: 'POST', url: '/api/admin/users/01900000-0000-7000-8000-000000000000/unlock', headers: admin.headers })).status, 404);
  });
});

describe('the last admin', () => {
  test('two admins demoting or deactivating each other at once leave one of them an admin', async () => {
    for (const change of [{ role: 'user' }, { is_active: false }]) {
      // A database of its own: any other admin would make both changes legitimate.
      const t = await startTestApp();
      try {
        const first = await registerAdmin(t.app);
        const second = await registerAdmin(t.app);
        const answers = await Promise.all([
          call(t.app, { method: 'PUT', url: `/api/admin/users/${second.user.id}`, headers: first.headers, payload: change }),
          call(t.app, { method: 'PUT', url: `/api/admin/users/${first.user.id}`, headers: second.headers, payload: change }),
        ]);
        const statuses = answers.map((answer) => answer.status).sort();
        assert.equal(statuses[0], 200, `${JSON.stringify(change)}: ${statuses.join(',')}`);
        assert.ok(statuses[1] === 409 || statuses[1] === 401 || statuses[1] === 403, `${JSON.stringify(change)}: ${statuses.join(',')}`);
        const admins = await t.app.db.selectFrom('users').select('id').where('role', '=', 'admin').where('is_active', '=', true).execute();
        assert.equal(admins.length, 1, `${JSON.stringify(change)} left ${admins.length} active admins`);
      } finally {
        await t.close();
      }
    }
  });
});

describe('first admin', () => {
  test('ADMIN_EMAIL/ADMIN_PASSWORD create an admin on a fresh database only', async () => {
    const t = await startTestApp({ ADMIN_EMAIL: 'Boss@Example.com', ADMIN_PASSWORD: 'boss password 1' });
    try {
      const login = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'boss@example.com', password: 'boss password 1' } });
      assert.equal(login.status, 200);
      assert.equal(login.body.user.role, 'admin');
    } finally {
      await t.close();
    }
    const withUsers = await startTestApp();
    try {
      await registerUser(withUsers.app);
      const { bootstrapAdmin } = await import('../../src/core/auth/bootstrap.js');
      assert.equal(await bootstrapAdmin(withUsers.app.db, { email: 'late@example.com', password: 'late password' }), null);
      assert.equal((await call(withUsers.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'late@example.com', password: 'late password' } })).status, 401);
    } finally {
      await withUsers.close();
    }
  });

  test('the CLI creates an admin who can log in, and refuses a taken email', async () => {
    const t = await startTestApp();
    try {
      const env = { ...process.env, DATA_DIR: t.config.dataDir, DATABASE_URL: t.config.databaseUrl ?? '', JWT_SECRET: t.config.jwtSecret, LOG_LEVEL: 'silent', MODULES: '' };
      if (!t.config.databaseUrl) delete (env as Record<string, string | undefined>).DATABASE_URL;
      const output = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'admin', 'create', '--email', 'cli@example.com', '--password', 'cli password 1'], { env, encoding: 'utf8' });
      assert.match(output, /Admin cli@example.com created/);
      const login = await call(t.app, { method: 'POST', url: '/api/auth/login', payload: { email: 'cli@example.com', password: 'cli password 1' } });
      assert.equal(login.status, 200);
      assert.equal(login.body.user.role, 'admin');
      assert.throws(() =>
        execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'admin', 'create', '--email', 'cli@example.com', '--password', 'cli password 1'], { env, stdio: 'pipe' }),
      );
    } finally {
      await t.close();
    }
  });
});
