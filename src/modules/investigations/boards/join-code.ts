import { randomInt } from 'node:crypto';

export const JOIN_CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const JOIN_CODE_LENGTH = 8;

/** 8 characters from A-Z0-9 drawn with a cryptographic source (36^8, about 2.8e12 codes). */
export function newJoinCode(): string {
  let code = '';
  for (let i = 0; i < JOIN_CODE_LENGTH; i++) code += JOIN_CODE_ALPHABET[randomInt(JOIN_CODE_ALPHABET.length)];
  return code;
}

/** What a user typed, compared as stored: surrounding spaces dropped, upper case. */
export const normaliseJoinCode = (code: string): string => code.trim().toUpperCase();

/**
 * Runs `attempt` with fresh codes until one is not taken (a unique violation), a few times at most:
 * with 2.8e12 codes a second try is already rare.
 */
export async function withUniqueCode<T>(attempt: (code: string) => Promise<T>, isCollision: (error: unknown) => boolean, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt(newJoinCode());
    } catch (error) {
      if (i >= tries || !isCollision(error)) throw error;
    }
  }
}
