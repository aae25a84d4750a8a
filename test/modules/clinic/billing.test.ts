import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { ClinicTables } from '../../../src/modules/clinic/tables.js';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, createVisit, staffUser, startClinic } from './helpers.js';

describe('clinic billing (VAT_RATE=0.08)', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let cashier: TestUser;
  let patientId: string;
  const today = new Date().toISOString().slice(0, 10);

  const invoice = async (items: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => {
    const { status, body } = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: cashier.headers, payload: { patient_id: patientId, items, ...extra } });
    assert.equal(status, 201, JSON.stringify(body));
    return body;
  };
  const pay = (payload: Record<string, unknown>, key?: string, user = cashier) =>
    call(app, { method: 'POST', url: '/api/financial/payments', headers: { ...user.headers, ...(key ? { 'idempotency-key': key } : {}) }, payload });
  const getInvoice = async (id: string) => (await call(app, { method: 'GET', url: `/api/financial/invoices/${id}`, headers: cashier.headers })).body;

  before(async () => {
    ({ t, app, admin } = await startClinic({ VAT_RATE: '0.08' }));
    cashier = await staffUser(app, admin, ['cashier']);
    patientId = (await createPatient(app, admin)).id;
  });
  after(() => t.close());

  test('an invoice: VAT from VAT_RATE on the subtotal, discount after VAT, due in 30 days', async () => {
    const visit = await createVisit(app, admin, patientId);
    const body = await invoice(
      [
        { description: 'Consultation', quantity: 1, unit_price: 500, item_type: 'consultation' },
        { description: 'Amoxicillin 500mg', quantity: 3, unit_price: 33.33, item_type: 'pharmacy' },
      ],
      { visit_id: visit.id, discount: 10 },
    );
    assert.match(body.invoice_number, /^INV-\d{4}-\d{5}$/);
    assert.equal(body.visit_id, visit.id);
    assert.deepEqual(body.items[1], { description: 'Amoxicillin 500mg', quantity: 3, unit_price: 33.33, item_type: 'pharmacy', amount: 99.99 });
    assert.equal(body.subtotal, 599.99);
    assert.equal(body.vat, 48); // 8% of 59,999 cents = 4,799.92 -> 4,800
    assert.equal(body.discount, 10);
    assert.equal(body.total, 637.99);
    assert.equal(body.amount_paid, 0);
    assert.equal(body.balance, 637.99);
    assert.equal(body.status, 'unpaid');
    const due = new Date(`${today}T00:00:00Z`);
    due.setUTCDate(due.getUTCDate() + 30);
    assert.equal(body.due_date, due.toISOString().slice(0, 10));
  });

  test('bad invoices are 400 and create nothing', async () => {
    const before = (await call(app, { method: 'GET', url: '/api/financial/invoices', headers: cashier.headers })).body.pagination.total;
    const other = await createPatient(app, admin);
    const otherVisit = await createVisit(app, admin, other.id);
    const cases: Array<Record<string, unknown>> = [
      { patient_id: patientId, items: [] },
      { patient_id: patientId, items: [{ description: 'x', quantity: 0, unit_price: 1 }] },
      { patient_id: patientId, items: [{ description: 'x', quantity: 1, unit_price: -5 }] },
      { patient_id: patientId, items: [{ description: 'x', quantity: 1, unit_price: '5' }] },
      { patient_id: patientId, items: [{ description: 'x', quantity: 1, unit_price: 100 }], discount: 200 },
      { patient_id: randomUUID(), items: [{ description: 'x', quantity: 1, unit_price: 1 }] },
      { patient_id: patientId, visit_id: otherVisit.id, items: [{ description: 'x', quantity: 1, unit_price: 1 }] },
      { patient_id: patientId, items: [{ description: 'x', quantity: 1, unit_price: 1 }], total: 1 },
    ];
    for (const payload of cases) {
      const { status } = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: cashier.headers, payload });
      assert.equal(status, 400, JSON.stringify(payload));
    }
    assert.equal((await call(app, { method: 'GET', url: '/api/financial/invoices', headers: cashier.headers })).body.pagination.total, before);
  });

  test('amounts with more than two decimals are refused, not rounded', async () => {
    const listed = async () => (await call(app, { method: 'GET', url: '/api/financial/invoices', headers: cashier.headers })).body.pagination.total;
    const before = await listed();
    const bad = await call(app, {
      method: 'POST',
      url: '/api/financial/invoices',
      headers: cashier.headers,
      payload: { patient_id: patientId, items: [{ description: 'Consultation', quantity: 1, unit_price: 500 }, { description: 'Syrup', quantity: 1, unit_price: 10.999 }], discount: 0.001 },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(bad.body.details, [
      { field: 'items.1.unit_price', message: 'must have at most two decimal places (whole cents)' },
      { field: 'discount', message: 'must have at most two decimal places (whole cents)' },
    ]);
    assert.equal(await listed(), before);
    // Two-decimal amounts that are not exact in binary still pass (0.07, 10.99).
    const inv = await invoice([{ description: 'Syrup', quantity: 3, unit_price: 10.99 }], { discount: 0.07 });
    assert.equal(inv.items[0].amount, 32.97);
    assert.equal(inv.discount, 0.07);

    const paid = async () => (await getInvoice(inv.id)).amount_paid;
    for (const amount of [50.004, 0.001, 1e-7]) {
      const { status, body } = await pay({ invoice_id: inv.id, amount, method: 'cash' });
      assert.equal(status, 400, String(amount));
      assert.deepEqual(body.details, [{ field: 'amount', message: 'must have at most two decimal places (whole cents)' }], String(amount));
    }
    assert.equal(await paid(), 0);
    assert.equal((await pay({ invoice_id: inv.id, amount: 10.99, method: 'cash' })).status, 201);
    assert.equal(await paid(), 10.99);
  });

  test('a line or an invoice above 100,000,000.00 is refused, so stored cents stay exact', async () => {
    const listed = async () => (await call(app, { method: 'GET', url: '/api/financial/invoices', headers: cashier.headers })).body.pagination.total;
    const before = await listed();
    const post = (items: Array<Record<string, unknown>>) => call(app, { method: 'POST', url: '/api/financial/invoices', headers: cashier.headers, payload: { patient_id: patientId, items } });
    const huge = await post(Array.from({ length: 100 }, () => ({ description: 'Everything', quantity: 99_999, unit_price: 99_999_999.99 })));
    assert.equal(huge.status, 400);
    assert.equal(huge.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(huge.body.details, [{ field: 'items.0', message: 'quantity × unit_price must not exceed 100000000.00' }]);
    // Lines within the limit whose sum plus VAT is above it.
    const sum = await post([{ description: 'Theatre', quantity: 1, unit_price: 60_000_000 }, { description: 'Ward', quantity: 1, unit_price: 40_000_000 }]);
    assert.equal(sum.status, 400);
    assert.equal(sum.body.details[0].field, 'items');
    assert.equal(await listed(), before);
    // Up to the limit it is an ordinary invoice (VAT 8%: 92,592,592.59 + 7,407,407.41 = 100,000,000.00).
    const largest = await invoice([{ description: 'Theatre', quantity: 1, unit_price: 92_592_592.59 }]);
    assert.equal(largest.total, 100_000_000);
  });

  test('blank descriptions, item types and references are 400, not stored as empty strings', async () => {
    const line = { description: 'Consultation', quantity: 1, unit_price: 500 };
    for (const [item, field] of [[{ ...line, description: '   ' }, 'items.0.description'], [{ ...line, item_type: ' ' }, 'items.0.item_type']] as const) {
      const { status, body } = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: cashier.headers, payload: { patient_id: patientId, items: [item] } });
      assert.equal(status, 400, field);
      assert.equal(body.details[0].field, field);
    }
    const inv = await invoice([{ ...line, description: '  Consultation ', item_type: ' consultation ' }]);
    assert.deepEqual([inv.items[0].description, inv.items[0].item_type], ['Consultation', 'consultation']);
    const blankRef = await pay({ invoice_id: inv.id, amount: 1, method: 'cash', reference: '  ' });
    assert.equal(blankRef.status, 400);
    assert.equal(blankRef.body.details[0].field, 'reference');
    // Free-text notes: blank means no note.
    assert.equal((await pay({ invoice_id: inv.id, amount: 1, method: 'cash', notes: '   ' })).body.payment.notes, null);
  });

  test('payments move the invoice from unpaid to partial to paid; overpaying is refused', async () => {
    const inv = await invoice([{ description: 'Lab: full haemogram', quantity: 1, unit_price: 1000 }]); // total 1,080
    const first = await pay({ invoice_id: inv.id, amount: 500, method: 'cash' });
    assert.equal(first.status, 201);
    assert.equal(first.body.payment.amount, 500);
    assert.equal(first.body.payment.method, 'cash');
    assert.equal(first.body.payment.received_by, cashier.user.id);
    assert.deepEqual([first.body.invoice.amount_paid, first.body.invoice.balance, first.body.invoice.status], [500, 580, 'partial']);

    const audited = async () => (await call(app, { method: 'GET', url: '/api/audit?resource=payment', headers: admin.headers })).body.pagination.total;
    const entriesBefore = await audited();
    const over = await pay({ invoice_id: inv.id, amount: 580.01, method: 'cash' });
    assert.equal(over.status, 400);
    assert.equal(over.body.code, 'OVERPAYMENT');
    assert.equal((await getInvoice(inv.id)).amount_paid, 500);
    // Refused changes leave no trace in the audit log: the entry is written in the change's transaction.
    assert.equal(await audited(), entriesBefore);

    const rest = await pay({ invoice_id: inv.id, amount: 580, method: 'mpesa', reference: 'QK7ABC12XY' });
    assert.equal(rest.status, 201);
    assert.equal(rest.body.payment.reference, 'QK7ABC12XY');
    assert.deepEqual([rest.body.invoice.amount_paid, rest.body.invoice.balance, rest.body.invoice.status], [1080, 0, 'paid']);
    assert.equal((await pay({ invoice_id: inv.id, amount: 0.01, method: 'cash' })).status, 400);

    const detail = await getInvoice(inv.id);
    assert.deepEqual(detail.payments.map((p: { amount: number; method: string }) => [p.amount, p.method]), [[500, 'cash'], [580, 'mpesa']]);
    const audit = await call(app, { method: 'GET', url: '/api/audit?resource=payment&action=create', headers: admin.headers });
    assert.equal(audit.body.entries[0].resource_id, rest.body.payment.id);
    // Amounts in the audit log are in KES, as the API shows them (not the stored cents).
    assert.equal(audit.body.entries[0].details.amount, 580);
    const created = await call(app, { method: 'GET', url: `/api/audit?resource=invoice&action=create&resource_id=${inv.id}`, headers: admin.headers });
    assert.deepEqual(created.body.entries[0].details, { invoice_number: inv.invoice_number, total: 1080 });
  });

  test('payment input rules: M-Pesa needs a reference, amounts positive, methods known', async () => {
    const inv = await invoice([{ description: 'Dressing', quantity: 1, unit_price: 100 }]);
    const noRef = await pay({ invoice_id: inv.id, amount: 10, method: 'mpesa' });
    assert.equal(noRef.status, 400);
    assert.equal(noRef.body.details[0].field, 'reference');
    assert.equal((await pay({ invoice_id: inv.id, amount: 10, method: 'mpesa', reference: '  ' })).status, 400);
    assert.equal((await pay({ invoice_id: inv.id, amount: 0, method: 'cash' })).status, 400);
    assert.equal((await pay({ invoice_id: inv.id, amount: -1, method: 'cash' })).status, 400);
    assert.equal((await pay({ invoice_id: inv.id, amount: 10, method: 'bitcoin' })).status, 400);
    assert.equal((await pay({ invoice_id: randomUUID(), amount: 10, method: 'cash' })).status, 400);
    for (const method of ['bank_transfer', 'insurance', 'other']) assert.equal((await pay({ invoice_id: inv.id, amount: 1, method, reference: 'R1' })).status, 201, method);
    assert.equal((await getInvoice(inv.id)).amount_paid, 3);
  });

  test('Idempotency-Key: a retry answers the first result and never pays twice', async () => {
    const inv = await invoice([{ description: 'X-ray chest', quantity: 1, unit_price: 1500 }]);
    const body = { invoice_id: inv.id, amount: 600, method: 'mpesa', reference: 'QWE1234567' };
    const first = await pay(body, 'retry-key-1');
    const retry = await pay(body, 'retry-key-1');
    assert.equal(first.status, 201);
    assert.equal(retry.status, 201);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.response.headers['idempotent-replayed'], 'true');
    assert.equal((await getInvoice(inv.id)).amount_paid, 600);
    assert.equal((await getInvoice(inv.id)).payments.length, 1);

    const reused = await pay({ ...body, amount: 100 }, 'retry-key-1');
    assert.equal(reused.status, 409);
    assert.equal(reused.body.code, 'IDEMPOTENCY_KEY_REUSED');
    // Keys belong to the caller: another cashier's identical key is another payment.
    const other = await staffUser(app, admin, ['cashier']);
    assert.notEqual((await pay({ ...body, reference: 'QWE1234568' }, 'retry-key-1', other)).body.payment.id, first.body.payment.id);
    assert.equal((await getInvoice(inv.id)).amount_paid, 1200);
    // A failed payment stores nothing: the same key may be used once the request is valid.
    assert.equal((await pay({ ...body, amount: 9999, reference: 'QWE1234569' }, 'retry-key-2')).status, 400);
    assert.equal((await pay({ ...body, amount: 5, reference: 'QWE1234569' }, 'retry-key-2')).status, 201);
  });

  test('an M-Pesa receipt is recorded once, however it is sent again', async () => {
    const inv = await invoice([{ description: 'Lab panel', quantity: 1, unit_price: 1000 }]); // 1,080
    const body = { invoice_id: inv.id, amount: 300, method: 'mpesa', reference: 'SBK7XYZ123' };
    const together = await Promise.all(Array.from({ length: 4 }, () => pay(body)));
    assert.deepEqual(together.map((r) => r.status).sort(), [201, 409, 409, 409]);
    assert.ok(together.filter((r) => r.status === 409).every((r) => r.body.code === 'DUPLICATE_PAYMENT'), JSON.stringify(together.map((r) => r.body.code)));
    const again = await pay(body, undefined, await staffUser(app, admin, ['cashier']));
    assert.equal(again.status, 409, 'another cashier entering the same receipt');
    const other = await invoice([{ description: 'Lab panel', quantity: 1, unit_price: 1000 }]);
    assert.equal((await pay({ ...body, invoice_id: other.id })).status, 409, 'the same receipt on another invoice');
    assert.equal((await pay({ ...body, method: 'bank_transfer' })).status, 201, 'other methods have no such rule');
    const detail = await getInvoice(inv.id);
    assert.equal(detail.amount_paid, 600);
    assert.equal(detail.payments.length, 2);
    assert.equal((await getInvoice(other.id)).amount_paid, 0);
  });

  test('concurrent retries with one key pay once and all answer the same payment', async () => {
    const inv = await invoice([{ description: 'Ultrasound', quantity: 1, unit_price: 2000 }]);
    const body = { invoice_id: inv.id, amount: 2160, method: 'cash' };
    const results = await Promise.all(Array.from({ length: 10 }, () => pay(body, 'concurrent-key')));
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(201));
    assert.equal(new Set(results.map((r) => r.body.payment.id)).size, 1);
    const detail = await getInvoice(inv.id);
    assert.equal(detail.amount_paid, 2160);
    assert.equal(detail.status, 'paid');
    assert.equal(detail.payments.length, 1);
  });

  test('concurrent payments can never together exceed the total', async () => {
    const inv = await invoice([{ description: 'Minor surgery', quantity: 1, unit_price: 1000 }]); // 1,080
    const results = await Promise.all(Array.from({ length: 5 }, () => pay({ invoice_id: inv.id, amount: 400, method: 'cash' })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 201, 400, 400, 400]);
    assert.equal((await getInvoice(inv.id)).amount_paid, 800);
  });

  test('invoice lists filter by status and patient', async () => {
    const other = await createPatient(app, admin);
    const mine = await call(app, { method: 'POST', url: '/api/financial/invoices', headers: cashier.headers, payload: { patient_id: other.id, items: [{ description: 'Card', quantity: 1, unit_price: 50 }] } });
    const byPatient = await call(app, { method: 'GET', url: `/api/financial/invoices?patient_id=${other.id}`, headers: cashier.headers });
    assert.deepEqual(byPatient.body.invoices.map((i: { id: string }) => i.id), [mine.body.id]);
    const paid = await call(app, { method: 'GET', url: '/api/financial/invoices?status=paid&limit=200', headers: cashier.headers });
    assert.ok(paid.body.invoices.length >= 2 && paid.body.invoices.every((i: { status: string }) => i.status === 'paid'), "paid.body.invoices.length >= 2 && paid.body.invoices.every((i: { status: string }) => i.status === 'paid')");
    assert.equal(paid.body.pagination.total, paid.body.invoices.length);
    assert.equal((await call(app, { method: 'GET', url: '/api/financial/invoices?status=void', headers: cashier.headers })).status, 400);
    assert.equal((await call(app, { method: 'GET', url: `/api/financial/invoices/${randomUUID()}`, headers: cashier.headers })).status, 404);
  });

  test('the financial report sums in SQL over the date range', async () => {
    const manager = await staffUser(app, admin, ['claims_manager']);
    const { status, body } = await call(app, { method: 'GET', url: `/api/financial/reports?from=${today}&to=${today}`, headers: manager.headers });
    assert.equal(status, 200);
    const payments = await app.db
      .withTables<ClinicTables>()
      .selectFrom('clinic_payments')
      .select(['amount', 'method'])
      .execute();
    const sum = (rows: typeof payments) => rows.reduce((total, row) => total + Number(row.amount), 0) / 100;
    assert.deepEqual(body.revenue_by_day, [{ date: today, amount: sum(payments) }]);
    assert.equal(body.payments_by_method.mpesa, sum(payments.filter((p) => p.method === 'mpesa')));
    assert.equal(body.payments_by_method.cash, sum(payments.filter((p) => p.method === 'cash')));
    const invoices = await call(app, { method: 'GET', url: '/api/financial/invoices?limit=200', headers: cashier.headers });
    assert.equal(body.invoice_count, invoices.body.pagination.total);
    const outstanding = invoices.body.invoices.reduce((total: number, i: { balance: number }) => total + Math.round(i.balance * 100), 0) / 100;
    assert.equal(body.outstanding_total, outstanding);

    const past = await call(app, { method: 'GET', url: '/api/financial/reports?from=2020-01-01&to=2020-01-31', headers: manager.headers });
    assert.deepEqual([past.body.revenue_by_day, past.body.invoice_count, past.body.outstanding_total], [[], 0, 0]);
    assert.equal((await call(app, { method: 'GET', url: '/api/financial/reports?from=2020-02-01&to=2020-01-01', headers: manager.headers })).status, 400);
    assert.equal((await call(app, { method: 'GET', url: '/api/financial/reports?from=yesterday', headers: manager.headers })).status, 400);
  });
});
