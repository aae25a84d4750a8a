import type { FastifyRequest, onRequestHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from '../config.js';
import type { AuthUser } from './auth/repo.js';
import type { AccessTokenPayload } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import type { Cache, CacheOptions } from './cache/cache.js';
import type { Database } from './db/connect.js';
import type { HealthRegistry } from './health.js';
import type { RateLimitOptions } from './http/rate-limit.js';
import type { RouteGuard } from './http/route-guards.js';
import type { Metrics } from './metrics.js';

/** What the core offers every module through the Fastify instance. */
declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    database: Database;
    /** Kysely on the core tables; a module widens it with `app.db.withTables<ModuleTables>()`. */
    db: Database['db'];
    bus: Bus;
    health: HealthRegistry;
    metrics: Metrics;
    /** A named cache, in Redis when REDIS_URL is set, else a byte-bounded LRU in memory. */
    createCache(options: CacheOptions): Cache;
    /**
     * An onRequest hook spending a named budget, on top of the per-IP limit every route spends
     * (`src/core/http/rate-limit.ts`). Put it after `requireUser` to key on `request.user.id`.
     */
    createRateLimit(options: RateLimitOptions): onRequestHookHandler;
    /** onRequest hooks: 401 without a valid session; 403 for a non-admin. */
    requireUser: preHandlerAsyncHookHandler;
    requireAdmin: preHandlerAsyncHookHandler;
    /**
     * Runs `guard` on every route this plugin registers from now on, after the per-IP limit and
     * before the route's own hooks (`src/core/http/route-guards.ts`). Use it, not
     * `addHook('onRequest', guard)`, which would run before the limit.
     */
    addRouteGuard(guard: RouteGuard): void;
    /** The caller if a valid token is present, else null (for routes open to anonymous callers). */
    authenticate(request: FastifyRequest): Promise<Readonly<AuthUser> | null>;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The database's change generation when the caller authenticated (SQLite; see
     * `Database.changeGeneration`): what `UnchangedReads` (`src/core/db/unchanged-reads.ts`) keys on.
     */
    dataGeneration: number | undefined;
  }
  interface FastifyContextConfig {
    /** A health probe or metrics scrape: answered even while load is shed, so it can say how the server is. */
    probe?: boolean;
    /** `false` exempts a route from the per-IP limit (probes, the API document). */
    rateLimit?: false;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenPayload;
    /** Shared between requests on SQLite (the session check reuses it) and frozen: never write to it. */
    user: Readonly<AuthUser>;
  }
}
