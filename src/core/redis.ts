import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

/** A command Redis has not answered by then fails, so a hung server is treated as a down one. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/**
 * Commands fail at once while Redis is unreachable (no offline queue, one retry), and after
 * REDIS_COMMAND_TIMEOUT_MS while it is connected but not answering, so that callers degrade (a cache
 * miss, a local-only event) instead of hanging; the client keeps reconnecting.
 */
export async function connectRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  // Imported only when REDIS_URL is set, to keep start-up light without it.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let reportedDown = false;
  client.on('error', (error: Error) => {
    if (!reportedDown) log.warn({ err: error.message }, 'redis unavailable; degrading to local behaviour');
    reportedDown = true;
  });
  client.on('ready', () => {
    if (reportedDown) log.info('redis connection restored');
    reportedDown = false;
  });
  return client;
}

/** Waits for the first connection, but never blocks start-up for long: Redis is not critical. */
export async function waitUntilReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}
