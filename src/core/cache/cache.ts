import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';

export interface CacheStats {
  entries: number;
  bytes: number;
  max_bytes: number;
  hits: number;
  misses: number;
}

/** A named key-value cache of strings with a TTL; memory (byte-bounded LRU) or Redis. */
export interface Cache {
  readonly name: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  stats(): Promise<CacheStats>;
  /** This instance's hit and miss counters, cheap enough for every metrics scrape. */
  counts(): { hits: number; misses: number };
}

export interface CacheOptions {
  name: string;
  maxBytes: number;
  ttlSeconds: number;
}

const entryBytes = (key: string, value: string): number => Buffer.byteLength(key) + Buffer.byteLength(value);

export function createMemoryCache({ name, maxBytes, ttlSeconds }: CacheOptions): Cache {
  const lru = new LRUCache<string, string>({
    maxSize: maxBytes,
    sizeCalculation: (value, key) => Math.max(1, entryBytes(key, value)),
    ttl: ttlSeconds * 1000,
    ttlAutopurge: false,
  });
  let hits = 0;
  let misses = 0;
  return {
    name,
    async get(key) {
      const value = lru.get(key);
      if (value === undefined) {
        misses++;
        return null;
      }
      hits++;
      return value;
    },
    async set(key, value, ttl = ttlSeconds) {
      // An entry larger than the whole cache is refused by the LRU; that is a miss next time, not an error.
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
      return { entries: lru.size, bytes: lru.calculatedSize, max_bytes: maxBytes, hits, misses };
    },
    counts: () => ({ hits, misses }),
  };
}

/** How many keys one SCAN step asks for while counting or clearing a namespace. */
const SCAN_BATCH = 500;

/**
 * Shared by every instance. Redis bounds memory with its own `maxmemory` policy (set
 * `maxmemory-policy allkeys-lru`); `maxBytes` is reported, not enforced here. While Redis is down,
 * reads are misses and writes are dropped, so callers keep working without the cache.
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

  return {
    name,
    async get(key) {
      const value = await client.get(namespace + key).catch(() => null);
      if (value === null) misses++;
      else hits++;
      return value;
    },
    async set(key, value, ttl = ttlSeconds) {
      await client.set(namespace + key, value, 'EX', ttl).catch(() => undefined);
    },
    async delete(key) {
      await client.del(namespace + key).catch(() => undefined);
    },
    async clear() {
      for await (const keys of scanKeys()) await client.unlink(...keys);
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
