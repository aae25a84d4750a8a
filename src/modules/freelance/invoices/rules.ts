import { addDays } from '../../../core/db/columns.js';
import { AppError, conflict } from '../../../core/http/errors.js';
import { centsOf, lineAmountCents, MAX_CENTS } from '../money.js';

/** The invoice rules: totals in integer cents, numbering, the status machine, overdue reporting. */

export const INVOICE_STATUSES = ['draft', 'sent', 'paid', 'overdue', 'cancelled'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export interface ItemInput {
  description: string;
  quantity: number;
  rate: number;
}

/** An item as stored: rate and amount in cents. */
export interface StoredItem {
  description: string;
  quantity: number;
  rate: number;
  amount: number;
}

export interface InvoiceAmounts {
  items: StoredItem[];
  subtotal: number;
  tax: number;
  discount: number;
  total: number;
}

/**
 * Server-side totals, whatever the client claims: `amount = quantity * rate` per item,
 * `subtotal = sum(amount)`, `total = subtotal + tax - discount`. Tax and discount are amounts.
 * Negative values or more than 2 decimals are refused, and so is a discount above subtotal + tax.
 */
export function computeInvoiceAmounts(items: ItemInput[], tax: number, discount: number): InvoiceAmounts {
  return totalsOfStoredItems(storedItemsOf(items), centsOf(tax, 'tax'), centsOf(discount, 'discount'));
}

/** Totals of items already in cents (stored items, or items built from time entries). */
export function totalsOfStoredItems(items: StoredItem[], taxCents: number, discountCents: number): InvoiceAmounts {
  const subtotal = items.reduce((sum, item) => sum + item.amount, 0);
  if (subtotal > MAX_CENTS) {
    throw new AppError(400, 'VALIDATION_FAILED', 'Invalid body: items add up to too large an amount', [{ field: 'items', message: 'add up to too large an amount' }]);
  }
  if (discountCents > subtotal + taxCents) {
    throw new AppError(400, 'VALIDATION_FAILED', 'Invalid body: discount must not exceed subtotal + tax', [
      { field: 'discount', message: 'must not exceed subtotal + tax' },
    ]);
  }
  return { items, subtotal, tax: taxCents, discount: discountCents, total: subtotal + taxCents - discountCents };
}

/** `INV-00001`; numbers past 99999 simply grow a digit. */
export const formatInvoiceNumber = (sequence: number): string => `INV-${String(sequence).padStart(5, '0')}`;

export const invoiceSequenceScope = (userId: string): string => `freelance.invoice:${userId}`;

const MOVES: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  draft: ['sent', 'cancelled'],
  sent: ['paid', 'overdue', 'cancelled'],
  overdue: ['paid', 'cancelled'],
  paid: [],
  cancelled: [],
};

export const canMoveInvoice = (from: InvoiceStatus, to: InvoiceStatus): boolean => MOVES[from].includes(to);

/** 409 unless `from -> to` is one of the allowed moves. */
export function assertInvoiceMove(from: InvoiceStatus, to: InvoiceStatus): void {
  if (!canMoveInvoice(from, to)) {
    const allowed = MOVES[from].length ? MOVES[from].join(', ') : 'none';
    throw conflict(`An invoice cannot move from ${from} to ${to} (allowed from ${from}: ${allowed})`, 'INVALID_STATUS_TRANSITION');
  }
}

/** Items, amounts, currency and client change only while the invoice is a draft. */
export const isInvoiceEditable = (status: InvoiceStatus): boolean => status === 'draft';

export const isInvoiceDeletable = (status: InvoiceStatus): boolean => status === 'draft' || status === 'cancelled';

/** A `sent` invoice whose due date has passed is reported as `overdue`; `today` is `YYYY-MM-DD`. */
export const effectiveInvoiceStatus = (status: InvoiceStatus, dueDate: string, today: string): InvoiceStatus =>
  status === 'sent' && dueDate < today ? 'overdue' : status;

const daysBetween = (from: string, to: string): number => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** A duplicate is dated today and keeps the original's payment period (due date minus date). */
export function duplicateDates(original: { date: string; due_date: string }, today: string): { date: string; due_date: string } {
  return { date: today, due_date: addDays(today, Math.max(0, daysBetween(original.date, original.due_date))) };
}

/** Items from a request, in cents, with their amounts computed. */
export function storedItemsOf(items: ItemInput[]): StoredItem[] {
  return items.map((item, index) => {
    const rate = centsOf(item.rate, `items.${index}.rate`);
    return { description: item.description, quantity: item.quantity, rate, amount: lineAmountCents(item.quantity, rate, `items.${index}.quantity`) };
  });
}
