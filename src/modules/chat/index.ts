import type { FastifyInstance } from 'fastify';
import { AppError } from '../../core/http/errors.js';
import type { AppModule } from '../../core/module.js';
import { gatewayOf } from './gateway.js';
import { chatPlugin } from './plugin.js';
import { withSystemPrompt } from './rules.js';
import { blameForModel, generationCancelled, type ChatMessage } from './upstream.js';

export const chatModule: AppModule = { name: 'chat', migrations: [], plugin: chatPlugin };

export type { ChatMessage } from './upstream.js';

export interface CompleteOptions {
  messages: ChatMessage[];
  /** Default: CHAT_MODEL. */
  model?: string;
  /** Put first; default CHAT_SYSTEM_PROMPT unless the messages bring a system message. */
  systemPrompt?: string;
  /** Ask the model for a JSON object (Ollama `format: "json"`, OpenAI `response_format`). */
  format?: 'json';
  priority?: number;
  /** Read and write the response cache (default true). */
  useCache?: boolean;
  /** Skip the cached answer but store the new one (for a cached answer the caller found unusable). */
  refresh?: boolean;
  /** Abort to give up (e.g. the HTTP caller left); the upstream call stops unless another caller shares it. */
  signal?: AbortSignal;
}

export interface Completion {
  content: string;
  cached: boolean;
  model: string;
}

/**
 * One answer from the language model through this app's chat gateway: the same response cache,
 * single-flight dedup and queue (priority, CHAT_MAX_CONCURRENT) as the chat routes.
 *
 * `app` is any Fastify instance of the app (a module's plugin instance will do): the chat plugin
 * records its gateway under the app's HTTP server. Errors are AppErrors: 503 `LLM_UNAVAILABLE` when
 * the upstream cannot be reached or the chat module is not mounted (MODULES without `chat`), 502
 * when it answered with an error or nonsense, 404 `MODEL_NOT_FOUND` when `options.model` names a
 * model the upstream does not have (a missing default CHAT_MODEL is a 502), 429 when the queue is full.
 */
export async function complete(app: FastifyInstance, options: CompleteOptions): Promise<Completion> {
  const gateway = gatewayOf(app.server);
  if (!gateway) throw new AppError(503, 'LLM_UNAVAILABLE', 'The language model is not available: the chat module is not enabled on this server');
  const { messages, system } = withSystemPrompt(options.messages, options.systemPrompt, app.config.chatSystemPrompt);
  const request = { model: options.model ?? app.config.chatModel, messages, ...(options.format ? { format: options.format } : {}) };
  if (options.signal?.aborted) throw generationCancelled();
  const generation = await gateway.start(request, { useCache: !options.refresh && (options.useCache ?? true), store: options.refresh || (options.useCache ?? true), priority: options.priority ?? 0, system });
  const onAbort = () => generation.release();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await generation.answer;
    return { content: answer.content, cached: generation.cached, model: generation.model };
  } catch (error) {
    throw blameForModel(error, options.model !== undefined);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    generation.release();
  }
}
