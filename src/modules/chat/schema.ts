import { Type, type Static } from 'typebox';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES, MAX_SYSTEM_PROMPT_CHARS } from './rules.js';

export const ModelName = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$' });
export const Priority = Type.Integer({ minimum: -100, maximum: 100, default: 0, description: 'Higher runs first; equal priorities run in arrival order' });

export const ChatMessage = Type.Object(
  {
    role: Type.Enum(['system', 'user', 'assistant']),
    content: Type.String({ maxLength: MAX_MESSAGE_CHARS }),
  },
  { additionalProperties: false },
);

const Messages = Type.Array(ChatMessage, { minItems: 1, maxItems: MAX_MESSAGES });

export const ChatBody = Type.Object(
  {
    messages: Messages,
    model: Type.Optional(ModelName),
    system_prompt: Type.Optional(Type.String({ maxLength: MAX_SYSTEM_PROMPT_CHARS })),
    stream: Type.Optional(Type.Boolean({ default: true })),
    use_cache: Type.Optional(Type.Boolean({ default: true })),
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);
export type ChatBody = Static<typeof ChatBody>;

export const ChatReply = Type.Object({
  message: Type.Object({ role: Type.Literal('assistant'), content: Type.String() }),
  cached: Type.Boolean(),
  model: Type.String(),
});

export const SseBody = Type.String({
  description:
    'Server-sent events: `data: {"content", "done": false}` pieces (a cache hit\'s pieces add `"cached": true`), then `data: {"done": true, "cached", "request_id"}` or `data: {"done": true, "error"}`',
});

export const QueueBody = Type.Object(
  {
    messages: Messages,
    model: Type.Optional(ModelName),
    system_prompt: Type.Optional(Type.String({ maxLength: MAX_SYSTEM_PROMPT_CHARS })),
    priority: Type.Optional(Priority),
  },
  { additionalProperties: false },
);
export type QueueBody = Static<typeof QueueBody>;

export const JobStatus = Type.Object({
  queue_position: Type.Integer({ description: '1-based while waiting; 0 while running' }),
  queue_length: Type.Integer(),
  estimated_wait_time: Type.Integer({ description: 'Milliseconds, from the measured average generation time' }),
  is_processing: Type.Boolean(),
});

export const QueueAccepted = Type.Object({ request_id: Type.String(), status: JobStatus });

export const QueueQuery = Type.Object({ requestId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) });

/**
 * One schema for the three answers of GET /api/chat-queue (fields absent when they do not apply):
 * a job waiting or running, a finished or failed job, or (without requestId) the queue overview.
 */
export const QueueReply = Type.Object({
  request_id: Type.Optional(Type.String()),
  completed: Type.Optional(Type.Boolean()),
  status: Type.Optional(JobStatus),
  result: Type.Optional(Type.Object({ message: Type.Object({ role: Type.Literal('assistant'), content: Type.String() }) })),
  cached: Type.Optional(Type.Boolean()),
  error: Type.Optional(Type.String()),
  queue_length: Type.Optional(Type.Integer()),
  is_processing: Type.Optional(Type.Boolean()),
  max_concurrent: Type.Optional(Type.Integer()),
});

export const CancelReply = Type.Object({ request_id: Type.String(), cancelled: Type.Boolean() });

export const JobParams = Type.Object({ request_id: Type.String({ minLength: 1, maxLength: 100 }) });

export const CacheStats = Type.Object({
  timestamp: Type.String(),
  response_cache: Type.Object({
    total_entries: Type.Integer(),
    total_size_mb: Type.Number(),
    max_size_mb: Type.Number(),
    hits: Type.Integer(),
    misses: Type.Integer(),
    hit_rate: Type.Number({ description: 'Fraction 0..1' }),
    miss_rate: Type.Number({ description: 'Fraction 0..1' }),
    memory_usage_percent: Type.Number(),
  }),
  batch_processor: Type.Object({
    total_requests: Type.Integer(),
    cached_responses: Type.Integer(),
    deduplicated_requests: Type.Integer(),
    cache_hit_rate: Type.Number({ description: 'Fraction 0..1' }),
    deduplication_rate: Type.Number({ description: 'Fraction 0..1' }),
  }),
  queue_length: Type.Integer(),
  is_processing: Type.Boolean(),
  upstream: Type.Object({ url: Type.String(), model: Type.String(), reachable: Type.Boolean() }),
});

export const CacheAction = Type.Object(
  {
    action: Type.Enum(['clear', 'clear_response_cache', 'warm_model']),
    data: Type.Optional(Type.Object({ model: Type.Optional(ModelName) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type CacheAction = Static<typeof CacheAction>;

export const ActionReply = Type.Object({ success: Type.Boolean(), message: Type.String() });
