import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { CLINIC_ROLES } from '../../../src/modules/clinic/roles.js';
import type { ClinicTables } from '../../../src/modules/clinic/tables.js';
import { registerUser, type TestApp, type TestUser } from '../../helpers/app.js';
import { call, staffUser, startClinic } from './helpers.js';

const READ_PATIENTS = ['admin', 'receptionist', 'nurse', 'clinical_officer', 'cashier', 'claims_manager'];
const WRITE_PATIENTS = ['admin', 'receptionist'];
const ALL = [...CLINIC_ROLES];
const WRITE_VISITS = ['admin', 'receptionist', 'nurse', 'clinical_officer'];
const CLINICAL = ['admin', 'nurse', 'clinical_officer'];
const BILLING = ['admin', 'cashier', 'pharmacist'];
const CLAIMS = ['admin', 'claims_manager', 'clinical_officer'];
const REPORTS = ['admin', 'claims_manager'];
const ADMIN = ['admin'];

const id = randomUUID();
/** Every route of the contract and who may use it. Bodies are empty: the role check runs before validation. */
const ROUTES: Array<[InjectOptions['method'], string, string[]]> = [
  ['GET', '/api/patients', READ_PATIENTS],
  ['POST', '/api/patients', WRITE_PATIENTS],
  ['GET', `/api/patients/${id}`, READ_PATIENTS],
  ['PUT', `/api/patients/${id}`, WRITE_PATIENTS],
  ['DELETE', `/api/patients/${id}`, ADMIN],
  ['GET', '/api/visits', ALL],
  ['GET', '/api/visits/queue', ALL],
  ['GET', `/api/visits/${id}`, ALL],
  ['POST', '/api/visits', WRITE_VISITS],
  ['PATCH', `/api/visits/${id}/status`, WRITE_VISITS],
  ['PUT', `/api/visits/${id}`, CLINICAL],
  ['POST', '/api/financial/invoices', BILLING],
  ['GET', '/api/financial/invoices', BILLING],
  ['GET', `/api/financial/invoices/${id}`, BILLING],
  ['POST', '/api/financial/payments', BILLING],
  ['GET', '/api/financial/reports', REPORTS],
  ['POST', '/api/sha/claims', CLAIMS],
  ['GET', '/api/sha/claims', CLAIMS],
  ['GET', `/api/sha/claims/${id}`, CLAIMS],
  ['PUT', `/api/sha/claims/${id}`, CLAIMS],
  ['PATCH', `/api/sha/claims/${id}/status`, CLAIMS],
  ['GET', `/api/sha/claims/${id}/fhir`, CLAIMS],
  ['DELETE', `/api/sha/claims/${id}`, ADMIN],
  ['GET', '/api/reports/summary', REPORTS],
  ['GET', '/api/admin/staff', ADMIN],
  ['PUT', `/api/admin/staff/${id}`, ADMIN],
  ['GET', '/api/audit', ADMIN],
  ['GET', '/api/audit/verify', ADMIN],
  ['GET', '/api/audit/export.csv', ADMIN],
];

const request = (app: FastifyInstance, method: InjectOptions['method'], url: string, user?: TestUser) =>
  call(app, { method, url, headers: user?.headers ?? {}, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) });

describe('clinic roles', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  const byRole = new Map<string, TestUser>();
  let nobody: TestUser;

  before(async () => {
    ({ t, app, admin } = await startClinic());
    for (const role of CLINIC_ROLES) byRole.set(role, await staffUser(app, admin, [role]));
    nobody = await registerUser(app);
  });
  after(() => t.close());

  test('without a token every route is 401', async () => {
    for (const [method, url] of ROUTES) assert.equal((await request(app, method, url)).status, 401, `${method} ${url}`);
  });

  test('a user without a clinic role gets 403 everywhere', async () => {
    for (const [method, url] of ROUTES) {
      const { status, body } = await request(app, method, url, nobody);
      assert.equal(status, 403, `${method} ${url}`);
      assert.equal(body.code, 'FORBIDDEN');
    }
  });

  for (const role of CLINIC_ROLES) {
    test(`role ${role}: exactly the routes of the role table`, async () => {
      const user = byRole.get(role)!;
      for (const [method, url, allowed] of ROUTES) {
        const { status } = await request(app, method, url, user);
        if (allowed.includes(role)) assert.notEqual(status, 403, `${role} should reach ${method} ${url}`);
        else assert.equal(status, 403, `${role} must not reach ${method} ${url} (got ${status})`);
        assert.notEqual(status, 401);
        assert.ok(status < 500, `${method} ${url} -> ${status}`);
      }
    });
  }

  test('a global admin acts as clinic admin on every route', async () => {
    for (const [method, url] of ROUTES) {
      const { status } = await request(app, method, url, admin);
      assert.ok(status !== 403 && status !== 401 && status < 500, `${method} ${url} -> ${status}`);
    }
  });

  test('several roles add up, and a forbidden caller learns nothing about the body', async () => {
    const both = await staffUser(app, admin, ['nurse', 'cashier']);
    assert.equal((await call(app, { method: 'POST', url: '/api/financial/invoices', headers: both.headers, payload: {} })).status, 400);
    assert.equal((await call(app, { method: 'PUT', url: `/api/visits/${id}`, headers: both.headers, payload: { notes: 'x' } })).status, 404);
    const receptionist = byRole.get('receptionist')!;
    const { status, body } = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: receptionist.headers, payload: { bogus: true } });
    assert.equal(status, 403);
    assert.equal(body.details, undefined);
  });
});

describe('staff administration', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;

  before(async () => {
    ({ t, app, admin } = await startClinic());
  });
  after(() => t.close());

  test('grant, list, revoke: a revoked role stops working at once', async () => {
    const user = await registerUser(app);
    const granted = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: ['nurse', 'receptionist'] } });
    assert.equal(granted.status, 200);
    assert.deepEqual(granted.body.roles, ['receptionist', 'nurse']);
    assert.equal(granted.body.user_id, user.user.id);
    assert.equal((await call(app, { method: 'GET', url: '/api/patients', headers: user.headers })).status, 200);

    const listed = await call(app, { method: 'GET', url: '/api/admin/staff?role=nurse', headers: admin.headers });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.staff.map((member: { user_id: string }) => member.user_id), [user.user.id]);
    assert.equal(listed.body.pagination.total, 1);
    const everyone = await call(app, { method: 'GET', url: '/api/admin/staff', headers: admin.headers });
    const adminEntry = everyone.body.staff.find((member: { user_id: string }) => member.user_id === admin.user.id);
    assert.deepEqual(adminEntry.effective_roles, ['admin']);

    const revoked = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: [] } });
    assert.deepEqual(revoked.body.roles, []);
    assert.equal((await call(app, { method: 'GET', url: '/api/patients', headers: user.headers })).status, 403);

    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=staff&action=update`, headers: admin.headers });
    assert.equal(audit.body.pagination.total, 2);
    assert.deepEqual(audit.body.entries[0].details.removed.sort(), ['nurse', 'receptionist']);
  });

  test('a role revoked by another process stops working at the next request', { skip: process.env.TEST_DATABASE_URL ? 'SQLite only: the revocation is committed through a second SQLite connection' : false }, async () => {
    const nurse = await staffUser(app, admin, ['nurse']);
    assert.equal((await call(app, { method: 'GET', url: '/api/patients', headers: nurse.headers })).status, 200);
    assert.equal((await call(app, { method: 'GET', url: '/api/patients', headers: nurse.headers })).status, 200);
    const other = new BetterSqlite3(path.join(t.config.dataDir, 'app.db'));
    try {
      other.prepare('delete from clinic_staff_roles where user_id = ?').run(nurse.user.id);
    } finally {
      other.close();
    }
    assert.equal((await call(app, { method: 'GET', url: '/api/patients', headers: nurse.headers })).status, 403);
  });

  test('a clinic admin may grant roles but not drop their own admin role', async () => {
    const clinicAdmin = await staffUser(app, admin, ['admin']);
    const other = await registerUser(app);
    assert.equal((await call(app, { method: 'PUT', url: `/api/admin/staff/${other.user.id}`, headers: clinicAdmin.headers, payload: { roles: ['cashier'] } })).status, 200);
    const self = await call(app, { method: 'PUT', url: `/api/admin/staff/${clinicAdmin.user.id}`, headers: clinicAdmin.headers, payload: { roles: ['cashier'] } });
    assert.equal(self.status, 400);
    assert.equal(self.body.code, 'CANNOT_MODIFY_SELF');
  });

  test('concurrent role changes of one user all succeed and leave one of the requested sets (were 500s on PostgreSQL)', async () => {
    const sets = [['nurse', 'cashier'], ['cashier', 'nurse', 'pharmacist'], ['receptionist'], []];
    const sorted = (roles: string[]) => [...roles].sort().join(',');
    for (let round = 0; round < 3; round++) {
      const user = await registerUser(app);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) => call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: sets[index % sets.length] } })),
      );
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(20).fill(200),
        responses.map((response) => JSON.stringify(response.body)).join('\n'),
      );
      const stored = await t.app.db.withTables<ClinicTables>().selectFrom('clinic_staff_roles').select('role').where('user_id', '=', user.user.id).execute();
      const final = sorted(stored.map((row) => row.role));
      assert.ok(sets.some((set) => sorted(set) === final), `final roles ${final} are one of the requested sets`);
    }
  });

  test('a huge roles array is refused quickly (uniqueItems was quadratic: ~7 s for 50,000 items)', async () => {
    const user = await registerUser(app);
    const started = Date.now();
    const huge = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: Array.from({ length: 50_000 }, (_, index) => index) } });
    const elapsed = Date.now() - started;
    assert.equal(huge.status, 400);
    assert.equal(huge.body.code, 'VALIDATION_FAILED');
    assert.ok(elapsed < 2000, `refused in ${elapsed} ms`);
    const duplicates = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: Array(50_000).fill('nurse') } });
    assert.equal(duplicates.status, 400);
    assert.ok(Date.now() - started < 4000, `both refused in ${Date.now() - started} ms`);
  });

  test('unknown users are 404, unknown roles 400', async () => {
    assert.equal((await call(app, { method: 'PUT', url: `/api/admin/staff/${randomUUID()}`, headers: admin.headers, payload: { roles: ['nurse'] } })).status, 404);
    const user = await registerUser(app);
    const bad = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: ['surgeon'] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    assert.equal((await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles: ['nurse', 'nurse'] } })).status, 400);
  });
});
