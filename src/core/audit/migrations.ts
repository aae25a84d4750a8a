import type { Migration } from '../db/migrator.js';
import { GENESIS_HASH } from './chain.js';

export const auditMigration: Migration = {
  name: 'core_003_audit_log',
  async up(db) {
    await db.schema
      .createTable('audit_log')
      .addColumn('seq', 'bigint', (col) => col.primaryKey())
      .addColumn('id', 'text', (col) => col.notNull().unique())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('user_id', 'text')
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('resource', 'text', (col) => col.notNull())
      .addColumn('resource_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('details', 'text', (col) => col.notNull())
      .addColumn('prev_hash', 'text', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .execute();
    // Filters of the listing; no foreign key to users: the log outlives the accounts it names.
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    await db.schema.createIndex('audit_log_user').on('audit_log').columns(['user_id', 'seq']).execute();
    await db.schema.createIndex('audit_log_resource').on('audit_log').columns(['resource', 'resource_id', 'seq']).execute();
    await db.schema
      .createTable('audit_chain_head')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .execute();
    await db.insertInto('audit_chain_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();
  },
};
