import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, invoiceStatus, invoiceTotals } from '../../../src/modules/clinic/billing/rules.js';
import { canMoveClaim, claimAmount, claimAmountProblem, claimItems, formatClaimNumber, readinessProblems, statusAmounts } from '../../../src/modules/clinic/claims/rules.js';
import { ageOn, formatOpNumber, identifierTerms, identityKey, namePrefixes, phoneForms, prefixUpperBound, searchPrefixes, searchTerms } from '../../../src/modules/clinic/patients/rules.js';
import { canMove, EMPTY_VITALS, mergeVitals, normaliseDiagnoses, visitChanges } from '../../../src/modules/clinic/visits/rules.js';
import { ICD11_PATTERN, VISIT_STATUSES, type VisitStatus } from '../../../src/modules/clinic/visits/schema.js';

describe('patient rules', () => {
  test('OP numbers are zero-padded to at least 3 digits', () => {
    assert.equal(formatOpNumber(2026, 1), 'OP-2026-001');
    assert.equal(formatOpNumber(2026, 42), 'OP-2026-042');
    assert.equal(formatOpNumber(2026, 12345), 'OP-2026-12345');
  });

  test('age counts whole years, birthday included', () => {
    assert.equal(ageOn('1990-05-17', '2026-05-16'), 35);
    assert.equal(ageOn('1990-05-17', '2026-05-17'), 36);
    assert.equal(ageOn(null, '2026-01-01'), null);
    assert.equal(ageOn('1990-12-31', '2027-01-01'), 36, 'the month decides before the day');
    assert.equal(ageOn('1990-01-31', '2026-02-01'), 36);
    assert.equal(ageOn('2000-02-29', '2026-02-28'), 25, 'a leap-day birthday comes on 1 March in other years');
    assert.equal(ageOn('2000-02-29', '2026-03-01'), 26);
    assert.equal(ageOn('2026-12-07', '2026-12-07'), 0);
  });

  test('a phone is found in its local, trunk and international forms', () => {
    for (const typed of ['0712345678', '+254 712 345 678', '712345678']) {
      const forms = phoneForms(typed);
      for (const expected of ['712345678', '0712345678', '254712345678']) assert.ok(forms.includes(expected), `${typed} -> ${expected}`);
    }
  });

  test('search terms cover names, OP number, phone, national id and insurance number', () => {
    const terms = searchTerms({
      op_number: 'OP-2026-007',
      first_name: 'Mary-Anne',
      last_name: 'Njoróge',
      phone_number: '0712345678',
      national_id: '12345678',
      insurance_number: 'SHA-0001 2345',
    });
    for (const term of ['mary-anne', 'mary', 'anne', 'njoroge', 'op-2026-007', '0712345678', '254712345678', '12345678', 'sha-00012345', 'sha00012345']) {
      assert.ok(terms.includes(term), term);
    }
  });

  test('names are indexed by every prefix of every word, once; identifiers by their forms', () => {
    const prefixes = namePrefixes({ first_name: 'Ann', last_name: 'Anne-Marie' });
    for (const prefix of ['a', 'an', 'ann', 'anne', 'anne-marie', 'm', 'ma', 'marie']) assert.ok(prefixes.includes(prefix), prefix);
    assert.equal(prefixes.length, new Set(prefixes).size);
    assert.ok(!prefixes.includes('nn'), "!prefixes.includes('nn')");
    const identifiers = identifierTerms({ op_number: 'OP-2026-007', first_name: 'Ann', last_name: 'X', phone_number: null, national_id: null, insurance_number: null });
    assert.deepEqual(identifiers, ['op-2026-007', 'op2026007']);
  });

  test('search input: words lower-cased and accent-free, phone-like input reduced to digits', () => {
    assert.deepEqual(searchPrefixes('  Mary  NJORÓGE '), ['mary', 'njoroge']);
    assert.deepEqual(searchPrefixes('+254 712-345'), ['254712345']);
    assert.deepEqual(searchPrefixes('OP-2026-001'), ['op-2026-001']);
    assert.deepEqual(searchPrefixes('O’Neil St.Clair'), ['oneil', 'st', 'clair']);
    assert.deepEqual(searchPrefixes('SHA/123 ng\'ang\'a Ngʼangʼa'), ['sha/123', 'nganga']);
    assert.deepEqual(searchPrefixes('%'), ['%']);
    assert.deepEqual(searchPrefixes(`' ’`), [`' ’`], 'apostrophes only: matches nothing, not everyone');
    assert.deepEqual(searchPrefixes('   '), []);
    assert.equal(searchPrefixes('a b c d e f g').length, 5);
  });

  test('prefix upper bound is just above every extension of the prefix', () => {
    const upper = prefixUpperBound('wan');
    assert.equal(upper, 'wao');
    assert.ok('wanjiru' < upper && 'wan' < upper && 'wao' >= upper, "'wanjiru' < upper && 'wan' < upper && 'wao' >= upper");
  });

  test('identity key: same person whatever the phone format; unknown without birth date or phone', () => {
    const a = identityKey({ first_name: 'Mary', last_name: 'Otieno', date_of_birth: '2000-01-01', phone_number: '0712345678' });
    const b = identityKey({ first_name: 'MARY ', last_name: 'otieno', date_of_birth: '2000-01-01', phone_number: '+254712345678' });
    assert.equal(a, b);
    assert.equal(identityKey({ first_name: 'Mary  Ann', last_name: 'Otieno', date_of_birth: '2000-01-01', phone_number: '0712345678' }), identityKey({ first_name: 'Mary Ann', last_name: 'Otieno', date_of_birth: '2000-01-01', phone_number: '0712345678' }));
    assert.equal(identityKey({ first_name: 'Mary', last_name: 'Otieno', date_of_birth: null, phone_number: '0712345678' }), null);
    const withApostrophes = ["Ng'ang'a", 'Ng’ang’a', 'Ngʼangʼa', 'Nganga'].map((last_name) => identityKey({ first_name: 'Kimani', last_name, date_of_birth: '2000-01-01', phone_number: '0712345678' }));
    assert.deepEqual(new Set(withApostrophes).size, 1, 'one person, however the apostrophes were typed');
  });
});

describe('visit rules', () => {
  test('an edit keeps only what it changes', () => {
    const current = { vitals: { ...EMPTY_VITALS, pulse: 80 }, diagnoses: [{ code: '1F40.0', description: 'Malaria', primary: true }], notes: 'Seen', triage_category: 'normal' as const, chief_complaint: null };
    assert.deepEqual(visitChanges(current, { vitals: { ...EMPTY_VITALS, pulse: 80 }, diagnoses: [...current.diagnoses], notes: 'Seen', triage_category: 'normal', chief_complaint: null }), {});
    assert.deepEqual(visitChanges(current, {}), {});
    assert.deepEqual(visitChanges(current, { notes: null, triage_category: 'urgent' }), { notes: null, triage_category: 'urgent' });
    assert.deepEqual(Object.keys(visitChanges(current, { vitals: { ...EMPTY_VITALS, pulse: 81 }, diagnoses: [{ ...current.diagnoses[0]!, primary: false }] })), ['vitals', 'diagnoses']);
  });

  test('the status flow as written, and nothing else', () => {
    const allowed = new Set([
      'registered>triaged',
      'triaged>waiting_consultation',
      'waiting_consultation>in_consultation',
      'in_consultation>waiting_lab',
      'waiting_lab>lab_results_ready',
      'lab_results_ready>in_consultation',
      'in_consultation>waiting_pharmacy',
      'waiting_pharmacy>completed',
    ]);
    const open = VISIT_STATUSES.filter((status) => status !== 'completed' && status !== 'cancelled');
    for (const status of open) allowed.add(`${status}>cancelled`);
    for (const from of VISIT_STATUSES) {
      for (const to of VISIT_STATUSES) {
        assert.equal(canMove(from as VisitStatus, to as VisitStatus), allowed.has(`${from}>${to}`), `${from} -> ${to}`);
      }
    }
  });

  test('vitals merge field by field; diastolic must stay below systolic', () => {
    const first = mergeVitals(EMPTY_VITALS, { temperature_c: 37.2, bp_systolic: 120, bp_diastolic: 80 });
    assert.equal(first.problem, undefined);
    const second = mergeVitals(first.vitals, { pulse: 72, temperature_c: null });
    assert.deepEqual({ t: second.vitals.temperature_c, p: second.vitals.pulse, s: second.vitals.bp_systolic }, { t: null, p: 72, s: 120 });
    assert.equal(mergeVitals(first.vitals, { bp_diastolic: 130 }).problem?.field, 'vitals.bp_diastolic');
  });

  test('one primary diagnosis at most; the first is primary when none is marked', () => {
    assert.deepEqual(
      normaliseDiagnoses([{ code: 'CA40.0', description: 'Pneumonia' }, { code: '1A00', description: 'Cholera' }])?.map((d) => d.primary),
      [true, false],
    );
    assert.equal(normaliseDiagnoses([{ code: 'CA40.0', description: 'a', primary: true }, { code: '1A00', description: 'b', primary: true }]), null);
  });

  test('ICD-11 code shape', () => {
    const icd = new RegExp(ICD11_PATTERN);
    for (const code of ['1A00', 'CA40.0', 'BA00.Z', '8A80.1', '2C25.0&XH7SY2', 'NE60']) assert.ok(icd.test(code), code);
    for (const code of ['J18.9', 'A00', 'ca40.0', 'CA40.', 'CO40', 'XXXX.XXX', '']) assert.ok(!icd.test(code), code);
  });
});

describe('billing rules', () => {
  test('VAT on the subtotal in cents, discount after VAT', () => {
    assert.deepEqual(invoiceTotals([{ quantity: 2, unit_price_cents: 50_000 }, { quantity: 1, unit_price_cents: 33_333 }], 10_000, 0.16), {
      subtotal: 133_333,
      vat: 21_333,
      discount: 10_000,
      total: 144_666,
    });
    assert.deepEqual(invoiceTotals([{ quantity: 1, unit_price_cents: 100 }], 200, 0.16), { field: 'discount', message: 'must not exceed subtotal plus VAT' });
  });

  test('a line or an invoice above 100,000,000.00 is refused, so cents stay exact', () => {
    const max = 10_000_000_000;
    assert.equal((invoiceTotals([{ quantity: 99_999, unit_price_cents: 9_999_999_999 }], 0, 0.16) as { field: string }).field, 'items.0');
    assert.equal((invoiceTotals([{ quantity: 1, unit_price_cents: 1 }, { quantity: 2, unit_price_cents: max / 2 + 1 }], 0, 0.16) as { field: string }).field, 'items.1');
    // Each line within the limit, the sum or the VAT on it above.
    assert.equal((invoiceTotals([{ quantity: 1, unit_price_cents: max }, { quantity: 1, unit_price_cents: 1 }], 0, 0) as { field: string }).field, 'items');
    assert.equal((invoiceTotals([{ quantity: 1, unit_price_cents: max }], 0, 0.16) as { field: string }).field, 'items');
    assert.deepEqual(invoiceTotals([{ quantity: 1, unit_price_cents: max }], 0, 0), { subtotal: max, vat: 0, discount: 0, total: max });
  });

  test('status follows what was paid', () => {
    assert.equal(invoiceStatus(1000, 0), 'unpaid');
    assert.equal(invoiceStatus(1000, 1), 'partial');
    assert.equal(invoiceStatus(1000, 1000), 'paid');
  });

  test('canonical JSON ignores key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
  });
});

describe('claim rules', () => {
  test('numbering and amounts', () => {
    assert.equal(formatClaimNumber('2026-03-09', 7), 'SHA-20260309-007');
    const items = claimItems([{ intervention_code: 'sha-01-001', description: 'Consultation', unit_price_cents: 150_000 }, { intervention_code: 'SHA-02-010', description: 'X-ray', quantity: 2, unit_price_cents: 99_950 }]);
    assert.equal(items[0]!.intervention_code, 'SHA-01-001');
    assert.equal(claimAmount(items), 150_000 + 199_900);
  });

  test('a line or a claim above 100,000,000.00 is refused', () => {
    const item = (quantity: number, cents: number) => ({ intervention_code: 'SHA-01-001', description: 'x', quantity, unit_price_cents: cents });
    assert.equal(claimAmountProblem(claimItems([item(1, 10_000_000_000)])), undefined);
    assert.equal(claimAmountProblem(claimItems([item(1, 5), item(99_999, 9_999_999_999)]))?.field, 'items.1');
    assert.equal(claimAmountProblem(claimItems([item(1, 10_000_000_000), item(1, 1)]))?.field, 'items');
  });

  test('the status machine', () => {
    assert.ok(canMoveClaim('draft', 'ready_to_submit'), "canMoveClaim('draft', 'ready_to_submit')");
    assert.ok(canMoveClaim('rejected', 'draft'), "canMoveClaim('rejected', 'draft')");
    assert.ok(canMoveClaim('approved', 'partially_paid'), "canMoveClaim('approved', 'partially_paid')");
    assert.ok(!canMoveClaim('draft', 'submitted'), "!canMoveClaim('draft', 'submitted')");
    assert.ok(!canMoveClaim('paid', 'draft'), "!canMoveClaim('paid', 'draft')");
    assert.ok(!canMoveClaim('ready_to_submit', 'draft'), "!canMoveClaim('ready_to_submit', 'draft')");
  });

  test('readiness lists every problem', () => {
    const problems = readinessProblems({ patient: { insurance_type: 'cash', insurance_number: null, archived_at: '2026-01-01T00:00:00.000Z' }, diagnoses: [], items: [], claim_amount: 0 });
    assert.deepEqual(problems.map((p) => p.field), ['patient', 'patient.insurance_type', 'patient.insurance_number', 'diagnoses', 'items']);
    const ready = { patient: { insurance_type: 'sha', insurance_number: 'S1', archived_at: null }, diagnoses: [1], items: [1], claim_amount: 500 };
    assert.deepEqual(readinessProblems(ready), []);
    assert.deepEqual(readinessProblems({ ...ready, claim_amount: 0 }).map((p) => p.message), ['the claim amount must be above 0']);
  });

  test('amounts on approval and payment', () => {
    const claim = { claim_amount: 10_000, approved_amount: null };
    assert.deepEqual(statusAmounts('approved', claim, {}), { approved_amount: 10_000 });
    assert.deepEqual(statusAmounts('approved', claim, { approved_amount: 8000 }), { approved_amount: 8000 });
    assert.equal((statusAmounts('approved', claim, { approved_amount: 12_000 }) as { field: string }).field, 'approved_amount');
    assert.equal((statusAmounts('approved', claim, { approved_amount: 0 }) as { field: string }).field, 'approved_amount', 'approved for nothing is a rejection');
    const approved = { claim_amount: 10_000, approved_amount: 8000 };
    assert.deepEqual(statusAmounts('paid', approved, {}), { paid_amount: 8000 });
    assert.deepEqual(statusAmounts('partially_paid', approved, { paid_amount: 5000 }), { paid_amount: 5000 });
    assert.equal((statusAmounts('partially_paid', approved, {}) as { field: string }).field, 'paid_amount');
    assert.equal((statusAmounts('partially_paid', approved, { paid_amount: 8000 }) as { field: string }).field, 'paid_amount');
    assert.equal((statusAmounts('submitted', approved, { paid_amount: 1 }) as { field: string }).field, 'paid_amount');
  });
});
