import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { toAppError } from '../../core/http/error-handler.js';
import { AppError } from '../../core/http/errors.js';
import { Nullable } from '../../core/http/schemas.js';
import type { ChatAccess } from './access.js';
import type { Gateway } from './gateway.js';
import { MAX_MESSAGE_CHARS, MAX_MESSAGES } from './rules.js';
import { checkTotalSize, failureText, prepareRequest } from './routes.js';
import { ModelName } from './schema.js';
import { onClientGone, openSse } from './sse.js';
import { blameForModel, type ChatMessage, type GenerationOptions, type Upstream } from './upstream.js';

/**
 * The OpenAI-compatible front door: any OpenAI client library can use the gateway (base URL
 * `<server>/v1`, the access token as API key). Same cache, dedup, queue and limits as the native routes.
 */

const tags = ['chat (OpenAI-compatible)'];

const TextPart = Type.Object({ type: Type.Literal('text'), text: Type.String({ maxLength: MAX_MESSAGE_CHARS }) }, { additionalProperties: false });
const OpenAiMessage = Type.Object(
  {
    // `developer` is OpenAI's newer name for `system`.
    role: Type.Enum(['system', 'developer', 'user', 'assistant']),
    content: Type.Union([Type.String({ maxLength: MAX_MESSAGE_CHARS }), Type.Array(TextPart, { maxItems: 100 })]),
    name: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);

// OpenAI's request schema marks these settings nullable, and its client libraries send `null` for a
// setting passed as None/null: `null` is accepted and means "not given", as OpenAI reads it.
const CompletionBody = Type.Object(
  {
    model: Type.Optional(ModelName),
    messages: Type.Array(OpenAiMessage, { minItems: 1, maxItems: MAX_MESSAGES }),
    stream: Type.Optional(Nullable(Type.Boolean({ description: 'Default false' }))),
    temperature: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 2 }))),
    top_p: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
    max_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    max_completion_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    seed: Type.Optional(Nullable(Type.Integer())),
    stop: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 }), Type.Null()])),
    n: Type.Optional(Nullable(Type.Literal(1, { description: 'Only one choice is generated' }))),
    user: Type.Optional(Type.String({ maxLength: 200 })),
    stream_options: Type.Optional(Nullable(Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: false }))),
    response_format: Type.Optional(Type.Object({ type: Type.Enum(['text', 'json_object']) }, { additionalProperties: false })),
    // Accepted for compatibility; the gateway does not pass them on.
    presence_penalty: Type.Optional(Nullable(Type.Number({ minimum: -2, maximum: 2 }))),
    frequency_penalty: Type.Optional(Nullable(Type.Number({ minimum: -2, maximum: 2 }))),
  },
  { additionalProperties: false },
);
type CompletionBody = Static<typeof CompletionBody>;

const Usage = Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() });
const Completion = Type.Object({
  id: Type.String(),
  object: Type.Literal('chat.completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({ index: Type.Integer(), message: Type.Object({ role: Type.Literal('assistant'), content: Type.String() }), finish_reason: Type.String() }),
  ),
  usage: Usage,
});
const ModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() })),
});
const Sse = Type.String({ description: 'chat.completion.chunk events ending with `data: [DONE]`' });

function toMessages(body: CompletionBody): ChatMessage[] {
  return body.messages.map((message) => ({
    role: message.role === 'developer' ? 'system' : message.role,
    content: typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join(''),
  }));
}

function toOptions(body: CompletionBody): GenerationOptions | undefined {
  const options: GenerationOptions = {};
  if (typeof body.temperature === 'number') options.temperature = body.temperature;
  if (typeof body.top_p === 'number') options.top_p = body.top_p;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (typeof maxTokens === 'number') options.max_tokens = maxTokens;
  if (typeof body.seed === 'number') options.seed = body.seed;
  if (typeof body.stop === 'string') options.stop = [body.stop];
  else if (Array.isArray(body.stop)) options.stop = body.stop;
  return Object.keys(options).length > 0 ? options : undefined;
}

const OPENAI_ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error' };

/**
 * OpenAI clients read `{error: {message, type, code}}`; this front door answers in that shape. Logs
 * like the core's handler: a stack only for unexpected failures, one line for deliberate 5xx answers
 * (upstream down, queue shutting down), so an outage does not flood the log.
 */
function openAiErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  if (appError.statusCode >= 500 && !(error instanceof AppError)) request.log.error({ err: error }, 'request failed');
  else if (appError.statusCode >= 500) request.log.warn({ code: appError.code, status: appError.statusCode }, appError.message);
  else if (appError.statusCode !== 404 && appError.statusCode !== 401) request.log.info({ code: appError.code, status: appError.statusCode }, appError.message);
  if (appError.headers) reply.headers(appError.headers);
  const type = OPENAI_ERROR_TYPES[appError.statusCode] ?? (appError.statusCode >= 500 ? 'server_error' : 'invalid_request_error');
  const body = { error: { message: appError.message, type, code: appError.code, param: appError.details?.[0]?.field ?? null } };
  return reply.code(appError.statusCode).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

export async function openAiRoutes(fastify: FastifyInstance, options: { access: ChatAccess; gateway: Gateway; upstream: Upstream }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { access, gateway, upstream } = options;
  app.setErrorHandler(openAiErrorHandler);

  app.post(
    '/v1/chat/completions',
    {
      onRequest: [access.guard, access.generationLimit],
      schema: {
        tags,
        summary: 'OpenAI chat completions through the gateway',
        body: CompletionBody,
        response: { 200: { content: { 'application/json': { schema: Completion }, 'text/event-stream': { schema: Sse } } } },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const messages = toMessages(body);
      checkTotalSize(messages);
      const prepared = prepareRequest(messages, body.model, undefined, app.config);
      const upstreamRequest = { ...prepared.request, options: toOptions(body), format: body.response_format?.type === 'json_object' ? ('json' as const) : undefined };
      const generation = await gateway.start(upstreamRequest, { system: prepared.system });
      onClientGone(reply, () => generation.release());
      const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
      const created = Math.floor(Date.now() / 1000);
      const model = generation.model;

      if (!body.stream) {
        try {
          const answer = await generation.answer;
          return reply.type('application/json; charset=utf-8').send({
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: answer.finish_reason }],
            usage: { prompt_tokens: answer.prompt_tokens, completion_tokens: answer.completion_tokens, total_tokens: answer.prompt_tokens + answer.completion_tokens },
          });
        } catch (error) {
          throw blameForModel(error, body.model !== undefined);
        } finally {
          generation.release();
        }
      }

      try {
        await generation.started;
      } catch (error) {
        generation.release();
        throw blameForModel(error, body.model !== undefined);
      }
      const sse = openSse(reply);
      const chunk = (delta: Record<string, string>, finish: string | null) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
      sse.send(chunk({ role: 'assistant', content: '' }, null));
      const unfollow = generation.follow((piece) => sse.send(chunk({ content: piece }, null)));
      generation.answer
        .then(
          (answer) => {
            sse.send(chunk({}, answer.finish_reason));
            if (body.stream_options?.include_usage) {
              sse.send({
                id,
                object: 'chat.completion.chunk',
                created,
                model,
                choices: [],
                usage: { prompt_tokens: answer.prompt_tokens, completion_tokens: answer.completion_tokens, total_tokens: answer.prompt_tokens + answer.completion_tokens },
              });
            }
            sse.raw('data: [DONE]\n\n');
          },
          // OpenAI clients raise on an event carrying `error`.
          (error: unknown) => sse.send({ error: { message: failureText(error), type: 'server_error', code: error instanceof Error && 'code' in error ? String(error.code) : null } }),
        )
        .finally(() => {
          unfollow();
          sse.end();
        });
      return reply;
    },
  );

  app.get('/v1/models', { onRequest: access.guard, schema: { tags, summary: "The upstream's models", response: { 200: ModelList } } }, async () => {
    const models = await upstream.models();
    return { object: 'list' as const, data: models.map((model) => ({ ...model, object: 'model' as const })) };
  });
}
