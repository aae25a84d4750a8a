import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  /** Starts listening on a free loopback port (for SSE, streaming and real-socket tests), once: later calls give the same address. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** Each test app gets its own PostgreSQL schema, so runs and files never collide. */
async function createPgSchema(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: baseUrl });
      await cleanup.connect();
      await cleanup.query(`drop schema if exists ${schema} cascade`);
      await cleanup.end();
    },
  };
}

/**
 * A real app on a fresh database: a temp SQLite file by default, a fresh PostgreSQL schema when
 * TEST_DATABASE_URL is set, and Redis (with its own key prefix) when REDIS_URL is set.
 */
export async function startTestApp(env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ub-test-'));
  const pgSchema = process.env.TEST_DATABASE_URL ? await createPgSchema(process.env.TEST_DATABASE_URL) : null;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    HEALTH_CACHE_MS: '0',
    // A loaded CI machine stalls the loop while tsx compiles test files; load shedding is tested on its own.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...(pgSchema ? { DATABASE_URL: pgSchema.url } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `t${randomBytes(4).toString('hex')}:` } : {}),
    ...env,
  });
  const app = await buildApp(config, options);
  await app.ready();
  let closed = false;
  return {
    app,
    config,
    async listen() {
      if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return `http://127.0.0.1:${address.port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await pgSchema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let userCounter = 0;

export interface TestUser {
  token: string;
  refresh_token: string;
  email: string;
  password: string;
  user: { id: string; email: string; role: string; username: string | null } & Record<string, unknown>;
  headers: { authorization: string };
}

/** Registers a new, unique user and returns its tokens and an Authorization header. */
export async function registerUser(app: FastifyInstance, fields: Record<string, unknown> = {}): Promise<TestUser> {
  userCounter++;
  const email = `user${userCounter}-${randomBytes(3).toString('hex')}@example.com`;
  const password = 'correct horse battery';
  const response = await app.inject({ method: 'POST', url: '/api/auth/register', payload: { email, password, name: `User ${userCounter}`, ...fields } });
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  return { ...body, email: body.user.email, password: (fields.password as string) ?? password, headers: { authorization: `Bearer ${body.token}` } };
}

/** Registers a user and makes it an admin directly in the database (as the CLI would). */
export async function registerAdmin(app: FastifyInstance): Promise<TestUser> {
  const admin = await registerUser(app);
  await app.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.user.id).execute();
  return { ...admin, user: { ...admin.user, role: 'admin' } };
}

/** `app.inject` with the JSON body parsed: `const { status, body } = await call(app, {...})`. */
// The body is whatever JSON the route sent; `any` lets assertions read it without a cast per line.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call(app: FastifyInstance, options: InjectOptions): Promise<{ status: number; body: any; response: LightMyRequestResponse }> {
  const response = await app.inject(options);
  let body: unknown = response.body;
  if ((response.headers['content-type'] ?? '').toString().includes('json') && response.body) body = response.json();
  return { status: response.statusCode, body, response };
}
