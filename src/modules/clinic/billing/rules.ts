/** Invoice arithmetic, all in integer cents. */

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

/** VAT is `vatRate` of the subtotal, rounded to the cent; the discount comes off after VAT. */
export function invoiceTotals(items: ItemInput[], discountCents: number, vatRate: number): InvoiceTotals | null {
  const subtotal = items.reduce((sum, item) => sum + item.quantity * item.unit_price_cents, 0);
  const vat = Math.round(subtotal * vatRate);
  const total = subtotal + vat - discountCents;
  if (total < 0) return null;
  return { subtotal, vat, discount: discountCents, total };
}

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
