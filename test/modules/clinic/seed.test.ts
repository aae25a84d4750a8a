import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { seedClinic, type SeedSummary } from '../../../src/modules/clinic/seed.js';
import type { ClinicTables } from '../../../src/modules/clinic/tables.js';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, startClinic } from './helpers.js';

describe('demo data (npm run seed)', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let summary: SeedSummary;
  const progress: number[] = [];

  before(async () => {
    ({ t, app, admin } = await startClinic());
    summary = await seedClinic(app.database, { patients: 600, visits: 300, vatRate: 0.16, seed: 11, onProgress: (done) => progress.push(done) });
  });
  after(() => t.close());

  test('writes what it reports, with progress up to the total', async () => {
    assert.equal(summary.patients, 600);
    assert.equal(summary.visits, 300);
    assert.ok(summary.invoices > 100 && summary.payments > 50 && summary.claims > 10, JSON.stringify(summary));
    assert.equal(progress.at(-1), 900);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    const list = await call(app, { method: 'GET', url: '/api/patients?limit=1', headers: admin.headers });
    assert.equal(list.body.pagination.total, 600);
  });

  test('the data keeps the API\'s rules', async () => {
    const db = app.db.withTables<ClinicTables>();
    const invoices = await db.selectFrom('clinic_invoices').selectAll().execute();
    for (const invoice of invoices) {
      assert.ok(Number(invoice.amount_paid) <= Number(invoice.total), 'Number(invoice.amount_paid) <= Number(invoice.total)');
      assert.equal(Number(invoice.total), Number(invoice.subtotal) + Number(invoice.vat) - Number(invoice.discount));
    }
    const open = await db.selectFrom('visits').select(['patient_id', 'visit_date']).where('status', 'not in', ['completed', 'cancelled']).execute();
    assert.equal(new Set(open.map((v) => `${v.patient_id}|${v.visit_date}`)).size, open.length);
    const queue = await call(app, { method: 'GET', url: '/api/visits/queue', headers: admin.headers });
    assert.equal(queue.body.queue.length, open.length);
    const claims = await call(app, { method: 'GET', url: '/api/sha/claims?limit=200', headers: admin.headers });
    for (const claim of claims.body.claims) {
      assert.equal(claim.status_history.at(-1).status, claim.status);
      assert.equal(claim.claim_amount, claim.items.reduce((sum: number, item: { amount: number }) => sum + item.amount, 0));
    }
    const sample = (await call(app, { method: 'GET', url: '/api/patients?limit=1&offset=17', headers: admin.headers })).body.patients[0];
    const byOp = await call(app, { method: 'GET', url: `/api/patients?search=${sample.op_number}`, headers: admin.headers });
    assert.deepEqual(byOp.body.patients.map((p: { id: string }) => p.id), [sample.id]);
  });

  test('the API numbers on after the seeded records', async () => {
    const db = app.db.withTables<ClinicTables>();
    const created = await createPatient(app, admin);
    const clash = await db.selectFrom('patients').select('id').where('op_number', '=', created.op_number).execute();
    assert.equal(clash.length, 1);
    const year = new Date().getUTCFullYear();
    const seededThisYear = await db.selectFrom('patients').select((eb) => eb.fn.countAll<number>().as('n')).where('op_number', 'like', `OP-${year}-%`).executeTakeFirstOrThrow();
    assert.equal(created.op_number, `OP-${year}-${String(Number(seededThisYear.n)).padStart(3, '0')}`);
  });
});
