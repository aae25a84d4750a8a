import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { canonicalEntry, csvCell, entryHash, GENESIS_HASH } from '../../src/core/audit/chain.js';
import { appendAudit, auditCsvStream, listAudit, verifyAudit, type AuditDb } from '../../src/core/audit/repo.js';
import type { AuditTables } from '../../src/core/audit/tables.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe('audit log (core)', () => {
  let t: TestApp;
  let db: Kysely<AuditDb>;

  const append = (n: number, resource = 'thing', details: Record<string, unknown> = {}) =>
    db.transaction().execute((trx) => appendAudit(trx, { userId: 'u1', action: 'update', resource, resourceId: `r${n}`, ip: '10.0.0.1', details: { n, ...details } }));

  before(async () => {
    t = await startTestApp({}, { modules: [] });
    db = t.app.db.withTables<AuditTables>();
  });
  after(() => t.close());

  test('entries chain from the genesis hash, each hashing its canonical form and the previous hash', async () => {
    const first = await append(1);
    const second = await append(2);
    assert.equal(first.prev_hash, GENESIS_HASH);
    assert.equal(second.prev_hash, first.hash);
    const row = await db.selectFrom('audit_log').selectAll().where('id', '=', second.id).executeTakeFirstOrThrow();
    assert.equal(entryHash({ ...row, seq: Number(row.seq) }), second.hash);
    assert.match(second.hash, /^[0-9a-f]{64}$/);
    assert.ok(canonicalEntry({ ...row, seq: Number(row.seq) }).includes(row.prev_hash), 'canonicalEntry({ ...row, seq: Number(row.seq) }).includes(row.prev_hash)');
    assert.deepEqual(await verifyAudit(db), { ok: true, checked: 2, first_bad_id: null });
  });

  test('an entry written in a transaction that rolls back disappears with it', async () => {
    const before = await verifyAudit(db);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await appendAudit(trx, { userId: 'u1', action: 'create', resource: 'thing' });
        throw new Error('change failed');
      }),
      /change failed/,
    );
    assert.deepEqual(await verifyAudit(db), before);
  });

  test('concurrent appends stay one unbroken chain', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => append(100 + i, 'concurrent')));
    const result = await verifyAudit(db);
    assert.equal(result.ok, true);
    assert.equal(result.checked, 22);
    const seqs = (await db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((row) => Number(row.seq));
    assert.deepEqual(seqs, Array.from({ length: 22 }, (_, i) => i + 1));
  });

  test('verify finds an edited entry, and passes again when it is put back', async () => {
    const target = await db.selectFrom('audit_log').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
    await db.updateTable('audit_log').set({ details: '{"n":999}' }).where('id', '=', target.id).execute();
    assert.deepEqual(await verifyAudit(db), { ok: false, checked: 5, first_bad_id: target.id });
    // Recomputing the edited entry's own hash does not help: the next entry links to the old one.
    const forged = entryHash({ ...target, seq: Number(target.seq), details: '{"n":999}' });
    await db.updateTable('audit_log').set({ hash: forged }).where('id', '=', target.id).execute();
    const next = await db.selectFrom('audit_log').select('id').where('seq', '=', 6).executeTakeFirstOrThrow();
    assert.deepEqual(await verifyAudit(db), { ok: false, checked: 6, first_bad_id: next.id });
    await db.updateTable('audit_log').set({ details: target.details, hash: target.hash }).where('id', '=', target.id).execute();
    assert.equal((await verifyAudit(db)).ok, true);
  });

  test('verify finds a deleted entry in the middle and at the end', async () => {
    const middle = await db.selectFrom('audit_log').selectAll().where('seq', '=', 10).executeTakeFirstOrThrow();
    const after = await db.selectFrom('audit_log').select('id').where('seq', '=', 11).executeTakeFirstOrThrow();
    await db.deleteFrom('audit_log').where('id', '=', middle.id).execute();
    const result = await verifyAudit(db);
    assert.equal(result.ok, false);
    assert.equal(result.first_bad_id, after.id);
    await db.insertInto('audit_log').values(middle).execute();
    assert.equal((await verifyAudit(db)).ok, true);

    const last = await db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    const previous = await db.selectFrom('audit_log').select('id').where('seq', '=', Number(last.seq) - 1).executeTakeFirstOrThrow();
    await db.deleteFrom('audit_log').where('id', '=', last.id).execute();
    assert.deepEqual(await verifyAudit(db), { ok: false, checked: Number(last.seq) - 1, first_bad_id: previous.id });
    await db.insertInto('audit_log').values(last).execute();
    assert.equal((await verifyAudit(db)).ok, true);
  });

  test('listing filters by user, action, resource and time, newest first', async () => {
    const all = await listAudit(db, {}, { limit: 5, offset: 0 });
    assert.equal(all.total, 22);
    assert.equal(all.entries.length, 5);
    assert.ok(all.entries[0]!.at >= all.entries[4]!.at, 'all.entries[0]!.at >= all.entries[4]!.at');
    const concurrent = await listAudit(db, { resource: 'concurrent' }, { limit: 50, offset: 0 });
    assert.equal(concurrent.total, 20);
    assert.equal((await listAudit(db, { action: 'delete' }, { limit: 50, offset: 0 })).total, 0);
    assert.equal((await listAudit(db, { user_id: 'nobody' }, { limit: 50, offset: 0 })).total, 0);
    assert.equal((await listAudit(db, { from: '2000-01-01', to: '2000-12-31' }, { limit: 50, offset: 0 })).total, 0);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal((await listAudit(db, { from: today, to: today }, { limit: 50, offset: 0 })).total, 22);
  });

  test('CSV cells are quoted and cannot start a formula', () => {
    assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
    assert.equal(csvCell('+254712'), `"'+254712"`);
    assert.equal(csvCell('@SUM(A1)'), `"'@SUM(A1)"`);
    assert.equal(csvCell('-1'), `"'-1"`);
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell(null), '');
  });

  test('the CSV export streams every matching entry in chain order, in batches', async () => {
    await append(999, 'csv', { note: '=cmd|calc' });
    let text = '';
    let chunks = 0;
    for await (const chunk of auditCsvStream(db, {})) {
      text += chunk;
      chunks++;
    }
    const lines = text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,at,user_id,action,resource,resource_id,ip,details,prev_hash,hash');
    assert.equal(lines.length, 1 + 23);
    assert.ok(chunks >= 2, 'chunks >= 2');
    assert.ok(lines.at(-1)!.includes('=cmd|calc'), "lines.at(-1)!.includes('=cmd|calc')");
    assert.ok(!lines.some((line) => line.split(',').some((cell) => /^[=+@-]/.test(cell))), "!lines.some((line) => line.split(',').some((cell) => /^[=+@-]/.test(cell)))");
    let filtered = '';
    for await (const chunk of auditCsvStream(db, { resource: 'csv' })) filtered += chunk;
    assert.equal(filtered.trimEnd().split('\r\n').length, 2);
  });

  test('verify while entries are being appended finds the chain intact (every run reported a break)', async () => {
    // Entries committed during the walk are not a break: they are past the head the walk started from.
    const runs = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? verifyAudit(db) : append(2000 + i, 'during-verify'))));
    const verifies = runs.filter((run): run is Awaited<ReturnType<typeof verifyAudit>> => 'ok' in run);
    assert.equal(verifies.length, 15);
    assert.deepEqual(verifies.filter((run) => !run.ok), []);
    assert.equal((await verifyAudit(db)).ok, true);
  });

  test('verify finds an entry inserted past the chain head', async () => {
    const last = await db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    const row = { ...last, seq: Number(last.seq) + 1, id: randomUUID(), prev_hash: last.hash, details: '{"forged":true}' };
    const forged = { ...row, hash: entryHash(row) };
    await db.insertInto('audit_log').values(forged).execute();
    const result = await verifyAudit(db);
    assert.deepEqual([result.ok, result.first_bad_id], [false, forged.id]);
    await db.deleteFrom('audit_log').where('id', '=', forged.id).execute();
    assert.equal((await verifyAudit(db)).ok, true);
  });
});
