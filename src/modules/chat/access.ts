import type { FastifyInstance, FastifyRequest, onRequestHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import { addressKey } from '../../core/http/rate-limit.js';

export interface ChatAccess {
  /** onRequest: a logged-in user, or anyone when CHAT_PUBLIC=true (the user is still recognised if a token is sent). */
  guard: preHandlerAsyncHookHandler;
  /**
   * onRequest, after the guard: one budget of CHAT_RATE_LIMIT generation requests per minute per
   * user (per address for anonymous callers, IPv6 by its /64 as the per-IP limit counts), shared by
   * every route that can start a generation.
   */
  generationLimit: onRequestHookHandler;
  /** Whose job is this: the user id, or the client IP for anonymous callers. */
  ownerOf(request: FastifyRequest): string;
}

export function chatAccess(app: FastifyInstance): ChatAccess {
  const ownerOf = (request: FastifyRequest): string => (request.user ? `user:${request.user.id}` : `ip:${request.ip}`);
  return {
    guard: app.config.chatPublic
      ? async (request) => {
          const user = await app.authenticate(request);
          if (user) request.user = user;
        }
      : app.requireUser,
    generationLimit: app.createRateLimit({
      name: 'chat',
      max: app.config.chatRateLimit,
      timeWindowMs: 60_000,
      // Not ownerOf: one client's IPv6 addresses would each get a budget of their own.
      keyGenerator: (request) => (request.user ? ownerOf(request) : `ip:${addressKey(request.ip)}`),
    }),
    ownerOf,
  };
}
