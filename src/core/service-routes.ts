import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
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

export async function serviceRoutes(fastify: FastifyInstance, options: { version: string; modules: string[]; migrations: MigrationGroup[] }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const startedAt = Date.now();

  app.get(
    '/health',
    { config: unlimited, schema: { tags, summary: 'Service health and dependency checks', response: { 200: HealthBody, 503: HealthBody } } },
    async (_request, reply) => {
      const checks = await app.health.run();
      const databaseUp = checks.database === 'ok';
      return reply.code(databaseUp ? 200 : 503).send({
        status: databaseUp ? 'ok' : 'degraded',
        timestamp: new Date().toISOString(),
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        version: options.version,
        modules: options.modules,
        checks: { database: 'down', redis: 'disabled', llm: 'disabled', ...checks },
      });
    },
  );

  app.get('/health/live', { config: unlimited, schema: { tags, summary: 'The process answers', response: { 200: StatusBody } } }, async () => ({
    status: 'alive',
  }));

  app.get(
    '/health/ready',
    { config: unlimited, schema: { tags, summary: 'Ready for traffic: database up, migrations applied', response: { 200: StatusBody, 503: StatusBody } } },
    async (_request, reply) => {
      const ready = await migrationsApplied(app.database, options.migrations).catch(() => false);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' });
    },
  );

  app.get('/metrics', { config: unlimited, schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } } }, async (_request, reply) => {
    return reply.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
  });

  app.get('/openapi.json', { config: unlimited, schema: { hide: true } }, async () => app.swagger());
}
