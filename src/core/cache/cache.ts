import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import { AppError } from '../http/errors.js';

export interface CacheStats {
  entries: number;
  bytes: number;
  max_bytes: number;
  hits: number;
  misses: number;
}

/**
 * A named key-value cache of strings with a TTL; memory (byte-bounded) or Redis.
 *
 * Failures are explicit where hiding them would lose data or lie: `get` treats a store it cannot
 * reach as a miss (a cache only costs time), while `read`, `set`, `delete` and `clear` throw a 503
 * AppError (`CACHE_UNAVAILABLE`, or `CACHE_FULL` for a memory cache that keeps entries until their
 * TTL). Callers for whom the cache is only an optimisation catch the write errors themselves.
 */
export interface Cache {
  readonly name: string;
  /** The value, or null on a miss; a store that cannot be reached counts as a miss. */
  get(key: string): Promise<string | null>;
  /** The value, or null when the store does not hold it; throws CACHE_UNAVAILABLE when it cannot tell. */
  read(key: string): Promise<string | null>;
  /** Throws CACHE_UNAVAILABLE when the value was not stored (CACHE_FULL: see `eviction: 'ttl'`). */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  /** Entries and bytes as far as they can be counted (zero while Redis is down); never throws. */
  stats(): Promise<CacheStats>;
  /** This instance's hit and miss counters, cheap enough for every metrics scrape. */
  counts(): { hits: number; misses: number };
}

/** Memory caches made with the same budget share its bytes; see `createMemoryBudget`. */
export interface MemoryBudget {
  readonly maxBytes: number;
  /** The member caches' stores (internal to this file). */
  readonly members: Set<BudgetMember>;
}

interface BudgetMember {
  lru: LRUCache<string, string>;
  eviction: 'lru' | 'ttl';
}

export interface CacheOptions {
  name: string;
  /** Memory: the bytes this cache may use (unless `budget` is given). Redis: reported only. */
  maxBytes: number;
  ttlSeconds: number;
  /** Memory only: share this budget's bytes with the other caches made with it, instead of `maxBytes`. */
  budget?: MemoryBudget;
  /**
   * Memory only. `lru` (default): the least recently used entries (of this cache or another `lru`
   * cache of the budget) make room for new ones. `ttl`: entries stay until their TTL; expired
   * entries, then entries of `lru` caches of the budget, make room for them, and a value that still
   * does not fit is refused with 503 `CACHE_FULL`. Redis evicts by its own `maxmemory-policy`.
   */
  eviction?: 'lru' | 'ttl';
}

const RETRY_AFTER_SECONDS = '5';

export const cacheUnavailable = (name: string): AppError =>
  new AppError(503, 'CACHE_UNAVAILABLE', `The ${name} cache is unavailable (its Redis cannot be reached); try again shortly`, undefined, { 'retry-after': RETRY_AFTER_SECONDS });

export const cacheFull = (name: string): AppError =>
  new AppError(503, 'CACHE_FULL', `The ${name} cache is full of entries that are kept until they expire; try again later`, undefined, { 'retry-after': RETRY_AFTER_SECONDS });

const entryBytes = (key: string, value: string): number => Buffer.byteLength(key) + Buffer.byteLength(value);

/** One byte budget for several memory caches (e.g. a response cache and a results cache). */
export function createMemoryBudget(maxBytes: number): MemoryBudget {
  return { maxBytes, members: new Set() };
}

function usedBytes(budget: MemoryBudget): number {
  let used = 0;
  for (const member of budget.members) used += member.lru.calculatedSize;
  return used;
}

/** Frees room for `bytes` more: expired `ttl` entries first, then least recently used `lru` entries. */
function makeRoom(budget: MemoryBudget, bytes: number): boolean {
  if (usedBytes(budget) + bytes <= budget.maxBytes) return true;
  for (const member of budget.members) if (member.eviction === 'ttl') member.lru.purgeStale();
  for (;;) {
    const used = usedBytes(budget);
    if (used + bytes <= budget.maxBytes) return true;
    let largest: BudgetMember | undefined;
    for (const member of budget.members) {
      if (member.eviction === 'lru' && member.lru.size > 0 && (!largest || member.lru.calculatedSize > largest.lru.calculatedSize)) largest = member;
    }
    if (!largest) return false;
    largest.lru.pop();
  }
}

export function createMemoryCache({ name, maxBytes, ttlSeconds, budget: shared, eviction = 'lru' }: CacheOptions): Cache {
  const budget = shared ?? createMemoryBudget(maxBytes);
  const lru = new LRUCache<string, string>({
    maxSize: budget.maxBytes,
    sizeCalculation: (value, key) => Math.max(1, entryBytes(key, value)),
    ttl: ttlSeconds * 1000,
    ttlAutopurge: false,
  });
  budget.members.add({ lru, eviction });
  let hits = 0;
  let misses = 0;
  const lookup = (key: string): string | null => {
    const value = lru.get(key);
    if (value === undefined) {
      misses++;
      return null;
    }
    hits++;
    return value;
  };
  return {
    name,
    get: async (key) => lookup(key),
    read: async (key) => lookup(key),
    async set(key, value, ttl = ttlSeconds) {
      lru.delete(key);
      if (!makeRoom(budget, Math.max(1, entryBytes(key, value)))) {
        // An `lru` cache that cannot take a value (larger than the budget, or the rest is kept
        // entries) just misses next time; a `ttl` cache says so, since its entries are data.
        if (eviction === 'ttl') throw cacheFull(name);
        return;
      }
      lru.set(key, value, { ttl: ttl * 1000 });
    },
    async delete(key) {
      lru.delete(key);
    },
    async clear() {
      lru.clear();
    },
    async stats() {
      lru.purgeStale();
      return { entries: lru.size, bytes: lru.calculatedSize, max_bytes: budget.maxBytes, hits, misses };
    },
    counts: () => ({ hits, misses }),
  };
}

/** How many keys one SCAN step asks for while counting or clearing a namespace. */
const SCAN_BATCH = 500;

/**
 * Shared by every instance. Redis bounds memory with its own `maxmemory` policy (set
 * `maxmemory-policy allkeys-lru`); `maxBytes` is reported, not enforced here. While Redis is down,
 * `get` is a miss, and `read`, `set`, `delete` and `clear` throw 503 `CACHE_UNAVAILABLE`.
 */
export function createRedisCache(client: Redis, prefix: string, { name, maxBytes, ttlSeconds }: CacheOptions): Cache {
  const namespace = `${prefix}cache:${name}:`;
  let hits = 0;
  let misses = 0;

  async function* scanKeys(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', SCAN_BATCH);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }

  /** Runs a Redis command; any failure of the connection becomes CACHE_UNAVAILABLE. */
  async function strict<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw cacheUnavailable(name);
    }
  }

  const count = (value: string | null): string | null => {
    if (value === null) misses++;
    else hits++;
    return value;
  };

  return {
    name,
    async get(key) {
      return count(await client.get(namespace + key).catch(() => null));
    },
    async read(key) {
      return count(await strict(() => client.get(namespace + key)));
    },
    async set(key, value, ttl = ttlSeconds) {
      await strict(() => client.set(namespace + key, value, 'EX', Math.max(1, Math.ceil(ttl))));
    },
    async delete(key) {
      await strict(() => client.del(namespace + key));
    },
    async clear() {
      await strict(async () => {
        for await (const keys of scanKeys()) await client.unlink(...keys);
      });
    },
    async stats() {
      let entries = 0;
      let bytes = 0;
      try {
        for await (const keys of scanKeys()) {
          entries += keys.length;
          const pipeline = client.pipeline();
          for (const key of keys) pipeline.strlen(key);
          const lengths = (await pipeline.exec()) ?? [];
          for (const [index, [, length]] of lengths.entries()) bytes += Number(length ?? 0) + Buffer.byteLength(keys[index]!) - namespace.length;
        }
      } catch {
        // Redis down: report what this instance knows.
      }
      return { entries, bytes, max_bytes: maxBytes, hits, misses };
    },
    counts: () => ({ hits, misses }),
  };
}
