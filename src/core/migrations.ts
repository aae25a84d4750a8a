import { sql } from 'kysely';
import { booleanType } from './db/columns.js';
import { auditMigration } from './audit/migrations.js';
import type { Migration } from './db/migrator.js';

export const coreMigrations: Migration[] = [
  {
    name: 'core_001_users_sessions',
    async up(db, dialect) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('email', 'text', (col) => col.notNull().unique())
        .addColumn('username', 'text')
        .addColumn('name', 'text')
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('avatar', 'text')
        .addColumn('role', 'text', (col) => col.notNull().defaultTo('user'))
        .addColumn('is_active', booleanType(dialect), (col) => col.notNull().defaultTo(sql`${sql.raw(dialect === 'postgres' ? 'true' : '1')}`))
        .addColumn('password_hash', 'text', (col) => col.notNull())
        .addColumn('failed_logins', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      // Usernames are unique whatever their case (emails too, since core_004).
      await sql`create unique index users_username_lower on users (lower(username))`.execute(db);
      await db.schema.createIndex('users_created_at').on('users').column('created_at').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('expires_at', 'text', (col) => col.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema.createIndex('refresh_tokens_session_id').on('refresh_tokens').column('session_id').execute();
    },
  },
  {
    name: 'core_002_sequences',
    async up(db) {
      await db.schema
        .createTable('sequences')
        .addColumn('scope', 'text', (col) => col.primaryKey())
        .addColumn('value', 'bigint', (col) => col.notNull())
        .execute();
    },
  },
  auditMigration,
  {
    name: 'core_004_case_insensitive_email',
    async up(db, dialect) {
      if (dialect === 'sqlite') {
        // Indexes on lower(...) made before the app's Unicode lower() (src/core/db/connect.ts) hold
        // SQLite's ASCII-only keys: rebuild them, whichever module made them.
        const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and sql like '%lower(%'`.execute(db);
        for (const { name } of rows) await sql`reindex ${sql.id(name)}`.execute(db);
      }
      // Emails are stored lower-cased, but rows imported from older systems may not be: uniqueness
      // and look-ups go through lower(email) so the case never matters.
      await sql`create unique index users_email_lower on users (lower(email))`.execute(db);
    },
  },
];
