import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../helpers/app.js';
import { asNewUser, fieldsOf, startFreelanceApp, type Caller } from './helpers.js';

describe('freelance contracts and resumes', () => {
  let test: TestApp;
  let alice: Caller;
  let bob: Caller;

  before(async () => {
    test = await startFreelanceApp();
    [alice, bob] = await Promise.all([asNewUser(test.app), asNewUser(test.app)]);
  });
  after(() => test.close());

  describe('contracts', () => {
    const nested = {
      parties: [
        { name: 'Ada Lovelace', role: 'Contractor', email: 'ada@example.com' },
        { name: 'Acme Ltd', role: 'Client', email: null },
        { name: 'Zoë Ünicode ✓', role: null, email: 'z@example.com' },
      ],
      deliverables: ['Wireframes', 'Final design — v2', 'Source files "as is"'],
    };

    it('creates with defaults and round-trips nested parties and deliverables exactly', async () => {
      const { body: client } = await alice.post('/api/clients', { name: 'Contract client' });
      const created = await alice.post('/api/contracts', {
        title: 'Website build',
        client_id: client.id,
        type: 'service',
        content: 'Line 1\nLine 2',
        start_date: '2024-01-01',
        end_date: '2024-06-30',
        value: 15000.5,
        currency: 'EUR',
        ...nested,
      });
      assert.equal(created.status, 201);
      const contract = created.body;
      assert.equal(contract._id, contract.id);
      assert.equal(contract.status, 'draft');
      assert.equal(contract.signed_date, null);
      assert.equal(contract.value, 15000.5);
      assert.deepEqual(contract.parties, nested.parties);
      assert.deepEqual(contract.deliverables, nested.deliverables);
      assert.deepEqual((await alice.get(`/api/contracts/${contract.id}`)).body, contract);

      const minimal = await alice.post('/api/contracts', { title: 'NDA', parties: [{ name: 'Only a name' }] });
      assert.equal(minimal.body.type, 'freelance');
      assert.equal(minimal.body.currency, 'USD');
      assert.deepEqual(minimal.body.parties, [{ name: 'Only a name', role: null, email: null }]);
      assert.deepEqual(minimal.body.deliverables, []);
    });

    it('validates nested fields one by one', async () => {
      const bad = await alice.post('/api/contracts', {
        type: 'lease',
        status: 'pending',
        parties: [{ role: 'x' }, { name: 'ok', email: 'not-mail', extra: true }],
        deliverables: ['fine', '', 42],
        value: -1,
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(fieldsOf(bad.body), [
        'deliverables.1',
        'deliverables.2',
        'parties.0.name',
        'parties.1.email',
        'parties.1.extra',
        'status',
        'title',
        'type',
        'value',
      ]);
      const { body: bobsClient } = await bob.post('/api/clients', { name: 'B' });
      const foreign = await alice.post('/api/contracts', { title: 'x', client_id: bobsClient.id });
      assert.deepEqual([foreign.status, fieldsOf(foreign.body)], [400, ['client_id']]);
    });

    it('a signed_date whose UTC instant leaves years 0000-9999 is 400; the last instant there is, stored as sent', async () => {
      for (const signed_date of ['9999-12-31T23:59:59-23:59', '0000-01-01T00:00:00+00:01']) {
        const refused = await alice.post('/api/contracts', { title: 'Far', signed_date });
        assert.deepEqual([refused.status, refused.body.code], [400, 'VALIDATION_FAILED'], signed_date);
        assert.equal(refused.body.details[0].field, 'signed_date');
      }
      const last = await alice.post('/api/contracts', { title: 'Far', signed_date: '9999-12-31T23:59:59.999Z' });
      assert.equal(last.status, 201);
      assert.equal(last.body.signed_date, '9999-12-31T23:59:59.999Z');
      const first = await alice.post('/api/contracts', { title: 'Far', signed_date: '0000-01-01T00:00:00Z' });
      assert.equal(first.body.signed_date, '0000-01-01T00:00:00.000Z');
    });

    it('moves through its status machine, sets signed_date on signing, freezes terms once signed', async () => {
      const { body: contract } = await alice.post('/api/contracts', { title: 'Retainer', content: 'v1', ...nested });
      const sent = await alice.put(`/api/contracts/${contract.id}`, { status: 'sent', content: 'v2' });
      assert.equal(sent.status, 200);
      assert.equal(sent.body.content, 'v2');
      const signed = await alice.put(`/api/contracts/${contract.id}`, { status: 'signed' });
      assert.equal(signed.body.status, 'signed');
      assert.ok(Date.now() - Date.parse(signed.body.signed_date) < 60_000, 'Date.now() - Date.parse(signed.body.signed_date) < 60_000');
      for (const change of [{ content: 'v3' }, { parties: [] }, { deliverables: ['new'] }, { value: 5 }, { type: 'rental' }]) {
        const locked = await alice.put(`/api/contracts/${contract.id}`, change);
        assert.deepEqual([locked.status, locked.body.code], [409, 'CONTRACT_LOCKED'], JSON.stringify(change));
      }
      // The signing date may be corrected, never cleared (nothing else changes with a refused clear).
      const cleared = await alice.put(`/api/contracts/${contract.id}`, { signed_date: null, title: 'Cleared?' });
      assert.deepEqual([cleared.status, cleared.body.code, cleared.body.details?.[0]?.field], [400, 'VALIDATION_FAILED', 'signed_date']);
      assert.equal((await alice.get(`/api/contracts/${contract.id}`)).body.title, 'Retainer');
      const corrected = await alice.put(`/api/contracts/${contract.id}`, { signed_date: '2026-01-05T10:00:00Z' });
      assert.equal(corrected.body.signed_date, '2026-01-05T10:00:00.000Z');
      const restored = await alice.put(`/api/contracts/${contract.id}`, { signed_date: signed.body.signed_date });
      assert.equal(restored.status, 200);
      // Echoing unchanged terms, renaming and moving on are fine.
      const renamed = await alice.put(`/api/contracts/${contract.id}`, { title: 'Retainer 2024', content: 'v2', ...nested, status: 'active' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.status, 'active');
      assert.equal(renamed.body.signed_date, signed.body.signed_date);
      const back = await alice.put(`/api/contracts/${contract.id}`, { status: 'draft' });
      assert.deepEqual([back.status, back.body.code], [409, 'INVALID_STATUS_TRANSITION']);
      assert.equal((await alice.put(`/api/contracts/${contract.id}`, { status: 'completed' })).body.status, 'completed');
      for (const status of ['draft', 'sent', 'signed', 'active', 'terminated']) {
        assert.equal((await alice.put(`/api/contracts/${contract.id}`, { status })).status, 409, `completed -> ${status}`);
      }
      // Forbidden moves from a draft.
      const { body: draft } = await alice.post('/api/contracts', { title: 'D' });
      for (const status of ['active', 'completed', 'terminated']) {
        assert.equal((await alice.put(`/api/contracts/${draft.id}`, { status })).status, 409, `draft -> ${status}`);
      }
      assert.equal((await alice.get(`/api/contracts/${draft.id}`)).body.status, 'draft');
    });

    it('lets exactly one of concurrent completed and terminated win on a signed contract (repeating the winner is no move)', async () => {
      for (let round = 0; round < 3; round++) {
        const { body: contract } = await alice.post('/api/contracts', { title: `race ${round}` });
        assert.equal((await alice.put(`/api/contracts/${contract.id}`, { status: 'signed' })).status, 200);
        const results = await Promise.all(Array.from({ length: 10 }, (_, index) => alice.put(`/api/contracts/${contract.id}`, { status: index % 2 ? 'completed' : 'terminated' })));
        // Sending the status a contract already has is no move and is accepted (a PUT may echo it), so
        // later requests for the winning status may be 200 too; every request for the other is a 409.
        const winner = results.find((result) => result.status === 200)?.body.status as string;
        const report = results.map((result) => `${result.status} ${JSON.stringify(result.body)}`).join('\n');
        results.forEach((result, index) => {
          const wanted = index % 2 ? 'completed' : 'terminated';
          if (wanted === winner) assert.ok(result.status === 200 || result.status === 409, report);
          else assert.equal(result.status, 409, report);
        });
        const stored = (await alice.get(`/api/contracts/${contract.id}`)).body;
        assert.equal(stored.status, winner);
      }
    });

    it('answers 409 for every move the contract machine forbids, from every status', async () => {
      const reach: Record<string, string[]> = {
        draft: [],
        sent: ['sent'],
        signed: ['signed'],
        active: ['signed', 'active'],
        completed: ['signed', 'completed'],
        terminated: ['sent', 'terminated'],
      };
      const allowed: Record<string, string[]> = {
        draft: ['draft', 'sent', 'signed'], // the same status is no move and is accepted
        sent: ['sent', 'draft', 'signed', 'terminated'],
        signed: ['signed', 'active', 'completed', 'terminated'],
        active: ['active', 'completed', 'terminated'],
        completed: ['completed'],
        terminated: ['terminated'],
      };
      for (const [from, path] of Object.entries(reach)) {
        const { body: contract } = await alice.post('/api/contracts', { title: `from ${from}` });
        for (const status of path) assert.equal((await alice.put(`/api/contracts/${contract.id}`, { status })).status, 200, `${from}: ${status}`);
        for (const to of Object.keys(reach).filter((status) => !allowed[from]!.includes(status))) {
          const response = await alice.put(`/api/contracts/${contract.id}`, { status: to });
          assert.deepEqual([response.status, response.body.code], [409, 'INVALID_STATUS_TRANSITION'], `${from} -> ${to}`);
        }
        assert.equal((await alice.get(`/api/contracts/${contract.id}`)).body.status, from);
      }
    });

    it('duplicates as a draft titled "(Copy)", lists with filters, deletes', async () => {
      const carol = await asNewUser(test.app);
      const { body: original } = await carol.post('/api/contracts', { title: 'Consulting', type: 'consulting', ...nested, value: 100 });
      await carol.put(`/api/contracts/${original.id}`, { status: 'signed' });
      const copy = await carol.post(`/api/contracts/${original.id}/duplicate`);
      assert.equal(copy.status, 201);
      assert.equal(copy.body.title, 'Consulting (Copy)');
      assert.equal(copy.body.status, 'draft');
      assert.equal(copy.body.signed_date, null);
      assert.deepEqual(copy.body.parties, nested.parties);
      assert.equal(copy.body.value, 100);
      const { body: other } = await carol.post('/api/contracts', { title: 'Flat', type: 'rental' });
      const ids = async (query = '') => (await carol.get(`/api/contracts${query}`)).body.map((contract: { id: string }) => contract.id);
      assert.deepEqual(await ids(), [other.id, copy.body.id, original.id]);
      assert.deepEqual(await ids('?status=signed'), [original.id]);
      assert.deepEqual(await ids('?type=consulting'), [copy.body.id, original.id]);
      assert.deepEqual(await ids('?type=consulting&status=draft'), [copy.body.id]);
      assert.deepEqual(await ids('?limit=1'), [other.id]);
      assert.deepEqual((await carol.del(`/api/contracts/${other.id}`)).body, { message: 'Contract deleted' });
      assert.equal((await carol.get(`/api/contracts/${other.id}`)).status, 404);
    });

    it('offers templates', async () => {
      const response = await alice.get('/api/contracts/templates');
      assert.equal(response.status, 200);
      assert.ok(response.body.length >= 4, 'response.body.length >= 4');
      for (const template of response.body) {
        assert.deepEqual(Object.keys(template).sort(), ['content', 'id', 'name', 'type']);
        assert.ok(template.content.length > 100, 'template.content.length > 100');
      }
    });

    it("hides another user's contract: 404 on read, update, duplicate and delete", async () => {
      const { body: contract } = await alice.post('/api/contracts', { title: 'Secret' });
      assert.equal((await bob.get(`/api/contracts/${contract.id}`)).status, 404);
      assert.equal((await bob.put(`/api/contracts/${contract.id}`, { title: 'x' })).status, 404);
      assert.equal((await bob.post(`/api/contracts/${contract.id}/duplicate`)).status, 404);
      assert.equal((await bob.del(`/api/contracts/${contract.id}`)).status, 404);
      assert.equal((await alice.get(`/api/contracts/${contract.id}`)).body.title, 'Secret');
      assert.ok(!(await bob.get('/api/contracts')).body.some((row: { id: string }) => row.id === contract.id), "!(await bob.get('/api/contracts')).body.some((row: { id: string }) => row.id === contract.id)");
    });
  });

  describe('resumes', () => {
    const full = {
      title: 'Backend engineer',
      template: 'tech',
      personal_info: { full_name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20', location: 'London', website: 'https://ada.dev', linkedin: 'in/ada', github: 'ada' },
      summary: 'Engineer who likes TypeScript — and tea ☕.',
      experience: [
        {
          company: 'Analytical Engines',
          position: 'Senior Engineer',
          location: 'Remote',
          start_date: '2020-01',
          end_date: 'Present',
          description: 'Built Node.js APIs on PostgreSQL.',
          achievements: ['Cut p99 latency by 40%', 'Mentored 4 engineers'],
        },
        { company: 'Babbage & Co', position: 'Developer' },
      ],
      education: [
        { institution: 'University of London', degree: 'BSc', field: 'Mathematics', start_date: '2012', end_date: '2015', gpa: 3.9 },
        { institution: 'Evening school', gpa: 'A+' },
      ],
      skills: ['TypeScript', 'Node.js', 'PostgreSQL', 'Redis', 'Docker'],
      certifications: ['AWS Solutions Architect'],
      languages: [{ name: 'English', proficiency: 'Native' }, { name: 'French' }],
      projects: [{ name: 'Difference engine', description: 'Open source', url: 'https://github.com/ada/engine' }],
    };

    it('creates with defaults and round-trips every section exactly', async () => {
      const created = await alice.post('/api/resumes', full);
      assert.equal(created.status, 201);
      const resume = created.body;
      assert.equal(resume._id, resume.id);
      const { id: _id, _id: _alias, user_id: _user, created_at: _created, updated_at: _updated, ...content } = resume;
      assert.deepEqual(content, full);
      assert.deepEqual((await alice.get(`/api/resumes/${resume.id}`)).body, resume);

      const minimal = await alice.post('/api/resumes', { title: 'Blank' });
      assert.equal(minimal.body.template, 'modern');
      assert.deepEqual(minimal.body.personal_info, {});
      assert.equal(minimal.body.summary, null);
      for (const section of ['experience', 'education', 'skills', 'certifications', 'languages', 'projects']) assert.deepEqual(minimal.body[section], []);
    });

    it('validates nested sections field by field', async () => {
      const bad = await alice.post('/api/resumes', {
        title: '',
        template: 'fancy',
        personal_info: { full_name: 5, email: 'not-mail', twitter: '@ada' },
        experience: [{ company: 'Acme' }, { company: 'X', position: 'Y', achievements: [''] }],
        education: [{ degree: 'BSc' }],
        skills: ['ok', ''],
        languages: [{ proficiency: 'Native' }],
        projects: [{ name: 'p', url: 7 }],
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(fieldsOf(bad.body), [
        'education.0.institution',
        'experience.0.position',
        'experience.1.achievements.0',
        'languages.0.name',
        'personal_info.email',
        'personal_info.full_name',
        'personal_info.twitter',
        'projects.0.url',
        'skills.1',
        'template',
        'title',
      ]);
      const tooMany = await alice.post('/api/resumes', { title: 't', skills: Array.from({ length: 201 }, (_, index) => `s${index}`) });
      assert.deepEqual(fieldsOf(tooMany.body), ['skills']);
      // The email is checked as clients' and contract parties' are: an address, or "" / null for none.
      assert.deepEqual(fieldsOf((await alice.post('/api/resumes', { title: 't', personal_info: { email: 'ada at example' } })).body), ['personal_info.email']);
      for (const email of ['', null, 'ada@example.com']) {
        const created = await alice.post('/api/resumes', { title: 't', personal_info: { email } });
        assert.deepEqual([created.status, created.body.personal_info], [201, { email }], JSON.stringify(email));
        assert.equal((await alice.del(`/api/resumes/${created.body.id}`)).status, 200);
      }
      const { body: resume } = await alice.post('/api/resumes', { title: 't' });
      assert.deepEqual(fieldsOf((await alice.put(`/api/resumes/${resume.id}`, { personal_info: { email: 'nope' } })).body), ['personal_info.email']);
      assert.equal((await alice.del(`/api/resumes/${resume.id}`)).status, 200);
    });

    it('updates only the sections sent, replacing each wholesale', async () => {
      const { body: resume } = await alice.post('/api/resumes', full);
      const updated = await alice.put(`/api/resumes/${resume.id}`, { skills: ['Go'], summary: null, template: 'minimal' });
      assert.equal(updated.status, 200);
      assert.deepEqual(updated.body.skills, ['Go']);
      assert.equal(updated.body.summary, null);
      assert.equal(updated.body.template, 'minimal');
      assert.deepEqual(updated.body.experience, full.experience);
      assert.equal(updated.body.title, full.title);
      assert.equal((await alice.put(`/api/resumes/${resume.id}`, { experience: [{ company: 'only' }] })).status, 400);
      assert.deepEqual((await alice.get(`/api/resumes/${resume.id}`)).body.experience, full.experience);
    });

    it('duplicates, lists most recently changed first, deletes, and offers templates', async () => {
      const dana = await asNewUser(test.app);
      const { body: first } = await dana.post('/api/resumes', full);
      const { body: second } = await dana.post('/api/resumes', { title: 'Second' });
      const copy = await dana.post(`/api/resumes/${first.id}/duplicate`);
      assert.equal(copy.status, 201);
      assert.equal(copy.body.title, 'Backend engineer (Copy)');
      assert.notEqual(copy.body.id, first.id);
      assert.deepEqual(copy.body.experience, full.experience);
      assert.deepEqual(copy.body.personal_info, full.personal_info);
      await dana.put(`/api/resumes/${second.id}`, { summary: 'touched' });
      const ids = (await dana.get('/api/resumes')).body.map((resume: { id: string }) => resume.id);
      assert.deepEqual(ids, [second.id, copy.body.id, first.id]);
      assert.deepEqual((await dana.get('/api/resumes?limit=1&offset=2')).body.map((resume: { id: string }) => resume.id), [first.id]);
      assert.deepEqual((await dana.del(`/api/resumes/${first.id}`)).body, { message: 'Resume deleted' });
      assert.equal((await dana.get(`/api/resumes/${first.id}`)).status, 404);
      const templates = (await dana.get('/api/resumes/templates')).body;
      assert.deepEqual(
        templates.map((template: { id: string }) => template.id),
        ['modern', 'professional', 'creative', 'minimal', 'tech'],
      );
    });

    it('scores a resume against a job description, deterministically', async () => {
      const { body: resume } = await alice.post('/api/resumes', full);
      const job = 'Senior backend engineer: TypeScript, Node.js and PostgreSQL daily; Kafka and Kubernetes a plus. TypeScript first.';
      const first = await alice.post(`/api/resumes/${resume.id}/ats-score`, { job_description: job });
      assert.equal(first.status, 200);
      assert.equal(first.body.max_score, 100);
      assert.deepEqual(first.body.matched_keywords, ['typescript', 'senior', 'engineer', 'node.js', 'postgresql']);
      assert.deepEqual(first.body.missing_keywords, ['backend', 'daily', 'kafka', 'kubernetes', 'first']);
      assert.equal(first.body.score, 65); // 70 x 5/10 = 35, + 30 for complete sections
      assert.ok(first.body.feedback.length >= 1, 'first.body.feedback.length >= 1');
      assert.deepEqual((await alice.post(`/api/resumes/${resume.id}/ats-score`, { job_description: job })).body, first.body);
      const empty = await alice.post(`/api/resumes/${resume.id}/ats-score`, { job_description: '' });
      assert.deepEqual([empty.status, fieldsOf(empty.body)], [400, ['job_description']]);
    });

    it("hides another user's resume: 404 on read, update, duplicate, score and delete", async () => {
      const { body: resume } = await alice.post('/api/resumes', { title: 'Mine' });
      assert.equal((await bob.get(`/api/resumes/${resume.id}`)).status, 404);
      assert.equal((await bob.put(`/api/resumes/${resume.id}`, { title: 'x' })).status, 404);
      assert.equal((await bob.post(`/api/resumes/${resume.id}/duplicate`)).status, 404);
      assert.equal((await bob.post(`/api/resumes/${resume.id}/ats-score`, { job_description: 'anything' })).status, 404);
      assert.equal((await bob.del(`/api/resumes/${resume.id}`)).status, 404);
      assert.equal((await alice.get(`/api/resumes/${resume.id}`)).body.title, 'Mine');
      assert.ok(!(await bob.get('/api/resumes')).body.some((row: { id: string }) => row.id === resume.id), "!(await bob.get('/api/resumes')).body.some((row: { id: string }) => row.id === resume.id)");
    });
  });
});
