import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { verify as verifyBcrypt } from '@node-rs/bcrypt';

/** OWASP's argon2id baseline: 19 MiB, 2 passes. Runs on libuv's thread pool, off the event loop. */
// `Algorithm` is a const enum that isolated modules cannot read; 2 is its Argon2id member.
const ARGON2_OPTIONS = { algorithm: 2 as Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Hashes from migrated systems: bcrypt up to cost 14 still verifies. */
const BCRYPT_PATTERN = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const MAX_BCRYPT_COST = 14;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is of an older kind and should be replaced by argon2id now that we know the password. */
  needsRehash: boolean;
}

export async function checkPassword(storedHash: string, password: string): Promise<PasswordCheck> {
  const bcrypt = BCRYPT_PATTERN.exec(storedHash);
  if (bcrypt) {
    if (Number(bcrypt[1]) > MAX_BCRYPT_COST) return { ok: false, needsRehash: false };
    // bcrypt reads at most 72 bytes; longer passwords are compared on that prefix, as the old systems did.
    const ok = await verifyBcrypt(password, storedHash).catch(() => false);
    return { ok, needsRehash: ok };
  }
  if (!storedHash.startsWith('$argon2')) return { ok: false, needsRehash: false };
  const ok = await verify(storedHash, password).catch(() => false);
  return { ok, needsRehash: ok && !storedHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$') };
}

let decoyHash: Promise<string> | null = null;

/** Spends the time of a real check, so a login for an unknown account cannot be told apart by timing. */
export async function spendPasswordCheckTime(password: string): Promise<void> {
  decoyHash ??= hashPassword('decoy-password-for-timing');
  await verify(await decoyHash, password).catch(() => false);
}
