import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { migrationGroupsFor } from '../../src/app.js';
import { newId } from '../../src/core/db/columns.js';
import { openDatabase, withStatementCache } from '../../src/core/db/connect.js';
import { migrate } from '../../src/core/db/migrator.js';
import { isUniqueViolation } from '../../src/core/db/errors.js';
import { preparedQuery } from '../../src/core/db/prepared.js';
import type { CoreTables } from '../../src/core/db/tables.js';
import type { Kysely } from 'kysely';
import { textMatches } from '../../src/core/db/search.js';
import { nextSequenceValue } from '../../src/core/db/sequences.js';
import { rowBuilder } from '../../src/core/db/sqlite-rows.js';
import { UnchangedReads } from '../../src/core/db/unchanged-reads.js';
import type { AppModule } from '../../src/core/module.js';
import { call, registerUser, startTestApp, type TestApp } from '../helpers/app.js';

describe('database layer', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('sequences: 30 concurrent transactions get 30 distinct, gapless numbers', async () => {
    const numbers = await Promise.all(
      Array.from({ length: 30 }, () => t.app.db.transaction().execute((trx) => nextSequenceValue(trx, 'test:concurrent'))),
    );
    assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
  });

  test('sequences: a rolled-back transaction gives its number back; scopes are independent', async () => {
    await assert.rejects(
      t.app.db.transaction().execute(async (trx) => {
        await nextSequenceValue(trx, 'test:rollback');
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await t.app.db.transaction().execute((trx) => nextSequenceValue(trx, 'test:rollback')), 1);
    assert.equal(await nextSequenceValue(t.app.db, 'test:other'), 1);
  });

  test('unique violations are recognised on this dialect', async () => {
    const user = await registerUser(t.app);
    const error = await t.app.db
      .insertInto('users')
      .values({ id: crypto.randomUUID(), email: user.email, role: 'user', is_active: true, password_hash: 'x', failed_logins: 0, created_at: '', updated_at: '' })
      .execute()
      .catch((caught: unknown) => caught);
    assert.ok(isUniqueViolation(error), 'isUniqueViolation(error)');
  });

  test('textMatches is case-insensitive and matches % and _ literally', async () => {
    await registerUser(t.app, { name: 'Percy 100% Sure_Thing' });
    await registerUser(t.app, { name: 'Percy 1000 SureXThing' });
    const names = async (term: string) =>
      (await t.app.db.selectFrom('users').select('name').where(textMatches(['name'], term)).execute()).map((row) => row.name).sort();
    assert.deepEqual(await names('percy'), ['Percy 100% Sure_Thing', 'Percy 1000 SureXThing']);
    assert.deepEqual(await names('100%'), ['Percy 100% Sure_Thing']);
    assert.deepEqual(await names('sure_thing'), ['Percy 100% Sure_Thing']);
    assert.deepEqual(await names("'; drop table users; --"), []);
  });

  test('lower() folds case beyond ASCII on this dialect, in searches and in expression indexes', async () => {
    await registerUser(t.app, { name: 'Émile ÖLAND' });
    const names = async (term: string) => (await t.app.db.selectFrom('users').select('name').where(textMatches(['name'], term)).execute()).map((row) => row.name);
    assert.deepEqual(await names('émile'), ['Émile ÖLAND']);
    assert.deepEqual(await names('Émile öland'), ['Émile ÖLAND']);
    await sql`create table fold_test (name text)`.execute(t.app.db);
    await sql`create unique index fold_test_name on fold_test (lower(name))`.execute(t.app.db);
    await sql`insert into fold_test values ('ÉCOLE')`.execute(t.app.db);
    const duplicate = await sql`insert into fold_test values ('école')`.execute(t.app.db).catch((caught: unknown) => caught);
    assert.ok(isUniqueViolation(duplicate), 'ÉCOLE and école are one name');
  });

  test('booleans and JSON text round-trip on this dialect', async () => {
    const user = await registerUser(t.app);
    await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', user.user.id).execute();
    const row = await t.app.db.selectFrom('users').select('is_active').where('id', '=', user.user.id).executeTakeFirstOrThrow();
    assert.equal(Boolean(row.is_active), false);
    const document = { b: 1, a: [1.5, 'ü', null, { nested: true }] };
    const back = await sql<{ value: string }>`select ${JSON.stringify(document)} as value`.execute(t.app.db);
    assert.deepEqual(JSON.parse(back.rows[0]!.value), document);
  });

  test('counts come back as numbers on both dialects', async () => {
    const row = await t.app.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(typeof row.n, 'number');
  });

  test('preparedQuery binds each call’s arguments where the builder put them, keeping constants', async () => {
    const alice = await registerUser(t.app, { name: 'Prepared Alice' });
    const bob = await registerUser(t.app, { name: 'Prepared Bob' });
    await t.app.db.updateTable('users').set({ is_active: false }).where('id', '=', bob.user.id).execute();
    const byEmailAndName = preparedQuery((db: Kysely<CoreTables>, name: string, email: string) =>
      db.selectFrom('users').select(['id', 'name']).where('is_active', '=', true).where('email', '=', email).where('name', '=', name),
    );
    assert.deepEqual(await byEmailAndName(t.app.db, 'Prepared Alice', alice.email), [{ id: alice.user.id, name: 'Prepared Alice' }]);
    assert.deepEqual(await byEmailAndName(t.app.db, 'Prepared Alice', bob.email), [], 'arguments are not swapped');
    assert.deepEqual(await byEmailAndName(t.app.db, 'Prepared Bob', bob.email), [], 'the constant is still bound');
    const ignoresArgument = preparedQuery((db: Kysely<CoreTables>, _unused: string) => db.selectFrom('users').select('id'));
    await assert.rejects(ignoresArgument(t.app.db, 'x'), /every argument must be used/);
  });

  test('a prepared read made while another request holds a transaction never sees its uncommitted writes', async () => {
    const carol = await registerUser(t.app, { name: 'Committed Carol' });
    const nameOf = preparedQuery((db: Kysely<CoreTables>, id: string) => db.selectFrom('users').select('name').where('id', '=', id));
    let readDuringTransaction: Promise<{ name: string | null }[]> | undefined;
    await assert.rejects(
      t.app.db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ name: 'Uncommitted' }).where('id', '=', carol.user.id).execute();
        readDuringTransaction = nameOf(t.app.db, carol.user.id);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.deepEqual(await readDuringTransaction, [{ name: 'Committed Carol' }]);
    assert.deepEqual(await nameOf(t.app.db, carol.user.id), [{ name: 'Committed Carol' }]);
  });

  test('a prepared read through a module’s withTables view does not queue behind a held connection outside a transaction', async () => {
    const erin = await registerUser(t.app, { name: 'Direct Erin' });
    type ModuleTables = { module_things: { id: string } };
    const nameOf = preparedQuery((db: Kysely<CoreTables & ModuleTables>, id: string) => db.selectFrom('users').select('name').where('id', '=', id));
    const moduleView = t.app.db.withTables<ModuleTables>();
    const outcome = await t.app.db.connection().execute(() =>
      Promise.race([nameOf(moduleView, erin.user.id), new Promise((resolve) => setTimeout(() => resolve('queued behind the held connection'), 200))]),
    );
    // SQLite: Kysely's one connection is held, so only the direct read can answer; PostgreSQL: the pool has others.
    assert.deepEqual(outcome, [{ name: 'Direct Erin' }]);
  });

  test('a prepared query given a finished transaction is refused, and runs nothing', async () => {
    const nameOf = preparedQuery((db: Kysely<CoreTables>, id: string) => db.selectFrom('users').select('name').where('id', '=', id));
    const frank = await registerUser(t.app, { name: 'Finished Frank' });
    let committed: Kysely<CoreTables> | undefined;
    await t.app.db.transaction().execute(async (trx) => {
      committed = trx;
    });
    await assert.rejects(nameOf(committed!, frank.user.id), /already committed/);
    let rolledBack: Kysely<CoreTables> | undefined;
    await assert.rejects(
      t.app.db.transaction().execute(async (trx) => {
        rolledBack = trx;
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await assert.rejects(nextSequenceValue(rolledBack!, 'test:after-rollback'), /already rolled back/);
    assert.equal(await nextSequenceValue(t.app.db, 'test:after-rollback'), 1, 'the refused call took no number');
  });

  test('a prepared read on a view with plugins gets their result transformation', async () => {
    const henry = await registerUser(t.app, { name: 'Henry' });
    const nameOf = preparedQuery((db: Kysely<CoreTables>, id: string) => db.selectFrom('users').select('name').where('id', '=', id));
    const shouting = t.app.db.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: async (args) => ({ ...args.result, rows: args.result.rows.map((row) => ({ ...row, name: String(row.name).toUpperCase() })) }),
    });
    assert.deepEqual(await nameOf(shouting, henry.user.id), [{ name: 'HENRY' }]);
    assert.deepEqual(await nameOf(t.app.db, henry.user.id), [{ name: 'Henry' }]);
  });

  test('a prepared write that returns rows goes through Kysely, not the direct reader', async () => {
    const grace = await registerUser(t.app, { name: 'Grace' });
    const rename = preparedQuery((db: Kysely<CoreTables>, id: string, name: string) => db.updateTable('users').set({ name }).where('id', '=', id).returning('name'));
    // Holding Kysely's connection: on SQLite only a direct run could answer while it is held.
    const outcome = await t.app.db.connection().execute(() =>
      Promise.race([rename(t.app.db, grace.user.id, 'Renamed Grace'), new Promise((resolve) => setTimeout(() => resolve('waited for the connection'), 200))]),
    );
    if (t.app.database.dialect === 'sqlite') assert.equal(outcome, 'waited for the connection');
    assert.deepEqual(await rename(t.app.db, grace.user.id, 'Grace again'), [{ name: 'Grace again' }]);
  });

  test('newId: UUIDv7 text, strictly increasing within and across milliseconds, never repeated', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids.slice(0, 50)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(ids.every((id, index) => index === 0 || id > ids[index - 1]!), 'each id sorts after the one before');
    assert.equal(new Set(ids).size, ids.length);
    const millisecond = parseInt(ids.at(-1)!.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(Math.abs(millisecond - Date.now()) < 60_000, 'the first 48 bits are the time in milliseconds');
  });

  test('a prepared query is compiled once per database, runs inside a transaction on its connection, and rolls back with it', async () => {
    const dave = await registerUser(t.app, { name: 'Prepared Dave' });
    let builds = 0;
    const nameOf = preparedQuery((db: Kysely<CoreTables>, id: string) => {
      builds++;
      return db.selectFrom('users').select('name').where('id', '=', id);
    });
    const rename = preparedQuery((db: Kysely<CoreTables>, id: string, name: string) => db.updateTable('users').set({ name }).where('id', '=', id));
    await assert.rejects(
      t.app.db.transaction().execute(async (trx) => {
        await rename(trx, dave.user.id, 'Renamed inside');
        assert.deepEqual(await nameOf(trx, dave.user.id), [{ name: 'Renamed inside' }]);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await t.app.db.transaction().execute(async (trx) => assert.deepEqual(await nameOf(trx, dave.user.id), [{ name: 'Prepared Dave' }]));
    assert.deepEqual(await nameOf(t.app.db, dave.user.id), [{ name: 'Prepared Dave' }]);
    assert.equal(builds, 1, 'one compilation for the database and its transactions');
  });

  test('a bound LIMIT is written as +? on SQLite, so the statement keeps its plan; limits and offsets work as before', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 4; index++) ids.push((await registerUser(t.app, { name: 'Limit probe' })).user.id);
    const page = t.app.db.selectFrom('users').select('id').where('name', '=', 'Limit probe').orderBy('id').limit(2).offset(1);
    const { sql: text } = page.compile();
    if (t.app.database.dialect === 'sqlite') assert.match(text, /limit \+\? offset \?$/);
    else assert.match(text, /limit \$\d+ offset \$\d+$/);
    assert.deepEqual((await page.execute()).map((row) => row.id), [...ids].sort().slice(1, 3));
    const limitedSubquery = await t.app.db
      .selectFrom((eb) => eb.selectFrom('users').select('id').where('name', '=', 'Limit probe').orderBy('id').limit(3).as('first'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(limitedSubquery.n), 3);
  });

  test('rows keep their column names, order and values, whatever the aliases', async () => {
    const odd = `it's "quoted"`;
    const { rows } = await sql<Record<string, unknown>>`select 1 as n, 'x' as ${sql.id(odd)}, null as empty, 2.5 as half union all select 3, 'y', null, 0.5`.execute(t.app.db);
    assert.deepEqual(rows, [
      { n: 1, [odd]: 'x', empty: null, half: 2.5 },
      { n: 3, [odd]: 'y', empty: null, half: 0.5 },
    ]);
    assert.deepEqual(Object.keys(rows[0]!), ['n', odd, 'empty', 'half']);
  });

  test('a cached select * follows the table when columns are added or renamed', async () => {
    await t.app.db.schema.createTable('row_shape_probe').addColumn('id', 'integer', (column) => column.primaryKey()).addColumn('label', 'text').execute();
    try {
      const all = async () => (await sql<Record<string, unknown>>`select * from row_shape_probe`.execute(t.app.db)).rows;
      await sql`insert into row_shape_probe (id, label) values (1, 'one')`.execute(t.app.db);
      assert.deepEqual(await all(), [{ id: 1, label: 'one' }]);
      await t.app.db.schema.alterTable('row_shape_probe').addColumn('extra', 'text').execute();
      assert.deepEqual(await all(), [{ id: 1, label: 'one', extra: null }]);
      await t.app.db.schema.alterTable('row_shape_probe').renameColumn('label', 'title').execute();
      assert.deepEqual(await all(), [{ id: 1, title: 'one', extra: null }]);
    } finally {
      await t.app.db.schema.dropTable('row_shape_probe').execute();
    }
  });
});

describe('SQLite databases made before the Unicode lower()', { skip: process.env.TEST_DATABASE_URL ? 'SQLite only' : false }, () => {
  test('core_004 rebuilds their lower(...) indexes, so look-ups through them find non-ASCII names', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fold-'));
    try {
      const old = new BetterSqlite3(path.join(dataDir, 'app.db'));
      old.exec("create table module_names (name text); create unique index module_names_lower on module_names (lower(name)); insert into module_names values ('ÉCOLE');");
      old.close();
      const database = await openDatabase({ dataDir, databaseUrl: null });
      try {
        const find = () => sql<{ name: string }>`select name from module_names where lower(name) = ${'école'}`.execute(database.db);
        const plan = await sql<{ detail: string }>`explain query plan select name from module_names where lower(name) = ${'école'}`.execute(database.db);
        assert.match(plan.rows[0]!.detail, /USING INDEX module_names_lower/);
        assert.deepEqual((await find()).rows, [], 'the stale index holds SQLite\u2019s ASCII-only key');
        await migrate(database, migrationGroupsFor([]));
        assert.deepEqual((await find()).rows, [{ name: 'ÉCOLE' }]);
      } finally {
        await database.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SQLite change generation', { skip: process.env.TEST_DATABASE_URL ? 'SQLite only (PostgreSQL has none)' : false }, () => {
  test('steady across reads; moves on every write of this process, rolled back or not, and on every commit of another connection; undefined inside a transaction', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'generation-'));
    const database = await openDatabase({ dataDir, databaseUrl: null });
    const other = await openDatabase({ dataDir, databaseUrl: null });
    try {
      await sql`create table notes (id integer primary key, body text)`.execute(database.db);
      const generation = () => {
        const value = database.changeGeneration!();
        assert.equal(typeof value, 'number');
        return value!;
      };
      type Notes = { notes: { id: number; body: string } };
      const readNotes = preparedQuery((db: Kysely<CoreTables & Notes>, id: number) => db.selectFrom('notes').select('body').where('id', '=', id));
      const start = generation();
      await sql`select count(*) from notes`.execute(database.db);
      await readNotes(database.db.withTables<Notes>(), 1);
      assert.equal(generation(), start, 'reads leave it alone');

      await sql`insert into notes (id, body) values (1, 'a')`.execute(database.db);
      const afterInsert = generation();
      assert.notEqual(afterInsert, start);
      await sql`update notes set body = 'b' where id = 1 returning id`.execute(database.db);
      const afterReturning = generation();
      assert.notEqual(afterReturning, afterInsert, 'a write that returns rows is a write');

      let inside: number | undefined = 0;
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          await sql`delete from notes`.execute(trx);
          inside = database.changeGeneration!();
          throw new Error('roll back');
        }),
      );
      assert.equal(inside, undefined, 'no generation while a transaction is open');
      const afterRollback = generation();
      assert.notEqual(afterRollback, afterReturning, 'a rolled-back write still moves it: never a stale hit');
      assert.equal(generation(), afterRollback);

      await sql`update notes set body = 'from elsewhere' where id = 1`.execute(other.db);
      assert.notEqual(generation(), afterRollback, 'a commit of another connection moves it');
    } finally {
      await other.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('reads remembered while the database is unchanged (UnchangedReads)', () => {
  test('one read per change generation for an authenticated caller; a write here or in another process, or no caller, reads again; an absent answer is never kept', async () => {
    const remembered = new UnchangedReads<{ read: number }>(100);
    let reads = 0;
    const probe: AppModule = {
      name: 'probe',
      migrations: [],
      async plugin(app) {
        app.get<{ Params: { key: string } }>('/api/probe/:key', async (request) => {
          // Optional authentication, as the chat routes have: an anonymous caller has no generation.
          await app.authenticate(request);
          const answer = await remembered.get(request, request.params.key, async () => {
            reads++;
            return request.params.key === 'absent' ? undefined : { read: reads };
          });
          return answer ?? { read: 0 };
        });
      },
    };
    const t = await startTestApp({}, { modules: [probe] });
    let other: BetterSqlite3.Database | undefined;
    try {
      const user = await registerUser(t.app);
      const probeRead = async (key: string, headers: Record<string, string> = user.headers) => {
        const before = reads;
        const { status, body } = await call(t.app, { method: 'GET', url: `/api/probe/${key}`, headers });
        assert.equal(status, 200);
        return { value: body.read as number, didRead: reads > before };
      };
      const sqlite = !process.env.TEST_DATABASE_URL;

      assert.equal((await probeRead('a')).didRead, true);
      assert.equal((await probeRead('a')).didRead, !sqlite, sqlite ? 'nothing changed: remembered' : 'PostgreSQL has no generation: read every time');
      assert.equal((await probeRead('b')).didRead, true, 'each key is read on its own');
      assert.equal((await probeRead('a', {})).didRead, true, 'an anonymous caller reads');
      assert.equal((await probeRead('absent')).didRead, true);
      assert.equal((await probeRead('absent')).didRead, true, 'nothing found: nothing remembered');
      if (!sqlite) return;

      await call(t.app, { method: 'PUT', url: '/api/auth/me', headers: user.headers, payload: { name: 'Changed here' } });
      assert.equal((await probeRead('a')).didRead, true, 'a write of this process');
      assert.equal((await probeRead('a')).didRead, false);

      other = new BetterSqlite3(path.join(t.config.dataDir, 'app.db'));
      other.prepare('update users set name = ? where id = ?').run('Changed elsewhere', user.user.id);
      assert.equal((await probeRead('a')).didRead, true, 'a commit of another connection');
      assert.equal((await probeRead('a')).didRead, false);
    } finally {
      other?.close();
      await t.close();
    }
  });
});

describe('SQLite statement cache', () => {
  test('keeps the statements in use and lets the least recently used go', () => {
    const raw = new BetterSqlite3(':memory:');
    try {
      const cache = withStatementCache(raw, 3);
      const hot = cache.prepare('select 1');
      const cold = cache.prepare('select 2');
      assert.equal(cache.prepare('select 2'), cold, 'the same SQL gets the prepared statement back');
      for (let n = 3; n <= 10; n++) {
        cache.prepare(`select ${n}`);
        assert.equal(cache.prepare('select 1'), hot, `still cached after ${n - 2} one-off statements`);
      }
      assert.notEqual(cache.prepare('select 2'), cold, 'the unused statement was let go and is prepared anew');
    } finally {
      raw.close();
    }
  });
});

describe('SQLite row builder', () => {
  test('builds plain objects with the columns in order; a later column of the same name wins', () => {
    const row = rowBuilder(['id', 'name', 'id'])([1, 'Ada', 2]);
    assert.deepEqual(row, { id: 2, name: 'Ada' });
    assert.deepEqual(Object.keys(row), ['id', 'name']);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
  });

  test('any column name is a plain key: quotes, backslashes, code-like text', () => {
    const names = ['a"b', 'c\\d', "'); process.exit(1); ('", '${x}', '`', ''];
    const row = rowBuilder(names)([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Object.entries(row), names.map((name, index) => [name, index + 1]));
  });

  test('a column named __proto__ is an own property and leaves the prototype alone', () => {
    const row = rowBuilder(['id', '__proto__'])([1, { polluted: true }]);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, { polluted: true });
    assert.equal((row as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(Object.keys(row), ['id', '__proto__']);
  });
});
