import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { createMemoryBudget } from '../../core/cache/cache.js';
import { chatAccess } from './access.js';
import { Gateway, attachGateway, detachGateway } from './gateway.js';
import { JobQueue } from './jobs.js';
import { JobPeers } from './peers.js';
import { openAiRoutes } from './openai-routes.js';
import { chatRoutes } from './routes.js';
import { createUpstream } from './upstream.js';

const MB = 1024 * 1024;
/** The `llm` health check must stay cheap: one `/api/tags` with a short timeout. */
const HEALTH_TIMEOUT_MS = 1500;
/** Part of SHUTDOWN_TIMEOUT_MS left for closing connections after running generations had their time. */
const DRAIN_SHARE = 0.8;

/**
 * The chat module: one gateway per app (upstream client, response cache, dedup, queue), its routes,
 * the `llm` health check, the queue depth gauge, and the drain on shutdown.
 */
export async function chatPlugin(app: FastifyInstance): Promise<void> {
  const { config } = app;
  const upstream = createUpstream({
    provider: config.llmProvider,
    baseUrl: config.llmProvider === 'openai' ? (config.llmBaseUrl ?? config.ollamaUrl) : config.ollamaUrl,
    keepAlive: config.ollamaKeepAlive,
    timeoutMs: config.chatTimeoutSeconds * 1000,
    apiKey: config.llmApiKey,
  });
  const maxBytes = config.cacheMaxSizeMb * MB;
  // In memory, responses and job results share one CACHE_MAX_SIZE_MB: results are kept until their
  // TTL and cached responses make room for them. (Redis ignores the budget: its maxmemory rules.)
  const budget = createMemoryBudget(maxBytes);
  const gateway = new Gateway({
    upstream,
    cache: app.createCache({ name: 'chat-responses', maxBytes, ttlSeconds: config.cacheTtlSeconds, budget }),
    maxConcurrent: config.chatMaxConcurrent,
    queueMax: config.chatQueueMax,
    cacheTtlSeconds: config.cacheTtlSeconds,
  });
  const jobs = new JobQueue(gateway, app.createCache({ name: 'chat-results', maxBytes, ttlSeconds: config.chatResultTtlSeconds, budget, eviction: 'ttl' }), {
    resultTtlSeconds: config.chatResultTtlSeconds,
    log: app.log,
    // Memory: a result the full budget cannot take is held, and new jobs wait until results expire.
    // Redis down: up to one budget of results is held in this process before new jobs are refused.
    holdLimitBytes: config.redisUrl ? maxBytes : 0,
  });
  const peers = new JobPeers(jobs, app.bus, app.log);
  attachGateway(app.server, gateway);

  app.health.register('llm', async () => ((await upstream.ping(HEALTH_TIMEOUT_MS)) ? 'ok' : 'down'));

  new Gauge({
    name: 'chat_queue_depth',
    help: 'Chat generations waiting for a worker and running upstream',
    labelNames: ['state'] as const,
    registers: [app.metrics.registry],
    collect() {
      this.set({ state: 'waiting' }, gateway.queueLength);
      this.set({ state: 'running' }, gateway.runningCount);
    },
  });

  // Before the server stops listening: no new jobs, waiting ones fail with a clear error, running
  // ones get most of the drain time, and every outcome is stored before the connections close.
  app.addHook('preClose', async () => {
    // Streams of jobs other processes run end now with a pointer to poll; the jobs go on there.
    peers.endFollowing();
    await gateway.close(Math.floor(config.shutdownTimeoutMs * DRAIN_SHARE));
    await jobs.flush();
  });
  app.addHook('onClose', async () => {
    peers.close();
    detachGateway(app.server);
  });

  const access = chatAccess(app);
  await app.register(chatRoutes, { access, gateway, jobs, peers, upstream });
  await app.register(openAiRoutes, { access, gateway, upstream });
}
