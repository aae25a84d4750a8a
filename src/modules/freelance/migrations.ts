import { sql } from 'kysely';
import { booleanType } from '../../core/db/columns.js';
import type { Migration } from '../../core/db/migrator.js';

export const freelanceMigrations: Migration[] = [
  {
    name: 'freelance_001_tables',
    async up(db, dialect) {
      const userRef = 'users.id';

      await db.schema
        .createTable('freelance_clients')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('company', 'text')
        .addColumn('address', 'text')
        .addColumn('notes', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('freelance_clients_user_name').on('freelance_clients').columns(['user_id', 'name']).execute();

      await db.schema
        .createTable('freelance_projects')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        // Deleting a client keeps its projects, without the client.
        .addColumn('client_id', 'text', (col) => col.references('freelance_clients.id').onDelete('set null'))
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('description', 'text')
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('hourly_rate', 'bigint')
        .addColumn('budget', 'bigint')
        .addColumn('start_date', 'text')
        .addColumn('end_date', 'text')
        .addColumn('deadline', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('freelance_projects_user_created').on('freelance_projects').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('freelance_projects_client').on('freelance_projects').column('client_id').execute();

      await db.schema
        .createTable('freelance_invoices')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        // No cascade: a client with invoices cannot be deleted (the route answers 409).
        .addColumn('client_id', 'text', (col) => col.notNull().references('freelance_clients.id'))
        .addColumn('invoice_number', 'text', (col) => col.notNull())
        .addColumn('date', 'text', (col) => col.notNull())
        .addColumn('due_date', 'text', (col) => col.notNull())
        .addColumn('items', 'text', (col) => col.notNull())
        .addColumn('subtotal', 'bigint', (col) => col.notNull())
        .addColumn('tax', 'bigint', (col) => col.notNull())
        .addColumn('discount', 'bigint', (col) => col.notNull())
        .addColumn('total', 'bigint', (col) => col.notNull())
        .addColumn('currency', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('notes', 'text')
        .addColumn('payment_terms', 'text')
        .addColumn('paid_at', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      // The numbering is allocated in the create transaction; this index is the last line of defence.
      await db.schema.createIndex('freelance_invoices_user_number').unique().on('freelance_invoices').columns(['user_id', 'invoice_number']).execute();
      await db.schema.createIndex('freelance_invoices_user_created').on('freelance_invoices').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('freelance_invoices_client').on('freelance_invoices').column('client_id').execute();

      await db.schema
        .createTable('freelance_time_entries')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        .addColumn('project_id', 'text', (col) => col.references('freelance_projects.id').onDelete('set null'))
        .addColumn('client_id', 'text', (col) => col.references('freelance_clients.id').onDelete('set null'))
        // Deleting a (draft or cancelled) invoice releases its entries for billing again.
        .addColumn('invoice_id', 'text', (col) => col.references('freelance_invoices.id').onDelete('set null'))
        .addColumn('description', 'text', (col) => col.notNull())
        .addColumn('start_time', 'text', (col) => col.notNull())
        .addColumn('end_time', 'text')
        .addColumn('duration', 'integer')
        .addColumn('hourly_rate', 'bigint')
        .addColumn('is_billable', booleanType(dialect), (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('freelance_time_entries_user_start').on('freelance_time_entries').columns(['user_id', 'start_time']).execute();
      await db.schema.createIndex('freelance_time_entries_project').on('freelance_time_entries').column('project_id').execute();
      await db.schema.createIndex('freelance_time_entries_client').on('freelance_time_entries').column('client_id').execute();
      await db.schema.createIndex('freelance_time_entries_invoice').on('freelance_time_entries').column('invoice_id').execute();
      // One running timer per user, enforced by the database so that concurrent starts cannot both win.
      await sql`create unique index freelance_time_entries_one_running on freelance_time_entries (user_id) where end_time is null`.execute(db);

      await db.schema
        .createTable('freelance_contracts')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        .addColumn('client_id', 'text', (col) => col.references('freelance_clients.id').onDelete('set null'))
        .addColumn('title', 'text', (col) => col.notNull())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('content', 'text')
        .addColumn('parties', 'text', (col) => col.notNull())
        .addColumn('deliverables', 'text', (col) => col.notNull())
        .addColumn('start_date', 'text')
        .addColumn('end_date', 'text')
        .addColumn('value', 'bigint')
        .addColumn('currency', 'text', (col) => col.notNull())
        .addColumn('signed_date', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('freelance_contracts_user_created').on('freelance_contracts').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('freelance_contracts_client').on('freelance_contracts').column('client_id').execute();

      await db.schema
        .createTable('freelance_resumes')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('user_id', 'text', (col) => col.notNull().references(userRef).onDelete('cascade'))
        .addColumn('title', 'text', (col) => col.notNull())
        .addColumn('template', 'text', (col) => col.notNull())
        .addColumn('personal_info', 'text', (col) => col.notNull())
        .addColumn('summary', 'text')
        .addColumn('experience', 'text', (col) => col.notNull())
        .addColumn('education', 'text', (col) => col.notNull())
        .addColumn('skills', 'text', (col) => col.notNull())
        .addColumn('certifications', 'text', (col) => col.notNull())
        .addColumn('languages', 'text', (col) => col.notNull())
        .addColumn('projects', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('freelance_resumes_user_updated').on('freelance_resumes').columns(['user_id', 'updated_at']).execute();
    },
  },
];
