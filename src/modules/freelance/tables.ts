import type { BoolColumn } from '../../core/db/columns.js';

/**
 * The freelance module's tables. Names carry the `freelance_` prefix because other modules have
 * clients and invoices of their own. Money is integer cents, nested data JSON text, times ISO text.
 */

export type FreelanceClientsTable = {
  id: string;
  user_id: string;
  name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  address: string | null;
  notes: string | null;
  created_at: string;
  updated_at: string;
};

export type FreelanceProjectsTable = {
  id: string;
  user_id: string;
  client_id: string | null;
  name: string;
  description: string | null;
  status: string;
  hourly_rate: number | null;
  budget: number | null;
  start_date: string | null;
  end_date: string | null;
  deadline: string | null;
  created_at: string;
  updated_at: string;
};

export type FreelanceTimeEntriesTable = {
  id: string;
  user_id: string;
  project_id: string | null;
  client_id: string | null;
  invoice_id: string | null;
  description: string;
  start_time: string;
  end_time: string | null;
  duration: number | null;
  hourly_rate: number | null;
  is_billable: BoolColumn;
  created_at: string;
  updated_at: string;
};

export type FreelanceInvoicesTable = {
  id: string;
  user_id: string;
  client_id: string;
  invoice_number: string;
  date: string;
  due_date: string;
  /** JSON array of `{description, quantity, rate_cents, amount_cents}`. */
  items: string;
  subtotal: number;
  tax: number;
  discount: number;
  total: number;
  currency: string;
  status: string;
  notes: string | null;
  payment_terms: string | null;
  paid_at: string | null;
  created_at: string;
  updated_at: string;
};

export type FreelanceContractsTable = {
  id: string;
  user_id: string;
  client_id: string | null;
  title: string;
  type: string;
  status: string;
  content: string | null;
  /** JSON array of `{name, role, email}`. */
  parties: string;
  /** JSON array of strings. */
  deliverables: string;
  start_date: string | null;
  end_date: string | null;
  value: number | null;
  currency: string;
  signed_date: string | null;
  created_at: string;
  updated_at: string;
};

export type FreelanceResumesTable = {
  id: string;
  user_id: string;
  title: string;
  template: string;
  /** The nested sections, each JSON text. */
  personal_info: string;
  summary: string | null;
  experience: string;
  education: string;
  skills: string;
  certifications: string;
  languages: string;
  projects: string;
  created_at: string;
  updated_at: string;
};

export type FreelanceTables = {
  freelance_clients: FreelanceClientsTable;
  freelance_projects: FreelanceProjectsTable;
  freelance_time_entries: FreelanceTimeEntriesTable;
  freelance_invoices: FreelanceInvoicesTable;
  freelance_contracts: FreelanceContractsTable;
  freelance_resumes: FreelanceResumesTable;
};
