import { AppError } from '../../core/http/errors.js';
import type { Cache } from '../../core/cache/cache.js';
import { RecentAverage, cacheKey, estimatedWaitMs, nextIndex, queuePosition, wordChunks } from './rules.js';
import { generationCancelled, type Answer, type Upstream, type UpstreamRequest } from './upstream.js';

/**
 * The gateway between callers and the upstream: response cache, single-flight dedup and the
 * priority queue of generations with at most `maxConcurrent` upstream calls at once.
 *
 * A *flight* is one upstream generation. Every caller asking for the same key while it is in flight
 * holds it (dedup) and sees all of its pieces from the first one. When the last holder lets go before
 * it finished, the flight is taken out of the queue or its upstream call is aborted.
 */

export interface GatewaySettings {
  upstream: Upstream;
  cache: Cache;
  maxConcurrent: number;
  queueMax: number;
  cacheTtlSeconds: number;
}

export interface StartOptions {
  /** Read and write the response cache (default true). */
  useCache?: boolean;
  /** Write the answer to the cache (default: `useCache`); `useCache: false, store: true` refreshes an entry. */
  store?: boolean;
  priority?: number;
  /** The system prompt part of the cache key (already included in `request.messages`). */
  system: string | null;
}

export type GenerationState = 'waiting' | 'running' | 'done';

/** What a caller holds: a cached answer or a share of a flight. */
export interface Generation {
  readonly cached: boolean;
  readonly model: string;
  /** Resolves once the answer can be streamed; rejects (AppError) when the upstream failed before that. */
  readonly started: Promise<void>;
  readonly answer: Promise<Answer>;
  /** Calls `onPiece` for every piece so far, then for each new one; returns the unsubscribe. */
  follow(onPiece: (piece: string) => void): () => void;
  state(): GenerationState;
  /** 1-based queue position while waiting, else 0. */
  position(): number;
  /** The caller no longer wants the answer (idempotent). */
  release(): void;
}

export interface GatewayCounters {
  total_requests: number;
  cached_responses: number;
  deduplicated_requests: number;
  hits: number;
  misses: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A flight nobody awaits any more may still fail; that must not be an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Flight {
  key: string;
  request: UpstreamRequest;
  priority: number;
  seq: number;
  state: GenerationState;
  pieces: string[];
  listeners: Set<(piece: string) => void>;
  holders: number;
  cacheable: boolean;
  controller: AbortController;
  started: Deferred<void>;
  answer: Deferred<Answer>;
}

export const shuttingDown = (): AppError => new AppError(503, 'SHUTTING_DOWN', 'The server is shutting down; the request was not run');

interface CachedAnswer extends Answer {
  v: 1;
}

function parseCached(raw: string): Answer | null {
  try {
    const value = JSON.parse(raw) as Partial<CachedAnswer>;
    if (value.v !== 1 || typeof value.content !== 'string') return null;
    return { content: value.content, finish_reason: value.finish_reason ?? 'stop', prompt_tokens: value.prompt_tokens ?? 0, completion_tokens: value.completion_tokens ?? 0 };
  } catch {
    return null;
  }
}

export class Gateway {
  readonly upstream: Upstream;
  readonly cache: Cache;
  readonly maxConcurrent: number;
  private readonly queueMax: number;
  private readonly ttlSeconds: number;
  private readonly waiting: Flight[] = [];
  private readonly running = new Set<Flight>();
  private readonly inflight = new Map<string, Flight>();
  private readonly cacheWrites = new Set<Promise<void>>();
  private readonly durations = new RecentAverage();
  private seq = 0;
  private accepting = true;
  counters: GatewayCounters = { total_requests: 0, cached_responses: 0, deduplicated_requests: 0, hits: 0, misses: 0 };

  constructor(settings: GatewaySettings) {
    this.upstream = settings.upstream;
    this.cache = settings.cache;
    this.maxConcurrent = settings.maxConcurrent;
    this.queueMax = settings.queueMax;
    this.ttlSeconds = settings.cacheTtlSeconds;
  }

  get queueLength(): number {
    return this.waiting.length;
  }

  get runningCount(): number {
    return this.running.size;
  }

  averageGenerationMs(): number | null {
    return this.durations.value();
  }

  estimatedWait(position: number): number {
    return estimatedWaitMs(position, this.maxConcurrent, this.durations.value());
  }

  resetCounters(): void {
    this.counters = { total_requests: 0, cached_responses: 0, deduplicated_requests: 0, hits: 0, misses: 0 };
  }

  /**
   * Answers from the cache, joins an identical generation in flight, or queues a new one.
   * Throws 429 when the queue is full and 503 while shutting down.
   */
  async start(request: UpstreamRequest, options: StartOptions): Promise<Generation> {
    if (!this.accepting) throw shuttingDown();
    const useCache = options.useCache ?? true;
    const store = options.store ?? useCache;
    const priority = options.priority ?? 0;
    const key = cacheKey(request, options.system);
    this.counters.total_requests++;

    if (useCache) {
      const raw = await this.cache.get(key);
      const hit = raw === null ? null : parseCached(raw);
      if (hit) {
        this.counters.hits++;
        this.counters.cached_responses++;
        return cachedGeneration(request.model, hit);
      }
      this.counters.misses++;
      if (!this.accepting) throw shuttingDown();
    }

    const shared = this.inflight.get(key);
    if (shared) {
      this.counters.deduplicated_requests++;
      if (store) shared.cacheable = true;
      // A more urgent caller moves the shared generation up; it never moves down.
      if (shared.state === 'waiting' && priority > shared.priority) shared.priority = priority;
      return this.hold(shared);
    }

    if (this.waiting.length >= this.queueMax) {
      throw new AppError(429, 'QUEUE_FULL', `The chat queue is full (${this.queueMax} waiting); retry shortly`, undefined, { 'retry-after': '5' });
    }
    const flight: Flight = {
      key,
      request,
      priority,
      seq: ++this.seq,
      state: 'waiting',
      pieces: [],
      listeners: new Set(),
      holders: 0,
      cacheable: store,
      controller: new AbortController(),
      started: deferred<void>(),
      answer: deferred<Answer>(),
    };
    this.inflight.set(key, flight);
    this.waiting.push(flight);
    const generation = this.hold(flight);
    this.pump();
    return generation;
  }

  private hold(flight: Flight): Generation {
    flight.holders++;
    let released = false;
    const own = new Set<(piece: string) => void>();
    return {
      cached: false,
      model: flight.request.model,
      started: flight.started.promise,
      answer: flight.answer.promise,
      follow(onPiece) {
        for (const piece of flight.pieces) onPiece(piece);
        flight.listeners.add(onPiece);
        own.add(onPiece);
        return () => {
          flight.listeners.delete(onPiece);
          own.delete(onPiece);
        };
      },
      state: () => flight.state,
      position: () => (flight.state === 'waiting' ? queuePosition(this.waiting, flight) : 0),
      release: () => {
        if (released) return;
        released = true;
        for (const listener of own) flight.listeners.delete(listener);
        flight.holders--;
        if (flight.holders === 0 && flight.state !== 'done') this.abandon(flight, generationCancelled());
      },
    };
  }

  /** Nobody wants this flight any more (or the server stops): dequeue it or abort its upstream call. */
  private abandon(flight: Flight, reason: AppError): void {
    if (this.inflight.get(flight.key) === flight) this.inflight.delete(flight.key);
    if (flight.state === 'waiting') {
      const index = this.waiting.indexOf(flight);
      if (index !== -1) this.waiting.splice(index, 1);
      flight.state = 'done';
      flight.started.reject(reason);
      flight.answer.reject(reason);
    } else if (flight.state === 'running') {
      flight.controller.abort(reason);
    }
  }

  private pump(): void {
    while (this.running.size < this.maxConcurrent && this.accepting) {
      const index = nextIndex(this.waiting);
      if (index === -1) return;
      const [flight] = this.waiting.splice(index, 1);
      this.run(flight!);
    }
  }

  private run(flight: Flight): void {
    flight.state = 'running';
    this.running.add(flight);
    const startedAt = performance.now();
    this.upstream
      .chat(flight.request, {
        signal: flight.controller.signal,
        onAccepted: () => flight.started.resolve(),
        onPiece: (piece) => {
          flight.pieces.push(piece);
          for (const listener of flight.listeners) listener(piece);
        },
      })
      .then(
        (answer) => {
          flight.state = 'done';
          this.durations.add(performance.now() - startedAt);
          flight.started.resolve();
          flight.answer.resolve(answer);
          if (!flight.cacheable) {
            if (this.inflight.get(flight.key) === flight) this.inflight.delete(flight.key);
            return;
          }
          // Until the answer is in the cache, identical requests still join this finished flight.
          const write = this.cache
            .set(flight.key, JSON.stringify({ v: 1, ...answer } satisfies CachedAnswer), this.ttlSeconds)
            .catch(() => undefined)
            .finally(() => {
              if (this.inflight.get(flight.key) === flight) this.inflight.delete(flight.key);
              this.cacheWrites.delete(write);
            });
          this.cacheWrites.add(write);
        },
        (error: unknown) => {
          flight.state = 'done';
          if (this.inflight.get(flight.key) === flight) this.inflight.delete(flight.key);
          flight.started.reject(error);
          flight.answer.reject(error);
        },
      )
      .finally(() => {
        this.running.delete(flight);
        this.pump();
      });
  }

  /**
   * Stops taking work: waiting generations fail at once with a clear error, running ones get up to
   * `drainMs` to finish and are then aborted.
   */
  async close(drainMs: number): Promise<void> {
    this.accepting = false;
    for (const flight of [...this.waiting]) this.abandon(flight, shuttingDown());
    const running = [...this.running].map((flight) => flight.answer.promise.catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    for (const flight of [...this.running]) this.abandon(flight, new AppError(503, 'SHUTTING_DOWN', 'The server shut down before the answer was finished'));
    await Promise.all([...this.running].map((flight) => flight.answer.promise.catch(() => undefined)));
    await Promise.all([...this.cacheWrites]);
  }
}

/** A cache hit: replayed in word-sized pieces to a follower (split only then: most callers want the whole answer). */
export function cachedGeneration(model: string, answer: Answer): Generation {
  return {
    cached: true,
    model,
    started: Promise.resolve(),
    answer: Promise.resolve(answer),
    follow(onPiece) {
      for (const piece of wordChunks(answer.content)) onPiece(piece);
      return () => undefined;
    },
    state: () => 'done',
    position: () => 0,
    release: () => undefined,
  };
}

/**
 * How other modules find the gateway of their app: the chat plugin records it under the app's HTTP
 * server, which every encapsulated instance of one app shares.
 */
const gateways = new WeakMap<object, Gateway>();

export function attachGateway(server: object, gateway: Gateway): void {
  gateways.set(server, gateway);
}

export function detachGateway(server: object): void {
  gateways.delete(server);
}

export function gatewayOf(server: object): Gateway | undefined {
  return gateways.get(server);
}
