import type { FastifyInstance, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../http/errors.js';
import { findSessionUser, type AuthUser } from './repo.js';
import type { AccessTokenPayload } from './tokens.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/**
 * The token proves who signed it; the session row proves it is still wanted. Checking the session
 * on every request is what makes logout, password change and deactivation take effect at once.
 */
export function registerGuards(app: FastifyInstance): void {
  async function authenticate(request: FastifyRequest): Promise<AuthUser | null> {
    const header = request.headers.authorization;
    if (header === undefined) return null;
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('Malformed Authorization header: expected "Bearer <token>"');
    let payload: AccessTokenPayload;
    try {
      payload = app.jwt.verify<AccessTokenPayload>(match[1]!);
    } catch {
      throw unauthorized('Invalid or expired token');
    }
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw unauthorized('Invalid or expired token');
    const user = await findSessionUser(app.db, payload.sid, payload.sub);
    if (!user) throw unauthorized('Session has ended; log in again');
    return user;
  }

  app.decorate('authenticate', authenticate);
  app.decorate('requireUser', async (request: FastifyRequest) => {
    const user = await authenticate(request);
    if (!user) throw unauthorized();
    request.user = user;
  });
  app.decorate('requireAdmin', async (request: FastifyRequest) => {
    const user = await authenticate(request);
    if (!user) throw unauthorized();
    if (user.role !== 'admin') throw forbidden('Administrator role required');
    request.user = user;
  });
}
