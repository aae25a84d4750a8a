import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';

export interface ChatAccess {
  /** onRequest: a logged-in user, or anyone when CHAT_PUBLIC=true (the user is still recognised if a token is sent). */
  guard: preHandlerAsyncHookHandler;
  /** Route rate limit for generation routes: CHAT_RATE_LIMIT per minute per user, per IP for anonymous callers. */
  generationLimit: { max: number; timeWindow: string; hook: 'preHandler'; keyGenerator(request: FastifyRequest): string };
  /** Whose job is this: the user id, or the client IP for anonymous callers. */
  ownerOf(request: FastifyRequest): string;
}

export function chatAccess(app: FastifyInstance): ChatAccess {
  const open = app.config.chatPublic;
  const ownerOf = (request: FastifyRequest): string => (request.user ? `user:${request.user.id}` : `ip:${request.ip}`);
  return {
    guard: open
      ? async (request) => {
          const user = await app.authenticate(request);
          if (user) request.user = user;
        }
      : app.requireUser,
    // preHandler: after the guard, so the limit is counted per user rather than per IP.
    generationLimit: { max: app.config.chatRateLimit, timeWindow: '1 minute', hook: 'preHandler', keyGenerator: ownerOf },
    ownerOf,
  };
}
