import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { tooManyRequests } from './errors.js';

export interface SharedLimitOptions {
  max: number;
  timeWindowMs: number;
  /** Whose budget a request spends: the client IP by default; `request.user.id` after a guard. */
  keyGenerator?: (request: FastifyRequest) => string;
}

/**
 * An onRequest hook spending one budget shared by every route it is put on (the plugin's per-route
 * `config.rateLimit` gives each route its own counter). It adds to the global per-IP limit. Put it
 * after `requireUser` in the route's `onRequest` list to key on the user.
 */
export function sharedRateLimit(app: FastifyInstance, options: SharedLimitOptions): onRequestAsyncHookHandler {
  const limiter = app.createRateLimit({
    max: options.max,
    timeWindow: options.timeWindowMs,
    ...(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {}),
  });
  return async (request, reply) => {
    const result = await limiter(request);
    if (result.isAllowed) return;
    // This budget's figures replace the global limit's, which would describe the wrong window.
    reply.header('x-ratelimit-limit', result.max).header('x-ratelimit-remaining', result.remaining).header('x-ratelimit-reset', result.ttlInSeconds);
    if (result.isExceeded) throw tooManyRequests(`Too many requests; retry in ${result.ttlInSeconds} seconds`, result.ttlInSeconds);
  };
}
