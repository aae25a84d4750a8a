/** Invoice arithmetic, all in integer cents. */
import { MONEY_MAX, MONEY_MAX_CENTS } from '../common.js';

export interface ItemInput {
  quantity: number;
  unit_price_cents: number;
}

export interface InvoiceTotals {
  subtotal: number;
  vat: number;
  discount: number;
  total: number;
}

export interface Problem {
  field: string;
  message: string;
}

const LIMIT = MONEY_MAX.toFixed(2);

/**
 * VAT is `vatRate` of the subtotal, rounded to the cent; the discount comes off after VAT. Returns
 * the problem instead when the discount is larger than subtotal plus VAT, or when a line or the
 * invoice before discount would exceed `MONEY_MAX` (so every amount stored stays a sane, exact
 * integer: a line is at most 10^10 cents and 100 of them far below 2^53).
 */
export function invoiceTotals(items: ItemInput[], discountCents: number, vatRate: number): InvoiceTotals | Problem {
  let subtotal = 0;
  for (const [index, item] of items.entries()) {
    const amount = item.quantity * item.unit_price_cents;
    if (amount > MONEY_MAX_CENTS) return { field: `items.${index}`, message: `quantity × unit_price must not exceed ${LIMIT}` };
    subtotal += amount;
  }
  const vat = Math.round(subtotal * vatRate);
  if (subtotal + vat > MONEY_MAX_CENTS) return { field: 'items', message: `the invoice (subtotal plus VAT) must not exceed ${LIMIT}` };
  const total = subtotal + vat - discountCents;
  if (total < 0) return { field: 'discount', message: 'must not exceed subtotal plus VAT' };
  return { subtotal, vat, discount: discountCents, total };
}

export const isProblem = (value: object): value is Problem => 'field' in value;

export type InvoiceStatus = 'unpaid' | 'partial' | 'paid';

export function invoiceStatus(totalCents: number, paidCents: number): InvoiceStatus {
  if (paidCents >= totalCents) return 'paid';
  return paidCents > 0 ? 'partial' : 'unpaid';
}

/** Object keys sorted at every level: the same request gives the same text whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
