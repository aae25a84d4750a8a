import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId, now } from '../../../src/core/db/columns.js';
import type { FreelanceTables } from '../../../src/modules/freelance/tables.js';
import type { TestApp } from '../../helpers/app.js';
import { asNewUser, daysFromToday, fieldsOf, startFreelanceApp, type Caller } from './helpers.js';

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();

describe('freelance time tracking', () => {
  let test: TestApp;
  let alice: Caller;
  let bob: Caller;

  before(async () => {
    test = await startFreelanceApp();
    [alice, bob] = await Promise.all([asNewUser(test.app), asNewUser(test.app)]);
  });
  after(() => test.close());

  it('starts one timer, refuses a second (409 TIMER_RUNNING), stops it with whole seconds', async () => {
    const before = Date.now();
    const started = await alice.post('/api/time-tracking', { description: 'Coding' });
    assert.equal(started.status, 201);
    const entry = started.body;
    assert.equal(entry._id, entry.id);
    assert.equal(entry.end_time, null);
    assert.equal(entry.duration, null);
    assert.equal(entry.is_billable, true);
    assert.equal(entry.invoice_id, null);
    assert.ok(Date.parse(entry.start_time) >= before - 1000, 'Date.parse(entry.start_time) >= before - 1000');

    assert.deepEqual((await alice.get('/api/time-tracking/active')).body, entry);
    const second = await alice.post('/api/time-tracking', { description: 'Other' });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'TIMER_RUNNING');
    // A finished entry can still be recorded while the timer runs.
    assert.equal((await alice.post('/api/time-tracking', { description: 'Meeting', start_time: hoursAgo(3), end_time: hoursAgo(2) })).status, 201);
    // Another user has a timer of their own.
    assert.equal((await bob.post('/api/time-tracking', { description: 'Bob works' })).status, 201);

    const early = await alice.post(`/api/time-tracking/${entry.id}/stop`, { end_time: new Date(Date.parse(entry.start_time) - 1000).toISOString() });
    assert.equal(early.status, 400);
    assert.deepEqual(fieldsOf(early.body), ['end_time']);

    const endTime = new Date(Date.parse(entry.start_time) + 5_400_700).toISOString();
    const stopped = await alice.post(`/api/time-tracking/${entry.id}/stop`, { end_time: endTime });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.end_time, endTime);
    assert.equal(stopped.body.duration, 5400); // 5400.7 s rounds down to whole seconds
    assert.equal((await alice.get('/api/time-tracking/active')).body, null);

    const again = await alice.post(`/api/time-tracking/${entry.id}/stop`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'TIMER_NOT_RUNNING');

    // With no body, stop means now.
    const { body: next } = await alice.post('/api/time-tracking', { description: 'Next', start_time: hoursAgo(1) });
    const now = await alice.post(`/api/time-tracking/${next.id}/stop`);
    assert.equal(now.status, 200);
    assert.ok(now.body.duration >= 3599 && now.body.duration <= 3700, String(now.body.duration));
  });

  it('lets only one of many concurrent starts win', async () => {
    const carol = await asNewUser(test.app);
    const responses = await Promise.all(Array.from({ length: 10 }, (_, index) => carol.post('/api/time-tracking', { description: `race ${index}` })));
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [201, ...Array(9).fill(409)]);
    assert.ok(responses.filter((response) => response.status === 409).every((response) => response.body.code === 'TIMER_RUNNING'), "responses.filter((response) => response.status === 409).every((response) => response.body.code === 'TIMER_RUNNING')");
    assert.equal((await carol.get('/api/time-tracking')).body.length, 1);
  });

  it('records finished entries from end_time or duration, inheriting client and rate from the project', async () => {
    const dana = await asNewUser(test.app);
    const { body: client } = await dana.post('/api/clients', { name: 'C' });
    const { body: project } = await dana.post('/api/projects', { name: 'P', client_id: client.id, hourly_rate: 60 });
    const fromTimes = await dana.post('/api/time-tracking', {
      description: 'Design',
      project_id: project.id,
      start_time: '2024-05-01T10:00:00+02:00',
      end_time: '2024-05-01T11:15:30+02:00',
    });
    assert.equal(fromTimes.status, 201);
    assert.equal(fromTimes.body.start_time, '2024-05-01T08:00:00.000Z');
    assert.equal(fromTimes.body.duration, 4530);
    assert.equal(fromTimes.body.client_id, client.id);
    assert.equal(fromTimes.body.hourly_rate, 60);
    const fromDuration = await dana.post('/api/time-tracking', { description: 'Calls', start_time: '2024-05-02T08:00:00Z', duration: 900, hourly_rate: 45.5, is_billable: false });
    assert.equal(fromDuration.body.end_time, '2024-05-02T08:15:00.000Z');
    assert.equal(fromDuration.body.duration, 900);
    assert.equal(fromDuration.body.hourly_rate, 45.5);
    assert.equal(fromDuration.body.is_billable, false);
    const backwards = await dana.post('/api/time-tracking', { description: 'x', start_time: '2024-05-02T08:00:00Z', end_time: '2024-05-02T07:00:00Z' });
    assert.equal(backwards.status, 400);
    assert.equal((await dana.get('/api/time-tracking')).body.length, 2);
  });

  it('validates fields and references', async () => {
    const bad = await alice.post('/api/time-tracking', { start_time: 'yesterday', duration: 1.5, hourly_rate: -3, is_billable: 'yes', invoice_id: null });
    assert.equal(bad.status, 400);
    assert.deepEqual(fieldsOf(bad.body), ['description', 'duration', 'hourly_rate', 'invoice_id', 'is_billable', 'start_time']);
    const { body: bobsClient } = await bob.post('/api/clients', { name: 'B' });
    const { body: bobsProject } = await bob.post('/api/projects', { name: 'B' });
    const client = await alice.post('/api/time-tracking', { description: 'x', client_id: bobsClient.id, duration: 60 });
    assert.deepEqual([client.status, client.body.code, fieldsOf(client.body)], [400, 'INVALID_REFERENCE', ['client_id']]);
    const project = await alice.post('/api/time-tracking', { description: 'x', project_id: bobsProject.id, duration: 60 });
    assert.deepEqual([project.status, fieldsOf(project.body)], [400, ['project_id']]);
    const { body: own } = await alice.post('/api/time-tracking', { description: 'own', duration: 60, start_time: '2024-01-01T00:00:00Z' });
    assert.equal((await alice.put(`/api/time-tracking/${own.id}`, { project_id: bobsProject.id })).status, 400);
    assert.equal((await alice.put(`/api/time-tracking/${own.id}`, { client_id: bobsClient.id })).status, 400);
    assert.equal((await alice.get(`/api/time-tracking/${own.id}`)).body.project_id, null);
  });

  it('updates an entry and recomputes its duration; deletes it', async () => {
    const { body: entry } = await alice.post('/api/time-tracking', { description: 'Fix', start_time: '2024-02-01T09:00:00Z', end_time: '2024-02-01T10:00:00Z' });
    const moved = await alice.put(`/api/time-tracking/${entry.id}`, { start_time: '2024-02-01T08:30:00Z' });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.duration, 5400);
    const shorter = await alice.put(`/api/time-tracking/${entry.id}`, { end_time: '2024-02-01T08:45:10Z', description: 'Fix bug' });
    assert.equal(shorter.body.duration, 910);
    assert.equal(shorter.body.description, 'Fix bug');
    const byDuration = await alice.put(`/api/time-tracking/${entry.id}`, { duration: 60 });
    assert.equal(byDuration.body.end_time, '2024-02-01T08:31:00.000Z');
    const backwards = await alice.put(`/api/time-tracking/${entry.id}`, { end_time: '2024-02-01T08:00:00Z' });
    assert.equal(backwards.status, 400);
    assert.equal((await alice.get(`/api/time-tracking/${entry.id}`)).body.duration, 60);
    assert.deepEqual((await alice.del(`/api/time-tracking/${entry.id}`)).body, { message: 'Time entry deleted' });
    assert.equal((await alice.get(`/api/time-tracking/${entry.id}`)).status, 404);
  });

  it('lists newest first, filtered by project, client, dates and billable', async () => {
    const erin = await asNewUser(test.app);
    const { body: client } = await erin.post('/api/clients', { name: 'C' });
    const { body: project } = await erin.post('/api/projects', { name: 'P' });
    const add = async (fields: Record<string, unknown>) => (await erin.post('/api/time-tracking', { description: 'e', duration: 600, ...fields })).body.id as string;
    const jan = await add({ start_time: '2024-01-10T12:00:00Z', project_id: project.id });
    const feb = await add({ start_time: '2024-02-10T12:00:00Z', client_id: client.id, is_billable: false });
    const mar = await add({ start_time: '2024-03-10T12:00:00Z', project_id: project.id, client_id: client.id });
    const ids = async (query = '') => (await erin.get(`/api/time-tracking${query}`)).body.map((entry: { id: string }) => entry.id);
    assert.deepEqual(await ids(), [mar, feb, jan]);
    assert.deepEqual(await ids(`?project_id=${project.id}`), [mar, jan]);
    assert.deepEqual(await ids(`?client_id=${client.id}`), [mar, feb]);
    assert.deepEqual(await ids('?billable=false'), [feb]);
    assert.deepEqual(await ids('?billable=true'), [mar, jan]);
    assert.deepEqual(await ids('?from=2024-02-10&to=2024-03-01'), [feb]);
    assert.deepEqual(await ids('?to=2024-01-10'), [jan]); // a date means the whole day
    assert.deepEqual(await ids('?to=9999-12-31'), [mar, feb, jan]); // the last date there is (its next day is year 10000)
    assert.deepEqual(await ids(`?from=${encodeURIComponent('2024-03-10T12:00:00Z')}`), [mar]);
    assert.deepEqual(await ids('?limit=1&offset=1'), [feb]);
    assert.equal((await erin.get('/api/time-tracking?from=last-week')).status, 400);
    assert.equal((await erin.get('/api/time-tracking?limit=501')).status, 400);
  });

  it('refuses impossible dates in the list filters with 400, never a 500 or a silently wrong list', async () => {
    const gina = await asNewUser(test.app);
    const entry = (await gina.post('/api/time-tracking', { description: 'e', start_time: '2024-03-10T12:00:00Z', duration: 60 })).body.id as string;
    const bad: Array<[string, string]> = [
      ['from', '2024-13-45T10:00:00Z'], // was a 500: new Date(...).toISOString() threw
      ['to', '2024-13-45'], // was a 500
      ['from', '2024-13-45'], // was a 200 with a wrong bound
      ['from', '2026-02-30'], // was a 200 as if 2026-03-02
      ['to', '2023-02-29'], // not a leap year
      ['from', '2024-01-01T24:30:00Z'],
      ['to', '2016-12-31T23:59:60Z'], // a leap second Date cannot hold
    ];
    for (const [field, value] of bad) {
      const response = await gina.get(`/api/time-tracking?${field}=${encodeURIComponent(value)}`);
      assert.equal(response.status, 400, `${field}=${value}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED', `${field}=${value}`);
      assert.deepEqual(fieldsOf(response.body), [field], `${field}=${value}`);
    }
    const ids = async (query: string) => (await gina.get(`/api/time-tracking?${query}`)).body.map((row: { id: string }) => row.id);
    assert.deepEqual(await ids('from=2024-02-29&to=2024-03-10'), [entry]); // a real 29 February
    assert.deepEqual(await ids(`from=${encodeURIComponent('2024-03-10T13:00:00+01:00')}`), [entry]); // an offset is converted to UTC
    assert.deepEqual(await ids(`to=${encodeURIComponent('2024-03-10T12:59:59+01:00')}`), []);
  });

  it('summarises today, this week, this month, billable time and the unbilled amount', async () => {
    const frank = await asNewUser(test.app);
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const todayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const iso = (ms: number) => new Date(ms).toISOString();
    // 1 h today at 50.00, billable (unless today is the 1st, todayStart is also in this month and week).
    await frank.post('/api/time-tracking', { description: 'today', start_time: iso(todayStart), duration: 3600, hourly_rate: 50 });
    // 30 min last year, billable at 33.33: only in the all-time figures.
    await frank.post('/api/time-tracking', { description: 'old', start_time: '2020-01-01T00:00:00Z', duration: 1800, hourly_rate: 33.33 });
    // 10 min non-billable this month (first instant of the month).
    await frank.post('/api/time-tracking', { description: 'admin', start_time: iso(monthStart), duration: 600, is_billable: false });
    // 20 min recorded for a later month (planned, or a wrong year): not today's, this week's or this month's.
    await frank.post('/api/time-tracking', { description: 'later', start_time: iso(Date.UTC(now.getUTCFullYear() + 1, 0, 1)), duration: 1200, is_billable: false });
    // A running timer started up to 2 minutes ago (today) counts in today's figures.
    const runningSince = Math.max(todayStart, now.getTime() - 120_000);
    const running = Math.floor((now.getTime() - runningSince) / 1000);
    await frank.post('/api/time-tracking', { description: 'running', start_time: iso(runningSince) });
    const summary = (await frank.get('/api/time-tracking/summary')).body;
    const sameDay = monthStart === todayStart;
    const today = 3600 + running + (sameDay ? 600 : 0);
    assert.ok(summary.today_seconds >= today && summary.today_seconds < today + 80, JSON.stringify(summary));
    assert.ok(summary.month_seconds >= 3600 + 600 + running && summary.month_seconds < 3600 + 600 + running + 80, JSON.stringify(summary));
    assert.ok(summary.week_seconds >= 3600 + running, JSON.stringify(summary));
    assert.ok(summary.week_seconds < 3600 + 600 + running + 80, JSON.stringify(summary));
    assert.equal(summary.billable_seconds, 3600 + 1800);
    assert.equal(summary.unbilled_amount, 66.67); // 50.00 + 0.5 h x 33.33 = 16.665 -> 16.67
  });

  it('refuses entries longer than 10,000,000 s or outside 1970-2099 with a 400 naming the field, and changes nothing (were 500s on PostgreSQL)', async () => {
    const ivan = await asNewUser(test.app);
    const refused = async (response: Awaited<ReturnType<Caller['get']>>, field: string) => {
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.equal(response.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(response.body), [field], JSON.stringify(response.body));
    };
    const year = { description: 'x', start_time: '2025-01-01T00:00:00Z', end_time: '2026-01-01T00:00:00Z' };
    await refused(await ivan.post('/api/time-tracking', year), 'end_time');
    await refused(await ivan.post('/api/time-tracking', { ...year, start_time: '0000-01-01T00:00:00Z' }), 'start_time');
    await refused(await ivan.post('/api/time-tracking', { ...year, start_time: '0000-01-01T00:00:00+23:59' }), 'start_time');
    await refused(await ivan.post('/api/time-tracking', { ...year, start_time: '2025-12-31T00:00:00Z', end_time: '9999-12-31T23:59:59.999Z' }), 'end_time');
    await refused(await ivan.post('/api/time-tracking', { description: 'x', start_time: '1900-01-01T00:00:00Z' }), 'start_time');
    await refused(await ivan.post('/api/time-tracking', { description: 'x', start_time: '2099-12-31T23:00:00Z', duration: 7200 }), 'duration');
    assert.deepEqual((await ivan.get('/api/time-tracking')).body, []);
    // The longest entry is fine.
    const longest = await ivan.post('/api/time-tracking', { description: 'x', start_time: '2025-01-01T00:00:00Z', end_time: new Date(Date.parse('2025-01-01T00:00:00Z') + 10_000_000_000).toISOString() });
    assert.equal(longest.status, 201, JSON.stringify(longest.body));
    assert.equal(longest.body.duration, 10_000_000);

    const { body: entry } = await ivan.post('/api/time-tracking', { description: 'y', start_time: '2025-01-05T08:00:00Z', end_time: '2025-01-05T12:00:00Z' });
    await refused(await ivan.put(`/api/time-tracking/${entry.id}`, { start_time: '0000-01-01T00:00:00Z' }), 'start_time');
    await refused(await ivan.put(`/api/time-tracking/${entry.id}`, { end_time: '9999-12-31T23:59:59.999Z' }), 'end_time');
    await refused(await ivan.put(`/api/time-tracking/${entry.id}`, { start_time: '2024-01-05T08:00:00Z' }), 'start_time'); // a year before its end
    await refused(await ivan.put(`/api/time-tracking/${entry.id}`, { end_time: '2026-01-05T08:00:00Z' }), 'end_time');
    assert.deepEqual((await ivan.get(`/api/time-tracking/${entry.id}`)).body, entry);
    assert.equal((await ivan.get('/api/time-tracking/summary')).status, 200);
  });

  it('never leaves a timer that cannot be stopped: too long to stop now is a 400 saying what to do, and an end_time stops it', async () => {
    const jane = await asNewUser(test.app);
    const { body: timer } = await jane.post('/api/time-tracking', { description: 'forgotten', start_time: '2025-01-01T00:00:00Z' });
    assert.equal(timer.end_time, null);
    const stopNow = await jane.post(`/api/time-tracking/${timer.id}/stop`);
    assert.equal(stopNow.status, 400, JSON.stringify(stopNow.body));
    assert.deepEqual([stopNow.body.code, fieldsOf(stopNow.body)], ['VALIDATION_FAILED', ['end_time']]);
    assert.match(stopNow.body.error, /end_time.*delete it/);
    const late = await jane.post(`/api/time-tracking/${timer.id}/stop`, { end_time: '2099-01-01T00:00:00Z' });
    assert.deepEqual([late.status, fieldsOf(late.body)], [400, ['end_time']]);
    assert.equal((await jane.get('/api/time-tracking/active')).body?.id, timer.id);
    const stopped = await jane.post(`/api/time-tracking/${timer.id}/stop`, { end_time: '2025-01-01T08:00:00Z' });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.duration, 28_800);

    // A timer stored by an older version, started in 1900: stopping it now was a 500 on PostgreSQL, for good.
    const db = test.app.db.withTables<FreelanceTables>();
    const stamp = new Date().toISOString();
    const id = newId();
    await db
      .insertInto('freelance_time_entries')
      .values({ id, user_id: jane.user.user.id, invoice_id: null, description: 'old', project_id: null, client_id: null, start_time: '1900-01-01T00:00:00.000Z', end_time: null, duration: null, hourly_rate: null, is_billable: true, created_at: stamp, updated_at: stamp })
      .execute();
    const old = await jane.post(`/api/time-tracking/${id}/stop`);
    assert.deepEqual([old.status, old.body.code, fieldsOf(old.body)], [400, 'VALIDATION_FAILED', ['end_time']], JSON.stringify(old.body));
    // Its start can be corrected, and then it stops.
    assert.equal((await jane.put(`/api/time-tracking/${id}`, { start_time: '2025-02-01T09:00:00Z' })).status, 200);
    const fixed = await jane.post(`/api/time-tracking/${id}/stop`, { end_time: '2025-02-01T10:00:00Z' });
    assert.deepEqual([fixed.status, fixed.body.duration], [200, 3600]);
  });

  it('sums any stored duration and rate without overflowing (was a 500 on PostgreSQL for an entry of a year)', async () => {
    // Rows as an older version could store them: a year, and the longest a 4-byte column holds at the largest rate.
    const db = test.app.db.withTables<FreelanceTables>();
    const insert = async (caller: Caller, duration: number, rateCents: number) => {
      const at = now();
      const end = new Date(Date.parse('2025-01-01T00:00:00Z') + duration * 1000).toISOString();
      await db
        .insertInto('freelance_time_entries')
        .values({ id: newId(), user_id: caller.user.user.id, invoice_id: null, description: 'long', project_id: null, client_id: null, start_time: '2025-01-01T00:00:00.000Z', end_time: end, duration, hourly_rate: rateCents, is_billable: true, created_at: at, updated_at: at })
        .execute();
    };
    const year = await asNewUser(test.app);
    await insert(year, 31_536_000, 5000); // 8760 h at 50.00
    const summary = await year.get('/api/time-tracking/summary');
    assert.equal(summary.status, 200, JSON.stringify(summary.body));
    assert.equal(summary.body.billable_seconds, 31_536_000);
    assert.equal(summary.body.unbilled_amount, 438_000);

    const extreme = await asNewUser(test.app);
    const duration = 2 ** 31 - 1;
    const rate = 1_000_000_000_000; // MAX_CENTS
    await insert(extreme, duration, rate);
    await insert(extreme, duration, rate);
    const hundredths = BigInt(Math.floor((duration * 100 + 1800) / 3600));
    const cents = Number(2n * ((hundredths * BigInt(rate) + 50n) / 100n));
    const huge = await extreme.get('/api/time-tracking/summary');
    assert.equal(huge.status, 200, JSON.stringify(huge.body));
    assert.equal(huge.body.billable_seconds, 2 * duration);
    assert.ok(Math.abs(huge.body.unbilled_amount - cents / 100) / (cents / 100) < 1e-12, `${huge.body.unbilled_amount} against ${cents / 100}`);
  });

  it('bills time entries into a draft invoice, once, and only billable finished ones', async () => {
    const gina = await asNewUser(test.app);
    const { body: client } = await gina.post('/api/clients', { name: 'Billed Co' });
    const add = async (fields: Record<string, unknown>) => (await gina.post('/api/time-tracking', { description: 'work', start_time: '2024-04-01T09:00:00Z', ...fields })).body;
    const a = await add({ description: 'API design', duration: 5400, hourly_rate: 80, start_time: '2024-04-02T09:00:00Z' });
    const b = await add({ description: 'Review', duration: 1000, hourly_rate: 33.33 });
    const unbillable = await add({ description: 'Lunch', duration: 3600, hourly_rate: 80, is_billable: false });
    const running = await add({ description: 'Still going', hourly_rate: 80 });

    const response = await gina.post('/api/time-tracking/invoice', {
      entry_ids: [a.id, b.id, unbillable.id, running.id],
      client_id: client.id,
      due_date: daysFromToday(14),
      tax: 10,
      notes: 'April',
    });
    assert.equal(response.status, 201);
    const invoice = response.body;
    assert.equal(invoice.status, 'draft');
    assert.equal(invoice.invoice_number, 'INV-00001');
    assert.equal(invoice.client_name, 'Billed Co');
    assert.deepEqual(invoice.items, [
      { description: 'Review', quantity: 0.28, rate: 33.33, amount: 9.33 },
      { description: 'API design', quantity: 1.5, rate: 80, amount: 120 },
    ]);
    assert.equal(invoice.subtotal, 129.33);
    assert.equal(invoice.total, 139.33);
    assert.equal(invoice.notes, 'April');
    assert.equal((await gina.get(`/api/time-tracking/${a.id}`)).body.invoice_id, invoice.id);
    assert.equal((await gina.get(`/api/time-tracking/${unbillable.id}`)).body.invoice_id, null);
    assert.equal((await gina.get(`/api/time-tracking/${running.id}`)).body.invoice_id, null);
    assert.equal((await gina.get('/api/time-tracking/summary')).body.unbilled_amount, 0);

    // Billing them again finds nothing left to bill, and uses no invoice number.
    const twice = await gina.post('/api/time-tracking/invoice', { entry_ids: [a.id, b.id], client_id: client.id, due_date: daysFromToday(14) });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'NOTHING_TO_BILL');
    assert.equal((await gina.get('/api/invoices')).body.length, 1);

    // A billed entry is frozen.
    const frozen = await gina.put(`/api/time-tracking/${a.id}`, { duration: 10 });
    assert.deepEqual([frozen.status, frozen.body.code], [409, 'ENTRY_BILLED']);
    assert.equal((await gina.del(`/api/time-tracking/${a.id}`)).status, 409);

    // Deleting the draft invoice releases its entries; the next invoice gets the next number.
    await gina.del(`/api/invoices/${invoice.id}`);
    assert.equal((await gina.get(`/api/time-tracking/${a.id}`)).body.invoice_id, null);
    const rebilled = await gina.post('/api/time-tracking/invoice', { entry_ids: [a.id], client_id: client.id, due_date: daysFromToday(14) });
    assert.equal(rebilled.status, 201);
    assert.equal(rebilled.body.invoice_number, 'INV-00002');
    assert.equal(rebilled.body.total, 120);
  });

  it('never bills an entry twice under concurrent requests', async () => {
    const hank = await asNewUser(test.app);
    const { body: client } = await hank.post('/api/clients', { name: 'Race Co' });
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push((await hank.post('/api/time-tracking', { description: `e${index}`, start_time: `2024-06-0${index + 1}T09:00:00Z`, duration: 3600, hourly_rate: 10 })).body.id);
    }
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => hank.post('/api/time-tracking/invoice', { entry_ids: ids, client_id: client.id, due_date: daysFromToday(7) })),
    );
    const created = responses.filter((response) => response.status === 201);
    assert.equal(created.length, 1, responses.map((response) => `${response.status} ${JSON.stringify(response.body)}`).join('\n'));
    assert.ok(responses.filter((response) => response.status !== 201).every((response) => response.status === 409 && response.body.code === 'NOTHING_TO_BILL'), "responses.filter((response) => response.status !== 201).every((response) => response.status === 409 && response.body.code === 'NOTHING_TO_BILL')");
    assert.equal(created[0]!.body.items.length, 5);
    assert.equal(created[0]!.body.invoice_number, 'INV-00001');
    const invoices = (await hank.get('/api/invoices')).body;
    assert.equal(invoices.length, 1);
    const entries = (await hank.get('/api/time-tracking')).body;
    assert.ok(entries.every((entry: { invoice_id: string }) => entry.invoice_id === created[0]!.body.id), 'entries.every((entry: { invoice_id: string }) => entry.invoice_id === created[0]!.body.id)');
  });

  it("refuses to bill another user's entries or client (400) and bills nothing", async () => {
    const { body: aliceClient } = await alice.post('/api/clients', { name: 'Alice C' });
    const { body: bobEntry } = await bob.post('/api/time-tracking', { description: 'bob', duration: 600, start_time: '2024-01-01T00:00:00Z', hourly_rate: 10 });
    const { body: aliceEntry } = await alice.post('/api/time-tracking', { description: 'alice', duration: 600, start_time: '2024-01-01T00:00:00Z', hourly_rate: 10 });
    const foreignEntry = await alice.post('/api/time-tracking/invoice', { entry_ids: [aliceEntry.id, bobEntry.id], client_id: aliceClient.id, due_date: daysFromToday(7) });
    assert.deepEqual([foreignEntry.status, foreignEntry.body.code, fieldsOf(foreignEntry.body)], [400, 'INVALID_REFERENCE', ['entry_ids']]);
    const foreignClient = await bob.post('/api/time-tracking/invoice', { entry_ids: [bobEntry.id], client_id: aliceClient.id, due_date: daysFromToday(7) });
    assert.deepEqual([foreignClient.status, fieldsOf(foreignClient.body)], [400, ['client_id']]);
    assert.equal((await alice.get(`/api/time-tracking/${aliceEntry.id}`)).body.invoice_id, null);
    assert.equal((await bob.get(`/api/time-tracking/${bobEntry.id}`)).body.invoice_id, null);
    const invalid = await alice.post('/api/time-tracking/invoice', { entry_ids: [], client_id: aliceClient.id });
    assert.deepEqual(fieldsOf(invalid.body), ['due_date', 'entry_ids']);
  });

  it('concurrent deletes of one entry: one 200, the rest 404 (a loser was 409 ENTRY_BILLED, as if invoiced)', async () => {
    const kate = await asNewUser(test.app);
    const { body: entry } = await kate.post('/api/time-tracking', { description: 'race', duration: 60, start_time: '2024-01-01T00:00:00Z' });
    const responses = await Promise.all(Array.from({ length: 10 }, () => kate.del(`/api/time-tracking/${entry.id}`)));
    assert.deepEqual(responses.map((response) => response.status).sort(), [200, ...Array(9).fill(404)], responses.map((response) => JSON.stringify(response.body)).join('\n'));
  });

  it('a timer started ahead of the server clock (a client clock or time zone off) stops at its start, lasting 0 seconds', async () => {
    const kim = await asNewUser(test.app);
    const ahead = new Date(Date.now() + 3 * 3600_000).toISOString();
    const { body: timer } = await kim.post('/api/time-tracking', { description: 'clock ahead', start_time: ahead });
    const stopped = await kim.post(`/api/time-tracking/${timer.id}/stop`);
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.deepEqual([stopped.body.end_time, stopped.body.duration], [stopped.body.start_time, 0]);
  });

  it("hides another user's entry: 404 on read, stop, update and delete", async () => {
    const { body: entry } = await alice.post('/api/time-tracking', { description: 'private', duration: 60, start_time: '2024-01-01T00:00:00Z' });
    assert.equal((await bob.get(`/api/time-tracking/${entry.id}`)).status, 404);
    assert.equal((await bob.post(`/api/time-tracking/${entry.id}/stop`)).status, 404);
    assert.equal((await bob.put(`/api/time-tracking/${entry.id}`, { description: 'mine' })).status, 404);
    assert.equal((await bob.del(`/api/time-tracking/${entry.id}`)).status, 404);
    assert.equal((await alice.get(`/api/time-tracking/${entry.id}`)).body.description, 'private');
    assert.ok(!(await bob.get('/api/time-tracking')).body.some((row: { id: string }) => row.id === entry.id), "!(await bob.get('/api/time-tracking')).body.some((row: { id: string }) => row.id === entry.id)");
  });
});
