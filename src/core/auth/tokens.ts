import { createHash, randomBytes } from 'node:crypto';

/** What an access token carries: the user and the session, which is checked on every request. */
export interface AccessTokenPayload {
  sub: string;
  sid: string;
}

/** Refresh tokens are 256 random bits; only their SHA-256 is stored. */
export const newRefreshToken = (): string => randomBytes(32).toString('base64url');

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
