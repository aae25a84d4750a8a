import cluster from 'node:cluster';
import { createMemoryRateLimitStore, type MemoryRateLimitStore, type RateLimitCount, type RateLimitStore } from './rate-limit.js';

/**
 * Rate-limit counters of the workers of one server (WORKERS > 1) without Redis, kept in the primary.
 * Each worker counting on its own would let a client spend a budget once per worker: connections
 * are spread over the workers, so `AUTH_RATE_LIMIT` password guesses would become that many per
 * worker. Here the primary makes every count, in one memory store per budget, so the budgets,
 * headers and refusals are exactly those of one process.
 *
 * The hits a worker takes in one turn of its event loop travel in one message and come back in one
 * answer. A request waits for its count, as with Redis. That round trip is why the per-IP limit,
 * which every request spends, does not come here (see app.ts): the named budgets are spent by
 * requests that cost far more than it.
 */

/** Set by our primary on the workers it counts for (a foreign cluster primary counts nothing). */
const COUNTS_ENV = 'UB_RATE_LIMIT_COUNTS';

/**
 * How long a worker waits for the primary's answer before it counts the batch itself. The primary
 * only counts and relays, so an answer this late means it is gone or stuck: counting locally then
 * still limits every client, once per worker, where Redis's outage lets requests through uncounted.
 */
export const PRIMARY_COUNT_WAIT_MS = 250;

/** The hits one worker took in one turn: `[budget, key, windowMs]` each. */
interface HitBatch {
  rateLimitHits: number;
  hits: [string, string, number][];
}

/** The primary's answer, in the order of the hits: `[count, resetMs]` each. */
interface CountBatch {
  rateLimitCounts: number;
  counts: [number, number][];
}

const isHit = (hit: unknown): hit is [string, string, number] =>
  Array.isArray(hit) && hit.length === 3 && typeof hit[0] === 'string' && typeof hit[1] === 'string' && typeof hit[2] === 'number' && hit[2] > 0;

const isHitBatch = (value: unknown): value is HitBatch =>
  typeof value === 'object' && value !== null && Number.isInteger((value as HitBatch).rateLimitHits) && Array.isArray((value as HitBatch).hits) && (value as HitBatch).hits.every(isHit);

const isCountBatch = (value: unknown): value is CountBatch =>
  typeof value === 'object' && value !== null && Number.isInteger((value as CountBatch).rateLimitCounts) && Array.isArray((value as CountBatch).counts);

/** True in a worker forked by our primary without Redis (see `countRateLimitsForWorkers`). */
export const rateLimitsCountedByPrimary = (): boolean => cluster.isWorker && process.env[COUNTS_ENV] === '1';

/** A worker's IPC channel to its primary: `process` in a cluster worker. */
export interface PrimaryChannel {
  readonly connected: boolean;
  send(message: HitBatch, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

interface Hit {
  budget: string;
  key: string;
  windowMs: number;
  done: (error: Error | null, counted?: RateLimitCount) => void;
}

export interface PrimaryCountedStores {
  /** The store of one named budget; every worker's store of that name spends the same counters. */
  store(budget: string): RateLimitStore;
  /** Stops listening to the primary; hits still waiting for it are counted here. */
  close(): void;
}

/** In a worker: rate-limit stores whose counts the primary keeps (see `countRateLimitsForWorkers`). */
export function createPrimaryCountedStores(channel: PrimaryChannel = process as PrimaryChannel, waitMs = PRIMARY_COUNT_WAIT_MS): PrimaryCountedStores {
  const localStores = new Map<string, MemoryRateLimitStore>();
  const countLocally = (hit: Hit) => {
    let local = localStores.get(hit.budget);
    if (!local) localStores.set(hit.budget, (local = createMemoryRateLimitStore()));
    hit.done(null, local.count(hit.key, hit.windowMs));
  };
  const waiting = new Map<number, { hits: Hit[]; timer: NodeJS.Timeout }>();
  let nextBatch = 1;
  let queued: Hit[] = [];
  let closed = false;

  const settle = (batch: number, counts: [number, number][] | null) => {
    const sent = waiting.get(batch);
    if (!sent) return;
    waiting.delete(batch);
    clearTimeout(sent.timer);
    sent.hits.forEach((hit, index) => {
      const counted = counts?.[index];
      if (counted) hit.done(null, { count: counted[0], resetMs: counted[1] });
      else countLocally(hit);
    });
  };
  const send = () => {
    const hits = queued;
    queued = [];
    if (closed || !channel.connected) {
      hits.forEach(countLocally);
      return;
    }
    const batch = nextBatch++;
    // A worker whose own loop was busy past the wait runs its due timers before it reads the answer
    // already in its channel: the step to setImmediate lets that answer be read first.
    const timer = setTimeout(() => setImmediate(() => settle(batch, null)), waitMs);
    waiting.set(batch, { hits, timer });
    const message: HitBatch = { rateLimitHits: batch, hits: hits.map((hit) => [hit.budget, hit.key, hit.windowMs]) };
    channel.send(message, undefined, undefined, (error) => {
      if (error) settle(batch, null);
    });
  };
  const receive = (value: unknown) => {
    if (isCountBatch(value)) settle(value.rateLimitCounts, value.counts);
  };
  channel.on('message', receive);

  return {
    store: (budget) => ({
      hit(key, windowMs, done) {
        // setImmediate, not nextTick: every request read in this turn of the loop joins the batch.
        if (queued.length === 0) setImmediate(send);
        queued.push({ budget, key, windowMs, done });
      },
    }),
    close() {
      closed = true;
      channel.off('message', receive);
      for (const batch of [...waiting.keys()]) settle(batch, null);
    },
  };
}

/** In the primary: the counts for one worker's batch, or null for a message that is not one. */
export function createBatchCounter(): (value: unknown) => CountBatch | null {
  const budgets = new Map<string, MemoryRateLimitStore>();
  return (value) => {
    if (!isHitBatch(value)) return null;
    const counts = value.hits.map(([budget, key, windowMs]): [number, number] => {
      let store = budgets.get(budget);
      if (!store) budgets.set(budget, (store = createMemoryRateLimitStore()));
      const { count, resetMs } = store.count(key, windowMs);
      return [count, resetMs];
    });
    return { rateLimitCounts: value.rateLimitHits, counts };
  };
}

/** A worker gone before its answer was sent: nothing is waiting for it any more. */
const dropUndelivered = (): void => undefined;

/** In the primary: counts every worker's rate-limit hits; returns the environment the workers must be forked with. */
export function countRateLimitsForWorkers(): Record<string, string> {
  const countBatch = createBatchCounter();
  cluster.on('message', (worker, value: unknown) => {
    const answer = countBatch(value);
    if (answer && worker.isConnected()) worker.send(answer, undefined, dropUndelivered);
  });
  return { [COUNTS_ENV]: '1' };
}
