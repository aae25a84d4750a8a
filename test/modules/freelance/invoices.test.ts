import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../helpers/app.js';
import { asNewUser, daysFromToday, fieldsOf, startFreelanceApp, type Caller } from './helpers.js';

/** The text drawn on a PDF's pages: every content stream inflated, every shown string decoded. */
function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const texts: string[] = [];
  const streams = /stream\r?\n/g;
  let match: RegExpExecArray | null;
  while ((match = streams.exec(raw))) {
    const start = match.index + match[0].length;
    const end = raw.indexOf('endstream', start);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString('latin1');
    } catch {
      continue; // not a Flate stream (fonts, images)
    }
    // pdfkit writes text as hex strings inside TJ arrays: [<48656c6c6f> 20 <...>] TJ
    for (const array of content.match(/\[([^\]]*)\]\s*TJ/g) ?? []) {
      texts.push((array.match(/<([0-9a-fA-F]*)>/g) ?? []).map((hex) => Buffer.from(hex.slice(1, -1), 'hex').toString('latin1')).join(''));
    }
  }
  return texts.join('\n');
}

describe('freelance invoices', () => {
  let test: TestApp;
  let alice: Caller;
  let bob: Caller;
  let clientId: string;

  const newInvoice = (caller: Caller, fields: Record<string, unknown> = {}) =>
    caller.post('/api/invoices', { client_id: clientId, due_date: daysFromToday(30), items: [{ description: 'Work', quantity: 1, rate: 100 }], ...fields });

  before(async () => {
    test = await startFreelanceApp();
    [alice, bob] = await Promise.all([asNewUser(test.app), asNewUser(test.app)]);
    clientId = (await alice.post('/api/clients', { name: 'Acme', email: 'ap@acme.test', company: 'Acme Corp', address: '1 Main St' })).body.id;
  });
  after(() => test.close());

  it('creates a draft with server-computed amounts, whatever the client claims', async () => {
    const created = await newInvoice(alice, {
      items: [
        { description: 'Design', quantity: 3, rate: 33.33, amount: 1 },
        { description: 'Hosting', quantity: 0.5, rate: 10.01 },
      ],
      tax: 12.5,
      discount: 2.5,
      subtotal: 5,
      total: 6,
      notes: 'Thanks',
      payment_terms: 'Net 30',
    });
    assert.equal(created.status, 201);
    const invoice = created.body;
    assert.equal(invoice._id, invoice.id);
    assert.match(invoice.invoice_number, /^INV-\d{5}$/);
    assert.equal(invoice.status, 'draft');
    assert.equal(invoice.currency, 'USD');
    assert.equal(invoice.date, daysFromToday(0));
    assert.equal(invoice.client_name, 'Acme');
    assert.deepEqual(invoice.items, [
      { description: 'Design', quantity: 3, rate: 33.33, amount: 99.99 },
      { description: 'Hosting', quantity: 0.5, rate: 10.01, amount: 5.01 }, // 5.005 rounds half up
    ]);
    assert.equal(invoice.subtotal, 105);
    assert.equal(invoice.tax, 12.5);
    assert.equal(invoice.discount, 2.5);
    assert.equal(invoice.total, 115);
    assert.equal(invoice.paid_at, null);

    const read = await alice.get(`/api/invoices/${invoice.id}`);
    assert.equal(read.status, 200);
    const { client, ...rest } = read.body;
    assert.deepEqual(rest, invoice);
    assert.deepEqual(client, { id: clientId, _id: clientId, name: 'Acme', email: 'ap@acme.test', phone: null, company: 'Acme Corp', address: '1 Main St' });
  });

  it('validates the body field by field and creates nothing on bad input', async () => {
    const before = (await alice.get('/api/invoices/summary')).body.total_invoices;
    const checks: Array<[Record<string, unknown>, string[]]> = [
      [{ client_id: undefined, due_date: undefined }, ['client_id', 'due_date']],
      [{ items: [{ description: 'x', quantity: -1, rate: 1 }] }, ['items.0.quantity']],
      [{ items: [{ description: 'x', quantity: 1, rate: -5 }] }, ['items.0.rate']],
      [{ items: [{ description: '', quantity: 1, rate: 5 }] }, ['items.0.description']],
      [{ items: [{ quantity: 1, rate: 5, color: 'red' }] }, ['items.0.color', 'items.0.description']],
      [{ items: [{ description: 'x', quantity: 1, rate: 5.555 }] }, ['items.0.rate']],
      [{ tax: -1 }, ['tax']],
      [{ discount: -1 }, ['discount']],
      [{ discount: 100.01 }, ['discount']], // above subtotal + tax
      [{ due_date: '31/12/2024' }, ['due_date']],
      [{ currency: 'usd' }, ['currency']],
      [{ status: 'paid' }, ['status']],
      [{ invoice_number: 'INV-99999' }, ['invoice_number']],
    ];
    for (const [fields, expected] of checks) {
      const response = await newInvoice(alice, fields);
      assert.equal(response.status, 400, JSON.stringify(fields));
      assert.deepEqual(fieldsOf(response.body), expected, JSON.stringify(fields));
    }
    assert.equal((await alice.get('/api/invoices/summary')).body.total_invoices, before);
  });

  it("refuses another user's client (400)", async () => {
    const response = await newInvoice(bob);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_REFERENCE');
    assert.deepEqual(fieldsOf(response.body), ['client_id']);
  });

  it('numbers each user gaplessly from INV-00001 and never shares a number under 20 concurrent creates', async () => {
    const carol = await asNewUser(test.app);
    const { body: client } = await carol.post('/api/clients', { name: 'Busy' });
    const first = await carol.post('/api/invoices', { client_id: client.id, due_date: daysFromToday(1) });
    assert.equal(first.body.invoice_number, 'INV-00001');
    const responses = await Promise.all(Array.from({ length: 20 }, () => carol.post('/api/invoices', { client_id: client.id, due_date: daysFromToday(1) })));
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(20).fill(201),
    );
    const numbers = responses.map((response) => response.body.invoice_number).sort();
    assert.deepEqual(numbers, Array.from({ length: 20 }, (_, index) => `INV-${String(index + 2).padStart(5, '0')}`));
    // A refused create does not use up a number.
    assert.equal((await carol.post('/api/invoices', { client_id: client.id, due_date: daysFromToday(1), tax: -1 })).status, 400);
    assert.equal((await carol.post('/api/invoices', { client_id: client.id, due_date: daysFromToday(1) })).body.invoice_number, 'INV-00022');
    // Another user starts at 1.
    const dave = await asNewUser(test.app);
    const { body: daveClient } = await dave.post('/api/clients', { name: 'D' });
    assert.equal((await dave.post('/api/invoices', { client_id: daveClient.id, due_date: daysFromToday(1) })).body.invoice_number, 'INV-00001');
  });

  it('moves through the status machine and answers 409 for every forbidden move', async () => {
    const paidPath = ['sent', 'paid'];
    const { body: invoice } = await newInvoice(alice);
    for (const status of paidPath) {
      const moved = await alice.patch(`/api/invoices/${invoice.id}/status`, { status });
      assert.equal(moved.status, 200, status);
      assert.equal(moved.body.status, status);
    }
    const paid = (await alice.get(`/api/invoices/${invoice.id}`)).body;
    assert.ok(paid.paid_at, 'paid.paid_at');

    // Reach each status, then try every move the machine forbids from it, by PATCH and by PUT {status}.
    const reach: Record<string, string[]> = { draft: [], sent: ['sent'], overdue: ['sent', 'overdue'], paid: ['sent', 'paid'], cancelled: ['cancelled'] };
    const allowed: Record<string, string[]> = {
      draft: ['sent', 'cancelled'],
      sent: ['paid', 'overdue', 'cancelled'],
      overdue: ['paid', 'cancelled'],
      paid: [],
      cancelled: [],
    };
    const all = ['draft', 'sent', 'paid', 'overdue', 'cancelled'];
    for (const [from, path] of Object.entries(reach)) {
      const { body: subject } = await newInvoice(alice);
      for (const status of path) assert.equal((await alice.patch(`/api/invoices/${subject.id}/status`, { status })).status, 200);
      for (const to of all.filter((status) => !allowed[from]!.includes(status))) {
        const patch = await alice.patch(`/api/invoices/${subject.id}/status`, { status: to });
        assert.equal(patch.status, 409, `PATCH ${from} -> ${to}`);
        assert.equal(patch.body.code, 'INVALID_STATUS_TRANSITION');
        const put = await alice.put(`/api/invoices/${subject.id}`, { status: to });
        assert.equal(put.status, 409, `PUT ${from} -> ${to}`);
      }
      assert.equal((await alice.get(`/api/invoices/${subject.id}`)).body.status, from);
      for (const to of allowed[from]!) {
        const { body: fresh } = await newInvoice(alice);
        for (const status of path) await alice.patch(`/api/invoices/${fresh.id}/status`, { status });
        assert.equal((await alice.put(`/api/invoices/${fresh.id}`, { status: to })).status, 200, `PUT ${from} -> ${to}`);
      }
    }
    assert.equal((await alice.patch(`/api/invoices/${invoice.id}/status`, { status: 'lost' })).status, 400);
  });

  it('lets exactly one of concurrent paid and cancelled win on a sent invoice', async () => {
    for (let round = 0; round < 3; round++) {
      const { body: invoice } = await newInvoice(alice);
      assert.equal((await alice.patch(`/api/invoices/${invoice.id}/status`, { status: 'sent' })).status, 200);
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => alice.patch(`/api/invoices/${invoice.id}/status`, { status: index % 2 ? 'paid' : 'cancelled' })));
      const won = results.filter((result) => result.status === 200);
      assert.equal(won.length, 1, results.map((result) => `${result.status} ${JSON.stringify(result.body)}`).join('\n'));
      assert.ok(results.every((result) => result.status === 200 || result.status === 409), 'the others are 409');
      assert.equal((await alice.get(`/api/invoices/${invoice.id}`)).body.status, won[0]!.body.status);
    }
  });

  it('reports a sent invoice past its due date as overdue, in reads, filters and the summary', async () => {
    const erin = await asNewUser(test.app);
    const { body: client } = await erin.post('/api/clients', { name: 'Late payer' });
    const make = async (dueDate: string, status?: string) => {
      const { body } = await erin.post('/api/invoices', { client_id: client.id, due_date: dueDate, items: [{ description: 'x', quantity: 1, rate: 10 }] });
      if (status) await erin.patch(`/api/invoices/${body.id}/status`, { status });
      return body.id as string;
    };
    const late = await make(daysFromToday(-1), 'sent');
    const onTime = await make(daysFromToday(0), 'sent');
    const draftLate = await make(daysFromToday(-5));
    assert.equal((await erin.get(`/api/invoices/${late}`)).body.status, 'overdue');
    assert.equal((await erin.get(`/api/invoices/${onTime}`)).body.status, 'sent');
    assert.equal((await erin.get(`/api/invoices/${draftLate}`)).body.status, 'draft');
    const ids = async (status: string) => (await erin.get(`/api/invoices?status=${status}`)).body.map((invoice: { id: string }) => invoice.id);
    assert.deepEqual(await ids('overdue'), [late]);
    assert.deepEqual(await ids('sent'), [onTime]);
    const summary = (await erin.get('/api/invoices/summary')).body;
    assert.deepEqual(summary, {
      total_invoices: 3,
      draft_count: 1,
      sent_count: 1,
      paid_count: 0,
      overdue_count: 1,
      total_paid: 0,
      total_outstanding: 20,
      total_amount: 30,
    });
    // An overdue invoice can still be paid; then it counts as paid.
    assert.equal((await erin.patch(`/api/invoices/${late}/status`, { status: 'paid' })).body.status, 'paid');
    const after = (await erin.get('/api/invoices/summary')).body;
    assert.equal(after.paid_count, 1);
    assert.equal(after.overdue_count, 0);
    assert.equal(after.total_paid, 10);
  });

  it('changes items and amounts only while draft (409 after), recomputing totals', async () => {
    const { body: invoice } = await newInvoice(alice, { tax: 10 });
    const edited = await alice.put(`/api/invoices/${invoice.id}`, { items: [{ description: 'More', quantity: 2, rate: 49.99 }], discount: 0.98, notes: 'n' });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.subtotal, 99.98);
    assert.equal(edited.body.total, 109); // 99.98 + 10 - 0.98
    assert.equal(edited.body.invoice_number, invoice.invoice_number);
    const badDiscount = await alice.put(`/api/invoices/${invoice.id}`, { discount: 200 });
    assert.equal(badDiscount.status, 400);

    // Sending it and echoing the unchanged items in the same PUT is fine.
    const sent = await alice.put(`/api/invoices/${invoice.id}`, { status: 'sent', items: [{ description: 'More', quantity: 2, rate: 49.99 }] });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.status, 'sent');
    // Also when the change would break a rule of totals (discount over subtotal + tax): the edit is not allowed at all.
    for (const change of [{ items: [] }, { tax: 1 }, { discount: 0 }, { discount: 500 }, { currency: 'EUR' }]) {
      const locked = await alice.put(`/api/invoices/${invoice.id}`, change);
      assert.equal(locked.status, 409, JSON.stringify(change));
      assert.equal(locked.body.code, 'INVOICE_LOCKED');
    }
    const notes = await alice.put(`/api/invoices/${invoice.id}`, { notes: 'Reminder sent', status: 'sent', due_date: daysFromToday(45) });
    assert.equal(notes.status, 200);
    assert.equal(notes.body.notes, 'Reminder sent');
    assert.equal(notes.body.total, 109);
  });

  it('deletes drafts and cancelled invoices only', async () => {
    const { body: draft } = await newInvoice(alice);
    assert.deepEqual((await alice.del(`/api/invoices/${draft.id}`)).body, { message: 'Invoice deleted' });
    assert.equal((await alice.get(`/api/invoices/${draft.id}`)).status, 404);
    const { body: sent } = await newInvoice(alice);
    await alice.patch(`/api/invoices/${sent.id}/status`, { status: 'sent' });
    const refused = await alice.del(`/api/invoices/${sent.id}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'INVOICE_NOT_DELETABLE');
    await alice.patch(`/api/invoices/${sent.id}/status`, { status: 'paid' });
    assert.equal((await alice.del(`/api/invoices/${sent.id}`)).status, 409);
    const { body: cancelled } = await newInvoice(alice);
    await alice.patch(`/api/invoices/${cancelled.id}/status`, { status: 'cancelled' });
    assert.equal((await alice.del(`/api/invoices/${cancelled.id}`)).status, 200);
  });

  it('duplicates into a new draft with a new number', async () => {
    const { body: original } = await newInvoice(alice, { date: '2024-01-01', due_date: '2024-01-15', tax: 3, notes: 'copy me' });
    await alice.patch(`/api/invoices/${original.id}/status`, { status: 'sent' });
    await alice.patch(`/api/invoices/${original.id}/status`, { status: 'paid' });
    const copy = await alice.post(`/api/invoices/${original.id}/duplicate`);
    assert.equal(copy.status, 201);
    assert.notEqual(copy.body.id, original.id);
    assert.notEqual(copy.body.invoice_number, original.invoice_number);
    assert.equal(copy.body.status, 'draft');
    assert.equal(copy.body.paid_at, null);
    assert.equal(copy.body.date, daysFromToday(0));
    assert.equal(copy.body.due_date, daysFromToday(14));
    assert.deepEqual(copy.body.items, original.items);
    assert.equal(copy.body.total, original.total);
    assert.equal(copy.body.notes, 'copy me');
  });

  it('lists newest first with client_name, filtered by client and status, bounded', async () => {
    const frank = await asNewUser(test.app);
    const { body: a } = await frank.post('/api/clients', { name: 'A' });
    const { body: b } = await frank.post('/api/clients', { name: 'B' });
    const one = (await frank.post('/api/invoices', { client_id: a.id, due_date: daysFromToday(5) })).body;
    const two = (await frank.post('/api/invoices', { client_id: b.id, due_date: daysFromToday(5) })).body;
    const three = (await frank.post('/api/invoices', { client_id: a.id, due_date: daysFromToday(5) })).body;
    await frank.patch(`/api/invoices/${three.id}/status`, { status: 'cancelled' });
    const list = (await frank.get('/api/invoices')).body;
    assert.deepEqual(
      list.map((invoice: { id: string; client_name: string }) => [invoice.id, invoice.client_name]),
      [
        [three.id, 'A'],
        [two.id, 'B'],
        [one.id, 'A'],
      ],
    );
    const ids = async (query: string) => (await frank.get(`/api/invoices?${query}`)).body.map((invoice: { id: string }) => invoice.id);
    assert.deepEqual(await ids(`client_id=${a.id}`), [three.id, one.id]);
    assert.deepEqual(await ids(`client_id=${a.id}&status=draft`), [one.id]);
    assert.deepEqual(await ids('status=cancelled'), [three.id]);
    assert.deepEqual(await ids('limit=1&offset=1'), [two.id]);
    assert.deepEqual(await ids('status=&client_id='), await ids(''), 'filters left blank, as the contract writes them: every invoice');
    assert.equal((await frank.get('/api/invoices?limit=1000')).status, 400);
    assert.equal((await frank.get('/api/invoices?status=lost')).status, 400);
  });

  it('renders a valid PDF with the invoice number and total', async () => {
    const { body: invoice } = await newInvoice(alice, {
      items: [
        { description: 'Consulting, March', quantity: 12.5, rate: 120 },
        { description: 'Travel', quantity: 1, rate: 234.56 },
      ],
      tax: 100,
      discount: 50,
      notes: 'Thank you for your business',
      payment_terms: 'Net 30',
    });
    const response = await alice.get(`/api/invoices/${invoice.id}/pdf`);
    assert.equal(response.status, 200);
    assert.equal(response.response.headers['content-type'], 'application/pdf');
    const pdf = response.response.rawPayload;
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.match(pdf.subarray(-8).toString('latin1'), /%%EOF\s*$/);
    const text = pdfText(pdf);
    assert.ok(text.includes(invoice.invoice_number), text);
    assert.equal(invoice.total, 1784.56); // 1500 + 234.56 + 100 - 50
    assert.ok(text.includes('USD 1,784.56'), text);
    for (const expected of ['Acme', 'Consulting, March', 'Net 30', 'Thank you for your business', invoice.due_date]) assert.ok(text.includes(expected), expected);
    assert.equal(pdf.toString('latin1').match(/\/Type \/Page\b/g)?.length, 1, 'one page');
  });

  it('documents every freelance route in /openapi.json', async () => {
    const spec = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const expected = [
      'get /api/clients', 'post /api/clients', 'get /api/clients/{id}', 'put /api/clients/{id}', 'delete /api/clients/{id}', 'get /api/clients/{id}/stats',
      'get /api/projects', 'post /api/projects', 'get /api/projects/{id}', 'put /api/projects/{id}', 'delete /api/projects/{id}',
      'get /api/time-tracking', 'post /api/time-tracking', 'get /api/time-tracking/active', 'get /api/time-tracking/summary', 'post /api/time-tracking/invoice',
      'get /api/time-tracking/{id}', 'put /api/time-tracking/{id}', 'delete /api/time-tracking/{id}', 'post /api/time-tracking/{id}/stop',
      'get /api/invoices', 'post /api/invoices', 'get /api/invoices/summary', 'get /api/invoices/{id}', 'put /api/invoices/{id}', 'delete /api/invoices/{id}',
      'patch /api/invoices/{id}/status', 'post /api/invoices/{id}/duplicate', 'get /api/invoices/{id}/pdf',
      'get /api/contracts', 'post /api/contracts', 'get /api/contracts/templates', 'get /api/contracts/{id}', 'put /api/contracts/{id}', 'delete /api/contracts/{id}',
      'post /api/contracts/{id}/duplicate',
      'get /api/resumes', 'post /api/resumes', 'get /api/resumes/templates', 'get /api/resumes/{id}', 'put /api/resumes/{id}', 'delete /api/resumes/{id}',
      'post /api/resumes/{id}/duplicate', 'post /api/resumes/{id}/ats-score', 'post /api/resumes/optimize',
    ];
    const documented = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`));
    for (const route of expected) assert.ok(documented.includes(route), route);
    const freelance = documented.filter((route) => /\/api\/(clients|projects|time-tracking|invoices|contracts|resumes)/.test(route));
    assert.equal(freelance.length, expected.length, freelance.filter((route) => !expected.includes(route)).join(', '));
  });

  it("hides another user's invoice: 404 on every route", async () => {
    const { body: invoice } = await newInvoice(alice);
    for (const [method, url, payload] of [
      ['GET', `/api/invoices/${invoice.id}`],
      ['GET', `/api/invoices/${invoice.id}/pdf`],
      ['PUT', `/api/invoices/${invoice.id}`, { notes: 'mine' }],
      ['PATCH', `/api/invoices/${invoice.id}/status`, { status: 'sent' }],
      ['POST', `/api/invoices/${invoice.id}/duplicate`],
      ['DELETE', `/api/invoices/${invoice.id}`],
    ] as const) {
      const response = await bob.request(method, url, payload);
      assert.equal(response.status, 404, `${method} ${url}`);
    }
    assert.equal((await alice.get(`/api/invoices/${invoice.id}`)).body.status, 'draft');
    assert.deepEqual((await bob.get('/api/invoices')).body, []);
    assert.equal((await bob.get('/api/invoices/summary')).body.total_invoices, 0);
    // Moving one's own invoice to another user's client is refused.
    const { body: bobsClient } = await bob.post('/api/clients', { name: 'Bob C' });
    const moved = await alice.put(`/api/invoices/${invoice.id}`, { client_id: bobsClient.id });
    assert.equal(moved.status, 400);
    assert.equal(moved.body.code, 'INVALID_REFERENCE');
  });
});
