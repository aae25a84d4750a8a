import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { IdParams } from '../http/schemas.js';
import * as repo from './repo.js';
import { AdminUpdateBody, AdminUserList, AdminUsersQuery, UnlockResult, User } from './schema.js';

const tags = ['admin'];

export async function adminUserRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app;
  app.addRouteGuard(app.requireAdmin);

  app.get('/api/admin/users', { schema: { tags, summary: 'List users', querystring: AdminUsersQuery, response: { 200: AdminUserList } } }, async (request) => {
    const { limit, offset, search } = request.query;
    const { users, total } = await repo.listUsers(db, { limit, offset, search });
    return { users, pagination: { limit, offset, total } };
  });

  app.put(
    '/api/admin/users/:id',
    { schema: { tags, summary: 'Change a user\'s role or active flag', params: IdParams, body: AdminUpdateBody, response: { 200: User } } },
    async (request) => {
      const { id } = request.params;
      const { role, is_active } = request.body;
      // An admin who demotes or deactivates themselves could leave nobody able to undo it.
      if (id === request.user.id && (role === 'user' || is_active === false)) {
        throw badRequest('You cannot remove your own admin role or deactivate yourself', 'CANNOT_MODIFY_SELF');
      }
      const user = await db.transaction().execute(async (trx) => {
        // Two admins demoting (or deactivating) each other at once both passed the check above and
        // left no admin at all: whoever would remove the last active admin is refused.
        if (role === 'user' || is_active === false) {
          const target = await repo.findUserById(trx, id);
          if (target?.role === 'admin' && target.is_active && (await repo.countOtherActiveAdmins(trx, id, app.database.dialect === 'postgres')) === 0) {
            throw conflict('This would leave no active administrator', 'LAST_ADMIN');
          }
        }
        const updated = await repo.updateUser(trx, id, { role, is_active });
        if (updated && is_active === false) await repo.revokeUserSessions(trx, id);
        return updated;
      });
      if (!user) throw notFound('User');
      return user;
    },
  );

  app.post(
    '/api/admin/users/:id/unlock',
    { schema: { tags, summary: 'Lift a login lock after failed attempts', params: IdParams, response: { 200: UnlockResult } } },
    async (request) => {
      await repo.clearLoginFailures(db, request.params.id);
      const user = await repo.findUserById(db, request.params.id);
      if (!user) throw notFound('User');
      return { message: 'Account unlocked', user };
    },
  );
}
