import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '../../core/bus/bus.js';
import type { JobOutcome, JobQueue, JobView } from './jobs.js';

/**
 * A queued job lives in the process that took it. With WORKERS > 1, or several instances sharing
 * Redis, the poll, the cancel or the stream of a job often reaches another process, which then asks
 * the others over the bus: whichever holds the job answers (polls and cancels once; a stream with the
 * pieces as they come). Without it such a request was a 404 for a job that existed.
 *
 * The bus delivers at most once, so every question has a deadline, and pieces are numbered: a stream
 * that misses one, or stops hearing from the job's process, ends with an error event rather than
 * with a wrong or truncated answer.
 */

const ASK_CHANNEL = 'chat-jobs:ask';
const replyChannel = (home: string) => `chat-jobs:reply:${home}`;
/** How long a process waits for the one holding a job to answer before calling the job unknown. */
export const ASK_TIMEOUT_MS = 1000;
/** A process forwarding a job's stream says it is still there this often, pieces or not. */
const ALIVE_EVERY_MS = 10_000;
/** A forwarded stream that hears nothing for this long has lost the job's process. */
const SILENCE_LIMIT_MS = 3 * ALIVE_EVERY_MS;

type Question = { op: 'view' | 'cancel' | 'watch'; id: string; owner: string } | { op: 'unwatch' };
type Asked = Question & { from: string; nonce: string };

/** `done` after `open` says how many pieces were sent, so a lost last piece is seen too. */
type StreamEvent = { kind: 'piece'; seq: number; piece: string } | { kind: 'alive' } | { kind: 'done'; outcome: JobOutcome; pieces?: number };
type Answer = { kind: 'view'; view: JobView } | { kind: 'cancel'; cancelled: boolean } | { kind: 'open'; cached: boolean } | StreamEvent;
/** `by` names the answering process: a stream takes its events from the process that opened it only. */
type Answered = Answer & { nonce: string; by: string };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isAsked = (value: unknown): value is Asked =>
  isObject(value) &&
  typeof value.from === 'string' &&
  typeof value.nonce === 'string' &&
  (value.op === 'unwatch' || ((value.op === 'view' || value.op === 'cancel' || value.op === 'watch') && typeof value.id === 'string' && typeof value.owner === 'string'));
const isOutcome = (value: unknown): value is JobOutcome =>
  isObject(value) && (value.ok === true ? typeof value.content === 'string' && typeof value.cached === 'boolean' : value.ok === false && typeof value.error === 'string');
const isAnswerBody = (value: Record<string, unknown>): boolean => {
  switch (value.kind) {
    case 'view':
      return isObject(value.view) && typeof value.view.request_id === 'string';
    case 'cancel':
      return typeof value.cancelled === 'boolean';
    case 'open':
      return typeof value.cached === 'boolean';
    case 'piece':
      return Number.isInteger(value.seq) && typeof value.piece === 'string';
    case 'alive':
      return true;
    case 'done':
      return isOutcome(value.outcome) && (value.pieces === undefined || Number.isInteger(value.pieces));
    default:
      return false;
  }
};
// Checked in full: a malformed message (another version of this server, a stray publisher) is dropped here, not thrown inside the bus.
const isAnswered = (value: unknown): value is Answered => isObject(value) && typeof value.nonce === 'string' && typeof value.by === 'string' && isAnswerBody(value);

const LOST = 'Part of this stream was lost between processes; poll the request for its full result';
const SILENT = 'The process running this request stopped answering; poll it for its result';
const CLOSING = 'This server is shutting down; poll the request for its result';

/** A running job followed piece by piece: one this process runs, or one another process runs and forwards. */
export interface JobStream {
  cached: boolean;
  /**
   * Pieces in order from the first, then the outcome; an error outcome if any piece was lost or the
   * job's process went silent. Returns the function to call when this side no longer wants the stream.
   */
  follow(onPiece: (piece: string) => void, onDone: (outcome: JobOutcome) => void): () => void;
}

export class JobPeers {
  private readonly home = randomBytes(8).toString('hex');
  /** Questions this process asked, by nonce: the handler of their answers. */
  private readonly asked = new Map<string, (answer: Answered) => void>();
  /** Streams this process follows from others: how to end each when this server shuts down. */
  private readonly following = new Set<(outcome: JobOutcome) => void>();
  /** Streams this process forwards for others, by asker and nonce: how to stop each. */
  private readonly forwarding = new Map<string, () => void>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly jobs: JobQueue,
    private readonly bus: Bus,
    private readonly log: FastifyBaseLogger,
  ) {
    if (!bus.spansProcesses) return;
    this.unsubscribe.push(
      bus.subscribe(ASK_CHANNEL, (message) => {
        if (isAsked(message) && message.from !== this.home) void this.answer(message);
      }),
      bus.subscribe(replyChannel(this.home), (message) => {
        if (!isAnswered(message)) return;
        const handler = this.asked.get(message.nonce);
        if (handler) handler(message);
        // A stream nobody here follows any longer (opened after the question timed out, or its
        // unwatch was lost): tell its process to stop, at its opening and at each keep-alive.
        else if (message.kind === 'open' || message.kind === 'alive') void this.publish(ASK_CHANNEL, { op: 'unwatch', from: this.home, nonce: message.nonce } satisfies Asked);
      }),
    );
  }

  /** The caller's job, held here or by another process; null when no process has it. */
  async view(owner: string, id: string): Promise<JobView | null> {
    const local = await this.jobs.view(owner, id);
    if (local || !this.bus.spansProcesses) return local;
    const answer = await this.ask({ op: 'view', id, owner });
    return answer?.kind === 'view' ? answer.view : null;
  }

  /** As `JobQueue.cancel`, for a job held here or by another process. */
  async cancel(owner: string, id: string): Promise<boolean | null> {
    const local = await this.jobs.cancel(owner, id);
    if (local !== null || !this.bus.spansProcesses) return local;
    const answer = await this.ask({ op: 'cancel', id, owner });
    return answer?.kind === 'cancel' ? answer.cancelled : null;
  }

  /**
   * Another process's job: its outcome when finished, a stream of it while it runs, or null when no
   * process has it. Call only for a job this process does not hold.
   */
  async watch(owner: string, id: string): Promise<{ outcome: JobOutcome } | { stream: JobStream } | null> {
    if (!this.bus.spansProcesses) return null;
    const nonce = randomUUID();
    const early: Answered[] = [];
    let deliver = (event: Answered) => void early.push(event);
    const first = await this.ask({ op: 'watch', id, owner }, nonce, (answer) => deliver(answer));
    if (first?.kind === 'done') {
      this.asked.delete(nonce);
      return { outcome: first.outcome };
    }
    if (first?.kind === 'piece' || first?.kind === 'alive') {
      // The job exists, but its stream's opening was lost.
      this.asked.delete(nonce);
      void this.publish(ASK_CHANNEL, { op: 'unwatch', from: this.home, nonce } satisfies Asked);
      return { outcome: { ok: false, error: LOST } };
    }
    if (first?.kind !== 'open') {
      this.asked.delete(nonce);
      return null;
    }
    const source = first.by;
    let silence: NodeJS.Timeout | undefined;
    let ended: ((outcome: JobOutcome) => void) | undefined;
    /** Ends the stream here; `tell` asks the job's process to stop forwarding (it stops by itself once the job is done). */
    const finish = (tell: boolean) => {
      clearTimeout(silence);
      deliver = () => undefined;
      if (ended) this.following.delete(ended);
      if (this.asked.delete(nonce) && tell) void this.publish(ASK_CHANNEL, { op: 'unwatch', from: this.home, nonce } satisfies Asked);
    };
    return {
      stream: {
        cached: first.cached,
        follow: (onPiece, onDone) => {
          let next = 0;
          const end = (outcome: JobOutcome, finished: boolean) => {
            finish(!finished);
            onDone(outcome);
          };
          ended = (outcome) => end(outcome, false);
          this.following.add(ended);
          const listen = () => {
            clearTimeout(silence);
            silence = setTimeout(() => end({ ok: false, error: SILENT }, false), SILENCE_LIMIT_MS);
            silence.unref();
          };
          deliver = (event) => {
            // Another process may also have answered (one that found the result already stored): the stream is the opener's.
            if (event.by !== source) return;
            listen();
            if (event.kind === 'done') end(event.pieces === next ? event.outcome : { ok: false, error: LOST }, true);
            else if (event.kind === 'piece') {
              if (event.seq !== next) end({ ok: false, error: LOST }, false);
              else {
                next++;
                onPiece(event.piece);
              }
            }
          };
          listen();
          for (const event of early.splice(0)) deliver(event);
          return () => finish(true);
        },
      },
    };
  }

  /** Ends the streams this process follows from others (this server is shutting down; the jobs go on where they run). */
  endFollowing(): void {
    for (const end of [...this.following]) end({ ok: false, error: CLOSING });
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    for (const stop of this.forwarding.values()) stop();
    this.forwarding.clear();
  }

  /**
   * Publishes a question and resolves with the first answer, or null after ASK_TIMEOUT_MS. With
   * `onLater`, the question stays open after its first answer (a stream) until its nonce is removed.
   */
  private ask(question: Question, nonce: string = randomUUID(), onLater?: (answer: Answered) => void): Promise<Answered | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.asked.delete(nonce);
        resolve(null);
      }, ASK_TIMEOUT_MS);
      this.asked.set(nonce, (answer) => {
        clearTimeout(timer);
        if (onLater) this.asked.set(nonce, onLater);
        else this.asked.delete(nonce);
        resolve(answer);
      });
      void this.publish(ASK_CHANNEL, { ...question, from: this.home, nonce } satisfies Asked);
    });
  }

  private async publish(channel: string, message: Asked | Answered): Promise<void> {
    await this.bus.publish(channel, message).catch((error: Error) => this.log.warn({ err: error.message, channel }, 'chat jobs: a message to other processes was not sent'));
  }

  /** Answers a question if this process holds the job; stays silent otherwise (another may hold it). */
  private async answer(question: Asked): Promise<void> {
    const reply = (answer: Answer) => this.publish(replyChannel(question.from), { ...answer, nonce: question.nonce, by: this.home });
    const key = `${question.from}:${question.nonce}`;
    try {
      switch (question.op) {
        case 'unwatch':
          this.forwarding.get(key)?.();
          return;
        case 'view': {
          const view = await this.jobs.view(question.owner, question.id);
          if (view) await reply({ kind: 'view', view });
          return;
        }
        case 'cancel': {
          const cancelled = await this.jobs.cancel(question.owner, question.id);
          if (cancelled !== null) await reply({ kind: 'cancel', cancelled });
          return;
        }
        case 'watch': {
          const job = this.jobs.liveJob(question.owner, question.id);
          if (job && !job.outcome) {
            // Registered before the first await, so an unwatch arriving while `open` is sent is not missed.
            let unfollow = (): void => undefined;
            const alive = setInterval(() => void reply({ kind: 'alive' }), ALIVE_EVERY_MS);
            alive.unref();
            const stop = () => {
              clearInterval(alive);
              unfollow();
              this.forwarding.delete(key);
            };
            this.forwarding.set(key, stop);
            await reply({ kind: 'open', cached: job.generation.cached });
            if (!this.forwarding.has(key)) return;
            let seq = 0;
            // Replays the pieces so far, then follows: none is missed between `open` and here.
            unfollow = job.generation.follow((piece) => void reply({ kind: 'piece', seq: seq++, piece }));
            void job.settled.then((outcome) => {
              if (!this.forwarding.has(key)) return;
              stop();
              void reply({ kind: 'done', outcome, pieces: seq });
            });
            return;
          }
          const outcome = job?.outcome ?? (await this.jobs.storedOutcome(question.owner, question.id));
          if (outcome) await reply({ kind: 'done', outcome });
          return;
        }
      }
    } catch (error) {
      // The results cache could not be read here: another process may still answer.
      this.log.warn({ err: (error as Error).message, op: question.op }, 'chat jobs: could not answer another process about a job');
    }
  }
}
