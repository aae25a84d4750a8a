import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Cache } from '../../core/cache/cache.js';
import { AppError } from '../../core/http/errors.js';
import type { Gateway, Generation, StartOptions } from './gateway.js';
import type { UpstreamRequest } from './upstream.js';

/**
 * Jobs of `/api/chat-queue`: a generation owned by one caller, polled or streamed by its id.
 * Live jobs are kept in this process; finished ones go to the results cache (Redis when configured,
 * so any instance can answer the poll) for `CHAT_RESULT_TTL_SECONDS`.
 *
 * A result the results cache does not take (Redis down, or a full memory budget) is never dropped:
 * it stays in this process, answers polls and streams from here, and its write is retried until it
 * succeeds or the result's TTL has passed. While such held results reach `holdLimitBytes`, new jobs
 * are refused with the cache's 503, so an outage cannot grow this process without bound.
 */

export interface JobStatus {
  queue_position: number;
  queue_length: number;
  estimated_wait_time: number;
  is_processing: boolean;
}

export type JobOutcome = { ok: true; content: string; cached: boolean } | { ok: false; error: string };

export type JobView =
  | { request_id: string; completed: false; status: JobStatus }
  | { request_id: string; completed: true; result: { message: { role: 'assistant'; content: string } }; cached: boolean }
  | { request_id: string; completed: true; error: string };

interface StoredResult {
  owner: string;
  outcome: JobOutcome;
}

export interface Job {
  id: string;
  owner: string;
  generation: Generation;
  outcome: JobOutcome | null;
  /** Resolves with the outcome once the job is answered, failed or cancelled. */
  settled: Promise<JobOutcome>;
}

interface LiveJob extends Job {
  settle(outcome: JobOutcome): void;
  /** When the finished result may be forgotten (ms since the epoch). */
  expiresAt: number;
  /** The stored form of the result, once finished. */
  payload: string | null;
  writing: boolean;
}

export interface JobQueueSettings {
  resultTtlSeconds: number;
  log: FastifyBaseLogger;
  /** Bytes of results the cache would not take that this process may hold before refusing new jobs. */
  holdLimitBytes: number;
  /** How often held results are offered to the cache again. */
  retryMs?: number;
}

const DEFAULT_RETRY_MS = 1000;

export const CANCELLED_MESSAGE = 'Cancelled by the user';

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'The generation failed';
}

export class JobQueue {
  private readonly live = new Map<string, LiveJob>();
  private readonly writes = new Set<Promise<void>>();
  /** Finished jobs whose result the cache has not taken yet, and their bytes. */
  private readonly held = new Set<LiveJob>();
  private heldBytes = 0;
  private lastWriteError: unknown = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly resultTtlSeconds: number;
  private readonly log: FastifyBaseLogger;
  private readonly holdLimitBytes: number;
  private readonly retryMs: number;

  constructor(
    private readonly gateway: Gateway,
    private readonly results: Cache,
    settings: JobQueueSettings,
  ) {
    this.resultTtlSeconds = settings.resultTtlSeconds;
    this.log = settings.log;
    this.holdLimitBytes = settings.holdLimitBytes;
    this.retryMs = settings.retryMs ?? DEFAULT_RETRY_MS;
  }

  async submit(owner: string, request: UpstreamRequest, options: StartOptions): Promise<{ id: string; status: JobStatus }> {
    if (this.held.size > 0 && this.heldBytes >= this.holdLimitBytes) {
      throw this.lastWriteError instanceof AppError
        ? this.lastWriteError
        : new AppError(503, 'CACHE_UNAVAILABLE', 'Finished results cannot be stored at the moment; try again shortly', undefined, { 'retry-after': '5' });
    }
    const generation = await this.gateway.start(request, options);
    const id = randomUUID(); // random, not time-ordered: the id is unguessable
    let settle!: (outcome: JobOutcome) => void;
    const settled = new Promise<JobOutcome>((resolve) => (settle = resolve));
    const job: LiveJob = { id, owner, generation, outcome: null, settled, settle, expiresAt: 0, payload: null, writing: false };
    this.live.set(id, job);
    generation.answer.then(
      (answer) => this.finish(job, { ok: true, content: answer.content, cached: generation.cached }),
      (error: unknown) => this.finish(job, { ok: false, error: describe(error) }),
    );
    return { id, status: this.status(job) };
  }

  private finish(job: LiveJob, outcome: JobOutcome): void {
    if (job.outcome) return; // cancelled first
    job.outcome = outcome;
    job.settle(outcome);
    job.expiresAt = Date.now() + this.resultTtlSeconds * 1000;
    job.payload = JSON.stringify({ owner: job.owner, outcome } satisfies StoredResult);
    this.store(job);
  }

  /** Writes a finished result to the cache; the job leaves this process only once it is stored (or expired). */
  private store(job: LiveJob): Promise<void> {
    if (job.writing || job.payload === null) return Promise.resolve();
    const remainingMs = job.expiresAt - Date.now();
    if (remainingMs <= 0) {
      if (this.held.has(job)) this.log.warn({ request_id: job.id }, 'chat job results: a held result reached its TTL before the results cache took it');
      this.forget(job);
      return Promise.resolve();
    }
    job.writing = true;
    const write = this.results.set(job.id, job.payload, remainingMs / 1000).then(
      () => {
        job.writing = false;
        this.forget(job);
      },
      (error: unknown) => {
        job.writing = false;
        this.hold(job, error);
      },
    );
    const tracked = write.finally(() => this.writes.delete(tracked));
    this.writes.add(tracked);
    return tracked;
  }

  private hold(job: LiveJob, error: unknown): void {
    if (!this.held.has(job)) {
      this.held.add(job);
      this.heldBytes += Buffer.byteLength(job.payload ?? '');
    }
    if (this.lastWriteError === null) {
      this.log.warn(
        { code: error instanceof AppError ? error.code : undefined, held: this.held.size },
        'chat job results: the results cache did not take a finished result; it is kept in this process and retried',
      );
    }
    this.lastWriteError = error;
    if (!this.retryTimer) {
      this.retryTimer = setInterval(() => void this.retryHeld(), this.retryMs);
      this.retryTimer.unref();
    }
  }

  /** The job's result is in the cache or past its TTL: this process lets go of it. */
  private forget(job: LiveJob): void {
    this.live.delete(job.id);
    if (!this.held.delete(job)) return;
    this.heldBytes -= Buffer.byteLength(job.payload ?? '');
    if (this.held.size > 0) return;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.lastWriteError = null;
    this.log.info('chat job results: no finished result is held in this process any more');
  }

  /** Offers the oldest held result again; once one is taken, the rest follow. */
  private async retryHeld(): Promise<void> {
    const [first] = this.held;
    if (!first || first.writing) return;
    await this.store(first);
    if (this.held.has(first)) return;
    await Promise.all([...this.held].map((job) => this.store(job)));
  }

  private status(job: Job): JobStatus {
    const state = job.generation.state();
    const position = job.generation.position();
    return {
      queue_position: position,
      queue_length: this.gateway.queueLength,
      estimated_wait_time: state === 'waiting' ? this.gateway.estimatedWait(position) : 0,
      is_processing: state === 'running',
    };
  }

  /** The caller's own live job, or undefined (someone else's job is as good as missing). */
  liveJob(owner: string, id: string): Job | undefined {
    const job = this.live.get(id);
    return job && job.owner === owner ? job : undefined;
  }

  /**
   * A finished job's outcome from the results cache, if it is the caller's. Throws 503
   * CACHE_UNAVAILABLE when the cache cannot be read: "unknown" would not be the truth.
   */
  async storedOutcome(owner: string, id: string): Promise<JobOutcome | null> {
    const raw = await this.results.read(id);
    if (raw === null) return null;
    try {
      const stored = JSON.parse(raw) as StoredResult;
      return stored.owner === owner ? stored.outcome : null;
    } catch {
      return null;
    }
  }

  async view(owner: string, id: string): Promise<JobView | null> {
    const job = this.liveJob(owner, id);
    if (job && !job.outcome) return { request_id: id, completed: false, status: this.status(job) };
    const outcome = job?.outcome ?? (await this.storedOutcome(owner, id));
    if (!outcome) return null;
    return outcome.ok
      ? { request_id: id, completed: true, result: { message: { role: 'assistant', content: outcome.content } }, cached: outcome.cached }
      : { request_id: id, completed: true, error: outcome.error };
  }

  /** Cancels a queued or running job; null when the caller has no such job, false when it had already finished. */
  async cancel(owner: string, id: string): Promise<boolean | null> {
    const job = this.live.get(id);
    if (job && job.owner === owner) {
      if (job.outcome) return false;
      this.finish(job, { ok: false, error: CANCELLED_MESSAGE });
      // Dequeues it, or aborts the upstream call, unless an identical request still shares it.
      job.generation.release();
      return true;
    }
    return (await this.storedOutcome(owner, id)) ? false : null;
  }

  /**
   * On shutdown: waits for the writes under way, offers every held result once more, and says how
   * many could not be stored (they end with this process).
   */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
    await Promise.all([...this.held].map((job) => this.store(job)));
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    if (this.held.size > 0) {
      this.log.error({ lost: this.held.size }, 'chat job results: the results cache did not take these finished results before shutdown; they are lost');
    }
  }
}
