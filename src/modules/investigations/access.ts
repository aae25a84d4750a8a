import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { preparedQuery } from '../../core/db/prepared.js';
import { UnchangedReads } from '../../core/db/unchanged-reads.js';
import type { CoreTables } from '../../core/db/tables.js';
import { forbidden, notFound } from '../../core/http/errors.js';
import type { InvestigationsTables, MemberRole } from './tables.js';

export type Db = Kysely<CoreTables & InvestigationsTables>;

const RANK: Record<MemberRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** True when `role` may do what `required` may (owner > admin > member > viewer). */
export const hasRole = (role: MemberRole, required: MemberRole): boolean => RANK[role] >= RANK[required];

export interface Membership {
  investigationId: string;
  userId: string;
  role: MemberRole;
  /** The investigation's version when the request began (see bumpVersion). */
  version: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The least role a route under /api/investigations/:id needs. The module's onRequest hook
     * answers 404 to non-members and 403 to members below it, before the body is read.
     */
    investigationRole?: MemberRole;
  }
  interface FastifyRequest {
    /** The caller's membership of the investigation in the URL (set when the route names a role). */
    membership: Readonly<Membership>;
  }
}

/** Runs on every request under /api/investigations/:id, so its SQL is compiled once (see preparedQuery). */
const membershipQuery = preparedQuery((db: Db, investigationId: string, userId: string) =>
  db
    .selectFrom('inv_members as m')
    .innerJoin('investigations as i', 'i.id', 'm.investigation_id')
    .select(['m.role', 'i.version'])
    .where('m.investigation_id', '=', investigationId)
    .where('m.user_id', '=', userId),
);

export async function findMembership(db: Db, investigationId: string, userId: string): Promise<Readonly<Membership> | undefined> {
  const [row] = await membershipQuery(db, investigationId, userId);
  return row ? Object.freeze({ investigationId, userId, role: row.role, version: Number(row.version) }) : undefined;
}

/** Memberships checked before each request, read again once the database has changed (`version` with them). */
const memberships = new UnchangedReads<Readonly<Membership>>(10_000);

/**
 * Marks a change that shows in the entity list. Called in the transaction of the change (or after
 * it), never before: a list computed under the old version is then never stored under the new one.
 */
export async function bumpVersion(db: Db, investigationId: string): Promise<void> {
  await db.updateTable('investigations').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', investigationId).execute();
}

/**
 * Registers the membership check for every route of the calling plugin that sets
 * `config.investigationRole`: the investigation in `:id` must have the caller as a member
 * (404 otherwise, so its existence does not leak) with at least that role (403 otherwise).
 */
export function registerAccessHook(app: FastifyInstance, db: Db): void {
  if (!app.hasRequestDecorator('membership')) app.decorateRequest('membership', null as unknown as Membership);
  app.addRouteGuard(async (request: FastifyRequest) => {
    const required = request.routeOptions.config.investigationRole;
    if (required === undefined) return;
    const investigationId = (request.params as { id?: unknown }).id;
    const userId = request.user.id;
    const membership =
      typeof investigationId === 'string'
        ? await memberships.get(request, `${investigationId} ${userId}`, () => findMembership(db, investigationId, userId))
        : undefined;
    if (!membership) throw notFound('Investigation');
    if (!hasRole(membership.role, required)) throw forbidden(`This needs the ${required} role or higher in this investigation`);
    request.membership = membership;
  });
}

/** Members, admins and the owner write; viewers read. */
export const READ = { investigationRole: 'viewer' } as const;
export const WRITE = { investigationRole: 'member' } as const;
export const MANAGE = { investigationRole: 'admin' } as const;
export const OWN = { investigationRole: 'owner' } as const;
