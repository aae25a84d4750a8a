import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, createVisit, staffUser, startClinic } from './helpers.js';

const DIAGNOSES = [
  { code: '1F40.0', description: 'Malaria due to Plasmodium falciparum' },
  { code: 'CA40.0', description: 'Bacterial pneumonia' },
];
const ITEMS = [
  { intervention_code: 'SHA-01-001', description: 'Outpatient consultation', unit_price: 1500 },
  { intervention_code: 'SHA-07-014', description: 'Malaria RDT', quantity: 2, unit_price: 250.5 },
];

describe('SHA claims', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let manager: TestUser;
  let shaPatient: { id: string; op_number: string } & Record<string, unknown>;
  const day = new Date().toISOString().slice(0, 10);

  const create = async (payload: Record<string, unknown>) => {
    const { status, body } = await call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload });
    assert.equal(status, 201, JSON.stringify(body));
    return body;
  };
  const move = (id: string, payload: Record<string, unknown>) => call(app, { method: 'PATCH', url: `/api/sha/claims/${id}/status`, headers: manager.headers, payload });

  before(async () => {
    ({ t, app, admin } = await startClinic({ FACILITY_NAME: 'Kibera Community Health Centre', FACILITY_CODE: 'FID-47-101234-5' }));
    manager = await staffUser(app, admin, ['claims_manager']);
    shaPatient = await createPatient(app, admin, { first_name: 'Amina', last_name: 'Hassan', gender: 'female', date_of_birth: '1988-08-08', insurance_type: 'sha', insurance_number: 'SHA-2024-000123' });
  });
  after(() => t.close());

  test('a draft: numbered SHA-<yyyymmdd>-<n>, amount computed, history started', async () => {
    const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS, notes: 'Referred from triage' });
    assert.match(claim.claim_number, new RegExp(`^SHA-${day.replace(/-/g, '')}-\\d{3,}$`));
    assert.equal(claim.status, 'draft');
    assert.equal(claim.claim_amount, 2001);
    assert.deepEqual(claim.items[1], { intervention_code: 'SHA-07-014', description: 'Malaria RDT', quantity: 2, unit_price: 250.5, amount: 501 });
    assert.equal(claim.items[0].quantity, 1);
    assert.deepEqual(claim.diagnoses, DIAGNOSES);
    assert.equal(claim.status_history.length, 1);
    assert.deepEqual({ ...claim.status_history[0], at: undefined }, { status: 'draft', at: undefined, by: manager.user.id, reason: null });
    assert.equal(claim.approved_amount, null);
    assert.equal(claim.paid_amount, null);
    const next = await create({ patient_id: shaPatient.id });
    assert.equal(Number(next.claim_number.split('-')[2]), Number(claim.claim_number.split('-')[2]) + 1);
    assert.equal(next.claim_amount, 0);
  });

  test('concurrent drafts get distinct numbers', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload: { patient_id: shaPatient.id } })));
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(201));
    assert.equal(new Set(results.map((r) => r.body.claim_number)).size, 10);
  });

  test('diagnoses come from the visit when left out, primary first', async () => {
    const patient = await createPatient(app, admin, { insurance_type: 'sha' });
    const visit = await createVisit(app, admin, patient.id);
    await call(app, {
      method: 'PUT',
      url: `/api/visits/${visit.id}`,
      headers: admin.headers,
      payload: { diagnoses: [{ code: 'CA40.0', description: 'Pneumonia', primary: false }, { code: '1F40.0', description: 'Malaria', primary: true }] },
    });
    const claim = await create({ patient_id: patient.id, visit_id: visit.id, items: ITEMS });
    assert.deepEqual(claim.diagnoses, [{ code: '1F40.0', description: 'Malaria' }, { code: 'CA40.0', description: 'Pneumonia' }]);
    assert.equal(claim.visit_id, visit.id);
  });

  test('bad claims are 400', async () => {
    const other = await createPatient(app, admin);
    const otherVisit = await createVisit(app, admin, other.id);
    const cases: Array<Record<string, unknown>> = [
      { patient_id: randomUUID() },
      { patient_id: shaPatient.id, visit_id: otherVisit.id },
      { patient_id: shaPatient.id, diagnoses: [{ code: 'B54', description: 'ICD-10 malaria' }] },
      { patient_id: shaPatient.id, items: [{ intervention_code: 'SHA-01-001', description: 'x', unit_price: -1 }] },
      { patient_id: shaPatient.id, items: [{ intervention_code: '', description: 'x', unit_price: 1 }] },
      { patient_id: shaPatient.id, claim_amount: 5 },
    ];
    for (const payload of cases) assert.equal((await call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload })).status, 400, JSON.stringify(payload));
  });

  test('amounts with more than two decimals are refused, not rounded', async () => {
    const precision = [{ field: 'items.0.unit_price', message: 'must have at most two decimal places (whole cents)' }];
    const item = { intervention_code: 'SHA-01-001', description: 'Consultation', unit_price: 150.255 };
    const created = await call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload: { patient_id: shaPatient.id, items: [item] } });
    assert.equal(created.status, 400);
    assert.deepEqual(created.body.details, precision);
    const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: [{ ...item, unit_price: 150.25 }] });
    assert.equal(claim.claim_amount, 150.25);
    const edited = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { items: [item] } });
    assert.equal(edited.status, 400);
    assert.deepEqual(edited.body.details, precision);
    for (const status of ['ready_to_submit', 'submitted']) assert.equal((await move(claim.id, { status })).status, 200);
    const approved = await move(claim.id, { status: 'approved', approved_amount: 100.001 });
    assert.equal(approved.status, 400);
    assert.deepEqual(approved.body.details, [{ field: 'approved_amount', message: 'must have at most two decimal places (whole cents)' }]);
    assert.equal((await move(claim.id, { status: 'approved', approved_amount: 100.01 })).status, 200);
    assert.equal((await move(claim.id, { status: 'partially_paid', paid_amount: 50.505 })).status, 400);
    const stored = await call(app, { method: 'GET', url: `/api/sha/claims/${claim.id}`, headers: manager.headers });
    assert.deepEqual([stored.body.claim_amount, stored.body.approved_amount, stored.body.paid_amount, stored.body.status], [150.25, 100.01, null, 'approved']);
  });

  test('a line or a claim above 100,000,000.00 is refused', async () => {
    const line = { intervention_code: 'SHA-01-001', description: 'Everything', quantity: 99_999, unit_price: 99_999_999.99 };
    const huge = await call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload: { patient_id: shaPatient.id, items: Array(100).fill(line) } });
    assert.equal(huge.status, 400);
    assert.deepEqual(huge.body.details, [{ field: 'items.0', message: 'quantity × unit_price must not exceed 100000000.00' }]);
    const claim = await create({ patient_id: shaPatient.id });
    const half = { ...line, quantity: 1, unit_price: 50_000_000 };
    const sum = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { items: [half, half, { ...half, unit_price: 0.01 }] } });
    assert.equal(sum.status, 400);
    assert.equal(sum.body.details[0].field, 'items');
    const full = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { items: [half, half] } });
    assert.equal(full.status, 200);
    assert.equal(full.body.claim_amount, 100_000_000);
  });

  test('blank descriptions are 400, not stored as empty strings; blank notes mean none', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ items: [{ ...ITEMS[0], description: '   ' }] }, 'items.0.description'],
      [{ diagnoses: [{ code: '1F40.0', description: ' ' }] }, 'diagnoses.0.description'],
    ];
    for (const [fields, field] of cases) {
      const { status, body } = await call(app, { method: 'POST', url: '/api/sha/claims', headers: manager.headers, payload: { patient_id: shaPatient.id, ...fields } });
      assert.equal(status, 400, field);
      assert.equal(body.details[0].field, field);
    }
    const claim = await create({ patient_id: shaPatient.id, notes: 'first' });
    const edited = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { notes: '   ' } });
    assert.equal(edited.body.notes, null);
  });

  test('an edit that changes nothing writes nothing: no audit entry, same updated_at', async () => {
    const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS, notes: 'As sent' });
    const entries = async () => (await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=update&resource_id=${claim.id}`, headers: admin.headers })).body.entries;
    for (const payload of [{ notes: ' As sent ' }, { items: ITEMS, diagnoses: DIAGNOSES }, { visit_id: null }]) {
      const { status, body } = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload });
      assert.equal(status, 200, JSON.stringify(payload));
      assert.equal(body.updated_at, claim.updated_at, JSON.stringify(payload));
    }
    assert.equal((await entries()).length, 0);
    await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { notes: 'As sent', items: ITEMS.slice(0, 1) } });
    const after = await entries();
    assert.equal(after.length, 1);
    assert.deepEqual(after[0].details.fields, ['items']);
  });

  test('readiness: SHA patient with a number, a diagnosis and an item', async () => {
    const cash = await createPatient(app, admin, { insurance_type: 'cash', insurance_number: null });
    const cashClaim = await create({ patient_id: cash.id, diagnoses: DIAGNOSES, items: ITEMS });
    const notSha = await move(cashClaim.id, { status: 'ready_to_submit' });
    assert.equal(notSha.status, 400);
    assert.equal(notSha.body.code, 'CLAIM_NOT_READY');
    assert.deepEqual(notSha.body.details.map((d: { field: string }) => d.field), ['patient.insurance_type', 'patient.insurance_number']);

    const empty = await create({ patient_id: shaPatient.id });
    const missing = await move(empty.id, { status: 'ready_to_submit' });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.details.map((d: { field: string }) => d.field), ['diagnoses', 'items']);
    assert.equal((await call(app, { method: 'GET', url: `/api/sha/claims/${empty.id}`, headers: manager.headers })).body.status, 'draft');
  });

  test('only drafts can be edited; edits recompute the amount', async () => {
    const claim = await create({ patient_id: shaPatient.id });
    const edited = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { diagnoses: DIAGNOSES.slice(0, 1), items: ITEMS.slice(0, 1), notes: 'ok' } });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.claim_amount, 1500);
    assert.equal(edited.body.notes, 'ok');
    assert.equal((await move(claim.id, { status: 'ready_to_submit' })).status, 200);
    const locked = await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { notes: 'too late' } });
    assert.equal(locked.status, 409);
    assert.equal(locked.body.code, 'CLAIM_NOT_EDITABLE');
    assert.equal((await call(app, { method: 'PUT', url: `/api/sha/claims/${randomUUID()}`, headers: manager.headers, payload: { notes: 'x' } })).status, 404);
    assert.equal((await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: {} })).status, 400);
  });

  test('the life of a claim: approved for less, partially paid; status_history records every step', async () => {
    const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
    assert.equal((await move(claim.id, { status: 'submitted' })).status, 409);
    for (const status of ['ready_to_submit', 'submitted']) assert.equal((await move(claim.id, { status })).status, 200);
    assert.equal((await move(claim.id, { status: 'approved', approved_amount: 5000 })).status, 400);
    const approved = await move(claim.id, { status: 'approved', approved_amount: 1800 });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.approved_amount, 1800);
    assert.equal((await move(claim.id, { status: 'partially_paid' })).status, 400);
    assert.equal((await move(claim.id, { status: 'paid', paid_amount: 100 })).status, 400);
    const partial = await move(claim.id, { status: 'partially_paid', paid_amount: 1000, reason: 'Tariff cap' });
    assert.equal(partial.status, 200);
    assert.equal(partial.body.paid_amount, 1000);
    assert.deepEqual(partial.body.status_history.map((h: { status: string }) => h.status), ['draft', 'ready_to_submit', 'submitted', 'approved', 'partially_paid']);
    assert.equal(partial.body.status_history[4].reason, 'Tariff cap');
    assert.equal(partial.body.status_history[4].by, manager.user.id);
    for (const status of ['paid', 'draft', 'approved']) assert.equal((await move(claim.id, { status })).status, 409);

    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=status&limit=200`, headers: admin.headers });
    const mine = audit.body.entries.filter((entry: { resource_id: string }) => entry.resource_id === claim.id);
    assert.equal(mine.length, 4);
    // Amounts in the audit log are in KES, as the API shows them (not the stored cents).
    assert.deepEqual(mine[0].details, { from: 'approved', to: 'partially_paid', paid_amount: 1000 });
    assert.deepEqual(mine[1].details, { from: 'submitted', to: 'approved', approved_amount: 1800 });
    const created = await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=create&resource_id=${claim.id}`, headers: admin.headers });
    assert.deepEqual(created.body.entries[0].details, { claim_number: claim.claim_number, claim_amount: 2001 });
  });

  test('concurrent approve and reject of one submitted claim: exactly one wins, the rest are 409', async () => {
    for (let round = 0; round < 3; round++) {
      const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
      for (const status of ['ready_to_submit', 'submitted']) assert.equal((await move(claim.id, { status })).status, 200);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) => move(claim.id, index % 2 ? { status: 'approved', approved_amount: 1000 } : { status: 'rejected', reason: 'No' })),
      );
      const won = results.filter((result) => result.status === 200);
      assert.equal(won.length, 1, results.map((result) => `${result.status} ${JSON.stringify(result.body)}`).join('\n'));
      assert.ok(results.every((result) => result.status === 200 || (result.status === 409 && result.body.code === 'INVALID_STATUS_TRANSITION')), 'the others are 409');
      const stored = await call(app, { method: 'GET', url: `/api/sha/claims/${claim.id}`, headers: manager.headers });
      assert.equal(stored.body.status, won[0]!.body.status);
      assert.deepEqual(stored.body.status_history.map((h: { status: string }) => h.status), ['draft', 'ready_to_submit', 'submitted', won[0]!.body.status]);
    }
  });

  test('concurrent deletes of one draft: one 200, the rest 404 (were 409 "a draft claim cannot be deleted" on PostgreSQL)', async () => {
    const claim = await create({ patient_id: shaPatient.id });
    const results = await Promise.all(Array.from({ length: 10 }, () => call(app, { method: 'DELETE', url: `/api/sha/claims/${claim.id}`, headers: admin.headers })));
    assert.deepEqual(results.map((result) => result.status).sort(), [200, ...Array(9).fill(404)], results.map((result) => JSON.stringify(result.body)).join('\n'));
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=delete&resource_id=${claim.id}`, headers: admin.headers });
    assert.equal(audit.body.pagination.total, 1);
  });

  test('rejected claims go back to draft to be corrected, then get paid in full', async () => {
    const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
    await move(claim.id, { status: 'ready_to_submit' });
    await move(claim.id, { status: 'submitted' });
    const rejected = await move(claim.id, { status: 'rejected', reason: 'Missing pre-authorisation' });
    assert.equal(rejected.body.rejection_reason, 'Missing pre-authorisation');
    assert.equal((await move(claim.id, { status: 'ready_to_submit' })).status, 409);
    assert.equal((await move(claim.id, { status: 'draft' })).status, 200);
    assert.equal((await call(app, { method: 'PUT', url: `/api/sha/claims/${claim.id}`, headers: manager.headers, payload: { notes: 'Pre-auth PA-77' } })).status, 200);
    for (const status of ['ready_to_submit', 'submitted', 'approved']) assert.equal((await move(claim.id, { status })).status, 200, status);
    const paid = await move(claim.id, { status: 'paid' });
    assert.equal(paid.status, 200);
    assert.equal(paid.body.approved_amount, 2001);
    assert.equal(paid.body.paid_amount, 2001);
    assert.equal(paid.body.rejection_reason, null);
    assert.equal(paid.body.status_history.length, 9);
  });

  test('an edit racing the move to ready_to_submit never leaves a ready claim that is not ready', async () => {
    const edit = (id: string) => call(app, { method: 'PUT', url: `/api/sha/claims/${id}`, headers: manager.headers, payload: { items: [], diagnoses: [] } });
    for (let round = 0; round < 15; round++) {
      const claim = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
      const [edited, moved] = await Promise.all([edit(claim.id), move(claim.id, { status: 'ready_to_submit' })]);
      const final = (await call(app, { method: 'GET', url: `/api/sha/claims/${claim.id}`, headers: manager.headers })).body;
      if (moved.status === 200) {
        assert.equal(edited.status, 409, `round ${round}: the edit came after the move`);
        assert.equal(final.items.length, 2, `round ${round}`);
      } else {
        assert.deepEqual([edited.status, moved.status, moved.body.code], [200, 400, 'CLAIM_NOT_READY'], `round ${round}`);
        assert.equal(final.status, 'draft');
      }
    }
  });

  test('an archived patient’s draft is not ready to submit; nothing is approved for 0', async () => {
    const patient = await createPatient(app, admin, { insurance_type: 'sha', insurance_number: 'SHA-2024-000999' });
    const claim = await create({ patient_id: patient.id, diagnoses: DIAGNOSES, items: ITEMS });
    assert.equal((await call(app, { method: 'DELETE', url: `/api/patients/${patient.id}`, headers: admin.headers })).status, 200);
    const refused = await move(claim.id, { status: 'ready_to_submit' });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.details.map((d: { field: string }) => d.field), ['patient']);

    const approvable = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
    for (const status of ['ready_to_submit', 'submitted']) assert.equal((await move(approvable.id, { status })).status, 200);
    const zero = await move(approvable.id, { status: 'approved', approved_amount: 0 });
    assert.equal(zero.status, 400);
    assert.equal(zero.body.details[0].field, 'approved_amount');
    assert.equal((await move(approvable.id, { status: 'rejected', reason: 'Not covered' })).status, 200);
  });

  test('drafts may be deleted (admin), nothing else', async () => {
    const draft = await create({ patient_id: shaPatient.id });
    const ready = await create({ patient_id: shaPatient.id, diagnoses: DIAGNOSES, items: ITEMS });
    await move(ready.id, { status: 'ready_to_submit' });
    assert.equal((await call(app, { method: 'DELETE', url: `/api/sha/claims/${draft.id}`, headers: manager.headers })).status, 403);
    assert.equal((await call(app, { method: 'DELETE', url: `/api/sha/claims/${draft.id}`, headers: admin.headers })).status, 200);
    assert.equal((await call(app, { method: 'GET', url: `/api/sha/claims/${draft.id}`, headers: admin.headers })).status, 404);
    const kept = await call(app, { method: 'DELETE', url: `/api/sha/claims/${ready.id}`, headers: admin.headers });
    assert.equal(kept.status, 409);
    assert.equal(kept.body.code, 'CLAIM_NOT_DELETABLE');
    assert.equal((await call(app, { method: 'DELETE', url: `/api/sha/claims/${draft.id}`, headers: admin.headers })).status, 404);
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=delete`, headers: admin.headers });
    assert.equal(audit.body.entries[0].resource_id, draft.id);
  });

  test('lists filter by status, patient and date range', async () => {
    const other = await createPatient(app, admin, { insurance_type: 'sha' });
    const mine = await create({ patient_id: other.id });
    const byPatient = await call(app, { method: 'GET', url: `/api/sha/claims?patient_id=${other.id}`, headers: manager.headers });
    assert.deepEqual(byPatient.body.claims.map((c: { id: string }) => c.id), [mine.id]);
    const paid = await call(app, { method: 'GET', url: '/api/sha/claims?status=paid', headers: manager.headers });
    assert.equal(paid.body.pagination.total, 1);
    assert.equal((await call(app, { method: 'GET', url: `/api/sha/claims?from=${day}&to=${day}&limit=1`, headers: manager.headers })).body.pagination.total > 10, true);
    assert.equal((await call(app, { method: 'GET', url: '/api/sha/claims?from=2020-01-01&to=2020-12-31', headers: manager.headers })).body.pagination.total, 0);
    // The day after 9999-12-31 is year 10000: a bound written as that day matched nothing.
    const all = (await call(app, { method: 'GET', url: '/api/sha/claims?limit=1', headers: manager.headers })).body.pagination.total;
    assert.ok(all > 10, `${all} claims`);
    assert.equal((await call(app, { method: 'GET', url: '/api/sha/claims?to=9999-12-31&limit=1', headers: manager.headers })).body.pagination.total, all);
    assert.equal((await call(app, { method: 'GET', url: '/api/sha/claims?status=lost', headers: manager.headers })).status, 400);
  });

  test('FHIR export: an R4 message Bundle, checked resource by resource', async () => {
    const visit = await createVisit(app, admin, shaPatient.id);
    const claim = await create({ patient_id: shaPatient.id, visit_id: visit.id, diagnoses: DIAGNOSES, items: ITEMS });
    const { status, body, response } = await call(app, { method: 'GET', url: `/api/sha/claims/${claim.id}/fhir`, headers: manager.headers });
    assert.equal(status, 200);
    assert.match(String(response.headers['content-type']), /^application\/fhir\+json/);
    assert.equal(body.resourceType, 'Bundle');
    assert.equal(body.type, 'message');
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)), '!Number.isNaN(Date.parse(body.timestamp))');
    const types = body.entry.map((entry: { resource: { resourceType: string } }) => entry.resource.resourceType);
    assert.deepEqual(types, ['MessageHeader', 'Organization', 'Patient', 'Coverage', 'Claim']);
    for (const entry of body.entry) assert.equal(entry.fullUrl, `urn:uuid:${entry.resource.id}`);
    const byType = Object.fromEntries(body.entry.map((entry: { resource: { resourceType: string } }) => [entry.resource.resourceType, entry.resource]));
    const ref = (type: string) => `urn:uuid:${byType[type].id}`;

    const header = byType.MessageHeader;
    assert.ok(header.eventCoding.code, 'header.eventCoding.code');
    assert.ok(header.source.endpoint, 'header.source.endpoint');
    assert.equal(header.sender.reference, ref('Organization'));
    assert.deepEqual(header.focus, [{ reference: ref('Claim') }]);

    const organization = byType.Organization;
    assert.equal(organization.name, 'Kibera Community Health Centre');
    assert.equal(organization.identifier[0].value, 'FID-47-101234-5');

    const patient = byType.Patient;
    assert.equal(patient.id, shaPatient.id);
    const shaId = patient.identifier.find((identifier: { system: string }) => identifier.system.includes('sha'));
    assert.equal(shaId.value, 'SHA-2024-000123');
    assert.ok(patient.identifier.some((identifier: { value: string }) => identifier.value === shaPatient.op_number), 'patient.identifier.some((identifier: { value: string }) => identifier.value === shaPatient.op_number)');
    assert.deepEqual(patient.name[0].given, ['Amina']);
    assert.equal(patient.name[0].family, 'Hassan');
    assert.equal(patient.gender, 'female');
    assert.equal(patient.birthDate, '1988-08-08');

    const coverage = byType.Coverage;
    assert.equal(coverage.status, 'active');
    assert.equal(coverage.beneficiary.reference, ref('Patient'));
    assert.equal(coverage.subscriberId, 'SHA-2024-000123');
    assert.match(coverage.payor[0].display, /SHA/);

    const fhirClaim = byType.Claim;
    assert.equal(fhirClaim.id, claim.id);
    assert.equal(fhirClaim.identifier[0].value, claim.claim_number);
    assert.equal(fhirClaim.use, 'claim');
    assert.equal(fhirClaim.status, 'draft');
    assert.equal(fhirClaim.patient.reference, ref('Patient'));
    assert.equal(fhirClaim.provider.reference, ref('Organization'));
    assert.equal(fhirClaim.insurance[0].coverage.reference, ref('Coverage'));
    assert.equal(fhirClaim.insurance[0].focal, true);
    assert.ok(fhirClaim.priority.coding[0].code, 'fhirClaim.priority.coding[0].code');
    assert.ok(fhirClaim.type.coding[0].code, 'fhirClaim.type.coding[0].code');
    assert.equal(fhirClaim.billablePeriod.start, visit.created_at);
    assert.ok(fhirClaim.billablePeriod.end >= fhirClaim.billablePeriod.start, 'fhirClaim.billablePeriod.end >= fhirClaim.billablePeriod.start');
    assert.deepEqual(
      fhirClaim.diagnosis.map((d: { sequence: number; diagnosisCodeableConcept: { coding: Array<{ system: string; code: string }> } }) => [d.sequence, d.diagnosisCodeableConcept.coding[0]!.system, d.diagnosisCodeableConcept.coding[0]!.code]),
      [[1, 'http://id.who.int/icd/release/11/mms', '1F40.0'], [2, 'http://id.who.int/icd/release/11/mms', 'CA40.0']],
    );
    assert.equal(fhirClaim.diagnosis[0].type[0].coding[0].code, 'principal');
    assert.deepEqual(
      fhirClaim.item.map((item: { sequence: number; productOrService: { coding: Array<{ code: string }> }; quantity: { value: number }; unitPrice: { value: number }; net: { value: number; currency: string } }) => [
        item.sequence,
        item.productOrService.coding[0]!.code,
        item.quantity.value,
        item.unitPrice.value,
        item.net.value,
        item.net.currency,
      ]),
      [[1, 'SHA-01-001', 1, 1500, 1500, 'KES'], [2, 'SHA-07-014', 2, 250.5, 501, 'KES']],
    );
    assert.deepEqual(fhirClaim.total, { value: 2001, currency: 'KES' });

    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=claim&action=read`, headers: admin.headers });
    assert.equal(audit.body.entries[0].resource_id, claim.id);
    assert.equal((await call(app, { method: 'GET', url: `/api/sha/claims/${randomUUID()}/fhir`, headers: manager.headers })).status, 404);
  });
});
