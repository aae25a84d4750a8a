import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { preparedQuery } from '../../core/db/prepared.js';
import { UnchangedReads } from '../../core/db/unchanged-reads.js';
import { forbidden } from '../../core/http/errors.js';
import type { ClinicDb } from './tables.js';

export const CLINIC_ROLES = ['admin', 'receptionist', 'nurse', 'clinical_officer', 'pharmacist', 'lab_technician', 'cashier', 'claims_manager'] as const;
export type ClinicRole = (typeof CLINIC_ROLES)[number];

/**
 * The role table of the contract. Reading visits and the queue is open to every clinic role: the
 * pharmacist and the lab technician work from it. They may not read patients, so what they see of a
 * visit's patient is only what identifies the person in front of them (see `mayReadPatients`).
 */
export const ALLOWED = {
  readPatients: ['admin', 'receptionist', 'nurse', 'clinical_officer', 'cashier', 'claims_manager'],
  writePatients: ['admin', 'receptionist'],
  archivePatients: ['admin'],
  readVisits: [...CLINIC_ROLES],
  writeVisits: ['admin', 'receptionist', 'nurse', 'clinical_officer'],
  clinicalRecords: ['admin', 'nurse', 'clinical_officer'],
  billing: ['admin', 'cashier', 'pharmacist'],
  claims: ['admin', 'claims_manager', 'clinical_officer'],
  deleteClaims: ['admin'],
  reports: ['admin', 'claims_manager'],
  staffAdmin: ['admin'],
} as const satisfies Record<string, readonly ClinicRole[]>;

/** Whether roles include one that may read patient records (identifiers, contact data, insurance). */
export const mayReadPatients = (roles: readonly ClinicRole[] | undefined): boolean =>
  roles !== undefined && roles.some((role) => (ALLOWED.readPatients as readonly ClinicRole[]).includes(role));

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's effective clinic roles, set by a clinic role guard. */
    clinicRoles?: readonly ClinicRole[];
  }
}

/** Runs on every clinic request, so its SQL is compiled once (see preparedQuery). */
const staffRolesQuery = preparedQuery((db: Kysely<ClinicDb>, userId: string) => db.selectFrom('clinic_staff_roles').select('role').where('user_id', '=', userId));

/**
 * A global admin acts as a clinic admin: they grant the roles, so they could grant themselves
 * `admin` anyway; saying so up front avoids a lock-out when no clinic admin exists yet.
 */
export async function effectiveRoles(db: Kysely<ClinicDb>, user: { id: string; role: string }): Promise<readonly ClinicRole[]> {
  const rows = await staffRolesQuery(db, user.id);
  const roles = new Set(rows.map((row) => row.role as ClinicRole));
  if (user.role === 'admin') roles.add('admin');
  return Object.freeze([...roles]);
}

/** Each caller's roles, read again once the database has changed. */
const rolesOf = new UnchangedReads<readonly ClinicRole[]>(10_000);

/** An onRequest hook: 401 without a session, 403 unless the caller holds one of `allowed`. */
export function requireClinicRole(app: FastifyInstance, db: Kysely<ClinicDb>, allowed: readonly ClinicRole[]) {
  return async function clinicRoleGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await app.requireUser.call(app, request, reply);
    const roles = await rolesOf.get(request, request.user.id, () => effectiveRoles(db, request.user));
    request.clinicRoles = roles;
    if (roles.length === 0) throw forbidden('A clinic staff role is required');
    if (!roles.some((role) => allowed.includes(role))) throw forbidden(`This needs one of the clinic roles: ${allowed.join(', ')}`);
  };
}
