import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Database } from './connect.js';

interface Answer<V> {
  value: V;
  generation: number;
}

/**
 * Answers of a hot read remembered while the database has not changed since they were read, for
 * the checks that run on every request after authentication (a clinic caller's roles, a board
 * membership).
 *
 * On SQLite `Database.changeGeneration()` moves with every write of this process and every commit
 * of another connection. The session check takes it once per request (`request.dataGeneration`),
 * before any read of the request. An answer stored under that generation is still the database's
 * answer while the generation stays the same, so a hit reads nothing, and one
 * `pragma data_version` per request serves every read remembered here. Without a generation
 * (PostgreSQL, an anonymous caller, or while this process has a transaction open) every call reads.
 *
 * Only answers are remembered, never their absence: a key that finds nothing may come from the
 * caller (a board id in the URL), and remembering those would let callers fill the cache.
 * Answers are shared between requests: store frozen values and never change what `get` returns.
 */
export class UnchangedReads<V extends object> {
  // Per database: tests run several apps in one process, and their generations count alike.
  readonly #answers = new WeakMap<Database, LRUCache<string, Answer<V>>>();

  constructor(private readonly max: number) {}

  async get<A extends V | undefined>(request: FastifyRequest, key: string, read: () => Promise<A>): Promise<A> {
    const generation = request.dataGeneration;
    if (generation === undefined) return read();
    const { database } = request.server;
    let answers = this.#answers.get(database);
    if (!answers) this.#answers.set(database, (answers = new LRUCache({ max: this.max })));
    const known = answers.get(key);
    if (known !== undefined && known.generation === generation) return known.value as A;
    const value = await read();
    if (value !== undefined) answers.set(key, { value, generation });
    return value;
  }
}
