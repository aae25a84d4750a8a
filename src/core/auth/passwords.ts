import type * as Argon2 from '@node-rs/argon2';
import type * as Bcrypt from '@node-rs/bcrypt';

// The native hashers load on the first password operation: together they measured ~4.6 MB of RSS
// (two shared libraries and their symbol lookups) that a restarted, idle server does not need.
let argon2: Promise<typeof Argon2> | undefined;
let bcrypt: Promise<typeof Bcrypt> | undefined;
const loadArgon2 = () => (argon2 ??= loadHasher(() => import('@node-rs/argon2')));
const loadBcrypt = () => (bcrypt ??= loadHasher(() => import('@node-rs/bcrypt')));

/**
 * Both hashers carry mimalloc as their allocator, which reads its options from the environment
 * when the library loads. By default it commits its first 32 MiB segment eagerly and asks for
 * transparent huge pages, so loading either library made a 2 MiB page resident for the life of the
 * process (`AnonHugePages` in smaps, on kernels with THP in `madvise` mode). Committing on demand
 * keeps that page out; hashing time measured the same. An operator's own setting wins.
 */
function loadHasher<T>(load: () => Promise<T>): Promise<T> {
  process.env.MIMALLOC_EAGER_COMMIT ??= '0';
  return load();
}

/** OWASP's argon2id baseline: 19 MiB, 2 passes. Runs on libuv's thread pool, off the event loop. */
// `Algorithm` is a const enum that isolated modules cannot read; 2 is its Argon2id member.
const ARGON2_OPTIONS = { algorithm: 2 as Argon2.Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Hashes from migrated systems: bcrypt up to cost 14 still verifies. */
const BCRYPT_PATTERN = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const MAX_BCRYPT_COST = 14;

export async function hashPassword(password: string): Promise<string> {
  return (await loadArgon2()).hash(password, ARGON2_OPTIONS);
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is of an older kind and should be replaced by argon2id now that we know the password. */
  needsRehash: boolean;
}

export async function checkPassword(storedHash: string, password: string): Promise<PasswordCheck> {
  const bcryptHash = BCRYPT_PATTERN.exec(storedHash);
  if (bcryptHash) {
    if (Number(bcryptHash[1]) > MAX_BCRYPT_COST) return { ok: false, needsRehash: false };
    // bcrypt reads at most 72 bytes; longer passwords are compared on that prefix, as the old systems did.
    const ok = await (await loadBcrypt()).verify(password, storedHash).catch(() => false);
    return { ok, needsRehash: ok };
  }
  if (!storedHash.startsWith('$argon2')) return { ok: false, needsRehash: false };
  const ok = await (await loadArgon2()).verify(storedHash, password).catch(() => false);
  return { ok, needsRehash: ok && !storedHash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$') };
}

let decoyHash: Promise<string> | null = null;

/** Spends the time of a real check, so a login for an unknown account cannot be told apart by timing. */
export async function spendPasswordCheckTime(password: string): Promise<void> {
  decoyHash ??= hashPassword('decoy-password-for-timing');
  await (await loadArgon2()).verify(await decoyHash, password).catch(() => false);
}
