import cluster from 'node:cluster';
import { buildApp, migrationGroupsFor, selectModules } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { relayBusBetweenWorkers } from './core/bus/bus.js';
import { countRateLimitsForWorkers } from './core/http/rate-limit-relay.js';
import { openDatabase } from './core/db/connect.js';
import { migrate } from './core/db/migrator.js';
import { pinTickObjectShape } from './core/tick-shape.js';
import { loadEnvFile } from './env-file.js';
import { availableModules } from './modules/registry.js';

const startedAt = performance.now();
/** Set by the production entry point (scripts/server-entry.mjs), which runs the bundle through V8's code cache. */
const codeCache = (globalThis as { [key: symbol]: { state: string; save: () => void } | undefined })[Symbol.for('unified-backend.code-cache')];

function fail(message: string, error?: unknown): never {
  console.error(message, error instanceof ConfigError || error === undefined ? '' : error);
  process.exit(1);
}

/** One server: listen, then on SIGTERM/SIGINT stop accepting, drain, close the database, exit 0. */
async function runServer(config: Config): Promise<void> {
  const app = await buildApp(config);
  for (const warning of config.warnings) app.log.warn(warning);
  await app.listen({ port: config.port, host: config.host });
  pinTickObjectShape();
  app.log.info({ startup_ms: Math.round(performance.now() - startedAt), pid: process.pid, code_cache: codeCache?.state }, 'server ready');
  codeCache?.save();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    const deadline = setTimeout(() => {
      app.log.warn({ timeout_ms: config.shutdownTimeoutMs }, 'drain time is up; closing remaining connections');
      app.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await app.close();
      app.log.info('shut down cleanly');
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * WORKERS > 1: the primary applies migrations once, then forks workers that share the port, replaces
 * any that crash, and on a signal asks each to drain and waits for them.
 */
async function runPrimary(config: Config): Promise<void> {
  const database = await openDatabase(config);
  try {
    await migrate(database, migrationGroupsFor(selectModules(availableModules, config.modules)));
  } finally {
    await database.close();
  }
  // With Redis the workers' buses and rate-limit counters meet there; without it the primary passes
  // their messages on and keeps the counters of the named budgets.
  let workerEnv: Record<string, string> | undefined;
  if (!config.redisUrl) {
    workerEnv = { ...relayBusBetweenWorkers(), ...countRateLimitsForWorkers() };
    console.warn(
      `WORKERS=${config.workers} without REDIS_URL: live events, chat jobs and the auth, chat and join rate limits are shared through the primary process, but caches and the per-IP rate limit are per worker (set REDIS_URL to share them)`,
    );
  }
  let stopping = false;
  const fork = () => cluster.fork(workerEnv);
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(fork, 500);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    setTimeout(() => process.exit(0), config.shutdownTimeoutMs + 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

loadEnvFile();
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error), error);
}
const start = config.workers > 1 && cluster.isPrimary ? runPrimary(config) : runServer(config);
start.catch((error: unknown) => fail('Failed to start:', error));
