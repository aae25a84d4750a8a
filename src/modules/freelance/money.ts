import { invalidField } from '../../core/http/errors.js';
import { isWholeCents } from '../../core/http/schemas.js';

/**
 * Money arithmetic in integer cents. A JSON number such as 33.33 is not exactly representable in
 * binary floating point, so every amount is turned into whole cents once, at the edge, and every
 * sum and product after that is exact integer arithmetic.
 */

/** Amounts above this many cents (10 billion in the currency's main unit) are refused. */
export const MAX_CENTS = 1_000_000_000_000;

const FOUR_DECIMALS = /^\d+(\.\d{1,4})?$/;
const QUANTITY_SCALE = 10_000;

/** Whole cents of a non-negative amount with at most two decimals; 400 naming `field` otherwise. */
export function centsOf(amount: number, field: string): number {
  // Request bodies were already checked by the schema (`MoneyInput`); this guards every other caller.
  if (!Number.isFinite(amount) || amount < 0 || !isWholeCents(amount)) {
    throw invalidField(field, 'must be a non-negative amount with at most 2 decimals');
  }
  const cents = Math.round(amount * 100);
  if (cents > MAX_CENTS) throw invalidField(field, 'is too large');
  return cents;
}

/** `centsOf` for an optional or nullable field. */
export function optionalCents(amount: number | null | undefined, field: string): number | null | undefined {
  if (amount === null || amount === undefined) return amount;
  return centsOf(amount, field);
}

/** A quantity in ten-thousandths (at most 4 decimals are accepted). */
export function scaledQuantity(quantity: number, field: string): number {
  if (!Number.isFinite(quantity) || quantity < 0 || !FOUR_DECIMALS.test(String(quantity))) {
    throw invalidField(field, 'must be a non-negative number with at most 4 decimals');
  }
  return Math.round(quantity * QUANTITY_SCALE);
}

/**
 * `quantity * rate` in cents, rounded half up to the cent: 3 x 33.33 is 9999 cents, 1.5 x 0.05 is
 * 8 cents (7.5 rounded up). BigInt keeps the intermediate product exact whatever its size.
 */
export function lineAmountCents(quantity: number, rateCents: number, field = 'quantity'): number {
  const product = BigInt(scaledQuantity(quantity, field)) * BigInt(rateCents);
  const scale = BigInt(QUANTITY_SCALE);
  const cents = Number((product + scale / 2n) / scale);
  if (cents > MAX_CENTS) throw invalidField(field, 'times rate is too large an amount');
  return cents;
}

/** Hours to two decimals, rounded half up, from whole seconds: 5400 s is 1.5, 1000 s is 0.28. */
export function hoursFromSeconds(seconds: number): number {
  const hundredths = Math.floor((seconds * 100 + 1800) / 3600);
  return hundredths / 100;
}
