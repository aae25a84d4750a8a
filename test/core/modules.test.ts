import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { buildApp, selectModules } from '../../src/app.js';
import { coreMigrations } from '../../src/core/migrations.js';
import type { AppModule } from '../../src/core/module.js';
import { call, registerUser, startTestApp } from '../helpers/app.js';

function notesModule(name: string): AppModule {
  return {
    name,
    migrations: [
      {
        name: `${name}_001_notes`,
        async up(db) {
          await db.schema
            .createTable(`${name}_notes`)
            .addColumn('id', 'text', (col) => col.primaryKey())
            .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
            .addColumn('body', 'text', (col) => col.notNull())
            .execute();
        },
      },
    ],
    async plugin(fastify) {
      const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
      app.post(
        `/api/${name}`,
        { onRequest: app.requireUser, schema: { body: Type.Object({ body: Type.String() }, { additionalProperties: false }), response: { 201: Type.Object({ body: Type.String() }) } } },
        async (request, reply) => {
          const db = app.db.withTables<Record<string, { id: string; user_id: string; body: string }>>();
          await db.insertInto(`${name}_notes`).values({ id: crypto.randomUUID(), user_id: request.user.id, body: request.body.body }).execute();
          return reply.code(201).send({ body: request.body.body });
        },
      );
    },
  };
}

describe('module system', () => {
  test('a module’s migrations run after the core’s and its routes are mounted with the core guards', async () => {
    const t = await startTestApp({}, { modules: [notesModule('alpha')] });
    try {
      const applied = await t.app.db.selectFrom('schema_migrations').select(['name', 'module', 'applied_at']).execute();
      assert.deepEqual(applied.map((row) => row.name).sort(), [...coreMigrations.map((migration) => migration.name), 'alpha_001_notes'].sort());
      const lastCore = applied.filter((row) => row.module === 'core').map((row) => row.applied_at).sort().at(-1)!;
      assert.ok(applied.find((row) => row.module === 'alpha')!.applied_at >= lastCore, 'module migrations run after the core’s');
      assert.equal((await call(t.app, { method: 'POST', url: '/api/alpha', payload: { body: 'x' } })).status, 401);
      const user = await registerUser(t.app);
      const created = await call(t.app, { method: 'POST', url: '/api/alpha', headers: user.headers, payload: { body: 'hello' } });
      assert.equal(created.status, 201);
      assert.deepEqual((await call(t.app, { method: 'GET', url: '/health' })).body.modules, ['alpha']);
    } finally {
      await t.close();
    }
  });

  test('MODULES mounts only the named modules, in the project’s order', async () => {
    const modules = [notesModule('alpha'), notesModule('beta'), notesModule('gamma')];
    assert.deepEqual(selectModules(modules, ['gamma', 'alpha']).map((module) => module.name), ['alpha', 'gamma']);
    assert.deepEqual(selectModules(modules, null).map((module) => module.name), ['alpha', 'beta', 'gamma']);
    const t = await startTestApp({ MODULES: 'beta' }, { modules });
    try {
      assert.equal((await call(t.app, { method: 'POST', url: '/api/alpha', payload: { body: 'x' } })).status, 404);
      assert.equal((await call(t.app, { method: 'POST', url: '/api/beta', payload: { body: 'x' } })).status, 401);
    } finally {
      await t.close();
    }
  });

  test('an unknown module name stops the start with a clear error', async () => {
    await assert.rejects(
      startTestApp({ MODULES: 'alpha,nonsense' }, { modules: [notesModule('alpha')] }),
      /Unknown module\(s\) in MODULES: nonsense\. Available: alpha/,
    );
  });

  test('migrations are applied once: a restart on the same database applies nothing and keeps the data', async () => {
    const t = await startTestApp({}, { modules: [notesModule('alpha')] });
    try {
      const user = await registerUser(t.app);
      const again = await buildApp(t.config, { modules: [notesModule('alpha')] });
      try {
        const count = await again.db.selectFrom('schema_migrations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(count.n), coreMigrations.length + 1);
        assert.equal((await call(again, { method: 'GET', url: '/api/auth/me', headers: user.headers })).status, 200);
      } finally {
        await again.close();
      }
    } finally {
      await t.close();
    }
  });

  test('a failing migration stops the start and leaves nothing half-applied', async () => {
    const broken: AppModule = {
      name: 'broken',
      migrations: [
        {
          name: 'broken_001',
          async up(db) {
            await db.schema.createTable('broken_table').addColumn('id', 'text').execute();
            throw new Error('migration failed on purpose');
          },
        },
      ],
      async plugin() {},
    };
    const t = await startTestApp();
    try {
      await assert.rejects(buildApp(t.config, { modules: [broken] }), /migration failed on purpose/);
      const recorded = await t.app.db.selectFrom('schema_migrations').select('name').where('name', '=', 'broken_001').execute();
      assert.equal(recorded.length, 0);
      // Asked of this database alone: introspecting every schema raced with other test files'
      // migrations on PostgreSQL (a column dropped between two catalog reads).
      await assert.rejects(sql`select 1 from broken_table`.execute(t.app.db), /broken_table/);
    } finally {
      await t.close();
    }
  });
});
