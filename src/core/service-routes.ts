import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { now } from './db/columns.js';
import { migrationsApplied, type MigrationGroup } from './db/migrator.js';

const CheckStatus = Type.Union([Type.Literal('ok'), Type.Literal('down'), Type.Literal('disabled')]);
const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  timestamp: Type.String(),
  uptime_s: Type.Number(),
  version: Type.String(),
  modules: Type.Array(Type.String()),
  checks: Type.Object({ database: CheckStatus, redis: CheckStatus, llm: CheckStatus }, { additionalProperties: CheckStatus }),
});
const StatusBody = Type.Object({ status: Type.String() });
const tags = ['service'];
/** Probes and scrapes come from infrastructure at a steady rate; they are not rate limited. */
const unlimited = { rateLimit: false } as const;
/** Probes are also answered while load is shed: saying how the server is doing is their purpose. */
const probe = { ...unlimited, probe: true } as const;

export async function serviceRoutes(fastify: FastifyInstance, options: { version: string; modules: string[]; migrations: MigrationGroup[] }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const startedAt = Date.now();
  // One round of checks serves many probes: its answer's `checks` is built once per round.
  let lastRound: Record<string, Static<typeof CheckStatus>> | undefined;
  let lastChecks: Static<typeof HealthBody>['checks'] = { database: 'down', redis: 'disabled', llm: 'disabled' };
  const checksOf = (round: Record<string, Static<typeof CheckStatus>>) => {
    if (round !== lastRound) {
      lastRound = round;
      lastChecks = { database: 'down', redis: 'disabled', llm: 'disabled', ...round };
    }
    return lastChecks;
  };

  app.get(
    '/health',
    { config: probe, schema: { tags, security: [], summary: 'Service health and dependency checks', response: { 200: HealthBody, 503: HealthBody } } },
    // Not async: while the last round of checks is fresh (HEALTH_CACHE_MS) the answer is sent at
    // once, without the promise and microtask hops an async handler costs on every probe.
    (_request, reply) => {
      const answer = (round: Record<string, Static<typeof CheckStatus>>) => {
        const checks = checksOf(round);
        const databaseUp = checks.database === 'ok';
        reply.code(databaseUp ? 200 : 503).send({
          status: databaseUp ? 'ok' : 'degraded',
          timestamp: now(),
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          version: options.version,
          modules: options.modules,
          checks,
        });
      };
      const fresh = app.health.fresh();
      if (fresh) answer(fresh);
      else void app.health.run().then(answer); // never rejects: a failing check reports 'down'
    },
  );

  app.get('/health/live', { config: probe, schema: { tags, security: [], summary: 'The process answers', response: { 200: StatusBody } } }, async () => ({
    status: 'alive',
  }));

  app.get(
    '/health/ready',
    { config: probe, schema: { tags, security: [], summary: 'Ready for traffic: database up, migrations applied', response: { 200: StatusBody, 503: StatusBody } } },
    async (_request, reply) => {
      const ready = await migrationsApplied(app.database, options.migrations).catch(() => false);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    },
  );

  app.get('/metrics', { config: probe, schema: { tags, security: [], summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } } }, async (_request, reply) => {
    return reply.type(app.metrics.registry.contentType).send(await app.metrics.render());
  });

  app.get('/openapi.json', { config: unlimited, schema: { hide: true } }, async () => app.swagger());
}
