import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditTables } from '../../../core/audit/tables.js';
import { now } from '../../../core/db/columns.js';
import { textMatches } from '../../../core/db/search.js';
import { badRequest, notFound } from '../../../core/http/errors.js';
import { Nullable, Pagination, PagingQuery, Uuid } from '../../../core/http/schemas.js';
import { audit } from '../common.js';
import { ALLOWED, CLINIC_ROLES, requireClinicRole, type ClinicRole } from '../roles.js';
import type { ClinicTables } from '../tables.js';

const tags = ['clinic: staff'];
// Typed as a string: with an item type Ajv checks `uniqueItems` with a lookup table (linear); with a
// bare enum it compared every pair, ~7 s for a 50,000-item body before its 400.
const RoleSchema = Type.Enum([...CLINIC_ROLES], { type: 'string' });

const StaffMember = Type.Object({
  user_id: Uuid,
  email: Type.String(),
  name: Nullable(Type.String()),
  username: Nullable(Type.String()),
  is_active: Type.Boolean(),
  global_role: Type.String({ description: 'user or admin; a global admin acts as clinic admin' }),
  roles: Type.Array(RoleSchema, { description: 'The clinic roles granted' }),
  effective_roles: Type.Array(RoleSchema, { description: 'What the user may do: the granted roles, plus admin for a global admin' }),
});

const StaffQuery = Type.Object({
  ...PagingQuery(50, 200),
  role: Type.Optional(RoleSchema),
  search: Type.Optional(Type.String({ maxLength: 100 })),
});

const RolesBody = Type.Object(
  { roles: Type.Array(RoleSchema, { maxItems: CLINIC_ROLES.length, uniqueItems: true, description: 'The complete set of clinic roles; [] revokes all' }) },
  { additionalProperties: false },
);

export async function staffRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<ClinicTables & AuditTables>();
  const onRequest = requireClinicRole(app, db, ALLOWED.staffAdmin);

  const userColumns = ['users.id', 'users.email', 'users.name', 'users.username', 'users.is_active', 'users.role'] as const;
  type UserRow = { id: string; email: string; name: string | null; username: string | null; is_active: boolean | number; role: string };

  const toMember = (user: UserRow, granted: string[]) => {
    const roles = CLINIC_ROLES.filter((role) => granted.includes(role));
    const effective = user.role === 'admin' && !roles.includes('admin') ? CLINIC_ROLES.filter((role) => role === 'admin' || roles.includes(role)) : roles;
    return {
      user_id: user.id,
      email: user.email,
      name: user.name,
      username: user.username,
      is_active: Boolean(user.is_active),
      global_role: user.role,
      roles,
      effective_roles: effective,
    };
  };

  app.get(
    '/api/admin/staff',
    {
      onRequest,
      schema: { tags, summary: 'Clinic staff: users holding a clinic role, and global admins; limit default 50, max 200', querystring: StaffQuery, response: { 200: Type.Object({ staff: Type.Array(StaffMember), pagination: Pagination }) } },
    },
    async (request) => {
      const { limit, offset, role, search } = request.query;
      let query = db.selectFrom('users').where((eb) => {
        let holders = eb.selectFrom('clinic_staff_roles').select('clinic_staff_roles.user_id');
        if (role) holders = holders.where('clinic_staff_roles.role', '=', role);
        return role && role !== 'admin' ? eb('users.id', 'in', holders) : eb.or([eb('users.id', 'in', holders), eb('users.role', '=', 'admin')]);
      });
      if (search) query = query.where(textMatches(['users.email', 'users.name', 'users.username'], search));
      const [users, count] = await Promise.all([
        query.select(userColumns).orderBy('users.email').orderBy('users.id').limit(limit).offset(offset).execute(),
        query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ]);
      const roleRows = users.length
        ? await db.selectFrom('clinic_staff_roles').select(['user_id', 'role']).where('user_id', 'in', users.map((user) => user.id)).execute()
        : [];
      const byUser = new Map<string, string[]>();
      for (const row of roleRows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.role]);
      return { staff: users.map((user) => toMember(user, byUser.get(user.id) ?? [])), pagination: { limit, offset, total: Number(count.total) } };
    },
  );

  app.put(
    '/api/admin/staff/:user_id',
    {
      onRequest,
      schema: { tags, summary: 'Set a user\'s clinic roles (grant and revoke)', params: Type.Object({ user_id: Uuid }), body: RolesBody, response: { 200: StaffMember } },
    },
    async (request) => {
      const { user_id: userId } = request.params;
      const wanted = [...new Set(request.body.roles)] as ClinicRole[];
      // A clinic admin (not a global one) removing their own admin role would lock the clinic out.
      if (userId === request.user.id && request.user.role !== 'admin' && !wanted.includes('admin')) {
        throw badRequest('You cannot remove your own clinic admin role', 'CANNOT_MODIFY_SELF');
      }
      return db.transaction().execute(async (trx) => {
        // On PostgreSQL the user's row is locked until commit, so concurrent changes of one user's roles
        // run one after the other: each reads the set the previous one left (under READ COMMITTED two of
        // them both inserted a role neither had seen: 500 on clinic_staff_roles_pk), and the final set is
        // always one that was asked for. SQLite transactions already hold the write lock.
        let read = trx.selectFrom('users').select(userColumns).where('id', '=', userId);
        if (app.database.dialect === 'postgres') read = read.forNoKeyUpdate();
        const user = await read.executeTakeFirst();
        if (!user) throw notFound('User');
        const current = (await trx.selectFrom('clinic_staff_roles').select('role').where('user_id', '=', userId).execute()).map((row) => row.role);
        const added = wanted.filter((role) => !current.includes(role));
        const removed = current.filter((role) => !wanted.includes(role as ClinicRole));
        if (removed.length > 0) await trx.deleteFrom('clinic_staff_roles').where('user_id', '=', userId).where('role', 'in', removed).execute();
        if (added.length > 0) {
          const at = now();
          await trx.insertInto('clinic_staff_roles').values(added.map((role) => ({ user_id: userId, role, granted_by: request.user.id, granted_at: at }))).execute();
        }
        await audit(trx, request, 'update', 'staff', userId, { roles: wanted, added, removed });
        return toMember(user, wanted);
      });
    },
  );
}
