import type { FastifyInstance } from 'fastify';
import { clinicModule } from '../../../src/modules/clinic/index.js';
import { call, registerAdmin, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';

export { call };

/** The app with only the clinic module, and a global admin (who acts as clinic admin). */
export async function startClinic(env: Record<string, string> = {}): Promise<{ t: TestApp; app: FastifyInstance; admin: TestUser }> {
  const t = await startTestApp(env, { modules: [clinicModule] });
  const admin = await registerAdmin(t.app);
  return { t, app: t.app, admin };
}

/** A new user holding the given clinic roles, granted through the API by `admin`. */
export async function staffUser(app: FastifyInstance, admin: TestUser, roles: string[]): Promise<TestUser> {
  const user = await registerUser(app);
  if (roles.length > 0) {
    const { status, body } = await call(app, { method: 'PUT', url: `/api/admin/staff/${user.user.id}`, headers: admin.headers, payload: { roles } });
    if (status !== 200) throw new Error(`grant failed: ${status} ${JSON.stringify(body)}`);
  }
  return user;
}

let counter = 0;

/** A valid new patient body; unique national id and phone per call. */
export function patientBody(fields: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  const n = String(counter).padStart(4, '0');
  return {
    first_name: 'Wanjiru',
    last_name: `Kamau${counter}`,
    date_of_birth: '1990-05-17',
    gender: 'female',
    phone_number: `0712${String(Date.now() % 100000).padStart(5, '0')}${counter % 10}`.slice(0, 10),
    // Generated identifiers start with 1 so that tests can search for ones that cannot collide.
    national_id: `1${Date.now() % 1000000}${n}`,
    area: 'Kibera',
    next_of_kin: 'John Kamau',
    next_of_kin_phone: '0722000111',
    insurance_type: 'sha',
    insurance_number: `SHA1${Date.now() % 100000}${n}`,
    ...fields,
  };
}

export async function createPatient(app: FastifyInstance, user: TestUser, fields: Record<string, unknown> = {}) {
  const { status, body } = await call(app, { method: 'POST', url: '/api/patients', headers: user.headers, payload: patientBody(fields) });
  if (status !== 201) throw new Error(`create patient failed: ${status} ${JSON.stringify(body)}`);
  return body as { id: string; op_number: string } & Record<string, unknown>;
}

export async function createVisit(app: FastifyInstance, user: TestUser, patientId: string, fields: Record<string, unknown> = {}) {
  const { status, body } = await call(app, { method: 'POST', url: '/api/visits', headers: user.headers, payload: { patient_id: patientId, ...fields } });
  if (status !== 201) throw new Error(`create visit failed: ${status} ${JSON.stringify(body)}`);
  return body as { id: string; status: string } & Record<string, unknown>;
}
