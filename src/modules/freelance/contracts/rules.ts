import { conflict } from '../../../core/http/errors.js';

/** The contract status machine and which fields a signed contract freezes. */

export const CONTRACT_TYPES = ['freelance', 'employment', 'partnership', 'service', 'rental', 'consulting'] as const;
export const CONTRACT_STATUSES = ['draft', 'sent', 'signed', 'active', 'completed', 'terminated'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

const MOVES: Record<ContractStatus, readonly ContractStatus[]> = {
  draft: ['sent', 'signed'],
  sent: ['draft', 'signed', 'terminated'],
  signed: ['active', 'completed', 'terminated'],
  active: ['completed', 'terminated'],
  completed: [],
  terminated: [],
};

export const canMoveContract = (from: ContractStatus, to: ContractStatus): boolean => MOVES[from].includes(to);

export function assertContractMove(from: ContractStatus, to: ContractStatus): void {
  if (!canMoveContract(from, to)) {
    const allowed = MOVES[from].length ? MOVES[from].join(', ') : 'none';
    throw conflict(`A contract cannot move from ${from} to ${to} (allowed from ${from}: ${allowed})`, 'INVALID_STATUS_TRANSITION');
  }
}

/** Once signed, the terms (content, parties, deliverables, value, dates, client) no longer change. */
export const areTermsLocked = (status: ContractStatus): boolean => status !== 'draft' && status !== 'sent';

/** The statuses a contract reaches only by being signed. */
export const isSignedStatus = (status: ContractStatus): boolean => status === 'signed' || status === 'active' || status === 'completed';

const COPY_SUFFIX = ' (Copy)';

/** The duplicate's title, kept within the title's maximum length. */
export const copyTitle = (title: string, maxLength: number): string => `${title.slice(0, maxLength - COPY_SUFFIX.length)}${COPY_SUFFIX}`;
