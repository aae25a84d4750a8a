import type { FastifyInstance } from 'fastify';
import { freelanceModule } from '../../../src/modules/freelance/index.js';
import { call, registerUser, startTestApp, type TestApp, type TestUser } from '../../helpers/app.js';

/** The freelance module alone on a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL). */
export const startFreelanceApp = (): Promise<TestApp> => startTestApp({}, { modules: [freelanceModule] });

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Requests as one user: `const alice = await asNewUser(app); await alice.post('/api/clients', {...})`. */
export interface Caller {
  user: TestUser;
  request(method: Method, url: string, payload?: unknown): ReturnType<typeof call>;
  get(url: string): ReturnType<typeof call>;
  post(url: string, payload?: unknown): ReturnType<typeof call>;
  put(url: string, payload: unknown): ReturnType<typeof call>;
  patch(url: string, payload: unknown): ReturnType<typeof call>;
  del(url: string): ReturnType<typeof call>;
}

export async function asNewUser(app: FastifyInstance): Promise<Caller> {
  const user = await registerUser(app);
  const request = (method: Method, url: string, payload?: unknown) =>
    call(app, { method, url, headers: user.headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  return {
    user,
    request,
    get: (url) => request('GET', url),
    post: (url, payload) => request('POST', url, payload),
    put: (url, payload) => request('PUT', url, payload),
    patch: (url, payload) => request('PATCH', url, payload),
    del: (url) => request('DELETE', url),
  };
}

/** A date `days` from today (UTC) as `YYYY-MM-DD`. */
export function daysFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The distinct fields of a validation error, sorted, for `assert.deepEqual(fieldsOf(body), [...])`. */
export function fieldsOf(body: { details?: Array<{ field: string }> }): string[] {
  return [...new Set((body.details ?? []).map((detail) => detail.field))].sort();
}
