/** Tables of the audit log (migration core_003_audit_log). */
export interface AuditLogTable {
  /** Position in the chain, 1, 2, 3, ... with no gaps; a gap means an entry was deleted. */
  seq: number;
  id: string;
  at: string;
  user_id: string | null;
  action: string;
  resource: string;
  resource_id: string | null;
  ip: string | null;
  /** JSON text, hashed exactly as stored. */
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1): the last entry of the chain, so that deleting the newest entries is detected too. */
export interface AuditChainHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export type AuditTables = {
  audit_log: AuditLogTable;
  audit_chain_head: AuditChainHeadTable;
};
