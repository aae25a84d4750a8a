import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, createVisit, staffUser, startClinic } from './helpers.js';

describe('visits', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let desk: TestUser;
  let nurse: TestUser;
  const today = new Date().toISOString().slice(0, 10);

  const move = (id: string, status: string, user = nurse) => call(app, { method: 'PATCH', url: `/api/visits/${id}/status`, headers: user.headers, payload: { status } });
  const edit = (id: string, payload: Record<string, unknown>, user = nurse) => call(app, { method: 'PUT', url: `/api/visits/${id}`, headers: user.headers, payload });

  before(async () => {
    ({ t, app, admin } = await startClinic());
    desk = await staffUser(app, admin, ['receptionist']);
    nurse = await staffUser(app, admin, ['nurse']);
  });
  after(() => t.close());

  test('opening a visit: registered, numbered, triage normal by default', async () => {
    const patient = await createPatient(app, desk);
    const { status, body } = await call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: patient.id, chief_complaint: 'Headache' } });
    assert.equal(status, 201);
    assert.equal(body.status, 'registered');
    assert.equal(body.triage_category, 'normal');
    assert.equal(body.chief_complaint, 'Headache');
    assert.equal(body.patient_id, patient.id);
    assert.equal(body.created_by, desk.user.id);
    assert.match(body.visit_number, /^VIS-\d{8}-\d{3,}$/);
    assert.deepEqual(body.diagnoses, []);
    assert.equal(body.completed_at, null);
    assert.equal(Object.keys(body.vitals).length, 8);
  });

  test('the patient must exist and be active', async () => {
    const missing = await call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: randomUUID() } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'INVALID_REFERENCE');
    const patient = await createPatient(app, desk);
    await call(app, { method: 'DELETE', url: `/api/patients/${patient.id}`, headers: admin.headers });
    assert.equal((await call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: patient.id } })).status, 400);
    assert.equal((await call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: patient.id, triage_category: 'soon' } })).status, 400);
  });

  test('one open visit per patient per day, also under concurrent requests', async () => {
    const patient = await createPatient(app, desk);
    const first = await createVisit(app, desk, patient.id);
    const second = await call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: patient.id } });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'VISIT_ALREADY_OPEN');
    assert.equal((await move(first.id, 'cancelled')).status, 200);
    await createVisit(app, desk, patient.id);

    const racer = await createPatient(app, desk);
    const results = await Promise.all(Array.from({ length: 6 }, () => call(app, { method: 'POST', url: '/api/visits', headers: desk.headers, payload: { patient_id: racer.id } })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
  });

  test('the status flow, with the lab loop, ends completed', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    for (const status of ['triaged', 'waiting_consultation', 'in_consultation', 'waiting_lab', 'lab_results_ready', 'in_consultation', 'waiting_pharmacy']) {
      const { status: code, body } = await move(visit.id, status);
      assert.equal(code, 200, `${status}: ${JSON.stringify(body)}`);
      assert.equal(body.status, status);
      assert.equal(body.completed_at, null);
    }
    const done = await move(visit.id, 'completed');
    assert.equal(done.body.status, 'completed');
    assert.ok(done.body.completed_at, 'done.body.completed_at');
    for (const status of ['cancelled', 'registered', 'in_consultation']) {
      const { status: code, body } = await move(visit.id, status);
      assert.equal(code, 409);
      assert.equal(body.code, 'INVALID_STATUS_TRANSITION');
    }
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=visit&action=status&limit=200`, headers: admin.headers });
    const mine = audit.body.entries.filter((entry: { resource_id: string }) => entry.resource_id === visit.id);
    assert.equal(mine.length, 8);
    assert.deepEqual(mine[0].details, { from: 'waiting_pharmacy', to: 'completed' });
  });

  test('moves the flow does not allow are 409 and change nothing', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    for (const status of ['completed', 'in_consultation', 'registered', 'waiting_pharmacy', 'lab_results_ready']) {
      assert.equal((await move(visit.id, status)).status, 409, status);
    }
    assert.equal((await move(visit.id, 'discharged')).status, 400);
    assert.equal((await move(randomUUID(), 'triaged')).status, 404);
    const { body } = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: nurse.headers });
    assert.equal(body.visit.status, 'registered');
    assert.equal(body.patient.id, patient.id);
    assert.equal((await move(visit.id, 'cancelled')).status, 200);
    assert.equal((await move(visit.id, 'triaged')).status, 409);
  });

  test('the pharmacist and the lab technician see who the patient is, not the patient record', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    const identifying = ['age', 'first_name', 'gender', 'id', 'last_name', 'op_number'];
    for (const roles of [['pharmacist'], ['lab_technician'], ['pharmacist', 'lab_technician']]) {
      const user = await staffUser(app, admin, roles);
      const { status, body } = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: user.headers });
      assert.equal(status, 200, roles.join());
      assert.deepEqual(Object.keys(body.patient).sort(), identifying, roles.join());
      assert.equal(body.patient.op_number, patient.op_number);
      assert.equal(body.patient.first_name, patient.first_name);
      assert.equal(body.visit.id, visit.id);
      assert.equal((await call(app, { method: 'GET', url: `/api/patients/${patient.id}`, headers: user.headers })).status, 403);
      const queued = (await call(app, { method: 'GET', url: '/api/visits/queue', headers: user.headers })).body.queue.find((entry: { id: string }) => entry.id === visit.id);
      assert.equal(queued.op_number, patient.op_number);
      assert.equal(queued.national_id, undefined);
    }
    // A role that may read patients sees the whole record, also next to a restricted role.
    for (const user of [nurse, await staffUser(app, admin, ['pharmacist', 'cashier'])]) {
      const { body } = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: user.headers });
      assert.equal(body.patient.national_id, patient.national_id);
      assert.equal(body.patient.phone_number, patient.phone_number);
      assert.equal(body.patient.insurance_number, patient.insurance_number);
      assert.equal(body.patient.next_of_kin, patient.next_of_kin);
    }
  });

  test('concurrent identical moves: one wins, the others are 409', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    const results = await Promise.all([move(visit.id, 'triaged'), move(visit.id, 'triaged'), move(visit.id, 'triaged')]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409]);
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=visit&action=status&resource_id=${visit.id}`, headers: admin.headers });
    assert.equal(audit.body.pagination.total, 1);
  });

  test('concurrent different moves from one state: exactly one wins; every 200 is a move from the state its write found', async () => {
    for (let round = 0; round < 3; round++) {
      // Both targets are final: whichever commits first, the other finds a closed visit.
      const patient = await createPatient(app, desk);
      const visit = await createVisit(app, desk, patient.id);
      for (const status of ['triaged', 'waiting_consultation', 'in_consultation', 'waiting_pharmacy']) assert.equal((await move(visit.id, status)).status, 200);
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => move(visit.id, index % 2 ? 'completed' : 'cancelled')));
      const won = results.filter((result) => result.status === 200);
      assert.equal(won.length, 1, results.map((result) => `${result.status} ${JSON.stringify(result.body)}`).join('\n'));
      assert.ok(results.every((result) => result.status === 200 || (result.status === 409 && result.body.code === 'INVALID_STATUS_TRANSITION')), 'the others are 409');
      const stored = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: nurse.headers });
      assert.equal(stored.body.visit.status, won[0]!.body.status);
    }
    // The fuzzer's pair, triaged and cancelled from registered: triaged then cancelled is a valid path, so
    // two 200s can be right; what must hold is that the 200s chain, each from the state the previous left.
    for (let round = 0; round < 3; round++) {
      const patient = await createPatient(app, desk);
      const visit = await createVisit(app, desk, patient.id);
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) => move(visit.id, index % 2 ? 'triaged' : 'cancelled')));
      const won = results.filter((result) => result.status === 200);
      const audit = await call(app, { method: 'GET', url: `/api/audit?resource=visit&action=status&resource_id=${visit.id}`, headers: admin.headers });
      const moves = (audit.body.entries as Array<{ details: { from: string; to: string } }>).map((entry) => entry.details).reverse();
      assert.equal(moves.length, won.length, JSON.stringify(moves));
      assert.ok(moves.length >= 1 && moves.length <= 2, JSON.stringify(moves));
      moves.forEach((step, index) => assert.equal(step.from, index === 0 ? 'registered' : moves[index - 1]!.to, JSON.stringify(moves)));
      const stored = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: nurse.headers });
      assert.equal(stored.body.visit.status, moves.at(-1)!.to);
    }
  });

  test('vitals within physiological ranges, merged field by field', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    const first = await edit(visit.id, { vitals: { temperature_c: 38.5, pulse: 96, bp_systolic: 130, bp_diastolic: 85 } });
    assert.equal(first.status, 200);
    assert.equal(first.body.vitals.temperature_c, 38.5);
    const second = await edit(visit.id, { vitals: { spo2: 97, weight_kg: 64.5, height_cm: 168, resp_rate: 18 } });
    assert.deepEqual(second.body.vitals, { temperature_c: 38.5, pulse: 96, bp_systolic: 130, bp_diastolic: 85, resp_rate: 18, spo2: 97, weight_kg: 64.5, height_cm: 168 });

    const impossible: Array<Record<string, number>> = [{ temperature_c: 80 }, { temperature_c: 10 }, { pulse: 0 }, { spo2: 101 }, { bp_systolic: 400 }, { weight_kg: 0 }, { resp_rate: 200 }];
    for (const vitals of impossible) {
      const { status, body } = await edit(visit.id, { vitals });
      assert.equal(status, 400, JSON.stringify(vitals));
      assert.equal(body.details[0].field, `vitals.${Object.keys(vitals)[0]}`);
    }
    const inverted = await edit(visit.id, { vitals: { bp_diastolic: 140 } });
    assert.equal(inverted.status, 400);
    assert.equal((await edit(visit.id, { vitals: { temperature_c: '38' } })).status, 400);
    assert.equal((await edit(visit.id, { vitals: { glucose: 5 } })).status, 400);
    const { body } = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: nurse.headers });
    assert.equal(body.visit.vitals.temperature_c, 38.5);
    assert.equal(body.visit.vitals.bp_diastolic, 85);
  });

  test('ICD-11 diagnoses, notes and triage; closed visits are read-only', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    const officer = await staffUser(app, admin, ['clinical_officer']);
    const ok = await edit(
      visit.id,
      { diagnoses: [{ code: '1F40.0', description: 'Malaria due to Plasmodium falciparum' }, { code: 'CA40.0', description: 'Bacterial pneumonia', primary: false }], notes: 'Start ACT' },
      officer,
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.diagnoses, [
      { code: '1F40.0', description: 'Malaria due to Plasmodium falciparum', primary: true },
      { code: 'CA40.0', description: 'Bacterial pneumonia', primary: false },
    ]);
    assert.equal(ok.body.notes, 'Start ACT');
    const icd10 = await edit(visit.id, { diagnoses: [{ code: 'J18.9', description: 'Pneumonia (ICD-10)' }] }, officer);
    assert.equal(icd10.status, 400);
    assert.equal(icd10.body.details[0].field, 'diagnoses.0.code');
    const twoPrimary = await edit(visit.id, { diagnoses: [{ code: '1F40.0', description: 'a', primary: true }, { code: 'CA40.0', description: 'b', primary: true }] }, officer);
    assert.equal(twoPrimary.status, 400);
    assert.equal((await edit(visit.id, {}, officer)).status, 400);

    assert.equal((await move(visit.id, 'cancelled')).status, 200);
    const closed = await edit(visit.id, { notes: 'late note' }, officer);
    assert.equal(closed.status, 409);
    assert.equal(closed.body.code, 'VISIT_CLOSED');
    assert.equal((await edit(randomUUID(), { notes: 'x' }, officer)).status, 404);
  });

  test('blank text: a diagnosis needs a description (400); blank notes and complaint mean none', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id, { chief_complaint: 'Cough' });
    const blank = await edit(visit.id, { diagnoses: [{ code: '1F40.0', description: '   ' }] });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.details[0].field, 'diagnoses.0.description');
    assert.equal((await edit(visit.id, { notes: 'Review in 3 days' })).body.notes, 'Review in 3 days');
    const cleared = await edit(visit.id, { notes: '   ', chief_complaint: ' \n ' });
    assert.equal(cleared.status, 200);
    assert.deepEqual([cleared.body.notes, cleared.body.chief_complaint], [null, null]);
    assert.equal((await edit(visit.id, { notes: '  Seen  ' })).body.notes, 'Seen');
  });

  test('an edit that changes nothing writes nothing: no audit entry, same updated_at', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id, { triage_category: 'urgent' });
    const entries = async () =>
      (await call(app, { method: 'GET', url: `/api/audit?resource=visit&action=update&resource_id=${visit.id}`, headers: admin.headers })).body.entries as Array<{ details: { fields: string[] } }>;
    const first = await edit(visit.id, { vitals: { pulse: 80 }, notes: 'Seen', diagnoses: [{ code: '1F40.0', description: 'Malaria' }] });
    assert.equal(first.status, 200);
    assert.equal((await entries()).length, 1);
    const noops: Array<Record<string, unknown>> = [
      { vitals: {} },
      { vitals: { pulse: 80, spo2: null } },
      { notes: 'Seen' },
      { notes: '  Seen ' },
      { triage_category: 'urgent' },
      { chief_complaint: null },
      { diagnoses: [{ code: '1F40.0', description: ' Malaria', primary: true }] },
    ];
    for (const payload of noops) {
      const { status, body } = await edit(visit.id, payload);
      assert.equal(status, 200, JSON.stringify(payload));
      assert.equal(body.updated_at, first.body.updated_at, JSON.stringify(payload));
      assert.deepEqual(body.vitals, first.body.vitals);
    }
    assert.equal((await entries()).length, 1);
    // A real change among unchanged fields: audited with only the changed field.
    const changed = await edit(visit.id, { notes: 'Seen', vitals: { pulse: 82 } });
    assert.equal(changed.body.vitals.pulse, 82);
    const after = await entries();
    assert.equal(after.length, 2);
    assert.deepEqual(after[0]!.details.fields, ['vitals']);
  });

  test('the queue: today\'s open visits, emergency then urgent then normal, oldest first', async () => {
    const made: Array<{ id: string; triage: string }> = [];
    for (const triage of ['normal', 'urgent', 'emergency', 'normal', 'emergency']) {
      const patient = await createPatient(app, desk);
      const visit = await createVisit(app, desk, patient.id, { triage_category: triage });
      made.push({ id: visit.id, triage });
    }
    const done = await createVisit(app, desk, (await createPatient(app, desk)).id);
    await move(done.id, 'cancelled');
    // Triage by the nurse moves a visit up the queue.
    assert.equal((await edit(made[3]!.id, { triage_category: 'urgent' })).body.triage_category, 'urgent');

    const { status, body } = await call(app, { method: 'GET', url: '/api/visits/queue', headers: nurse.headers });
    assert.equal(status, 200);
    const ids = body.queue.map((entry: { id: string }) => entry.id);
    assert.ok(!ids.includes(done.id), '!ids.includes(done.id)');
    const mine = ids.filter((id: string) => made.some((m) => m.id === id));
    assert.deepEqual(mine, [made[2]!.id, made[4]!.id, made[1]!.id, made[3]!.id, made[0]!.id]);
    const ranks = body.queue.map((entry: { triage_category: string }) => ['emergency', 'urgent', 'normal'].indexOf(entry.triage_category));
    assert.deepEqual(ranks, [...ranks].sort((a: number, b: number) => a - b));
    const first = body.queue[0];
    assert.ok(first.op_number.startsWith('OP-'), "first.op_number.startsWith('OP-')");
    assert.equal(first.patient_name, `${first.first_name} ${first.last_name}`);
    assert.ok(body.counts.cancelled >= 1, 'body.counts.cancelled >= 1');
    assert.equal(body.counts.registered, body.queue.filter((entry: { status: string }) => entry.status === 'registered').length);
  });

  test('lists filter by status, date and patient, paginated', async () => {
    const patient = await createPatient(app, desk);
    const visit = await createVisit(app, desk, patient.id);
    const byPatient = await call(app, { method: 'GET', url: `/api/visits?patient_id=${patient.id}`, headers: nurse.headers });
    assert.deepEqual(byPatient.body.visits.map((v: { id: string }) => v.id), [visit.id]);
    assert.equal(byPatient.body.pagination.total, 1);
    const todays = await call(app, { method: 'GET', url: `/api/visits?date=${today}&limit=2`, headers: nurse.headers });
    assert.equal(todays.body.visits.length, 2);
    assert.ok(todays.body.pagination.total > 2, 'todays.body.pagination.total > 2');
    assert.equal((await call(app, { method: 'GET', url: '/api/visits?date=2001-01-01', headers: nurse.headers })).body.pagination.total, 0);
    const cancelled = await call(app, { method: 'GET', url: '/api/visits?status=cancelled&limit=200', headers: nurse.headers });
    assert.ok(cancelled.body.visits.length > 0 && cancelled.body.visits.every((v: { status: string }) => v.status === 'cancelled'), "cancelled.body.visits.length > 0 && cancelled.body.visits.every((v: { status: string }) => v.status === 'cancelled')");
    assert.equal((await call(app, { method: 'GET', url: '/api/visits?status=lost', headers: nurse.headers })).status, 400);
    assert.equal((await call(app, { method: 'GET', url: `/api/visits/${randomUUID()}`, headers: nurse.headers })).status, 404);
  });
});
