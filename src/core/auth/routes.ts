import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isUniqueViolation } from '../db/errors.js';
import { AppError, badRequest, conflict, tooManyRequests, unauthorized } from '../http/errors.js';
import { checkPassword, hashPassword, spendPasswordCheckTime } from './passwords.js';
import * as repo from './repo.js';
import { AuthResult, LoginBody, PasswordBody, RefreshBody, RegisterBody, TokenPair, UpdateMeBody, User } from './schema.js';
import { hashToken, newRefreshToken } from './tokens.js';

const MAX_FAILED_LOGINS = 5;
const LOCK_MINUTES = 15;
const tags = ['auth'];

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config, db } = app;
  /** Credential-guessing routes share one stricter per-IP budget, on top of the global limit. */
  const authLimit = app.createRateLimit({ name: 'auth', max: config.authRateLimit, timeWindowMs: 15 * 60_000 });

  /**
   * Checks a password given for an account under its lock: after MAX_FAILED_LOGINS wrong ones in a
   * row the account refuses checks for LOCK_MINUTES (429 ACCOUNT_LOCKED). Logins and password
   * changes (a stolen access token must not allow unlimited guesses at the current password) share
   * the count. Each attempt is counted before its password is checked: guesses sent all at once each
   * take a number, and those past the limit are refused unchecked.
   */
  async function guardedPasswordCheck(account: { id: string; password_hash: string; locked_until: string | null }, password: string) {
    const lockedFor = (until: string | null) => (until ? Date.parse(until) - Date.now() : 0);
    const locked = (ms: number) => tooManyRequests(`Too many failed password attempts; try again in ${Math.ceil(ms / 60_000)} minutes`, ms / 1000, 'ACCOUNT_LOCKED');
    if (lockedFor(account.locked_until) > 0) throw locked(lockedFor(account.locked_until));
    if (account.locked_until) await repo.clearExpiredLock(db, account.id, account.locked_until); // the lock has expired: start counting afresh
    const attempt = await repo.countLoginAttempt(db, account.id, MAX_FAILED_LOGINS, new Date(Date.now() + LOCK_MINUTES * 60_000).toISOString());
    if (attempt && attempt.failed_logins > MAX_FAILED_LOGINS) {
      throw locked(lockedFor(attempt.locked_until) > 0 ? lockedFor(attempt.locked_until) : LOCK_MINUTES * 60_000);
    }
    const check = await checkPassword(account.password_hash, password);
    if (check.ok) await repo.clearLoginFailures(db, account.id);
    return check;
  }

  const expiry = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

  async function openSession(request: FastifyRequest, userId: string) {
    const refreshToken = newRefreshToken();
    const sessionId = await repo.createSession(db, {
      userId,
      refreshTokenHash: hashToken(refreshToken),
      expiresAt: expiry(config.refreshTtlSeconds),
      ip: request.ip,
      userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
    });
    return { token: app.jwt.sign({ sub: userId, sid: sessionId }), refresh_token: refreshToken };
  }

  app.post(
    '/api/auth/register',
    { onRequest: authLimit, schema: { tags, security: [], summary: 'Create an account', body: RegisterBody, response: { 201: AuthResult } } },
    async (request, reply) => {
      const body = request.body;
      if (await repo.emailTaken(db, body.email)) throw conflict('Email is already registered', 'EMAIL_TAKEN');
      if (body.username && (await repo.usernameTaken(db, body.username))) throw conflict('Username is already taken', 'USERNAME_TAKEN');
      let user;
      try {
        user = await repo.insertUser(db, { ...body, password_hash: await hashPassword(body.password) });
      } catch (error) {
        // Two registrations racing for the same email or username: the loser gets the 409 it
        // would have had a moment later.
        if (isUniqueViolation(error)) {
          if (await repo.emailTaken(db, body.email)) throw conflict('Email is already registered', 'EMAIL_TAKEN');
          throw conflict('Username is already taken', 'USERNAME_TAKEN');
        }
        throw error;
      }
      const tokens = await openSession(request, user.id);
      return reply.code(201).send({ message: 'User registered successfully', ...tokens, user });
    },
  );

  app.post(
    '/api/auth/login',
    { onRequest: authLimit, schema: { tags, security: [], summary: 'Log in with email or username', body: LoginBody, response: { 200: AuthResult } } },
    async (request) => {
      const body = request.body;
      const found = await repo.findCredentials(db, 'username' in body ? { username: body.username } : { email: body.email });
      if (!found) {
        await spendPasswordCheckTime(body.password);
        throw new AppError(401, 'INVALID_CREDENTIALS', 'Invalid credentials');
      }
      const check = await guardedPasswordCheck(found, body.password);
      if (!check.ok) throw new AppError(401, 'INVALID_CREDENTIALS', 'Invalid credentials');
      if (!found.is_active) throw new AppError(403, 'ACCOUNT_DISABLED', 'This account has been deactivated');
      if (check.needsRehash) await repo.updateUser(db, found.id, { password_hash: await hashPassword(body.password) });
      const tokens = await openSession(request, found.id);
      return { message: 'Login successful', ...tokens, user: repo.toUser(found) };
    },
  );

  app.get(
    '/api/auth/me',
    { onRequest: app.requireUser, schema: { tags, summary: 'The current user', response: { 200: User } } },
    async (request) => request.user,
  );

  app.put(
    '/api/auth/me',
    { onRequest: app.requireUser, schema: { tags, summary: 'Update your profile', body: UpdateMeBody, response: { 200: User } } },
    async (request) => {
      // Nothing to change: nothing is written, and updated_at keeps saying when something last was.
      if (Object.keys(request.body).length === 0) return request.user;
      const { username } = request.body;
      if (username && (await repo.usernameTaken(db, username, request.user.id))) throw conflict('Username is already taken', 'USERNAME_TAKEN');
      try {
        const user = await repo.updateUser(db, request.user.id, request.body);
        if (!user) throw unauthorized();
        return user;
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('Username is already taken', 'USERNAME_TAKEN');
        throw error;
      }
    },
  );

  app.post(
    '/api/auth/refresh',
    { onRequest: authLimit, schema: { tags, security: [], summary: 'Swap a refresh token for a new pair', body: RefreshBody, response: { 200: TokenPair } } },
    async (request) => {
      const tokenHash = hashToken(request.body.refresh_token);
      const rejected = unauthorized('Invalid or expired refresh token');
      return db.transaction().execute(async (trx) => {
        const stored = await repo.findRefreshToken(trx, tokenHash, app.database.dialect === 'postgres');
        if (!stored || stored.revoked_at) throw rejected;
        if (stored.used_at || !(await repo.useRefreshToken(trx, tokenHash))) {
          // A refresh token is single-use: seeing one again means it was copied. End the whole session.
          request.log.warn({ session_id: stored.session_id }, 'refresh token reuse detected; session revoked');
          await repo.revokeSession(trx, stored.session_id);
          return { reused: true as const };
        }
        if (Date.parse(stored.expires_at) <= Date.now()) throw rejected;
        const user = await repo.findUserById(trx, stored.user_id);
        if (!user?.is_active) throw rejected;
        const refreshToken = newRefreshToken();
        await repo.rotateSession(trx, stored.session_id, hashToken(refreshToken), expiry(config.refreshTtlSeconds));
        return { token: app.jwt.sign({ sub: stored.user_id, sid: stored.session_id }), refresh_token: refreshToken };
      }).then((result) => {
        // Thrown outside the transaction so the revocation commits.
        if ('reused' in result) throw new AppError(401, 'REFRESH_TOKEN_REUSED', 'Refresh token was already used; the session has been revoked');
        return result;
      });
    },
  );

  app.post(
    '/api/auth/logout',
    { onRequest: app.requireUser, schema: { tags, summary: 'End this session', response: { 204: Type.Null() } } },
    async (request, reply) => {
      await repo.revokeSession(db, request.user.session_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password',
    {
      onRequest: [authLimit, app.requireUser],
      schema: { tags, summary: 'Change your password; ends every other session', body: PasswordBody, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const found = await repo.findCredentials(db, { email: request.user.email });
      if (!found || !(await guardedPasswordCheck(found, request.body.current_password)).ok) {
        throw badRequest('Current password is incorrect', 'INVALID_CURRENT_PASSWORD');
      }
      const passwordHash = await hashPassword(request.body.new_password);
      await db.transaction().execute(async (trx) => {
        await repo.updateUser(trx, request.user.id, { password_hash: passwordHash });
        await repo.revokeUserSessions(trx, request.user.id, request.user.session_id);
      });
      return reply.code(204).send(null);
    },
  );
}
