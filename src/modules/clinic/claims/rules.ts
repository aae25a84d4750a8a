import { MONEY_MAX, MONEY_MAX_CENTS } from '../common.js';
import type { ClaimStatus } from './schema.js';

/** The claim's life with the Social Health Authority; every other move is refused (409). */
const NEXT: Record<ClaimStatus, readonly ClaimStatus[]> = {
  draft: ['ready_to_submit'],
  ready_to_submit: ['submitted'],
  submitted: ['approved', 'rejected'],
  approved: ['paid', 'partially_paid'],
  rejected: ['draft'],
  paid: [],
  partially_paid: [],
};

export const canMoveClaim = (from: ClaimStatus, to: ClaimStatus): boolean => NEXT[from].includes(to);
export const nextClaimStatuses = (from: ClaimStatus): readonly ClaimStatus[] => NEXT[from];

export const formatClaimNumber = (day: string, n: number): string => `SHA-${day.replace(/-/g, '')}-${String(n).padStart(3, '0')}`;

export interface ClaimItemCents {
  intervention_code: string;
  description: string;
  quantity: number;
  unit_price: number;
  amount: number;
}

export function claimItems(items: Array<{ intervention_code: string; description: string; quantity?: number; unit_price_cents: number }>): ClaimItemCents[] {
  return items.map((item) => {
    const quantity = item.quantity ?? 1;
    return {
      intervention_code: item.intervention_code.toUpperCase(),
      description: item.description.trim(),
      quantity,
      unit_price: item.unit_price_cents,
      amount: quantity * item.unit_price_cents,
    };
  });
}

export const claimAmount = (items: ClaimItemCents[]): number => items.reduce((sum, item) => sum + item.amount, 0);

/**
 * A line or the claim above `MONEY_MAX` is refused: the amounts stay sane, exact integers of cents
 * (a line is at most 10^10 cents, and 100 of them far below 2^53).
 */
export function claimAmountProblem(items: ClaimItemCents[]): Problem | undefined {
  const limit = MONEY_MAX.toFixed(2);
  const index = items.findIndex((item) => item.amount > MONEY_MAX_CENTS);
  if (index >= 0) return { field: `items.${index}`, message: `quantity × unit_price must not exceed ${limit}` };
  if (claimAmount(items) > MONEY_MAX_CENTS) return { field: 'items', message: `the claim amount must not exceed ${limit}` };
  return undefined;
}

export interface Problem {
  field: string;
  message: string;
}

/** What stops a claim from being ready to submit: an active SHA member with a number, a diagnosis, and items worth something. */
export function readinessProblems(claim: {
  patient: { insurance_type: string; insurance_number: string | null; archived_at: string | null };
  diagnoses: unknown[];
  items: unknown[];
  claim_amount: number;
}): Problem[] {
  const problems: Problem[] = [];
  if (claim.patient.archived_at !== null) problems.push({ field: 'patient', message: 'the patient record is archived' });
  if (claim.patient.insurance_type !== 'sha') problems.push({ field: 'patient.insurance_type', message: 'the patient must be insured with sha' });
  if (!claim.patient.insurance_number) problems.push({ field: 'patient.insurance_number', message: 'the patient needs an SHA number' });
  if (claim.diagnoses.length === 0) problems.push({ field: 'diagnoses', message: 'at least one diagnosis is required' });
  if (claim.items.length === 0) problems.push({ field: 'items', message: 'at least one item is required' });
  else if (claim.claim_amount <= 0) problems.push({ field: 'items', message: 'the claim amount must be above 0' });
  return problems;
}

/**
 * The amounts a status change sets, in cents, or the problem with what was sent:
 * approved takes `approved_amount` (default: the claimed amount, never more); paid pays the approved
 * amount in full; partially_paid needs a `paid_amount` below it.
 */
export function statusAmounts(
  to: ClaimStatus,
  claim: { claim_amount: number; approved_amount: number | null },
  input: { approved_amount?: number; paid_amount?: number },
): { approved_amount?: number; paid_amount?: number } | Problem {
  if (input.approved_amount !== undefined && to !== 'approved') return { field: 'approved_amount', message: 'applies only when the status is approved' };
  if (input.paid_amount !== undefined && to !== 'paid' && to !== 'partially_paid') {
    return { field: 'paid_amount', message: 'applies only when the status is paid or partially_paid' };
  }
  if (to === 'approved') {
    const approved = input.approved_amount ?? claim.claim_amount;
    if (approved > claim.claim_amount) return { field: 'approved_amount', message: 'must not exceed the claim amount' };
    if (approved <= 0) return { field: 'approved_amount', message: 'must be above 0 (a claim approved for nothing is rejected)' };
    return { approved_amount: approved };
  }
  const approved = claim.approved_amount ?? claim.claim_amount;
  if (to === 'paid') {
    if (input.paid_amount !== undefined && input.paid_amount !== approved) {
      return { field: 'paid_amount', message: 'must equal the approved amount (use partially_paid for less)' };
    }
    return { paid_amount: approved };
  }
  if (to === 'partially_paid') {
    if (input.paid_amount === undefined) return { field: 'paid_amount', message: 'is required when the status is partially_paid' };
    if (input.paid_amount <= 0 || input.paid_amount >= approved) return { field: 'paid_amount', message: 'must be more than 0 and less than the approved amount' };
    return { paid_amount: input.paid_amount };
  }
  return {};
}
