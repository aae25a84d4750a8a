import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { clinicMigrations } from '../../../src/modules/clinic/migrations.js';
import type { ClinicTables } from '../../../src/modules/clinic/tables.js';
import type { TestApp, TestUser } from '../../helpers/app.js';
import { call, createPatient, createVisit, patientBody, staffUser, startClinic } from './helpers.js';

describe('patients', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let admin: TestUser;
  let desk: TestUser;
  const year = new Date().getUTCFullYear();

  const list = async (query: string) => {
    const { status, body } = await call(app, { method: 'GET', url: `/api/patients?${query}`, headers: desk.headers });
    assert.equal(status, 200, JSON.stringify(body));
    return body as { patients: Array<Record<string, unknown> & { id: string }>; pagination: { limit: number; offset: number; total: number } };
  };

  before(async () => {
    ({ t, app, admin } = await startClinic());
    desk = await staffUser(app, admin, ['receptionist']);
  });
  after(() => t.close());

  test('registration assigns OP-<year>-<n> and returns every field', async () => {
    const { status, body } = await call(app, {
      method: 'POST',
      url: '/api/patients',
      headers: desk.headers,
      payload: patientBody({ first_name: 'Achieng', last_name: 'Odhiambo', date_of_birth: '2000-01-01', gender: 'female' }),
    });
    assert.equal(status, 201);
    assert.equal(body.op_number, `OP-${year}-001`);
    assert.equal(body.first_name, 'Achieng');
    assert.equal(typeof body.age, 'number');
    assert.ok(body.age >= 25, 'body.age >= 25');
    for (const field of ['id', 'gender', 'phone_number', 'national_id', 'area', 'next_of_kin', 'next_of_kin_phone', 'insurance_type', 'insurance_number', 'created_at', 'updated_at']) {
      assert.ok(field in body, field);
    }
    const second = await createPatient(app, desk);
    assert.equal(second.op_number, `OP-${year}-002`);
    const minimal = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: { first_name: 'Baraka', last_name: 'Mwangi', gender: 'male' } });
    assert.equal(minimal.status, 201);
    assert.equal(minimal.body.insurance_type, 'cash');
    assert.equal(minimal.body.age, null);
  });

  test('bad input is 400 and registers nobody', async () => {
    const before = (await list('limit=1')).pagination.total;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ first_name: undefined }, 'first_name'],
      [{ gender: 'unknown' }, 'gender'],
      [{ date_of_birth: '1990-13-45' }, 'date_of_birth'],
      [{ phone_number: 'call me' }, 'phone_number'],
      [{ insurance_type: 'sha', insurance_number: null }, 'insurance_number'],
      [{ blood_group: 'O+' }, 'blood_group'],
      [{ first_name: 'x'.repeat(101) }, 'first_name'],
      [{ date_of_birth: '2999-01-01' }, 'date_of_birth'],
      [{ date_of_birth: '1850-01-01' }, 'date_of_birth'],
    ];
    for (const [fields, field] of cases) {
      const { status, body } = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody(fields) });
      assert.equal(status, 400, field);
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.ok(body.details.some((detail: { field: string }) => detail.field === field), `${field}: ${JSON.stringify(body.details)}`);
    }
    const malformed = await call(app, { method: 'POST', url: '/api/patients', headers: { ...desk.headers, 'content-type': 'application/json' }, payload: '{"first_name":' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'INVALID_JSON');
    assert.equal((await list('limit=1')).pagination.total, before);
  });

  test('20 concurrent registrations get 20 distinct, consecutive OP numbers', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody() })),
    );
    assert.deepEqual(results.map((r) => r.status), Array(20).fill(201));
    const numbers = results.map((r) => Number(String(r.body.op_number).split('-')[2])).sort((a, b) => a - b);
    assert.equal(new Set(numbers).size, 20);
    assert.equal(numbers[19]! - numbers[0]!, 19);
    for (const r of results) assert.match(r.body.op_number, new RegExp(`^OP-${year}-\\d{3,}$`));
  });

  test('duplicates: same national id, or same names + birth date + phone, is 409 with the existing id', async () => {
    const original = await createPatient(app, desk, { first_name: 'Kipchoge', last_name: 'Keino', date_of_birth: '1985-02-03', phone_number: '0711222333', national_id: '22334455' });
    const sameId = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody({ national_id: '22334455' }) });
    assert.equal(sameId.status, 409);
    assert.equal(sameId.body.code, 'DUPLICATE_PATIENT');
    assert.equal(sameId.body.existing_id, original.id);
    assert.equal(sameId.body.existing_patient_id, original.id);
    const samePerson = await call(app, {
      method: 'POST',
      url: '/api/patients',
      headers: desk.headers,
      payload: patientBody({ first_name: 'KIPCHOGE', last_name: 'keino', date_of_birth: '1985-02-03', phone_number: '+254 711 222 333', national_id: null }),
    });
    assert.equal(samePerson.status, 409);
    assert.equal(samePerson.body.existing_id, original.id);
    // Names are the same whatever the spacing between their words (a double space typed at the desk).
    const mary = await createPatient(app, desk, { first_name: 'Mary Ann', last_name: 'Atieno Odhiambo', date_of_birth: '1992-07-08', phone_number: '0711999888', national_id: null });
    const spaced = await call(app, {
      method: 'POST',
      url: '/api/patients',
      headers: desk.headers,
      payload: patientBody({ first_name: 'Mary  Ann', last_name: 'Atieno\tOdhiambo', date_of_birth: '1992-07-08', phone_number: '0711999888', national_id: null }),
    });
    assert.equal(spaced.status, 409);
    assert.equal(spaced.body.existing_id, mary.id);
    // A namesake born another day is someone else.
    const namesake = await call(app, {
      method: 'POST',
      url: '/api/patients',
      headers: desk.headers,
      payload: patientBody({ first_name: 'Kipchoge', last_name: 'Keino', date_of_birth: '1986-02-03', phone_number: '0711222333', national_id: null }),
    });
    assert.equal(namesake.status, 201);
  });

  test('identity keys written before spacing was ignored are rewritten by clinic_006', async () => {
    const db = app.db.withTables<ClinicTables>();
    const legacy = await createPatient(app, desk, { first_name: 'Grace  Wanjiku', last_name: 'Mwangi', date_of_birth: '1979-03-04', phone_number: '0711777666', national_id: null });
    const twin = await createPatient(app, desk, { first_name: 'Esther', last_name: 'Njeri', date_of_birth: '1979-03-04', phone_number: '0711777555', national_id: null });
    const twinLegacy = await createPatient(app, desk, { first_name: 'Esther', last_name: 'Njeri', date_of_birth: '1979-03-04', phone_number: '0711777554', national_id: null });
    // As earlier versions wrote them: the names' white space kept as typed.
    await db.updateTable('patients').set({ identity_key: 'grace  wanjiku|mwangi|1979-03-04|711777666' }).where('id', '=', legacy.id).execute();
    await db.updateTable('patients').set({ identity_key: 'esther ann|njeri|1979-03-04|711777555' }).where('id', '=', twin.id).execute();
    await db.updateTable('patients').set({ identity_key: 'esther \tann|njeri|1979-03-04|711777555' }).where('id', '=', twinLegacy.id).execute();
    const migration = clinicMigrations.find((m) => m.name === 'clinic_006_patient_name_folding')!;
    await db.transaction().execute((trx) => migration.up(trx as never, app.database.dialect));
    const keys = await db.selectFrom('patients').select(['id', 'identity_key']).where('id', 'in', [legacy.id, twin.id, twinLegacy.id]).execute();
    const keyOf = (id: string) => keys.find((row) => row.id === id)!.identity_key;
    assert.equal(keyOf(legacy.id), 'grace wanjiku|mwangi|1979-03-04|711777666');
    assert.equal(keyOf(twin.id), 'esther ann|njeri|1979-03-04|711777555');
    // Its new form is already held: left as it was (the unique index allows one).
    assert.equal(keyOf(twinLegacy.id), 'esther \tann|njeri|1979-03-04|711777555');
    const again = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody({ first_name: 'Grace  Wanjiku', last_name: 'Mwangi', date_of_birth: '1979-03-04', phone_number: '0711777666', national_id: null }) });
    assert.equal(again.status, 409);
    assert.equal(again.body.existing_id, legacy.id);
  });

  test('names with apostrophes written before get today’s identity key and search prefixes from clinic_006', async () => {
    const db = app.db.withTables<ClinicTables>();
    const gitau = await createPatient(app, desk, { first_name: 'Gitau', last_name: "Kang'ethe", date_of_birth: '1981-06-07', phone_number: '0711888999', national_id: null });
    const { op_key: opKey } = await db.selectFrom('patients').select('op_key').where('id', '=', gitau.id).executeTakeFirstOrThrow();
    // As earlier versions wrote them: the apostrophes kept in the key and in the name's prefixes.
    await db.updateTable('patients').set({ identity_key: "gitau|kang'ethe|1981-06-07|711888999" }).where('id', '=', gitau.id).execute();
    await db.deleteFrom('patient_name_prefixes').where('op_key', '=', opKey).execute();
    const oldPrefixes = ['gitau', "kang'ethe"].flatMap((word) => [...word].map((_, index) => word.slice(0, index + 1)));
    await db.insertInto('patient_name_prefixes').values(oldPrefixes.map((prefix) => ({ prefix, op_key: opKey }))).execute();
    const found = async () => (await call(app, { method: 'GET', url: '/api/patients?search=gitau%20kangethe', headers: desk.headers })).body.patients.map((p: { id: string }) => p.id);
    assert.deepEqual(await found(), [], 'the old prefixes do not hold the folded name');

    const migration = clinicMigrations.find((m) => m.name === 'clinic_006_patient_name_folding')!;
    await db.transaction().execute((trx) => migration.up(trx as never, app.database.dialect));
    assert.deepEqual(await found(), [gitau.id]);
    const again = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody({ first_name: 'Gitau', last_name: 'Kangethe', date_of_birth: '1981-06-07', phone_number: '0711888999', national_id: null }) });
    assert.equal(again.status, 409);
    assert.equal(again.body.existing_id, gitau.id);
  });

  test('clinic_006 also rewrites the prefixes of a name whose apostrophe is one only once folded (the fullwidth ＇)', async () => {
    const db = app.db.withTables<ClinicTables>();
    const wanjiru = await createPatient(app, desk, { first_name: 'Wanjiru', last_name: 'Ng\uFF07endo', date_of_birth: '1984-02-03', phone_number: '0711222333', national_id: null });
    const { op_key: opKey } = await db.selectFrom('patients').select('op_key').where('id', '=', wanjiru.id).executeTakeFirstOrThrow();
    // As earlier versions wrote them: NFKD made the fullwidth apostrophe a straight one, which the words kept.
    await db.deleteFrom('patient_name_prefixes').where('op_key', '=', opKey).execute();
    const oldPrefixes = ['wanjiru', "ng'endo"].flatMap((word) => [...word].map((_, index) => word.slice(0, index + 1)));
    await db.insertInto('patient_name_prefixes').values(oldPrefixes.map((prefix) => ({ prefix, op_key: opKey }))).execute();
    const found = async () => (await call(app, { method: 'GET', url: '/api/patients?search=wanjiru%20ngendo', headers: desk.headers })).body.patients.map((p: { id: string }) => p.id);
    assert.deepEqual(await found(), []);

    const migration = clinicMigrations.find((m) => m.name === 'clinic_006_patient_name_folding')!;
    await db.transaction().execute((trx) => migration.up(trx as never, app.database.dialect));
    assert.deepEqual(await found(), [wanjiru.id]);
  });

  test('concurrent registrations of one person: one is created, the rest get 409 with its id', async () => {
    const body = patientBody({ national_id: '99887766' });
    const results = await Promise.all(Array.from({ length: 8 }, () => call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: body })));
    const created = results.filter((r) => r.status === 201);
    assert.equal(created.length, 1);
    for (const r of results.filter((r) => r.status !== 201)) {
      assert.equal(r.status, 409);
      assert.equal(r.body.existing_id, created[0]!.body.id);
    }
  });

  test('one patient with the last 5 visits; the read is audited', async () => {
    const patient = await createPatient(app, desk);
    const nurse = await staffUser(app, admin, ['nurse']);
    // Visits of other days are written directly: one open visit per day is the rule.
    for (let day = 1; day <= 6; day++) {
      const date = `2026-01-0${day}`;
      await app.db
        .withTables<ClinicTables>()
        .insertInto('visits')
        .values({
          id: randomUUID(),
          visit_number: `VIS-TEST-${patient.id}-${day}`,
          patient_id: patient.id,
          visit_date: date,
          status: 'completed',
          triage_category: 'normal',
          triage_rank: 2,
          chief_complaint: `day ${day}`,
          vitals: '{}',
          diagnoses: '[]',
          notes: null,
          created_by: null,
          created_at: `${date}T08:00:00.000Z`,
          updated_at: `${date}T08:00:00.000Z`,
          completed_at: `${date}T09:00:00.000Z`,
        })
        .execute();
    }
    const today = await createVisit(app, nurse, patient.id);
    const { status, body } = await call(app, { method: 'GET', url: `/api/patients/${patient.id}`, headers: nurse.headers });
    assert.equal(status, 200);
    assert.equal(body.patient.id, patient.id);
    assert.equal(body.recent_visits.length, 5);
    assert.equal(body.recent_visits[0].id, today.id);
    assert.equal(body.recent_visits[1].chief_complaint, 'day 6');
    assert.equal(body.recent_visits[4].chief_complaint, 'day 3');
    assert.equal(body.recent_visits[1].vitals.temperature_c, null);

    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=patient&action=read&user_id=${nurse.user.id}`, headers: admin.headers });
    assert.equal(audit.body.pagination.total, 1);
    assert.equal(audit.body.entries[0].resource_id, patient.id);
  });

  test('unknown or malformed ids', async () => {
    assert.equal((await call(app, { method: 'GET', url: `/api/patients/${randomUUID()}`, headers: desk.headers })).status, 404);
    assert.equal((await call(app, { method: 'GET', url: '/api/patients/not-a-uuid', headers: desk.headers })).status, 400);
    assert.equal((await call(app, { method: 'PUT', url: `/api/patients/${randomUUID()}`, headers: desk.headers, payload: { area: 'Kisumu' } })).status, 404);
    assert.equal((await call(app, { method: 'DELETE', url: `/api/patients/${randomUUID()}`, headers: admin.headers })).status, 404);
  });

  test('edits are partial, re-check the rules and are audited', async () => {
    const patient = await createPatient(app, desk, { area: 'Kibera', insurance_type: 'cash', insurance_number: null });
    const other = await createPatient(app, desk);
    const updated = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { area: 'Kisumu', phone_number: '0799000111' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.area, 'Kisumu');
    assert.equal(updated.body.first_name, patient.first_name);
    assert.equal(updated.body.op_number, patient.op_number);
    assert.ok(updated.body.updated_at >= String(patient.updated_at), 'updated.body.updated_at >= String(patient.updated_at)');

    const sha = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { insurance_type: 'sha' } });
    assert.equal(sha.status, 400);
    const dup = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { national_id: other.national_id } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.existing_id, other.id);
    assert.equal((await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: {} })).status, 400);
    assert.equal((await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { op_number: 'OP-1999-001' } })).status, 400);

    const found = await list('search=0799000111');
    assert.deepEqual(found.patients.map((p) => p.id), [patient.id]);
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=patient&action=update`, headers: admin.headers });
    assert.equal(audit.body.entries[0].resource_id, patient.id);
    assert.deepEqual(audit.body.entries[0].details.fields, ['area', 'phone_number']);
  });

  test('blank text is 400, never stored as an empty string; null clears an optional field', async () => {
    const patient = await createPatient(app, desk, { area: 'Kibera', next_of_kin: 'John Kamau' });
    for (const field of ['area', 'next_of_kin', 'first_name', 'last_name']) {
      const { status, body } = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { [field]: '   ' } });
      assert.equal(status, 400, field);
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.equal(body.details[0].field, field);
    }
    const blank = await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody({ area: ' \t ' }) });
    assert.equal(blank.status, 400);
    assert.equal(blank.body.details[0].field, 'area');
    const kept = await call(app, { method: 'GET', url: `/api/patients/${patient.id}`, headers: desk.headers });
    assert.deepEqual([kept.body.patient.area, kept.body.patient.next_of_kin], ['Kibera', 'John Kamau']);
    const cleared = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { area: null, next_of_kin: '  Mary Kamau ' } });
    assert.equal(cleared.status, 200);
    assert.deepEqual([cleared.body.area, cleared.body.next_of_kin], [null, 'Mary Kamau']);
  });

  test('an edit that changes nothing writes nothing: no audit entry, same updated_at', async () => {
    const patient = await createPatient(app, desk, { area: 'Kibera', national_id: `9${Date.now() % 10_000_000}` });
    const entries = async () => (await call(app, { method: 'GET', url: `/api/audit?resource=patient&action=update&resource_id=${patient.id}`, headers: admin.headers })).body.entries;
    for (const payload of [{ area: 'Kibera' }, { area: ' Kibera ', first_name: patient.first_name }, { national_id: String(patient.national_id).toLowerCase() }]) {
      const { status, body } = await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload });
      assert.equal(status, 200, JSON.stringify(payload));
      assert.equal(body.updated_at, patient.updated_at, JSON.stringify(payload));
    }
    assert.equal((await entries()).length, 0);
    await call(app, { method: 'PUT', url: `/api/patients/${patient.id}`, headers: desk.headers, payload: { area: 'Kibera', next_of_kin: 'Jane Kamau' } });
    const after = await entries();
    assert.equal(after.length, 1);
    assert.deepEqual(after[0].details.fields, ['next_of_kin']);
  });

  test('archiving keeps the record but removes it from lists, search and reads', async () => {
    const patient = await createPatient(app, desk, { last_name: 'Archivable', national_id: '55500011' });
    const visit = await createVisit(app, admin, patient.id);
    const archived = await call(app, { method: 'DELETE', url: `/api/patients/${patient.id}`, headers: admin.headers });
    assert.equal(archived.status, 200);
    assert.equal((await call(app, { method: 'GET', url: `/api/patients/${patient.id}`, headers: desk.headers })).status, 404);
    assert.equal((await list('search=archivable')).pagination.total, 0);
    assert.ok(!(await list('limit=200')).patients.some((p) => p.id === patient.id), "!(await list('limit=200')).patients.some((p) => p.id === patient.id)");
    assert.equal((await call(app, { method: 'DELETE', url: `/api/patients/${patient.id}`, headers: admin.headers })).status, 404);
    // The medical record is still there: the visit and the patient row.
    const kept = await call(app, { method: 'GET', url: `/api/visits/${visit.id}`, headers: admin.headers });
    assert.equal(kept.status, 200);
    assert.equal(kept.body.patient.id, patient.id);
    const audit = await call(app, { method: 'GET', url: `/api/audit?resource=patient&action=delete`, headers: admin.headers });
    assert.equal(audit.body.entries[0].resource_id, patient.id);
    // An archived record no longer blocks registering that national id.
    assert.equal((await call(app, { method: 'POST', url: '/api/patients', headers: desk.headers, payload: patientBody({ national_id: '55500011' }) })).status, 201);
  });

  test('search matches names, phone in any form, OP number, national id and insurance number', async () => {
    const p = await createPatient(app, desk, {
      first_name: 'Nyokabi',
      last_name: 'Wambui-Gathoni',
      phone_number: '0733444555',
      national_id: '93141592',
      insurance_number: 'SHA-777-888',
      gender: 'female',
      insurance_type: 'sha',
      area: 'Nyeri',
    });
    const only = (body: Awaited<ReturnType<typeof list>>) => body.patients.map((patient) => patient.id);
    for (const term of ['nyokabi', 'NYOK', 'wambui', 'gathoni', 'nyokabi wamb', '0733444555', '+254733444555', '733444', p.op_number, p.op_number.toLowerCase(), '93141592', '9314', 'SHA-777-888', 'sha777']) {
      assert.deepEqual(only(await list(`search=${encodeURIComponent(term)}`)), [p.id], term);
    }
    assert.deepEqual(only(await list('search=nyokabi%200733')), [p.id]);
    assert.deepEqual(only(await list('search=93141592%20wambui')), [p.id]);
    // A word can match a name of one patient and an identifier of another: both are found.
    const shaban = await createPatient(app, desk, { first_name: 'Omari', last_name: 'Shabanov', insurance_type: 'cash', insurance_number: null });
    const byWord = only(await list('search=shab&limit=200'));
    assert.ok(byWord.includes(shaban.id), 'byWord.includes(shaban.id)');
    const shaInsured = only(await list('search=sha-777&limit=200'));
    assert.deepEqual(shaInsured, [p.id]);
    const mixed = await list('search=sha&limit=200');
    assert.ok(mixed.patients.some((x) => x.id === shaban.id) && mixed.patients.some((x) => x.id === p.id), 'mixed.patients.some((x) => x.id === shaban.id) && mixed.patients.some((x) => x.id === p.id)');
    assert.equal(mixed.pagination.total, new Set(mixed.patients.map((x) => x.id)).size);
    // A full page counts the matches instead (names and identifiers, then identifiers alone: phones share "07").
    assert.equal((await list('search=sha&limit=1')).pagination.total, mixed.pagination.total);
    const phones = await list('search=07&limit=200');
    assert.ok(phones.patients.length > 1, 'phones.patients.length > 1');
    assert.equal((await list('search=07&limit=1')).pagination.total, phones.patients.length);
    assert.equal((await list(`search=07&offset=${phones.patients.length}`)).pagination.total, phones.patients.length);
    assert.equal((await list('search=nyokabi%20kamau')).pagination.total, 0);
    assert.equal((await list('search=zzzz')).pagination.total, 0);
    assert.deepEqual(only(await list('search=nyokabi&gender=female&insurance_type=sha&area=Nyeri')), [p.id]);
    assert.equal((await list('search=nyokabi&gender=male')).pagination.total, 0);
    assert.equal((await list('search=nyokabi&insurance_type=cash')).pagination.total, 0);
    // Wildcards are text, not patterns.
    assert.equal((await list('search=%25')).pagination.total, 0);
  });

  test('a name is found as it was written, punctuation included, with any apostrophe or none (O’Neil, St.Clair, Ng’ang’a)', async () => {
    // A phone keyboard types the typographic apostrophe, a desk the straight one, and many type none.
    const oneil = await createPatient(app, desk, { first_name: 'Aoife', last_name: 'O’Neil' });
    const clair = await createPatient(app, desk, { first_name: 'Jeannot', last_name: 'St.Clair' });
    const nganga = await createPatient(app, desk, { first_name: 'Kimani', last_name: 'Ng’ang’a' });
    const only = (body: Awaited<ReturnType<typeof list>>) => body.patients.map((patient) => patient.id);
    const wangombe = await createPatient(app, desk, { first_name: 'Wanjiru', last_name: "Wang'ombe" });
    for (const [term, id] of [
      ['O’Neil', oneil.id],
      ['aoife o’neil', oneil.id],
      ["O'Neil", oneil.id],
      ['oneil', oneil.id],
      ['St.Clair', clair.id],
      ['jeannot st.clair', clair.id],
      ['Ng’ang’a', nganga.id],
      ['kimani ng’ang’a', nganga.id],
      ["Ng'ang'a", nganga.id],
      ['kimani nganga', nganga.id],
      ['Wang’ombe', wangombe.id],
      ['wangombe', wangombe.id],
    ] as const) {
      assert.deepEqual(only(await list(`search=${encodeURIComponent(term)}&limit=200`)), [id], term);
    }
    // Punctuation only still matches nothing (it is not an empty search).
    assert.equal((await list('search=%E2%80%99')).pagination.total, 0);
    assert.equal((await list(`search=${encodeURIComponent(`' '`)}`)).pagination.total, 0);
  });

  test('lists are paginated with a total, newest first, limit at most 200', async () => {
    const all = await list('limit=200');
    const active = await app.db.withTables<ClinicTables>().selectFrom('patients').select((eb) => eb.fn.countAll<number>().as('n')).where('archived_at', 'is', null).executeTakeFirstOrThrow();
    assert.equal(all.pagination.total, Number(active.n));
    const page = await list('limit=3&offset=2');
    assert.equal(page.pagination.total, all.pagination.total);
    assert.deepEqual(page.pagination, { limit: 3, offset: 2, total: all.pagination.total });
    assert.deepEqual(page.patients.map((p) => p.id), all.patients.slice(2, 5).map((p) => p.id));
    assert.ok(String(all.patients[0]!.created_at) >= String(all.patients[1]!.created_at), 'String(all.patients[0]!.created_at) >= String(all.patients[1]!.created_at)');
    assert.equal((await list('')).pagination.limit, 50);
    const many = await call(app, { method: 'GET', url: '/api/patients?limit=201', headers: desk.headers });
    assert.equal(many.status, 400);
    const kamau = await list('search=kamau&limit=5');
    assert.ok(kamau.pagination.total > 5, 'kamau.pagination.total > 5');
    assert.equal(kamau.patients.length, 5);
    const second = await list('search=kamau&limit=5&offset=5');
    assert.equal(second.pagination.total, kamau.pagination.total);
    assert.ok(!second.patients.some((p) => kamau.patients.some((q) => q.id === p.id)), '!second.patients.some((p) => kamau.patients.some((q) => q.id === p.id))');
    const beyond = await list('search=kamau&offset=1000');
    assert.deepEqual([beyond.patients.length, beyond.pagination.total], [0, kamau.pagination.total]);
  });
});
