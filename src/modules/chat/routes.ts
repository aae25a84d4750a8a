import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { now } from '../../core/db/columns.js';
import { AppError, notFound } from '../../core/http/errors.js';
import type { ChatAccess } from './access.js';
import type { Gateway, Generation } from './gateway.js';
import type { JobQueue, JobOutcome } from './jobs.js';
import type { JobPeers, JobStream } from './peers.js';
import { MAX_TOTAL_CHARS, ratio, totalChars, withSystemPrompt, wordChunks } from './rules.js';
import { ActionReply, CacheAction, CacheStats, CancelReply, ChatBody, ChatReply, JobParams, QueueAccepted, QueueBody, QueueQuery, QueueReply, SseBody } from './schema.js';
import { onClientGone, onResponseClosed, openSse, type SseStream } from './sse.js';
import { blameForModel, type ChatMessage, type Upstream, type UpstreamRequest } from './upstream.js';

export interface ChatRouteOptions {
  access: ChatAccess;
  gateway: Gateway;
  jobs: JobQueue;
  /** Jobs held by other processes (WORKERS > 1, or instances sharing Redis). */
  peers: JobPeers;
  upstream: Upstream;
}

const tags = ['chat'];
const PING_TIMEOUT_MS = 1500;
/** An SSE comment while a job waits, so proxies do not close an idle stream. */
const HEARTBEAT_MS = 15_000;
const MB = 1024 * 1024;

/** The message a client sees for a failure inside a stream (our errors carry safe, readable messages). */
export function failureText(error: unknown): string {
  return error instanceof AppError ? error.message : 'The generation failed';
}

/** 400 when the messages together exceed what one request may carry. */
export function checkTotalSize(messages: ChatMessage[], field = 'messages'): void {
  if (totalChars(messages) > MAX_TOTAL_CHARS) {
    throw new AppError(400, 'VALIDATION_FAILED', `Invalid body: ${field} are too long`, [
      { field, message: `all contents together must be at most ${MAX_TOTAL_CHARS} characters` },
    ]);
  }
}

/** Builds the upstream request: model default and system prompt first. */
export function prepareRequest(
  messages: ChatMessage[],
  model: string | undefined,
  systemPrompt: string | undefined,
  config: { chatModel: string; chatSystemPrompt: string | null },
): { request: UpstreamRequest; system: string | null } {
  const withPrompt = withSystemPrompt(messages, systemPrompt, config.chatSystemPrompt);
  return { request: { model: model ?? config.chatModel, messages: withPrompt.messages }, system: withPrompt.system };
}

/** One content event; the pieces of a cache hit are marked `cached: true` (contract). */
export function pieceEvent(content: string, cached: boolean): { content: string; done: false; cached?: true } {
  return cached ? { content, done: false, cached: true } : { content, done: false };
}

/** Streams a generation as the contract's SSE events and ends the response. */
function streamGeneration(sse: SseStream, generation: Generation, requestId: string): void {
  const unfollow = generation.follow((piece) => sse.send(pieceEvent(piece, generation.cached)));
  generation.answer
    .then(
      () => sse.send({ done: true, cached: generation.cached, request_id: requestId }),
      (error: unknown) => sse.send({ done: true, error: failureText(error) }),
    )
    .finally(() => {
      unfollow();
      sse.end();
    });
}

/**
 * A job still under way, here or in another process: a comment at once sends the headers (the client
 * knows its stream is open before any piece), then its pieces, then its outcome. Closing the stream
 * does not cancel the job: it belongs to the queue until DELETE.
 */
function streamLiveJob(
  sse: SseStream,
  requestId: string,
  job: JobStream,
  onClose: (listener: () => void) => void,
): void {
  sse.raw(': connected\n\n');
  const heartbeat = setInterval(() => sse.raw(': waiting\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const unfollow = job.follow(
    (piece) => sse.send(pieceEvent(piece, job.cached)),
    (outcome) => {
      clearInterval(heartbeat);
      sse.send(outcome.ok ? { done: true, cached: outcome.cached, request_id: requestId } : { done: true, error: outcome.error });
      sse.end();
    },
  );
  onClose(() => {
    clearInterval(heartbeat);
    unfollow();
  });
}

function replayOutcome(sse: SseStream, outcome: JobOutcome, requestId: string): void {
  if (outcome.ok) {
    for (const piece of wordChunks(outcome.content)) sse.send(pieceEvent(piece, outcome.cached));
    sse.send({ done: true, cached: outcome.cached, request_id: requestId });
  } else {
    sse.send({ done: true, error: outcome.error });
  }
  sse.end();
}

export async function chatRoutes(fastify: FastifyInstance, options: ChatRouteOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { access, gateway, jobs, peers, upstream } = options;
  const { config } = app;

  app.post(
    '/api/chat-optimized',
    {
      onRequest: [access.guard, access.generationLimit],
      schema: {
        tags,
        summary: 'Chat through the gateway (cache, dedup, queue); SSE unless stream is false',
        body: ChatBody,
        response: { 200: { content: { 'application/json': { schema: ChatReply }, 'text/event-stream': { schema: SseBody } } } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkTotalSize(body.messages);
      const { request: upstreamRequest, system } = prepareRequest(body.messages, body.model, body.system_prompt, config);
      const generation = await gateway.start(upstreamRequest, { useCache: body.use_cache ?? true, priority: body.priority ?? 0, system });
      // A caller that leaves stops the generation, unless another caller shares it.
      onClientGone(reply, () => generation.release());

      if (body.stream === false) {
        try {
          const answer = await generation.answer;
          return reply.type('application/json; charset=utf-8').send({ message: { role: 'assistant', content: answer.content }, cached: generation.cached, model: generation.model });
        } catch (error) {
          throw blameForModel(error, body.model !== undefined);
        } finally {
          generation.release();
        }
      }
      try {
        await generation.started; // failures before the first byte are plain JSON errors (503, 502, 404)
      } catch (error) {
        generation.release();
        throw blameForModel(error, body.model !== undefined);
      }
      streamGeneration(openSse(reply), generation, request.id);
      return reply;
    },
  );

  app.post(
    '/api/chat-queue',
    {
      onRequest: [access.guard, access.generationLimit],
      schema: { tags, summary: 'Queue a chat request; poll or stream it by request_id', body: QueueBody, response: { 202: QueueAccepted } },
    },
    async (request, reply) => {
      const body = request.body;
      checkTotalSize(body.messages);
      const { request: upstreamRequest, system } = prepareRequest(body.messages, body.model, body.system_prompt, config);
      const job = await jobs.submit(access.ownerOf(request), upstreamRequest, { priority: body.priority ?? 0, system });
      return reply.code(202).send({ request_id: job.id, status: job.status });
    },
  );

  app.get(
    '/api/chat-queue',
    {
      onRequest: access.guard,
      schema: { tags, summary: 'A queued request (requestId), or the queue overview', querystring: QueueQuery, response: { 200: QueueReply } },
    },
    async (request) => {
      const id = request.query.requestId;
      if (id === undefined) return { queue_length: gateway.queueLength, is_processing: gateway.runningCount > 0, max_concurrent: gateway.maxConcurrent };
      const view = await peers.view(access.ownerOf(request), id);
      if (!view) throw notFound('Chat request');
      return view;
    },
  );

  app.delete(
    '/api/chat-queue',
    {
      onRequest: access.guard,
      schema: { tags, summary: 'Cancel a queued or running request', querystring: QueueQuery, response: { 200: CancelReply } },
    },
    async (request) => {
      const id = request.query.requestId;
      if (id === undefined) {
        throw new AppError(400, 'VALIDATION_FAILED', 'Invalid querystring: requestId is required', [{ field: 'requestId', message: 'is required' }]);
      }
      const cancelled = await peers.cancel(access.ownerOf(request), id);
      if (cancelled === null) throw notFound('Chat request');
      return { request_id: id, cancelled };
    },
  );

  app.get(
    '/api/chat-queue/:request_id/stream',
    {
      onRequest: access.guard,
      schema: {
        tags,
        summary: "SSE of a queued request's answer (what is generated so far, then live)",
        params: JobParams,
        response: { 200: { content: { 'text/event-stream': { schema: SseBody } } } },
      },
    },
    async (request, reply) => {
      const owner = access.ownerOf(request);
      const id = request.params.request_id;
      const job = jobs.liveJob(owner, id);
      // Asking other processes takes a moment: a client that left meanwhile has already closed.
      const onClose = (listener: () => void) => onResponseClosed(reply, listener);
      if (job && !job.outcome) {
        const { generation, settled } = job;
        streamLiveJob(
          openSse(reply),
          id,
          {
            cached: generation.cached,
            follow(onPiece, onDone) {
              const unfollow = generation.follow(onPiece);
              void settled.then((outcome) => {
                unfollow();
                onDone(outcome);
              });
              return unfollow;
            },
          },
          onClose,
        );
        return reply;
      }
      const outcome = job?.outcome ?? (await jobs.storedOutcome(owner, id));
      if (outcome) {
        replayOutcome(openSse(reply), outcome, id);
        return reply;
      }
      const remote = await peers.watch(owner, id);
      if (!remote) throw notFound('Chat request');
      if ('outcome' in remote) {
        replayOutcome(openSse(reply), remote.outcome, id);
        return reply;
      }
      streamLiveJob(openSse(reply), id, remote.stream, onClose);
      return reply;
    },
  );

  app.get(
    '/api/cache-stats',
    { onRequest: access.guard, schema: { tags, summary: 'Response cache, dedup and queue counters', response: { 200: CacheStats } } },
    async () => {
      const [stats, reachable] = await Promise.all([gateway.cache.stats(), upstream.ping(PING_TIMEOUT_MS)]);
      const { hits, misses, total_requests, cached_responses, deduplicated_requests } = gateway.counters;
      return {
        timestamp: now(),
        response_cache: {
          total_entries: stats.entries,
          total_size_mb: Math.round((stats.bytes / MB) * 10_000) / 10_000,
          max_size_mb: config.cacheMaxSizeMb,
          hits,
          misses,
          hit_rate: ratio(hits, hits + misses),
          miss_rate: ratio(misses, hits + misses),
          memory_usage_percent: Math.round((stats.bytes / stats.max_bytes) * 10_000) / 100,
        },
        batch_processor: {
          total_requests,
          cached_responses,
          deduplicated_requests,
          cache_hit_rate: ratio(cached_responses, total_requests),
          deduplication_rate: ratio(deduplicated_requests, total_requests),
        },
        queue_length: gateway.queueLength,
        is_processing: gateway.runningCount > 0,
        upstream: { url: upstream.url, model: config.chatModel, reachable },
      };
    },
  );

  app.post(
    '/api/cache-stats',
    { onRequest: app.requireAdmin, schema: { tags, summary: 'Cache administration (admins): clear, clear_response_cache, warm_model', body: CacheAction, response: { 200: ActionReply } } },
    async (request) => {
      const { action, data } = request.body;
      if (action === 'warm_model') {
        const model = data?.model ?? config.chatModel;
        await upstream.warm(model).catch((error: unknown) => {
          throw blameForModel(error, data?.model !== undefined);
        });
        return { success: true, message: `Model ${model} is loaded and kept for ${config.ollamaKeepAlive}` };
      }
      await gateway.cache.clear();
      if (action === 'clear') {
        gateway.resetCounters();
        return { success: true, message: 'Response cache cleared and counters reset' };
      }
      return { success: true, message: 'Response cache cleared' };
    },
  );
}
