import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { now } from '../db/columns.js';
import { forbidden, unauthorized } from '../http/errors.js';
import { findSessionUser, type AuthUser } from './repo.js';
import type { AccessTokenPayload } from './tokens.js';

/** The scheme name is case-insensitive (RFC 9110 section 11.1). */
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/** Tokens whose signature already verified, up to their expiry: clients send the same token for many requests. */
const VERIFIED_TOKENS = 10_000;

interface VerifiedToken extends AccessTokenPayload {
  exp: number;
  /** The session's last check, reused while the database's change generation has not moved. */
  session?: { user: Readonly<AuthUser>; expiresAt: string; generation: number };
}

/**
 * The token proves who signed it; the session row proves it is still wanted. Checking the session
 * on every request is what makes logout, password change and deactivation take effect at once.
 */
export function registerGuards(app: FastifyInstance): void {
  // Keyed by the whole token, so a hit is the exact string whose signature verified. fast-jwt's own
  // cache keys on a SHA-256 of the token, which measured ~6% of an authenticated request's CPU.
  const verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_TOKENS });

  function verify(token: string): VerifiedToken {
    const known = verified.get(token);
    if (known && known.exp * 1000 > Date.now()) return known;
    let payload: Partial<VerifiedToken>;
    try {
      payload = app.jwt.verify<Partial<VerifiedToken>>(token);
    } catch {
      throw unauthorized('Invalid or expired token');
    }
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.exp !== 'number') throw unauthorized('Invalid or expired token');
    const entry: VerifiedToken = { sub: payload.sub, sid: payload.sid, exp: payload.exp };
    verified.set(token, entry);
    return entry;
  }

  async function authenticate(request: FastifyRequest): Promise<Readonly<AuthUser> | null> {
    const header = request.headers.authorization;
    if (header === undefined) return null;
    const match = BEARER.exec(header);
    if (!match) throw unauthorized('Malformed Authorization header: expected "Bearer <token>"');
    const token = verify(match[1]!);
    // Taken before the read: a write after this point moves it, so the entry stored below is
    // never trusted past a change it may not have seen.
    const generation = app.database.changeGeneration?.();
    request.dataGeneration = generation;
    const known = token.session;
    if (known !== undefined && known.generation === generation && known.expiresAt > now()) return known.user;
    const found = await findSessionUser(app.db, token.sid, token.sub);
    if (!found) throw unauthorized('Session has ended; log in again');
    // Frozen on both dialects: on SQLite requests share it, and a handler writing to it must fail everywhere.
    const user = Object.freeze(found.user);
    if (generation !== undefined) token.session = { user, expiresAt: found.expiresAt, generation };
    return user;
  }

  app.decorateRequest('dataGeneration', undefined);
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
