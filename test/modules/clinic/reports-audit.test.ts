import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AuditTables } from '../../../src/core/audit/tables.js';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, createVisit, staffUser, startClinic } from './helpers.js';

describe('clinic reports and audit', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let desk: TestUser;
  const today = new Date().toISOString().slice(0, 10);

  before(async () => {
    ({ t, app, admin } = await startClinic());
    desk = await staffUser(app, admin, ['receptionist']);
    // Some activity: 3 patients, 2 visits (one cancelled), an invoice half paid, a claim approved.
    const patients = [await createPatient(app, desk), await createPatient(app, desk), await createPatient(app, desk)];
    const v1 = await createVisit(app, desk, patients[0]!.id);
    const v2 = await createVisit(app, desk, patients[1]!.id);
    await call(app, { method: 'PATCH', url: `/api/visits/${v2.id}/status`, headers: desk.headers, payload: { status: 'cancelled' } });
    const invoice = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: admin.headers, payload: { patient_id: patients[0]!.id, visit_id: v1.id, items: [{ description: 'Consultation', quantity: 1, unit_price: 1000 }] } });
    await call(app, { method: 'POST', url: '/api/financial/payments', headers: admin.headers, payload: { invoice_id: invoice.body.id, amount: 500, method: 'cash' } });
    const claim = await call(app, {
      method: 'POST',
      url: '/api/sha/claims',
      headers: admin.headers,
      payload: { patient_id: patients[0]!.id, diagnoses: [{ code: '1F40.0', description: 'Malaria' }], items: [{ intervention_code: 'SHA-01-001', description: 'Consultation', unit_price: 1500 }] },
    });
    for (const status of ['ready_to_submit', 'submitted', 'approved']) {
      await call(app, { method: 'PATCH', url: `/api/sha/claims/${claim.body.id}/status`, headers: admin.headers, payload: { status } });
    }
    await call(app, { method: 'POST', url: '/api/sha/claims', headers: admin.headers, payload: { patient_id: patients[1]!.id, items: [{ intervention_code: 'SHA-01-001', description: 'Consultation', unit_price: 200 }] } });
  });
  after(() => t.close());

  test('summary over a date range', async () => {
    const manager = await staffUser(app, admin, ['claims_manager']);
    const { status, body } = await call(app, { method: 'GET', url: `/api/reports/summary?from=${today}&to=${today}`, headers: manager.headers });
    assert.equal(status, 200);
    assert.equal(body.patients_registered, 3);
    assert.equal(body.visits, 2);
    assert.equal(body.visits_by_status.registered, 1);
    assert.equal(body.visits_by_status.cancelled, 1);
    assert.equal(body.visits_by_status.completed, 0);
    assert.equal(body.revenue, 500);
    assert.equal(body.outstanding, 660); // 1,160 with 16% VAT, 500 paid
    assert.equal(body.claims_by_status.approved, 1);
    assert.equal(body.claims_by_status.draft, 1);
    assert.equal(body.claims_amount, 1700);
    const past = await call(app, { method: 'GET', url: '/api/reports/summary?from=2020-01-01&to=2020-12-31', headers: manager.headers });
    assert.deepEqual([past.body.patients_registered, past.body.visits, past.body.revenue, past.body.claims_amount], [0, 0, 0, 0]);
    const toTheLastDay = await call(app, { method: 'GET', url: `/api/reports/summary?from=${today}&to=9999-12-31`, headers: manager.headers });
    assert.deepEqual([toTheLastDay.body.patients_registered, toTheLastDay.body.visits, toTheLastDay.body.revenue], [3, 2, 500], 'a range ending on 9999-12-31 still holds today');
    const fromTheFirstDay = await call(app, { method: 'GET', url: '/api/reports/summary?to=0000-01-05', headers: manager.headers });
    assert.equal(fromTheFirstDay.body.from, '0000-01-01', 'the default 30 days back stop at the first date there is');
    const defaults = await call(app, { method: 'GET', url: '/api/reports/summary', headers: manager.headers });
    assert.equal(defaults.body.to, today);
    assert.equal(defaults.body.patients_registered, 3);
    assert.equal((await call(app, { method: 'GET', url: '/api/reports/summary?from=2021-01-02&to=2021-01-01', headers: manager.headers })).status, 400);
  });

  test('every clinic write is in the audit log with who, what and where', async () => {
    const { body } = await call(app, { method: 'GET', url: '/api/audit?limit=200', headers: admin.headers });
    const count = (resource: string, action: string) => body.entries.filter((e: { resource: string; action: string }) => e.resource === resource && e.action === action).length;
    assert.equal(count('staff', 'update'), 2); // the receptionist and the claims manager
    assert.equal(count('patient', 'create'), 3);
    assert.equal(count('visit', 'create'), 2);
    assert.equal(count('visit', 'status'), 1);
    assert.equal(count('invoice', 'create'), 1);
    assert.equal(count('payment', 'create'), 1);
    assert.equal(count('claim', 'create'), 2);
    assert.equal(count('claim', 'status'), 3);
    const entry = body.entries.find((e: { resource: string }) => e.resource === 'patient');
    assert.equal(entry.user_id, desk.user.id);
    assert.equal(entry.ip, '127.0.0.1');
    assert.match(entry.hash, /^[0-9a-f]{64}$/);
    for (let i = 0; i + 1 < body.entries.length; i++) assert.equal(body.entries[i].prev_hash, body.entries[i + 1].hash);
  });

  test('filters and paging', async () => {
    const byUser = await call(app, { method: 'GET', url: `/api/audit?user_id=${desk.user.id}`, headers: admin.headers });
    assert.equal(byUser.body.pagination.total, 6);
    assert.ok(byUser.body.entries.every((e: { user_id: string }) => e.user_id === desk.user.id), 'byUser.body.entries.every((e: { user_id: string }) => e.user_id === desk.user.id)');
    const page = await call(app, { method: 'GET', url: '/api/audit?resource=patient&action=create&limit=2&offset=1', headers: admin.headers });
    assert.deepEqual(page.body.pagination, { limit: 2, offset: 1, total: 3 });
    assert.equal(page.body.entries.length, 2);
    assert.equal((await call(app, { method: 'GET', url: '/api/audit?from=2020-01-01&to=2020-01-02', headers: admin.headers })).body.pagination.total, 0);
    assert.ok((await call(app, { method: 'GET', url: `/api/audit?from=${today}T00:00:00.000Z`, headers: admin.headers })).body.pagination.total > 10, "(await call(app, { method: 'GET', url: `/api/audit?from=${today}T00:00:00.000Z`, headers: admin.headers })).body.pagination.total > 10");
    const toTheLastDay = await call(app, { method: 'GET', url: `/api/audit?from=${today}&to=9999-12-31`, headers: admin.headers });
    assert.equal(toTheLastDay.status, 200, 'a range ending on 9999-12-31 is not "from after to"');
    assert.ok(toTheLastDay.body.pagination.total > 10, `${toTheLastDay.body.pagination.total} entries`);
    assert.equal((await call(app, { method: 'GET', url: '/api/audit?from=last-week', headers: admin.headers })).status, 400);
    assert.equal((await call(app, { method: 'GET', url: '/api/audit?limit=500', headers: admin.headers })).status, 400);
  });

  test('filters that could only match nothing are 400, not an empty 200', async () => {
    const bad = async (query: string, field: string) => {
      for (const path of ['/api/audit', '/api/audit/export.csv']) {
        const { status, body } = await call(app, { method: 'GET', url: `${path}?${query}`, headers: admin.headers });
        assert.equal(status, 400, `${path}?${query}`);
        assert.equal(body.code, 'VALIDATION_FAILED');
        assert.equal(body.details[0].field, field, `${path}?${query}`);
      }
    };
    await bad('action=bogus', 'action');
    await bad('resource=patients', 'resource');
    await bad('from=2021-01-02&to=2021-01-01', 'from');
    await bad(`from=${today}T12:00:00.000Z&to=${today}T11:59:59.999Z`, 'from');
    await bad(`from=${today}T00:00:00.000Z&to=2020-01-01`, 'from');
    // One day, or one instant, is a valid range.
    for (const query of [`from=${today}&to=${today}`, `from=${today}T00:00:00.000Z&to=${today}`, 'from=2020-01-01T10:00:00.000Z&to=2020-01-01T10:00:00.000Z']) {
      assert.equal((await call(app, { method: 'GET', url: `/api/audit?${query}`, headers: admin.headers })).status, 200, query);
    }
    assert.ok((await call(app, { method: 'GET', url: `/api/audit?from=${today}&to=${today}&resource=patient&action=create`, headers: admin.headers })).body.pagination.total >= 3, 'today\'s patients');

    const claims = await call(app, { method: 'GET', url: '/api/sha/claims?from=2021-01-02&to=2021-01-01', headers: admin.headers });
    assert.equal(claims.status, 400);
    assert.deepEqual(claims.body.details, [{ field: 'from', message: 'must not be after to' }]);
    assert.equal((await call(app, { method: 'GET', url: `/api/sha/claims?from=${today}&to=${today}`, headers: admin.headers })).status, 200);
  });

  test('there is no way to change or delete entries through the API', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST'] as const) {
      assert.equal((await call(app, { method, url: '/api/audit', headers: admin.headers, payload: {} })).status, 404, method);
    }
  });

  test('the CSV export streams the filtered log, safe to open in a spreadsheet', async () => {
    // A value an attacker controls that would be a formula in a spreadsheet.
    await createPatient(app, desk, { first_name: '=HYPERLINK("http://evil")', last_name: 'Formula' });
    const base = await t.listen();
    const response = await fetch(`${base}/api/audit/export.csv?resource=patient`, { headers: admin.headers });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal(response.headers.get('content-length'), null); // streamed, not buffered
    const text = await response.text();
    const lines = text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,at,user_id,action,resource,resource_id,ip,details,prev_hash,hash');
    assert.equal(lines.length, 1 + 4);
    assert.ok(lines.slice(1).every((line) => line.includes(',patient,')), "lines.slice(1).every((line) => line.includes(',patient,'))");
    const forbidden = await fetch(`${base}/api/audit/export.csv`, { headers: desk.headers });
    assert.equal(forbidden.status, 403);
  });

  test('verify over HTTP finds a row tampered with directly in the database', async () => {
    const ok = await call(app, { method: 'GET', url: '/api/audit/verify', headers: admin.headers });
    assert.equal(ok.body.ok, true);
    assert.ok(ok.body.checked > 15, 'ok.body.checked > 15');
    assert.equal(ok.body.first_bad_id, null);

    const db = app.db.withTables<AuditTables>();
    const victim = await db.selectFrom('audit_log').selectAll().where('action', '=', 'create').where('resource', '=', 'payment').executeTakeFirstOrThrow();
    await db.updateTable('audit_log').set({ details: victim.details.replace('"amount":500', '"amount":50') }).where('id', '=', victim.id).execute();
    const edited = await call(app, { method: 'GET', url: '/api/audit/verify', headers: admin.headers });
    assert.deepEqual([edited.body.ok, edited.body.first_bad_id], [false, victim.id]);
    await db.updateTable('audit_log').set({ details: victim.details }).where('id', '=', victim.id).execute();

    const next = await db.selectFrom('audit_log').select('id').where('seq', '=', Number(victim.seq) + 1).executeTakeFirstOrThrow();
    await db.deleteFrom('audit_log').where('id', '=', victim.id).execute();
    const deleted = await call(app, { method: 'GET', url: '/api/audit/verify', headers: admin.headers });
    assert.deepEqual([deleted.body.ok, deleted.body.first_bad_id], [false, next.id]);
    await db.insertInto('audit_log').values(victim).execute();
    assert.equal((await call(app, { method: 'GET', url: '/api/audit/verify', headers: admin.headers })).body.ok, true);
  });
});

describe('clinic summary and archived patients', () => {
  test('a registration archived (as a duplicate) is not counted as registered', async () => {
    const { t, app, admin } = await startClinic();
    try {
      const desk = await staffUser(app, admin, ['receptionist']);
      await createPatient(app, desk);
      const duplicate = await createPatient(app, desk);
      const summary = async () => (await call(app, { method: 'GET', url: '/api/reports/summary', headers: admin.headers })).body.patients_registered;
      assert.equal(await summary(), 2);
      assert.equal((await call(app, { method: 'DELETE', url: `/api/patients/${duplicate.id}`, headers: admin.headers })).status, 200);
      assert.equal(await summary(), 1);
    } finally {
      await t.close();
    }
  });
});
