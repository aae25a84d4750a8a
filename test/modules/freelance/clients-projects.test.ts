import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../helpers/app.js';
import { asNewUser, daysFromToday, fieldsOf, startFreelanceApp, type Caller } from './helpers.js';

const MISSING = '01900000-0000-7000-8000-000000000000';

describe('freelance clients and projects', () => {
  let test: TestApp;
  let alice: Caller;
  let bob: Caller;

  before(async () => {
    test = await startFreelanceApp();
    [alice, bob] = await Promise.all([asNewUser(test.app), asNewUser(test.app)]);
  });
  after(() => test.close());

  describe('clients', () => {
    it('needs a login', async () => {
      const response = await test.app.inject({ method: 'GET', url: '/api/clients' });
      assert.equal(response.statusCode, 401);
    });

    it('creates, reads, partially updates and deletes a client, with id and _id', async () => {
      const created = await alice.post('/api/clients', { name: 'Acme Ltd', email: 'billing@acme.test', phone: '+44 1', company: 'Acme', address: '1 Road', notes: 'VIP' });
      assert.equal(created.status, 201);
      const client = created.body;
      assert.equal(client._id, client.id);
      assert.equal(client.user_id, alice.user.user.id);
      assert.deepEqual(
        { name: client.name, email: client.email, phone: client.phone, company: client.company, address: client.address, notes: client.notes },
        { name: 'Acme Ltd', email: 'billing@acme.test', phone: '+44 1', company: 'Acme', address: '1 Road', notes: 'VIP' },
      );
      assert.ok(client.created_at && client.updated_at, 'client.created_at && client.updated_at');

      const read = await alice.get(`/api/clients/${client.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, client);

      const updated = await alice.put(`/api/clients/${client.id}`, { phone: null, notes: 'Pays late' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.name, 'Acme Ltd'); // untouched
      assert.equal(updated.body.phone, null);
      assert.equal(updated.body.notes, 'Pays late');

      const removed = await alice.del(`/api/clients/${client.id}`);
      assert.deepEqual([removed.status, removed.body], [200, { message: 'Client deleted' }]);
      assert.equal((await alice.get(`/api/clients/${client.id}`)).status, 404);
    });

    it('validates every field and changes nothing on bad input', async () => {
      const missing = await alice.post('/api/clients', { email: 'not-an-email', extra: 1 });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(missing.body), ['email', 'extra', 'name']);
      assert.equal((await alice.post('/api/clients', { name: '' })).status, 400);
      assert.equal((await alice.post('/api/clients', { name: 'x'.repeat(201) })).status, 400);
      assert.equal((await alice.post('/api/clients', { name: 5 })).status, 400);
      // A form's blank email field arrives as "": accepted and kept as sent.
      const blank = await alice.post('/api/clients', { name: 'Blank', email: '' });
      assert.deepEqual([blank.status, blank.body.email], [201, '']);
      const { body: client } = await alice.post('/api/clients', { name: 'Valid' });
      const bad = await alice.put(`/api/clients/${client.id}`, { name: null });
      assert.equal(bad.status, 400);
      assert.equal((await alice.get(`/api/clients/${client.id}`)).body.name, 'Valid');
      assert.equal((await alice.get('/api/clients/not-a-uuid')).status, 400);
    });

    it('lists by name, bounded, and searches name, company and email ignoring case', async () => {
      const carol = await asNewUser(test.app);
      for (const fields of [
        { name: 'zeta works', company: 'Zeta' },
        { name: 'Beta', email: 'ops@ALPHA-mail.test' },
        { name: 'Alpha', company: 'Initech' },
        { name: 'gamma', company: 'The 100% Company' },
      ]) {
        assert.equal((await carol.post('/api/clients', fields)).status, 201);
      }
      const all = await carol.get('/api/clients');
      assert.deepEqual(
        all.body.map((client: { name: string }) => client.name),
        ['Alpha', 'Beta', 'gamma', 'zeta works'],
      );
      const search = async (term: string) =>
        (await carol.get(`/api/clients?search=${encodeURIComponent(term)}`)).body.map((client: { name: string }) => client.name);
      assert.deepEqual(await search('alpha'), ['Alpha', 'Beta']); // name, and email in another case
      assert.deepEqual(await search('INITECH'), ['Alpha']); // company
      assert.deepEqual(await search('100%'), ['gamma']); // % is literal
      assert.deepEqual(await search('_'), []);
      assert.deepEqual((await carol.get('/api/clients?limit=2&offset=1')).body.map((client: { name: string }) => client.name), ['Beta', 'gamma']);
      assert.equal((await carol.get('/api/clients?limit=501')).status, 400);
      assert.equal((await carol.get('/api/clients?limit=0')).status, 400);
      assert.deepEqual(await bob.get('/api/clients?search=alpha').then((response) => response.body), []);
    });

    it("hides another user's client: 404 on read, stats, update and delete", async () => {
      const { body: client } = await alice.post('/api/clients', { name: 'Private' });
      assert.equal((await bob.get(`/api/clients/${client.id}`)).status, 404);
      assert.equal((await bob.get(`/api/clients/${client.id}/stats`)).status, 404);
      assert.equal((await bob.put(`/api/clients/${client.id}`, { name: 'Stolen' })).status, 404);
      assert.equal((await bob.del(`/api/clients/${client.id}`)).status, 404);
      assert.equal((await bob.get(`/api/clients/${MISSING}`)).status, 404);
      assert.equal((await alice.get(`/api/clients/${client.id}`)).body.name, 'Private');
      assert.ok(!(await bob.get('/api/clients')).body.some((c: { id: string }) => c.id === client.id), "!(await bob.get('/api/clients')).body.some((c: { id: string }) => c.id === client.id)");
    });

    it('reports stats, refuses to delete a client with invoices, and clears the link on projects and entries', async () => {
      const dana = await asNewUser(test.app);
      const { body: client } = await dana.post('/api/clients', { name: 'Stats Co' });
      const { body: project } = await dana.post('/api/projects', { name: 'Site', client_id: client.id, hourly_rate: 50 });
      const start = '2024-03-01T09:00:00.000Z';
      const billable = await dana.post('/api/time-tracking', { description: 'Build', project_id: project.id, start_time: start, end_time: '2024-03-01T10:30:00.000Z' });
      assert.equal(billable.body.client_id, client.id); // inherited from the project
      await dana.post('/api/time-tracking', { description: 'Call', client_id: client.id, start_time: start, end_time: '2024-03-01T09:10:00.000Z', is_billable: false });

      const invoice = async (rate: number) =>
        (await dana.post('/api/invoices', { client_id: client.id, due_date: daysFromToday(30), items: [{ description: 'Work', quantity: 1, rate }] })).body;
      const paid = await invoice(100);
      const sent = await invoice(40.5);
      await invoice(7); // stays a draft: not invoiced yet
      const cancelled = await invoice(1000);
      await dana.patch(`/api/invoices/${paid.id}/status`, { status: 'sent' });
      await dana.patch(`/api/invoices/${paid.id}/status`, { status: 'paid' });
      await dana.patch(`/api/invoices/${sent.id}/status`, { status: 'sent' });
      await dana.patch(`/api/invoices/${cancelled.id}/status`, { status: 'cancelled' });

      const stats = await dana.get(`/api/clients/${client.id}/stats`);
      assert.equal(stats.status, 200);
      assert.deepEqual(stats.body, {
        invoice_count: 4,
        total_invoiced: 140.5,
        total_paid: 100,
        total_outstanding: 40.5,
        tracked_seconds: 5400 + 600,
        billable_seconds: 5400,
      });

      const refused = await dana.del(`/api/clients/${client.id}`);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'CLIENT_HAS_INVOICES');

      // A client without invoices goes, and what referred to it stays with client_id cleared.
      const { body: other } = await dana.post('/api/clients', { name: 'Leaving' });
      const { body: otherProject } = await dana.post('/api/projects', { name: 'P', client_id: other.id });
      const { body: otherEntry } = await dana.post('/api/time-tracking', { description: 'E', client_id: other.id, duration: 60 });
      assert.equal((await dana.del(`/api/clients/${other.id}`)).status, 200);
      assert.equal((await dana.get(`/api/projects/${otherProject.id}`)).body.client_id, null);
      const entry = await dana.get(`/api/time-tracking/${otherEntry.id}`);
      assert.equal(entry.status, 200);
      assert.equal(entry.body.client_id, null);
      assert.equal(entry.body.duration, 60);
    });
  });

  describe('projects', () => {
    it('creates with defaults, reads, updates and deletes', async () => {
      const { body: client } = await alice.post('/api/clients', { name: 'Project Client' });
      const created = await alice.post('/api/projects', { name: 'Website', client_id: client.id, hourly_rate: 85.5, budget: 12000, deadline: '2025-06-30' });
      assert.equal(created.status, 201);
      const project = created.body;
      assert.equal(project._id, project.id);
      assert.equal(project.status, 'active');
      assert.equal(project.hourly_rate, 85.5);
      assert.equal(project.budget, 12000);
      assert.equal(project.deadline, '2025-06-30');
      assert.equal(project.description, null);
      assert.deepEqual((await alice.get(`/api/projects/${project.id}`)).body, project);

      const updated = await alice.put(`/api/projects/${project.id}`, { status: 'onhold', budget: null, description: 'Redesign' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.status, 'onhold');
      assert.equal(updated.body.budget, null);
      assert.equal(updated.body.hourly_rate, 85.5);
      assert.equal(updated.body.name, 'Website');

      const removed = await alice.del(`/api/projects/${project.id}`);
      assert.deepEqual([removed.status, removed.body], [200, { message: 'Project deleted' }]);
      assert.equal((await alice.get(`/api/projects/${project.id}`)).status, 404);
    });

    it('validates fields', async () => {
      const bad = await alice.post('/api/projects', { status: 'paused', hourly_rate: -1, start_date: '2024-13-45', budget: '100' });
      assert.equal(bad.status, 400);
      assert.deepEqual(fieldsOf(bad.body), ['budget', 'hourly_rate', 'name', 'start_date', 'status']);
      const drift = await alice.post('/api/projects', { name: 'P', hourly_rate: 10.555 });
      assert.equal(drift.status, 400);
      assert.deepEqual(fieldsOf(drift.body), ['hourly_rate']);
    });

    it("refuses another user's client as client_id (400) on create and update", async () => {
      const { body: bobsClient } = await bob.post('/api/clients', { name: 'Bob client' });
      const create = await alice.post('/api/projects', { name: 'Sneaky', client_id: bobsClient.id });
      assert.equal(create.status, 400);
      assert.equal(create.body.code, 'INVALID_REFERENCE');
      assert.deepEqual(fieldsOf(create.body), ['client_id']);
      const { body: project } = await alice.post('/api/projects', { name: 'Mine' });
      const update = await alice.put(`/api/projects/${project.id}`, { client_id: bobsClient.id });
      assert.equal(update.status, 400);
      assert.equal((await alice.get(`/api/projects/${project.id}`)).body.client_id, null);
      assert.equal((await alice.post('/api/projects', { name: 'Ghost', client_id: MISSING })).status, 400);
    });

    it('filters by status and client, newest first', async () => {
      const erin = await asNewUser(test.app);
      const { body: client } = await erin.post('/api/clients', { name: 'C' });
      const first = (await erin.post('/api/projects', { name: 'first', client_id: client.id })).body;
      const second = (await erin.post('/api/projects', { name: 'second', status: 'completed' })).body;
      const third = (await erin.post('/api/projects', { name: 'third', client_id: client.id, status: 'completed' })).body;
      const ids = async (query: string) => (await erin.get(`/api/projects${query}`)).body.map((project: { id: string }) => project.id);
      assert.deepEqual(await ids(''), [third.id, second.id, first.id]);
      assert.deepEqual(await ids('?status=completed'), [third.id, second.id]);
      assert.deepEqual(await ids(`?client_id=${client.id}`), [third.id, first.id]);
      assert.deepEqual(await ids(`?client_id=${client.id}&status=active`), [first.id]);
      assert.equal((await erin.get('/api/projects?status=nope')).status, 400);
    });

    it("hides another user's project: 404 on read, update and delete", async () => {
      const { body: project } = await alice.post('/api/projects', { name: 'Secret' });
      assert.equal((await bob.get(`/api/projects/${project.id}`)).status, 404);
      assert.equal((await bob.put(`/api/projects/${project.id}`, { name: 'Mine now' })).status, 404);
      assert.equal((await bob.del(`/api/projects/${project.id}`)).status, 404);
      assert.equal((await alice.get(`/api/projects/${project.id}`)).body.name, 'Secret');
    });
  });
});
