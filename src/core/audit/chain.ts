import { createHash } from 'node:crypto';
import type { AuditLogTable } from './tables.js';

/** The `prev_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Every column of an entry except its own hash: what the hash is computed over. */
export type ChainedFields = Omit<AuditLogTable, 'hash'>;

/**
 * The canonical serialisation is a JSON array in a fixed field order: no key-order ambiguity, and
 * every field (including `prev_hash`, which links the entry to the one before) is covered.
 */
export function canonicalEntry(entry: ChainedFields): string {
  return JSON.stringify([
    entry.seq,
    entry.id,
    entry.at,
    entry.user_id,
    entry.action,
    entry.resource,
    entry.resource_id,
    entry.ip,
    entry.details,
    entry.prev_hash,
  ]);
}

export function entryHash(entry: ChainedFields): string {
  return createHash('sha256').update(canonicalEntry(entry)).digest('hex');
}

/** Spreadsheet programs run cells starting with these as formulas (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: Array<string | number | null | undefined>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
