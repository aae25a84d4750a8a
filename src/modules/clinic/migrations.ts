import { sql } from 'kysely';
import type { Migration } from '../../core/db/migrator.js';
import { hasApostrophe, namePrefixes, refoldIdentityKey } from './patients/rules.js';

export const clinicMigrations: Migration[] = [
  {
    name: 'clinic_001_staff_patients',
    async up(db, dialect) {
      await db.schema
        .createTable('clinic_staff_roles')
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('granted_by', 'text')
        .addColumn('granted_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('clinic_staff_roles_pk', ['user_id', 'role'])
        .execute();

      await db.schema
        .createTable('patients')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('op_number', 'text', (col) => col.notNull().unique())
        .addColumn('op_key', 'bigint', (col) => col.notNull().unique())
        .addColumn('first_name', 'text', (col) => col.notNull())
        .addColumn('last_name', 'text', (col) => col.notNull())
        .addColumn('date_of_birth', 'text')
        .addColumn('gender', 'text', (col) => col.notNull())
        .addColumn('phone_number', 'text')
        .addColumn('national_id', 'text')
        .addColumn('area', 'text')
        .addColumn('next_of_kin', 'text')
        .addColumn('next_of_kin_phone', 'text')
        .addColumn('insurance_type', 'text', (col) => col.notNull())
        .addColumn('insurance_number', 'text')
        .addColumn('identity_key', 'text')
        .addColumn('archived_at', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      // Duplicate rules hold for active records even under concurrent registration.
      await sql`create unique index patients_national_id on patients (national_id) where archived_at is null and national_id is not null`.execute(db);
      await sql`create unique index patients_identity_key on patients (identity_key) where archived_at is null and identity_key is not null`.execute(db);
      await db.schema.createIndex('patients_created').on('patients').column('created_at').execute();
      await sql`create index patients_area on patients (lower(area))`.execute(db);

      await db.schema
        .createTable('patient_search_terms')
        // Byte order on PostgreSQL too, so `term >= prefix and term < upper` is an index range.
        .addColumn('term', 'text', (col) => (dialect === 'postgres' ? col.notNull().modifyEnd(sql`collate "C"`) : col.notNull()))
        .addColumn('op_key', 'bigint', (col) => col.notNull().references('patients.op_key').onDelete('cascade'))
        .addPrimaryKeyConstraint('patient_search_terms_pk', ['term', 'op_key'])
        // SQLite: the table is its primary key index, so a prefix search reads one compact b-tree.
        .$call((builder) => (dialect === 'sqlite' ? builder.modifyEnd(sql`without rowid`) : builder))
        .execute();
      await db.schema.createIndex('patient_search_terms_op_key').on('patient_search_terms').column('op_key').execute();

      await db.schema
        .createTable('patient_name_prefixes')
        .addColumn('prefix', 'text', (col) => col.notNull())
        .addColumn('op_key', 'bigint', (col) => col.notNull().references('patients.op_key').onDelete('cascade'))
        .addPrimaryKeyConstraint('patient_name_prefixes_pk', ['prefix', 'op_key'])
        .$call((builder) => (dialect === 'sqlite' ? builder.modifyEnd(sql`without rowid`) : builder))
        .execute();
      await db.schema.createIndex('patient_name_prefixes_op_key').on('patient_name_prefixes').column('op_key').execute();

      await db.schema
        .createTable('clinic_counters')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('value', 'bigint', (col) => col.notNull())
        .execute();
      await db.insertInto('clinic_counters').values({ name: 'active_patients', value: 0 }).execute();
    },
  },
  {
    name: 'clinic_002_visits',
    async up(db) {
      await db.schema
        .createTable('visits')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('visit_number', 'text', (col) => col.notNull().unique())
        .addColumn('patient_id', 'text', (col) => col.notNull().references('patients.id'))
        .addColumn('visit_date', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('triage_category', 'text', (col) => col.notNull())
        .addColumn('triage_rank', 'integer', (col) => col.notNull())
        .addColumn('chief_complaint', 'text')
        .addColumn('vitals', 'text', (col) => col.notNull())
        .addColumn('diagnoses', 'text', (col) => col.notNull())
        .addColumn('notes', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('completed_at', 'text')
        .execute();
      // One open visit per patient per day, enforced by the database as well as checked first.
      await sql`create unique index visits_one_open_per_day on visits (patient_id, visit_date) where status not in ('completed', 'cancelled')`.execute(db);
      await db.schema.createIndex('visits_patient').on('visits').columns(['patient_id', 'created_at']).execute();
      await db.schema.createIndex('visits_date_queue').on('visits').columns(['visit_date', 'triage_rank', 'created_at']).execute();
      await db.schema.createIndex('visits_created').on('visits').column('created_at').execute();
    },
  },
  {
    name: 'clinic_003_billing',
    async up(db) {
      await db.schema
        .createTable('clinic_invoices')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('invoice_number', 'text', (col) => col.notNull().unique())
        .addColumn('patient_id', 'text', (col) => col.notNull().references('patients.id'))
        .addColumn('visit_id', 'text', (col) => col.references('visits.id'))
        .addColumn('items', 'text', (col) => col.notNull())
        .addColumn('subtotal', 'bigint', (col) => col.notNull())
        .addColumn('vat', 'bigint', (col) => col.notNull())
        .addColumn('discount', 'bigint', (col) => col.notNull())
        .addColumn('total', 'bigint', (col) => col.notNull())
        .addColumn('amount_paid', 'bigint', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('due_date', 'text', (col) => col.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addCheckConstraint('clinic_invoices_paid_within_total', sql`amount_paid >= 0 and amount_paid <= total`)
        .execute();
      await db.schema.createIndex('clinic_invoices_patient').on('clinic_invoices').columns(['patient_id', 'created_at']).execute();
      await db.schema.createIndex('clinic_invoices_created').on('clinic_invoices').column('created_at').execute();
      await db.schema.createIndex('clinic_invoices_status').on('clinic_invoices').columns(['status', 'created_at']).execute();

      await db.schema
        .createTable('clinic_payments')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('invoice_id', 'text', (col) => col.notNull().references('clinic_invoices.id'))
        .addColumn('amount', 'bigint', (col) => col.notNull())
        .addColumn('method', 'text', (col) => col.notNull())
        .addColumn('reference', 'text')
        .addColumn('notes', 'text')
        .addColumn('received_by', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('clinic_payments_invoice').on('clinic_payments').columns(['invoice_id', 'created_at']).execute();
      await db.schema.createIndex('clinic_payments_created').on('clinic_payments').column('created_at').execute();

      await db.schema
        .createTable('clinic_payment_keys')
        .addColumn('user_id', 'text', (col) => col.notNull())
        .addColumn('key', 'text', (col) => col.notNull())
        .addColumn('request_hash', 'text', (col) => col.notNull())
        .addColumn('payment_id', 'text', (col) => col.notNull())
        .addColumn('response', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('clinic_payment_keys_pk', ['user_id', 'key'])
        .execute();
    },
  },
  {
    name: 'clinic_004_sha_claims',
    async up(db) {
      await db.schema
        .createTable('sha_claims')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('claim_number', 'text', (col) => col.notNull().unique())
        .addColumn('patient_id', 'text', (col) => col.notNull().references('patients.id'))
        .addColumn('visit_id', 'text', (col) => col.references('visits.id'))
        .addColumn('diagnoses', 'text', (col) => col.notNull())
        .addColumn('items', 'text', (col) => col.notNull())
        .addColumn('claim_amount', 'bigint', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('status_history', 'text', (col) => col.notNull())
        .addColumn('rejection_reason', 'text')
        .addColumn('approved_amount', 'bigint')
        .addColumn('paid_amount', 'bigint')
        .addColumn('notes', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('sha_claims_created').on('sha_claims').column('created_at').execute();
      await db.schema.createIndex('sha_claims_patient').on('sha_claims').columns(['patient_id', 'created_at']).execute();
      await db.schema.createIndex('sha_claims_status').on('sha_claims').columns(['status', 'created_at']).execute();
    },
  },
  {
    // A payment's reference is looked up before recording an M-Pesa payment (one receipt, one payment).
    // Not unique: databases written before this check may hold repeats, which must not stop a start.
    name: 'clinic_005_payment_references',
    async up(db) {
      await db.schema.createIndex('clinic_payments_reference').on('clinic_payments').columns(['reference', 'method']).execute();
    },
  },
  {
    // Names are now folded with their words one space apart and without apostrophes ("Mary  Ann" is
    // "mary ann", "Ng’ang’a" and "Ng'ang'a" are "nganga"). Identity keys written before are rewritten
    // so that they match a new registration; one whose new form an active record already holds is
    // left as it was (the two were registered apart and archiving one resolves them), as the unique
    // index allows only one. Names holding an apostrophe get their search prefixes anew.
    name: 'clinic_006_patient_name_folding',
    async up(db) {
      const rows = await sql<{ id: string; op_key: number | string; first_name: string; last_name: string; identity_key: string | null }>`
        select id, op_key, first_name, last_name, identity_key from patients where archived_at is null order by op_key`.execute(db);
      const held = new Set(rows.rows.flatMap((row) => (row.identity_key === null ? [] : [row.identity_key])));
      for (const row of rows.rows) {
        const key = row.identity_key === null ? null : refoldIdentityKey(row.identity_key);
        if (key !== null && key !== row.identity_key && !held.has(key)) {
          held.add(key);
          await sql`update patients set identity_key = ${key} where id = ${row.id}`.execute(db);
        }
        if (hasApostrophe(row.first_name) || hasApostrophe(row.last_name)) {
          const opKey = Number(row.op_key);
          await sql`delete from patient_name_prefixes where op_key = ${opKey}`.execute(db);
          const prefixes = namePrefixes(row);
          if (prefixes.length > 0) await db.insertInto('patient_name_prefixes').values(prefixes.map((prefix) => ({ prefix, op_key: opKey }))).execute();
        }
      }
    },
  },
];
