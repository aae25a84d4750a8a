import { randomUUID } from 'node:crypto';
import type { Cache } from '../../core/cache/cache.js';
import type { Gateway, Generation, StartOptions } from './gateway.js';
import type { UpstreamRequest } from './upstream.js';

/**
 * Jobs of `/api/chat-queue`: a generation owned by one caller, polled or streamed by its id.
 * Live jobs are kept in this process; finished ones go to the results cache (Redis when configured,
 * so any instance can answer the poll) for `CHAT_RESULT_TTL_SECONDS`.
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

export const CANCELLED_MESSAGE = 'Cancelled by the user';

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'The generation failed';
}

export class JobQueue {
  private readonly live = new Map<string, Job & { settle(outcome: JobOutcome): void }>();
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly gateway: Gateway,
    private readonly results: Cache,
    private readonly resultTtlSeconds: number,
  ) {}

  async submit(owner: string, request: UpstreamRequest, options: StartOptions): Promise<{ id: string; status: JobStatus }> {
    const generation = await this.gateway.start(request, options);
    const id = randomUUID(); // random, not time-ordered: the id is unguessable
    let settle!: (outcome: JobOutcome) => void;
    const settled = new Promise<JobOutcome>((resolve) => (settle = resolve));
    const job = { id, owner, generation, outcome: null as JobOutcome | null, settled, settle };
    this.live.set(id, job);
    generation.answer.then(
      (answer) => this.finish(job, { ok: true, content: answer.content, cached: generation.cached }),
      (error: unknown) => this.finish(job, { ok: false, error: describe(error) }),
    );
    return { id, status: this.status(job) };
  }

  private finish(job: Job & { settle(outcome: JobOutcome): void }, outcome: JobOutcome): void {
    if (job.outcome) return; // cancelled first
    job.outcome = outcome;
    job.settle(outcome);
    const write = this.results
      .set(job.id, JSON.stringify({ owner: job.owner, outcome } satisfies StoredResult), this.resultTtlSeconds)
      .catch(() => undefined)
      .finally(() => {
        this.live.delete(job.id);
        this.writes.delete(write);
      });
    this.writes.add(write);
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

  /** A finished job's outcome from the results cache, if it is the caller's. */
  async storedOutcome(owner: string, id: string): Promise<JobOutcome | null> {
    const raw = await this.results.get(id);
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

  /** Waits until every finished job's result is stored (used on shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
  }
}
