import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../helpers/app.js';
import { asNewUser, fieldsOf, startFreelanceApp, type Caller, type Method } from './helpers.js';

/** Every route, table-driven: no login is 401, a malformed id or body is 400 VALIDATION_FAILED. */
describe('freelance request validation on every route', () => {
  let test: TestApp;
  let alice: Caller;

  before(async () => {
    test = await startFreelanceApp();
    alice = await asNewUser(test.app);
  });
  after(() => test.close());

  const routes: Array<[Method, string, Record<string, unknown>?]> = [
    ['GET', '/api/clients'],
    ['POST', '/api/clients', { name: 'x' }],
    ['GET', '/api/clients/:id'],
    ['GET', '/api/clients/:id/stats'],
    ['PUT', '/api/clients/:id', {}],
    ['DELETE', '/api/clients/:id'],
    ['GET', '/api/projects'],
    ['POST', '/api/projects', { name: 'x' }],
    ['GET', '/api/projects/:id'],
    ['PUT', '/api/projects/:id', {}],
    ['DELETE', '/api/projects/:id'],
    ['GET', '/api/time-tracking'],
    ['POST', '/api/time-tracking', { description: 'x' }],
    ['GET', '/api/time-tracking/active'],
    ['GET', '/api/time-tracking/summary'],
    ['POST', '/api/time-tracking/invoice', { entry_ids: [], client_id: 'x', due_date: 'x' }],
    ['GET', '/api/time-tracking/:id'],
    ['PUT', '/api/time-tracking/:id', {}],
    ['POST', '/api/time-tracking/:id/stop', {}],
    ['DELETE', '/api/time-tracking/:id'],
    ['GET', '/api/invoices'],
    ['POST', '/api/invoices', { client_id: 'x', due_date: 'x' }],
    ['GET', '/api/invoices/summary'],
    ['GET', '/api/invoices/:id'],
    ['PUT', '/api/invoices/:id', {}],
    ['PATCH', '/api/invoices/:id/status', { status: 'sent' }],
    ['DELETE', '/api/invoices/:id'],
    ['POST', '/api/invoices/:id/duplicate'],
    ['GET', '/api/invoices/:id/pdf'],
    ['GET', '/api/contracts'],
    ['POST', '/api/contracts', { title: 'x' }],
    ['GET', '/api/contracts/templates'],
    ['GET', '/api/contracts/:id'],
    ['PUT', '/api/contracts/:id', {}],
    ['DELETE', '/api/contracts/:id'],
    ['POST', '/api/contracts/:id/duplicate'],
    ['GET', '/api/resumes'],
    ['POST', '/api/resumes', { title: 'x' }],
    ['GET', '/api/resumes/templates'],
    ['GET', '/api/resumes/:id'],
    ['PUT', '/api/resumes/:id', {}],
    ['DELETE', '/api/resumes/:id'],
    ['POST', '/api/resumes/:id/duplicate'],
    ['POST', '/api/resumes/:id/ats-score', { job_description: 'x' }],
  ];

  it('answers 401 without a login, before looking at the body', async () => {
    for (const [method, url, payload] of routes) {
      const response = await test.app.inject({ method, url: url.replace(':id', 'not-a-uuid'), ...(payload ? { payload: { ...payload, junk: true } } : {}) });
      assert.equal(response.statusCode, 401, `${method} ${url}`);
    }
  });

  it('answers 400 VALIDATION_FAILED for a malformed id', async () => {
    for (const [method, url, payload] of routes.filter(([, url]) => url.includes(':id'))) {
      const response = await alice.request(method, url.replace(':id', 'not-a-uuid'), payload);
      assert.equal(response.status, 400, `${method} ${url}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED', `${method} ${url}`);
    }
  });

  it('answers 400 naming an unknown body field, on every route with a body', async () => {
    const id = '01900000-0000-7000-8000-000000000000';
    for (const [method, url, payload] of routes.filter(([method, , payload]) => payload && method !== 'GET')) {
      const response = await alice.request(method, url.replace(':id', id), { ...payload, unexpected_field: 1 });
      assert.equal(response.status, 400, `${method} ${url}`);
      assert.ok(
        response.body.details.some((detail: { field: string }) => detail.field === 'unexpected_field'),
        `${method} ${url}: ${JSON.stringify(response.body)}`,
      );
    }
  });

  it('refuses required text made only of white space (400 naming the field), on create and update', async () => {
    const blank = ' \t\n ';
    const id = '01900000-0000-7000-8000-000000000000';
    const item = { description: blank, quantity: 1, rate: 1 };
    const cases: Array<[Method, string, Record<string, unknown>, string]> = [
      ['POST', '/api/clients', { name: blank }, 'name'],
      ['PUT', `/api/clients/${id}`, { name: blank }, 'name'],
      ['POST', '/api/projects', { name: blank }, 'name'],
      ['PUT', `/api/projects/${id}`, { name: blank }, 'name'],
      ['POST', '/api/time-tracking', { description: blank }, 'description'],
      ['PUT', `/api/time-tracking/${id}`, { description: blank }, 'description'],
      ['POST', '/api/invoices', { client_id: id, due_date: '2024-01-01', items: [item] }, 'items.0.description'],
      ['PUT', `/api/invoices/${id}`, { items: [item] }, 'items.0.description'],
      ['POST', '/api/contracts', { title: blank }, 'title'],
      ['PUT', `/api/contracts/${id}`, { title: blank }, 'title'],
      ['POST', '/api/contracts', { title: 't', parties: [{ name: blank }] }, 'parties.0.name'],
      ['POST', '/api/contracts', { title: 't', deliverables: ['ok', blank] }, 'deliverables.1'],
      ['POST', '/api/resumes', { title: blank }, 'title'],
      ['PUT', `/api/resumes/${id}`, { title: blank }, 'title'],
      ['POST', '/api/resumes', { title: 't', experience: [{ company: blank, position: 'p' }] }, 'experience.0.company'],
      ['POST', '/api/resumes', { title: 't', education: [{ institution: blank }] }, 'education.0.institution'],
      ['POST', '/api/resumes', { title: 't', skills: [blank] }, 'skills.0'],
      ['POST', '/api/resumes', { title: 't', languages: [{ name: blank }] }, 'languages.0.name'],
      ['POST', `/api/resumes/${id}/ats-score`, { job_description: blank }, 'job_description'],
      ['POST', '/api/resumes/optimize', { resume_id: id, job_description: blank }, 'job_description'],
    ];
    for (const [method, url, payload, field] of cases) {
      const response = await alice.request(method, url, payload);
      assert.equal(response.status, 400, `${method} ${url} ${field}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'VALIDATION_FAILED', `${method} ${url} ${field}`);
      assert.deepEqual(fieldsOf(response.body), [field], `${method} ${url}`);
    }
    for (const url of ['/api/clients', '/api/projects', '/api/time-tracking', '/api/invoices', '/api/contracts', '/api/resumes']) {
      assert.deepEqual((await alice.get(url)).body, [], `${url} stays empty`);
    }
  });

  it('refuses an amount with a third decimal in the schema, one detail naming the field, and creates nothing', async () => {
    const refused = await alice.post('/api/projects', { name: 'Precise', hourly_rate: 50.004, budget: 0.07 });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.details, [{ field: 'hourly_rate', message: 'must have at most two decimal places (whole cents)' }]);
    const projects = await alice.get('/api/projects');
    assert.ok(!projects.body.some((project: { name: string }) => project.name === 'Precise'), 'nothing was created');
  });

  it('answers 400 for malformed JSON and bad list parameters, and changes nothing', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/api/clients',
      headers: { ...alice.user.headers, 'content-type': 'application/json' },
      payload: '{"name": "x",',
    });
    assert.equal(response.statusCode, 400);
    for (const url of ['/api/clients', '/api/projects', '/api/time-tracking', '/api/invoices', '/api/contracts', '/api/resumes']) {
      for (const query of ['limit=0', 'limit=501', 'offset=-1', 'limit=abc']) {
        assert.equal((await alice.get(`${url}?${query}`)).status, 400, `${url}?${query}`);
      }
      assert.deepEqual((await alice.get(url)).body, []);
    }
    assert.equal((await alice.get('/api/contracts?type=lease')).status, 400);
    assert.equal((await alice.get('/api/contracts?status=pending')).status, 400);
  });
});
