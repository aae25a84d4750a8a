import type { BoolColumn } from './columns.js';

export interface UsersTable {
  id: string;
  email: string;
  username: string | null;
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  avatar: string | null;
  role: 'user' | 'admin';
  is_active: BoolColumn;
  password_hash: string;
  failed_logins: number;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  session_id: string;
  expires_at: string;
  used_at: string | null;
}

export interface SequencesTable {
  scope: string;
  value: number;
}

export interface SchemaMigrationsTable {
  name: string;
  module: string;
  applied_at: string;
}

export interface CoreTables {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  sequences: SequencesTable;
  schema_migrations: SchemaMigrationsTable;
}
