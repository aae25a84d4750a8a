import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isUniqueViolation } from '../../../core/db/errors.js';
import { AppError, conflict, notFound } from '../../../core/http/errors.js';
import { IdParams } from '../../../core/http/schemas.js';
import { OWN, READ } from '../access.js';
import { withUniqueCode } from '../boards/join-code.js';
import type { ModuleContext } from '../context.js';
import { publish } from '../events.js';
import * as repo from './repo.js';
import { removalDecision, roleChangeDecision, type Decision } from './rules.js';
import { Heartbeat, Member, MemberList, MemberParams, MembersQuery, PresenceList, RemovedMember, UpdateMemberBody, type PresenceMember } from './schema.js';

const tags = ['investigation members'];

function enforce(decision: Decision): asserts decision is { allowed: true; self: boolean } {
  if (!decision.allowed) throw new AppError(decision.status, decision.code, decision.message);
}

const toPresence = ({ id, username, avatar, role, last_seen, online }: Member): PresenceMember => ({ id, username, avatar, role, last_seen, online });

export async function memberRoutes(fastify: FastifyInstance, { db }: ModuleContext): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/investigations/:id/members',
    { config: READ, schema: { tags, summary: 'Members, in the order they joined', params: IdParams, querystring: MembersQuery, response: { 200: MemberList } } },
    async (request) => ({ members: await repo.listMembers(db, request.params.id, request.query) }),
  );

  app.put(
    '/api/investigations/:id/members/:user_id',
    { config: OWN, schema: { tags, summary: "Change a member's role (owner)", params: MemberParams, body: UpdateMemberBody, response: { 200: Member } } },
    async (request) => {
      const { id, user_id } = request.params;
      const target = await repo.findMember(db, id, user_id);
      if (!target) throw notFound('Member');
      enforce(roleChangeDecision({ userId: target.id, role: target.role }));
      if (!(await repo.setRole(db, id, user_id, target.role, request.body.role))) {
        // Removed, or given another role, since it was read: no event for a change that did not happen.
        if (!(await repo.findMember(db, id, user_id))) throw notFound('Member');
        throw conflict("The member's role changed meanwhile; reload and try again", 'MEMBER_CHANGED');
      }
      const updated = { ...target, role: request.body.role };
      publish(app, id, 'member.updated', updated);
      return updated;
    },
  );

  app.delete(
    '/api/investigations/:id/members/:user_id',
    {
      config: READ, // anyone may leave; who may remove others is decided below
      schema: { tags, summary: 'Remove a member (admin or owner), or leave; removing someone else rotates the join code', params: MemberParams, response: { 200: RemovedMember } },
    },
    async (request) => {
      const { id, user_id } = request.params;
      const target = await repo.findMember(db, id, user_id);
      if (!target) throw notFound('Member');
      const decision = removalDecision({ userId: request.user.id, role: request.membership.role }, { userId: target.id, role: target.role });
      enforce(decision);
      let code: string;
      let removed: boolean;
      if (decision.self) {
        removed = await repo.removeMember(db, id, user_id, null);
        code = await repo.currentCode(db, id);
      } else {
        // Someone removed may know the code: it is replaced in the same transaction.
        ({ code, removed } = await withUniqueCode(async (fresh) => ({ code: fresh, removed: await repo.removeMember(db, id, user_id, fresh) }), isUniqueViolation));
        if (!removed) code = await repo.currentCode(db, id);
      }
      if (!removed) throw notFound('Member');
      publish(app, id, 'member.removed', { id: user_id });
      return { message: decision.self ? 'You left the investigation' : 'Member removed successfully', code, removed_user_id: user_id };
    },
  );

  app.post(
    '/api/investigations/:id/presence',
    { config: READ, schema: { tags, summary: 'Presence heartbeat: you count as online for 30 seconds', params: IdParams, response: { 200: Heartbeat } } },
    async (request) => {
      const lastSeen = await repo.touchPresence(db, request.params.id, request.user.id);
      const { id, username, avatar } = request.user;
      publish(app, request.params.id, 'presence', { id, username, avatar, role: request.membership.role, last_seen: lastSeen, online: true } satisfies PresenceMember);
      return { status: 'ok' as const, last_seen: lastSeen };
    },
  );

  app.get(
    '/api/investigations/:id/presence',
    { config: READ, schema: { tags, summary: 'Who is online (heartbeat within 30 seconds)', params: IdParams, querystring: MembersQuery, response: { 200: PresenceList } } },
    async (request) => ({ members: (await repo.listMembers(db, request.params.id, request.query)).map(toPresence) }),
  );
}
