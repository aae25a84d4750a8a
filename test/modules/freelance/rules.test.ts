import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/core/http/errors.js';
import { areTermsLocked, assertContractMove, canMoveContract, CONTRACT_STATUSES, copyTitle } from '../../../src/modules/freelance/contracts/rules.js';
import {
  assertInvoiceMove,
  canMoveInvoice,
  computeInvoiceAmounts,
  duplicateDates,
  effectiveInvoiceStatus,
  formatInvoiceNumber,
  INVOICE_STATUSES,
  isInvoiceDeletable,
  isInvoiceEditable,
} from '../../../src/modules/freelance/invoices/rules.js';
import { centsOf, hoursFromSeconds, lineAmountCents } from '../../../src/modules/freelance/money.js';
import { extractKeywords, scoreResume, tokenize, type AtsResume } from '../../../src/modules/freelance/resumes/ats.js';
import { durationSeconds, endAfter, entryAmountCents, MAX_ENTRY_SECONDS, normaliseTime, periodEnds, periodStarts, resolveNewEntryTimes, stoppedDuration } from '../../../src/modules/freelance/time-tracking/rules.js';

function assertAppError(fn: () => unknown, status: number, code: string, field?: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AppError, 'an AppError');
    assert.equal(error.statusCode, status);
    assert.equal(error.code, code);
    if (field !== undefined) assert.equal(error.details?.[0]?.field, field);
    return true;
  });
}

describe('money in integer cents', () => {
  it('turns amounts with up to two decimals into exact cents', () => {
    assert.equal(centsOf(33.33, 'rate'), 3333);
    assert.equal(centsOf(0.1, 'rate'), 10);
    assert.equal(centsOf(19.99, 'rate'), 1999);
    assert.equal(centsOf(1234567.89, 'rate'), 123456789);
    assert.equal(centsOf(0, 'rate'), 0);
  });

  it('refuses negative amounts, more than two decimals and float drift, naming the field', () => {
    assertAppError(() => centsOf(-1, 'tax'), 400, 'VALIDATION_FAILED', 'tax');
    assertAppError(() => centsOf(1.005, 'rate'), 400, 'VALIDATION_FAILED', 'rate');
    assertAppError(() => centsOf(0.1 + 0.2, 'discount'), 400, 'VALIDATION_FAILED', 'discount');
    assertAppError(() => centsOf(Number.NaN, 'rate'), 400, 'VALIDATION_FAILED');
    assertAppError(() => centsOf(1e13, 'rate'), 400, 'VALIDATION_FAILED');
  });

  it('multiplies quantity by rate exactly, rounding half up to the cent', () => {
    assert.equal(lineAmountCents(3, 3333), 9999); // 3 x 33.33 = 99.99, never 99.99000000000001
    assert.equal(lineAmountCents(1.5, 5), 8); // 7.5 cents rounds up
    assert.equal(lineAmountCents(0.1, 333), 33); // 33.3 cents rounds down
    assert.equal(lineAmountCents(0.0001, 100), 0);
    assert.equal(lineAmountCents(1_000_000, 100_000), 100_000_000_000);
    assertAppError(() => lineAmountCents(1.00001, 100), 400, 'VALIDATION_FAILED');
    assertAppError(() => lineAmountCents(1_000_000, 1_000_000_000_000), 400, 'VALIDATION_FAILED');
  });

  it('turns seconds into hours to two decimals, rounding half up', () => {
    assert.equal(hoursFromSeconds(3600), 1);
    assert.equal(hoursFromSeconds(5400), 1.5);
    assert.equal(hoursFromSeconds(1000), 0.28); // 0.2777...
    assert.equal(hoursFromSeconds(18), 0.01); // exactly half a hundredth rounds up
    assert.equal(hoursFromSeconds(17), 0);
    assert.equal(hoursFromSeconds(0), 0);
  });
});

describe('invoice amounts', () => {
  it('computes amounts, subtotal and total in cents whatever the client claims', () => {
    const amounts = computeInvoiceAmounts(
      [
        { description: 'Design', quantity: 3, rate: 33.33 },
        { description: 'Hosting', quantity: 1, rate: 0.01 },
      ],
      10.5,
      5,
    );
    assert.deepEqual(amounts.items, [
      { description: 'Design', quantity: 3, rate: 3333, amount: 9999 },
      { description: 'Hosting', quantity: 1, rate: 1, amount: 1 },
    ]);
    assert.equal(amounts.subtotal, 10000);
    assert.equal(amounts.tax, 1050);
    assert.equal(amounts.discount, 500);
    assert.equal(amounts.total, 10550);
  });

  it('sums many small amounts without drift', () => {
    const items = Array.from({ length: 10 }, () => ({ description: 'x', quantity: 1, rate: 0.1 }));
    assert.equal(computeInvoiceAmounts(items, 0, 0).total, 100); // 10 x 0.10 is 1.00, not 0.9999999999999999
  });

  it('allows a discount up to subtotal + tax and refuses one above it', () => {
    assert.equal(computeInvoiceAmounts([{ description: 'x', quantity: 1, rate: 10 }], 2, 12).total, 0);
    assertAppError(() => computeInvoiceAmounts([{ description: 'x', quantity: 1, rate: 10 }], 2, 12.01), 400, 'VALIDATION_FAILED', 'discount');
  });

  it('names the bad item field', () => {
    assertAppError(() => computeInvoiceAmounts([{ description: 'x', quantity: 1, rate: 1.234 }], 0, 0), 400, 'VALIDATION_FAILED', 'items.0.rate');
    assertAppError(() => computeInvoiceAmounts([{ description: 'x', quantity: -1, rate: 1 }], 0, 0), 400, 'VALIDATION_FAILED', 'items.0.quantity');
  });

  it('numbers invoices INV- and five digits', () => {
    assert.equal(formatInvoiceNumber(1), 'INV-00001');
    assert.equal(formatInvoiceNumber(12345), 'INV-12345');
    assert.equal(formatInvoiceNumber(123456), 'INV-123456');
  });
});

describe('invoice status machine', () => {
  const allowed = new Set(['draft>sent', 'draft>cancelled', 'sent>paid', 'sent>overdue', 'sent>cancelled', 'overdue>paid', 'overdue>cancelled']);

  it('allows exactly the documented moves and answers 409 for every other', () => {
    for (const from of INVOICE_STATUSES) {
      for (const to of INVOICE_STATUSES) {
        const expected = allowed.has(`${from}>${to}`);
        assert.equal(canMoveInvoice(from, to), expected, `${from} -> ${to}`);
        if (expected) assert.doesNotThrow(() => assertInvoiceMove(from, to));
        else assertAppError(() => assertInvoiceMove(from, to), 409, 'INVALID_STATUS_TRANSITION');
      }
    }
  });

  it('edits only drafts and deletes only drafts and cancelled invoices', () => {
    assert.deepEqual(INVOICE_STATUSES.filter(isInvoiceEditable), ['draft']);
    assert.deepEqual(INVOICE_STATUSES.filter(isInvoiceDeletable), ['draft', 'cancelled']);
  });

  it('reports a sent invoice past its due date as overdue', () => {
    assert.equal(effectiveInvoiceStatus('sent', '2024-01-09', '2024-01-10'), 'overdue');
    assert.equal(effectiveInvoiceStatus('sent', '2024-01-10', '2024-01-10'), 'sent'); // due today is not late yet
    assert.equal(effectiveInvoiceStatus('draft', '2024-01-01', '2024-01-10'), 'draft');
    assert.equal(effectiveInvoiceStatus('paid', '2024-01-01', '2024-01-10'), 'paid');
  });

  it('dates a duplicate today with the same payment period', () => {
    assert.deepEqual(duplicateDates({ date: '2024-01-01', due_date: '2024-01-31' }, '2024-02-20'), { date: '2024-02-20', due_date: '2024-03-21' });
    assert.deepEqual(duplicateDates({ date: '2024-01-10', due_date: '2024-01-01' }, '2024-02-20'), { date: '2024-02-20', due_date: '2024-02-20' });
  });
});

describe('contract status machine', () => {
  const allowed = new Set([
    'draft>sent',
    'draft>signed',
    'sent>draft',
    'sent>signed',
    'sent>terminated',
    'signed>active',
    'signed>completed',
    'signed>terminated',
    'active>completed',
    'active>terminated',
  ]);

  it('allows exactly its moves', () => {
    for (const from of CONTRACT_STATUSES) {
      for (const to of CONTRACT_STATUSES) {
        assert.equal(canMoveContract(from, to), allowed.has(`${from}>${to}`), `${from} -> ${to}`);
        if (!allowed.has(`${from}>${to}`)) assertAppError(() => assertContractMove(from, to), 409, 'INVALID_STATUS_TRANSITION');
      }
    }
  });

  it('freezes the terms once signed', () => {
    assert.deepEqual(CONTRACT_STATUSES.filter(areTermsLocked), ['signed', 'active', 'completed', 'terminated']);
  });

  it('titles a copy within the length limit', () => {
    assert.equal(copyTitle('NDA', 200), 'NDA (Copy)');
    assert.equal(copyTitle('x'.repeat(200), 200).length, 200);
  });
});

describe('timer rules', () => {
  it('measures whole seconds, rounding down', () => {
    assert.equal(durationSeconds('2024-01-01T10:00:00.000Z', '2024-01-01T11:30:00.999Z'), 5400);
    assert.equal(durationSeconds('2024-01-01T10:00:00Z', '2024-01-01T10:00:00Z'), 0);
    assertAppError(() => durationSeconds('2024-01-01T10:00:00Z', '2024-01-01T09:59:59Z'), 400, 'VALIDATION_FAILED', 'end_time');
  });

  it('normalises any offset to UTC text and adds durations', () => {
    assert.equal(normaliseTime('2024-01-01T12:00:00+02:00', 'start_time'), '2024-01-01T10:00:00.000Z');
    assert.equal(endAfter('2024-01-01T10:00:00.000Z', 90), '2024-01-01T10:01:30.000Z');
  });

  it('keeps entry times in 1970-2099 and an entry at most MAX_ENTRY_SECONDS long', () => {
    assert.equal(normaliseTime('1970-01-01T00:00:00Z', 'start_time'), '1970-01-01T00:00:00.000Z');
    assert.equal(normaliseTime('2099-12-31T23:59:59.999Z', 'end_time'), '2099-12-31T23:59:59.999Z');
    assertAppError(() => normaliseTime('1969-12-31T23:59:59Z', 'start_time'), 400, 'VALIDATION_FAILED', 'start_time');
    assertAppError(() => normaliseTime('0000-01-01T00:00:00+23:59', 'start_time'), 400, 'VALIDATION_FAILED', 'start_time'); // year -1 in UTC
    assertAppError(() => normaliseTime('2100-01-01T00:00:00Z', 'end_time'), 400, 'VALIDATION_FAILED', 'end_time');
    assertAppError(() => endAfter('2099-12-31T00:00:00Z', 86_400), 400, 'VALIDATION_FAILED', 'duration');
    assertAppError(() => resolveNewEntryTimes({ end_time: '1970-01-01T00:00:30Z', duration: 60 }), 400, 'VALIDATION_FAILED', 'duration');

    const start = '2024-01-01T00:00:00.000Z';
    const longest = new Date(Date.parse(start) + MAX_ENTRY_SECONDS * 1000).toISOString();
    const tooLong = new Date(Date.parse(start) + MAX_ENTRY_SECONDS * 1000 + 1000).toISOString();
    assert.equal(durationSeconds(start, longest), MAX_ENTRY_SECONDS);
    assertAppError(() => durationSeconds(start, tooLong), 400, 'VALIDATION_FAILED', 'end_time');
    assertAppError(() => durationSeconds(start, tooLong, 'start_time'), 400, 'VALIDATION_FAILED', 'start_time');
    assertAppError(() => durationSeconds(longest, start, 'start_time'), 400, 'VALIDATION_FAILED', 'start_time');
    // Stopping: too long is a 400 naming end_time, whether it was sent or meant "now".
    assert.equal(stoppedDuration(start, longest, false), MAX_ENTRY_SECONDS);
    assertAppError(() => stoppedDuration(start, tooLong, true), 400, 'VALIDATION_FAILED', 'end_time');
    assertAppError(() => stoppedDuration(start, tooLong, false), 400, 'VALIDATION_FAILED', 'end_time');
  });

  it('starts weeks on Monday and months on the 1st, in UTC', () => {
    // Wednesday 2024-05-15
    assert.deepEqual(periodStarts(new Date('2024-05-15T13:14:15Z')), {
      today: '2024-05-15T00:00:00.000Z',
      week: '2024-05-13T00:00:00.000Z',
      month: '2024-05-01T00:00:00.000Z',
    });
    // A Sunday belongs to the week that started six days before.
    assert.equal(periodStarts(new Date('2024-05-19T23:59:59Z')).week, '2024-05-13T00:00:00.000Z');
    assert.equal(periodStarts(new Date('2024-05-13T00:00:00Z')).week, '2024-05-13T00:00:00.000Z');
    // Each period ends where the next one begins, so a later entry is not counted in it.
    assert.deepEqual(periodEnds(new Date('2024-12-31T13:14:15Z')), {
      today: '2025-01-01T00:00:00.000Z',
      week: '2025-01-06T00:00:00.000Z',
      month: '2025-01-01T00:00:00.000Z',
    });
  });

  it('resolves a new entry: timer, finished by end or by duration', () => {
    const at = new Date('2024-05-15T12:00:00.000Z');
    assert.deepEqual(resolveNewEntryTimes({}, at), { start_time: '2024-05-15T12:00:00.000Z', end_time: null });
    assert.deepEqual(resolveNewEntryTimes({ start_time: '2024-05-15T09:00:00Z' }, at), { start_time: '2024-05-15T09:00:00.000Z', end_time: null });
    assert.deepEqual(resolveNewEntryTimes({ start_time: '2024-05-15T09:00:00Z', duration: 90 }, at), {
      start_time: '2024-05-15T09:00:00.000Z',
      end_time: '2024-05-15T09:01:30.000Z',
    });
    // A duration alone is work just finished.
    assert.deepEqual(resolveNewEntryTimes({ duration: 3600 }, at), { start_time: '2024-05-15T11:00:00.000Z', end_time: '2024-05-15T12:00:00.000Z' });
    assert.deepEqual(resolveNewEntryTimes({ end_time: '2024-05-15T10:00:00Z', duration: 60 }, at), {
      start_time: '2024-05-15T09:59:00.000Z',
      end_time: '2024-05-15T10:00:00.000Z',
    });
    // Both times given: the duration is computed from them, whatever was sent.
    assert.deepEqual(resolveNewEntryTimes({ start_time: '2024-05-15T09:00:00Z', end_time: '2024-05-15T10:00:00Z', duration: 5 }, at), {
      start_time: '2024-05-15T09:00:00.000Z',
      end_time: '2024-05-15T10:00:00.000Z',
    });
  });

  it('bills an entry as its invoice line would', () => {
    assert.equal(entryAmountCents(5400, 5000), 7500); // 1.5 h x 50.00
    assert.equal(entryAmountCents(1000, 3333), 933); // 0.28 h x 33.33 = 9.3324
    assert.equal(entryAmountCents(3600, null), 0);
  });
});

describe('ATS keyword scoring', () => {
  const resume: AtsResume = {
    personal_info: { email: 'ada@example.com' },
    summary: 'Backend engineer building TypeScript services on Node.js.',
    experience: [{ company: 'Acme', position: 'Software Engineer', description: 'Built APIs with PostgreSQL and Redis.', achievements: ['Cut latency 40%'] }],
    education: [{ institution: 'MIT', degree: 'BSc', field: 'Computer Science' }],
    skills: ['TypeScript', 'Node.js', 'PostgreSQL', 'Docker', 'Kubernetes'],
    certifications: [],
    languages: [{ name: 'English' }],
    projects: [],
  };
  const job = 'We are looking for a TypeScript engineer. TypeScript and Node.js are a must; Kubernetes, GraphQL and AWS experience is a plus. Strong PostgreSQL skills.';

  it('tokenises technical names and drops stop words and numbers', () => {
    assert.deepEqual(tokenize('C++, C# and Node.js in 2024 with CI/CD.'), ['c++', 'c#', 'node.js', 'ci', 'cd']);
  });

  it('ranks keywords by frequency, then first appearance', () => {
    assert.deepEqual(extractKeywords(job), ['typescript', 'engineer', 'node.js', 'kubernetes', 'graphql', 'aws', 'postgresql']);
  });

  it('scores matched keywords and present sections, the same every time', () => {
    const result = scoreResume(resume, job);
    assert.deepEqual(result.matched_keywords, ['typescript', 'engineer', 'node.js', 'kubernetes', 'postgresql']);
    assert.deepEqual(result.missing_keywords, ['graphql', 'aws']);
    assert.equal(result.score, 80); // 70 x 5/7 = 50, + 30 for complete sections
    assert.equal(result.max_score, 100);
    assert.match(result.feedback[0]!, /5 of 7/);
    assert.deepEqual(scoreResume(resume, job), result);
  });

  it('gives an empty resume against a real job a low score with advice per missing section', () => {
    const empty: AtsResume = { personal_info: {}, summary: null, experience: [], education: [], skills: [], certifications: [], languages: [], projects: [] };
    const result = scoreResume(empty, job);
    assert.equal(result.score, 0);
    assert.equal(result.matched_keywords.length, 0);
    assert.equal(result.feedback.length, 6);
  });

  it('matches plurals both ways', () => {
    const result = scoreResume({ ...resume, skills: ['APIs'] }, 'Design API endpoints');
    assert.ok(result.matched_keywords.includes('api'), "result.matched_keywords.includes('api')");
    assert.ok(result.matched_keywords.includes('endpoints') === false, "result.matched_keywords.includes('endpoints') === false");
  });
});
