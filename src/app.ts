import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type onResponseHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cors from '@fastify/cors';
import jwt from '@fastify/jwt';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import type { Config } from './config.js';
import './core/context.js';
import { adminUserRoutes } from './core/auth/admin-routes.js';
import { bootstrapAdmin } from './core/auth/bootstrap.js';
import { registerGuards } from './core/auth/guards.js';
import { pruneSessions } from './core/auth/repo.js';
import { authRoutes } from './core/auth/routes.js';
import { busRelayedByPrimary, createMemoryBus, createRedisBus, createWorkerBus } from './core/bus/bus.js';
import { createMemoryCache, createRedisCache, type Cache } from './core/cache/cache.js';
import { openDatabase } from './core/db/connect.js';
import { migrate, type MigrationGroup } from './core/db/migrator.js';
import { docsRoutes, openApiOptions } from './core/docs.js';
import { createHealthRegistry } from './core/health.js';
import { clientErrorHandler, createFrameworkErrors, registerErrorHandling, registerNotFound, type LimitHook } from './core/http/error-handler.js';
import { AppError } from './core/http/errors.js';
import { ErrorBody } from './core/http/schemas.js';
import { createMemoryRateLimitStore, createRateLimit, createRedisRateLimitStore, type RateLimitOptions } from './core/http/rate-limit.js';
import { createPrimaryCountedStores, rateLimitsCountedByPrimary } from './core/http/rate-limit-relay.js';
import { apiSecurityHeaders } from './core/http/security-headers.js';
import { lazyRequestLogger } from './core/http/request-logger.js';
import { registerJsonBodyParser } from './core/http/json-body.js';
import { createRouteGuards, hookList } from './core/http/route-guards.js';
import { createSerializerFactory, createValidatorCompiler } from './core/http/validation.js';
import { createMetrics } from './core/metrics.js';
import { coreMigrations } from './core/migrations.js';
import type { AppModule } from './core/module.js';
import { connectRedis, waitUntilReady } from './core/redis.js';
import { serviceRoutes } from './core/service-routes.js';
import { availableModules } from './modules/registry.js';

export interface BuildOptions {
  /** The modules the server may mount; tests pass their own. Defaults to every module of the project. */
  modules?: AppModule[];
}

const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const REDIS_CONNECT_WAIT_MS = 2000;
const SESSION_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** Routes polled by infrastructure are left out of the access log. */
const QUIET_ROUTES = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/**
 * Request ids only need to be unique, not unguessable: a random tag per process (so ids from several
 * workers or instances never collide in one log) and a counter. A random UUID per request measured
 * ~1.5% of /health's CPU.
 */
function requestIdSequence(): () => string {
  const tag = randomBytes(6).toString('base64url');
  let sequence = 0;
  return () => `${tag}-${(++sequence).toString(36)}`;
}

export function selectModules(available: AppModule[], wanted: string[] | null): AppModule[] {
  if (wanted === null) return available;
  const byName = new Map(available.map((module) => [module.name, module]));
  const unknown = wanted.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new Error(`Unknown module(s) in MODULES: ${unknown.join(', ')}. Available: ${[...byName.keys()].join(', ') || 'none'}`);
  }
  // Mount in the project's order whatever order MODULES lists them in.
  return available.filter((module) => wanted.includes(module.name));
}

async function loggerOptions(config: Config): Promise<FastifyServerOptions['logger']> {
  if (config.logLevel === 'silent') return false;
  return {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.refresh_token', '*.token'], censor: '[redacted]' },
    // Development logs are made readable in this thread, not by a pino transport: a transport's
    // worker thread loads its script by a path relative to pino's own files, which the production
    // bundle does not have, so the bundle could not start in development.
    ...(config.nodeEnv === 'development' ? { stream: (await import('pino-pretty')).default({ translateTime: 'HH:MM:ss', ignore: 'pid,hostname' }) } : {}),
  };
}

/**
 * Builds the whole server: opens the database and applies migrations, then registers the core
 * plugins, the core routes and each enabled module. Nothing listens until the caller says so.
 */
export function migrationGroupsFor(modules: AppModule[]): MigrationGroup[] {
  return [{ module: 'core', migrations: coreMigrations }, ...modules.map((module) => ({ module: module.name, migrations: module.migrations }))];
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const modules = selectModules(options.modules ?? availableModules, config.modules);
  const migrationGroups = migrationGroupsFor(modules);

  const lazySchemas = config.nodeEnv === 'production';
  const nextRequestId = requestIdSequence();
  // Malformed URLs fail before routing, where no route's hooks run: they spend the per-IP budget
  // through this, once it exists (below).
  const unrouted: { limit?: LimitHook } = {};
  const app = Fastify({
    logger: await loggerOptions(config),
    // One access line per response is written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    ...(config.logLevel === 'silent' ? {} : { childLoggerFactory: lazyRequestLogger }),
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : nextRequestId();
    },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    forceCloseConnections: 'idle',
    // Requests arriving during shutdown are refused by the onRequest hook below, in the error shape.
    return503OnClosing: false,
    frameworkErrors: createFrameworkErrors(() => unrouted.limit),
    clientErrorHandler,
    keepAliveTimeout: 72_000,
    // Node would answer an HTTP/1.1 request without a Host header with a bare 400 of its own; the
    // onRequest hook below refuses it in the error shape instead.
    http: { requireHostHeader: false },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    schemaController: { compilersFactory: { buildSerializer: createSerializerFactory(lazySchemas) } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(createValidatorCompiler(lazySchemas));

  const database = await openDatabase(config);
  app.decorate('config', config);
  app.decorate('database', database);
  app.decorate('db', database.db);
  try {
    const applied = await migrate(database, migrationGroups);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied');
    if (config.adminEmail && config.adminPassword) {
      const admin = await bootstrapAdmin(database.db, { email: config.adminEmail, password: config.adminPassword });
      if (admin) app.log.info({ email: admin.email }, 'first admin created from ADMIN_EMAIL');
    }
  } catch (error) {
    await database.close();
    throw error;
  }

  let redis: Redis | null = null;
  if (config.redisUrl) {
    redis = await connectRedis(config.redisUrl, app.log);
    if (!(await waitUntilReady(redis, REDIS_CONNECT_WAIT_MS))) app.log.warn('redis not reachable at start-up; continuing without it until it is');
  }
  // Workers of one server (WORKERS > 1) without Redis relay bus messages through the primary.
  const bus = redis ? createRedisBus(redis, config.redisPrefix, app.log) : busRelayedByPrimary() ? createWorkerBus(app.log) : createMemoryBus();
  const caches: Cache[] = [];
  app.decorate('bus', bus);
  app.decorate('createCache', (cacheOptions: Parameters<FastifyInstance['createCache']>[0]) => {
    const cache = redis ? createRedisCache(redis, config.redisPrefix, cacheOptions) : createMemoryCache(cacheOptions);
    caches.push(cache);
    return cache;
  });

  const health = createHealthRegistry(config.healthCacheMs);
  health.register('database', async () => {
    await sql`select 1`.execute(database.db);
    return 'ok';
  });
  health.register('redis', async () => (redis ? ((await redis.ping()) === 'PONG' ? 'ok' : 'down') : 'disabled'));
  health.register('llm', async () => 'disabled');
  app.decorate('health', health);

  const metrics = createMetrics(database.poolStats);
  new Gauge({
    name: 'cache_requests_total',
    help: 'Cache lookups by cache and result, since start',
    labelNames: ['cache', 'result'] as const,
    registers: [metrics.registry],
    collect() {
      for (const cache of caches) {
        const { hits, misses } = cache.counts();
        this.set({ cache: cache.name, result: 'hit' }, hits);
        this.set({ cache: cache.name, result: 'miss' }, misses);
      }
    },
  });
  app.decorate('metrics', metrics);

  registerErrorHandling(app);

  registerJsonBodyParser(app);

  // Hot-path hooks are callback style: an async hook costs a promise per request. Everything every
  // request needs is done in this one global hook; what depends on the route (the per-IP limit, the
  // metrics recorder, the access log) is attached to each route when it is registered, so no request
  // pays for `request.routeOptions`, which Fastify builds anew on every read.
  const headers = apiSecurityHeaders();
  const overload = new AppError(503, 'OVERLOADED', 'The server is overloaded; retry shortly', undefined, { 'retry-after': '5' });
  const nulInUrl = new AppError(400, 'INVALID_CHARACTER', 'The URL contains a NUL character (%00)');
  const missingHost = new AppError(400, 'MISSING_HOST', 'An HTTP/1.1 request must carry a Host header');
  const shuttingDown = new AppError(503, 'SHUTTING_DOWN', 'The server is shutting down; retry shortly', undefined, { 'retry-after': '1' });
  let eventLoopDelayMs: () => number = () => 0;
  // Set once shutdown begins (the preClose hook below).
  let draining = false;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(headers);
    reply.header('x-request-id', request.id);
    if (draining) done(shuttingDown);
    else if (request.headers.host === undefined && request.raw.httpVersion === '1.1') done(missingHost);
    // As in bodies (the JSON parser below): PostgreSQL cannot take U+0000 in a query parameter.
    else if (request.url.includes('%00')) done(nulInUrl);
    // Shed load while the event loop is saturated instead of queueing requests that will time out.
    else if (eventLoopDelayMs() > config.maxEventLoopDelayMs && request.routeOptions.config.probe !== true) done(overload);
    else done();
  });
  if (config.maxEventLoopDelayMs > 0) {
    // The plugin samples the event-loop delay; given no limit of its own it adds no hook, and the
    // comparison is made in the hook above.
    await app.register(underPressure, { exposeStatusRoute: false });
    eventLoopDelayMs = () => app.memoryUsage().eventLoopDelay;
  }
  // Once shutdown begins, new requests are refused and answers still in flight close their
  // connection: an idle keep-alive connection would otherwise hold the drain open until SHUTDOWN_TIMEOUT_MS.
  app.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });

  // With CORS off the plugin would still run a hook on every request to decide to do nothing
  // (~3% of an authenticated request's CPU); without it browsers refuse cross-origin calls just the same.
  if (config.corsOrigins !== false) {
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['x-request-id', 'retry-after', 'content-disposition'],
      maxAge: 600,
    });
  }
  // Counters in Redis when configured, so that every instance spends the same budgets. Without it, the
  // workers of one server (WORKERS > 1) have the named budgets (password guessing, generations, joins)
  // counted by the primary; the per-IP limit, which every request spends, stays in each worker: a round
  // trip to the primary per request measured up to 2x the CPU per request of GET /api/auth/me with two
  // workers (bench/README.md, twelfth session).
  const countedByPrimary = !redis && rateLimitsCountedByPrimary() ? createPrimaryCountedStores() : null;
  const sharedStore = () => (redis ? createRedisRateLimitStore(redis, `${config.redisPrefix}rl:`) : null);
  app.decorate('createRateLimit', (options: RateLimitOptions) =>
    createRateLimit(sharedStore() ?? countedByPrimary?.store(options.name) ?? createMemoryRateLimitStore(), options),
  );
  const perIpLimit = createRateLimit(sharedStore() ?? createMemoryRateLimitStore(), { name: 'ip', max: config.rateLimitMax, timeWindowMs: 60_000 });
  unrouted.limit = (request, reply, done) => perIpLimit.call(app, request, reply, done);

  const logAccess = (request: FastifyRequest, reply: FastifyReply) =>
    request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  app.addHook('onRoute', (route) => {
    // The per-IP limit runs before the route's own hooks; `config: { rateLimit: false }` exempts a route.
    if (route.config?.rateLimit !== false) route.onRequest = [perIpLimit, ...hookList(route.onRequest)];
    const record = metrics.http.recorder(route.url);
    const quiet = QUIET_ROUTES.has(route.url);
    const observe: onResponseHookHandler = (request, reply, done) => {
      record(request.method, reply.statusCode, reply.elapsedTime / 1000);
      if (!quiet) logAccess(request, reply);
      done();
    };
    route.onResponse = [observe, ...hookList(route.onResponse)];
  });
  // Requests no route matched (unknown paths, malformed URLs) are limited and recorded too.
  const recordUnmatched = metrics.http.recorder('unmatched');
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      recordUnmatched(request.method, reply.statusCode, reply.elapsedTime / 1000);
      logAccess(request, reply);
    }
    done();
  });
  await registerNotFound(app, perIpLimit);
  app.decorate('addRouteGuard', createRouteGuards(perIpLimit));

  await app.register(jwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256', expiresIn: `${config.jwtTtlSeconds}s` },
    verify: { algorithms: ['HS256'] },
  });
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    ...openApiOptions,
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Unified backend API', version: VERSION, description: 'Core, freelance, investigations, clinic and chat APIs' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
  });
  await app.register(docsRoutes);

  registerGuards(app);
  await app.register(serviceRoutes, { version: VERSION, modules: modules.map((module) => module.name), migrations: migrationGroups });
  await app.register(authRoutes);
  await app.register(adminUserRoutes);
  for (const module of modules) await app.register(module.plugin);

  const pruneTimer = setInterval(() => {
    pruneSessions(database.db, new Date(Date.now() - 86_400_000).toISOString()).catch((error: Error) =>
      app.log.warn({ err: error.message }, 'session pruning failed'),
    );
  }, SESSION_PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  app.addHook('onClose', async () => {
    clearInterval(pruneTimer);
    await bus.close();
    countedByPrimary?.close();
    if (redis) redis.disconnect();
    await database.close();
  });
  return app;
}
