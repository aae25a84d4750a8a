import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { tooManyRequests } from './errors.js';

/**
 * Fixed-window request budgets: the per-IP limit every route spends, and the named budgets the auth
 * routes, the chat and the investigations' join spend on top of it.
 *
 * Why not @fastify/rate-limit (which the project used until the ninth session): its handler is an
 * async function that awaits a promise around the store call, reads `request.routeOptions` (an object
 * Fastify builds anew on every read) and parses every address for IPv6. On `GET /api/auth/me` the
 * per-IP limit took 10.5% of the server's CPU per request in three simultaneous A/B rounds
 * (bench/README.md, ninth session). Here the memory store answers synchronously and the hook is one
 * callback. The behaviour is the plugin's: the same fixed windows, the same headers, the same Lua in
 * Redis, and a Redis outage lets requests through instead of refusing them.
 */

export interface RateLimitCount {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts again. */
  resetMs: number;
}

export interface RateLimitStore {
  /** Counts one request against `key` in a window of `windowMs`; synchronously where it can. */
  hit(key: string, windowMs: number, done: (error: Error | null, counted?: RateLimitCount) => void): void;
}

/** Distinct keys one memory budget remembers (~100 bytes each): beyond it the oldest window is forgotten. */
const MEMORY_KEYS = 50_000;

interface MemoryWindow {
  count: number;
  endsAt: number;
}

/** The memory store also answers synchronously: the primary of several workers counts for them with it. */
export interface MemoryRateLimitStore extends RateLimitStore {
  count(key: string, windowMs: number): RateLimitCount;
}

/**
 * Counters in a Map kept in window-start order: a window that restarts moves its key to the end, so
 * when the Map is full the first key is the one whose window began longest ago. Forgetting it gives
 * that key a fresh window early, which is the least harm an address flood can make the store do.
 */
export function createMemoryRateLimitStore(maxKeys = MEMORY_KEYS): MemoryRateLimitStore {
  const windows = new Map<string, MemoryWindow>();
  const count = (key: string, windowMs: number): RateLimitCount => {
    // Monotonic: a wall clock set back would stretch every open window by as much.
    const now = performance.now();
    const current = windows.get(key);
    if (current !== undefined && current.endsAt > now) {
      current.count++;
      return { count: current.count, resetMs: current.endsAt - now };
    }
    if (current !== undefined) windows.delete(key);
    windows.set(key, { count: 1, endsAt: now + windowMs });
    if (windows.size > maxKeys) windows.delete(windows.keys().next().value!);
    return { count: 1, resetMs: windowMs };
  };
  return {
    count,
    hit(key, windowMs, done) {
      done(null, count(key, windowMs));
    },
  };
}

/** INCR, and PEXPIRE on the window's first request, in one round trip (as @fastify/rate-limit's store). */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    ttl = tonumber(ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return {count, ttl}`;

interface RateLimitRedis {
  rateLimitHit(key: string, windowMs: number): Promise<[number, number]>;
}

/**
 * How long a request waits for its count before it goes through uncounted. Every limited request
 * waits on this store, so a Redis that is connected but slow or hung must not hold them all for the
 * client's own command timeout.
 */
export const REDIS_COUNT_WAIT_MS = 250;

/** Counters shared by every instance on one Redis; keys are `prefix` + the budget's key. */
export function createRedisRateLimitStore(redis: Pick<Redis, 'defineCommand'>, prefix: string, waitMs = REDIS_COUNT_WAIT_MS): RateLimitStore {
  if (!('rateLimitHit' in redis)) redis.defineCommand('rateLimitHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  const scripted = redis as unknown as RateLimitRedis;
  return {
    hit(key, windowMs, done) {
      let answered = false;
      const answer = (error: Error | null, counted?: RateLimitCount) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        done(error, counted);
      };
      const timer = setTimeout(() => answer(new Error('the rate-limit store did not answer in time')), waitMs);
      scripted.rateLimitHit(prefix + key, windowMs).then(
        ([count, resetMs]) => answer(null, { count, resetMs }),
        (error: Error) => answer(error),
      );
    },
  };
}

/** Longer than any address with a zone: text a trusted proxy passed on that is no address. */
const MAX_ADDRESS_LENGTH = 64;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/**
 * The key of an address's budget. An IPv6 client usually holds a whole /64, so IPv6 addresses count
 * by their /64 network (as @fastify/rate-limit does). An IPv4-mapped address counts as its IPv4, and
 * so does one in NAT64's well-known prefix (64:ff9b::/96, RFC 6052): a server reached over IPv6
 * through a translator sees every IPv4 client there, and by its /64 they would all share one budget.
 * Some proxies write `address:port` into X-Forwarded-For: the port is not part of the client. Text
 * too long to be an address shares one budget, so it cannot fill the store with large keys.
 */
export function addressKey(ip: string): string {
  if (ip.length > MAX_ADDRESS_LENGTH) return 'unparseable';
  if (!ip.includes(':')) return ip;
  const withPort = IPV4_WITH_PORT.exec(ip);
  if (withPort) return withPort[1]!;
  const bare = BRACKETED_IPV6.exec(ip)?.[1] ?? ip;
  const zone = bare.indexOf('%');
  const address = (zone === -1 ? bare : bare.slice(0, zone)).toLowerCase();
  const groups = ipv6Groups(address);
  if (groups === null) return address;
  const ipv4Mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0);
  if (ipv4Mapped || nat64) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` and a dotted IPv4 tail expanded), or null if it is not one. */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (const [index, piece] of pieces.entries()) {
      if (index === pieces.length - 1 && piece.includes('.')) {
        const octets = piece.split('.').map(Number);
        if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return null;
        groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(piece)) return null;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

export interface RateLimitOptions {
  /** Names the budget: its counters are kept apart from every other budget's. */
  name: string;
  max: number;
  timeWindowMs: number;
  /** Whose budget a request spends: the client address by default; `request.user.id` after a guard. */
  keyGenerator?: (request: FastifyRequest) => string;
}

/**
 * An onRequest hook spending one budget, shared by every route it is put on. Every limited answer
 * carries the budget's `x-ratelimit-limit`, `-remaining` and `-reset` (seconds); a request over the
 * budget gets 429 `RATE_LIMITED` with `Retry-After`. A later budget's headers replace an earlier
 * one's, so a refusal always describes the budget that refused. If the store fails (Redis down) the
 * request goes through: an outage of the counters must not become an outage of the API.
 */
export function createRateLimit(store: RateLimitStore, options: RateLimitOptions): onRequestHookHandler {
  const { max, timeWindowMs } = options;
  const keyOf = options.keyGenerator ?? ((request: FastifyRequest) => addressKey(request.ip));
  const prefix = `${options.name}:`;
  return (request, reply, done) => {
    store.hit(prefix + keyOf(request), timeWindowMs, (error, counted) => {
      if (error !== null || counted === undefined) {
        done();
        return;
      }
      const resetSeconds = Math.max(1, Math.ceil(counted.resetMs / 1000));
      reply.header('x-ratelimit-limit', max);
      reply.header('x-ratelimit-remaining', Math.max(0, max - counted.count));
      reply.header('x-ratelimit-reset', resetSeconds);
      if (counted.count > max) done(tooManyRequests(`Too many requests; retry in ${resetSeconds} seconds`, resetSeconds));
      else done();
    });
  };
}
