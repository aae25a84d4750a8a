import { hasRole } from '../access.js';
import type { MemberRole } from '../tables.js';

export interface Party {
  userId: string;
  role: MemberRole;
}

/** A refusal is a 403 (the contract: "a role that may not do something gets 403"); its code says why. */
export type Decision = { allowed: true; self: boolean } | { allowed: false; status: 403; code: string; message: string };

/**
 * Who may remove whom: nobody removes the owner; anyone may leave; admins and the owner remove others.
 */
export function removalDecision(actor: Party, target: Party): Decision {
  if (target.role === 'owner') return { allowed: false, status: 403, code: 'OWNER_CANNOT_BE_REMOVED', message: 'The owner cannot be removed from the investigation' };
  if (actor.userId === target.userId) return { allowed: true, self: true };
  if (hasRole(actor.role, 'admin')) return { allowed: true, self: false };
  return { allowed: false, status: 403, code: 'FORBIDDEN', message: 'Only an admin or the owner can remove other members' };
}

/** Only the owner changes roles (checked by the route), and never the owner's own. */
export function roleChangeDecision(target: Party): Decision {
  if (target.role === 'owner') return { allowed: false, status: 403, code: 'OWNER_ROLE_FIXED', message: "The owner's role cannot be changed" };
  return { allowed: true, self: false };
}

export const ONLINE_WINDOW_MS = 30_000;

/** Online means a heartbeat within the last 30 seconds. */
export function isOnline(lastSeen: string | null, at = Date.now()): boolean {
  if (lastSeen === null) return false;
  const seen = Date.parse(lastSeen);
  return Number.isFinite(seen) && at - seen <= ONLINE_WINDOW_MS;
}
