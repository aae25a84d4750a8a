import type { AuditTables } from '../../core/audit/tables.js';
import type { CoreTables } from '../../core/db/tables.js';

export interface ClinicStaffRolesTable {
  user_id: string;
  role: string;
  granted_by: string | null;
  granted_at: string;
}

export interface PatientsTable {
  id: string;
  op_number: string;
  /** The OP number as one integer (year * 10^7 + n): unique, in registration order, compact to index. */
  op_key: number;
  first_name: string;
  last_name: string;
  date_of_birth: string | null;
  gender: string;
  phone_number: string | null;
  national_id: string | null;
  area: string | null;
  next_of_kin: string | null;
  next_of_kin_phone: string | null;
  insurance_type: string;
  insurance_number: string | null;
  /** lower(first)|lower(last)|dob|phone digits when all are known: the second duplicate rule, unique. */
  identity_key: string | null;
  archived_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** Identifiers of active patients (OP number, phone forms, national id, insurance number), matched by prefix on an index. */
export interface PatientSearchTermsTable {
  term: string;
  op_key: number;
}

/** Every prefix of every name word of active patients, once per patient, matched by equality. */
export interface PatientNamePrefixesTable {
  prefix: string;
  op_key: number;
}

/** Running totals kept in the transaction of each change (`active_patients`): PostgreSQL counts rows by scanning them. */
export interface ClinicCountersTable {
  name: string;
  value: number;
}

export interface VisitsTable {
  id: string;
  visit_number: string;
  patient_id: string;
  /** The UTC day the visit was opened: one open visit per patient per day. */
  visit_date: string;
  status: string;
  triage_category: string;
  /** 0 emergency, 1 urgent, 2 normal: the queue order. */
  triage_rank: number;
  chief_complaint: string | null;
  vitals: string;
  diagnoses: string;
  notes: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface ClinicInvoicesTable {
  id: string;
  invoice_number: string;
  patient_id: string;
  visit_id: string | null;
  items: string;
  subtotal: number;
  vat: number;
  discount: number;
  total: number;
  amount_paid: number;
  status: string;
  due_date: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ClinicPaymentsTable {
  id: string;
  invoice_id: string;
  amount: number;
  method: string;
  reference: string | null;
  notes: string | null;
  received_by: string | null;
  created_at: string;
}

/** Idempotency-Key of a payment request: the first answer, replayed for every retry. */
export interface ClinicPaymentKeysTable {
  user_id: string;
  key: string;
  /** SHA-256 of the request body: a key reused for a different payment is refused. */
  request_hash: string;
  payment_id: string;
  response: string;
  created_at: string;
}

export interface ShaClaimsTable {
  id: string;
  claim_number: string;
  patient_id: string;
  visit_id: string | null;
  diagnoses: string;
  items: string;
  claim_amount: number;
  status: string;
  status_history: string;
  rejection_reason: string | null;
  approved_amount: number | null;
  paid_amount: number | null;
  notes: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** A type alias (not an interface): Kysely's `withTables` needs an index-signature-compatible map. */
export type ClinicTables = {
  clinic_staff_roles: ClinicStaffRolesTable;
  patients: PatientsTable;
  patient_search_terms: PatientSearchTermsTable;
  patient_name_prefixes: PatientNamePrefixesTable;
  clinic_counters: ClinicCountersTable;
  visits: VisitsTable;
  clinic_invoices: ClinicInvoicesTable;
  clinic_payments: ClinicPaymentsTable;
  clinic_payment_keys: ClinicPaymentKeysTable;
  sha_claims: ShaClaimsTable;
};

export type ClinicDb = CoreTables & AuditTables & ClinicTables;
