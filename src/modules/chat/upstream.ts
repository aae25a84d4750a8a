import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../../core/http/errors.js';

/**
 * The client of the language model server: Ollama's native `/api/chat` (NDJSON) or an
 * OpenAI-compatible `/v1/chat/completions` (SSE). Generations are always requested as streams, so one
 * upstream call can feed streaming and non-streaming callers alike.
 */

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** Sampling settings a caller may pass (OpenAI names; mapped to Ollama's `options`). */
export interface GenerationOptions {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
}

export interface UpstreamRequest {
  model: string;
  messages: ChatMessage[];
  options?: GenerationOptions;
  /** Ask the model for a JSON object. */
  format?: 'json';
}

export interface Answer {
  content: string;
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatHooks {
  /** Aborting it cancels the upstream call; its `reason` (if an Error) is what the call rejects with. */
  signal: AbortSignal;
  /** The upstream accepted the request (HTTP 200): from here on failures happen mid-stream. */
  onAccepted?(): void;
  onPiece?(piece: string): void;
}

export interface UpstreamModel {
  id: string;
  created: number;
  owned_by: string;
}

export interface Upstream {
  readonly provider: 'ollama' | 'openai';
  /** The base URL, for stats and logs. */
  readonly url: string;
  chat(request: UpstreamRequest, hooks: ChatHooks): Promise<Answer>;
  models(): Promise<UpstreamModel[]>;
  /** Loads a model and keeps it resident for the keep-alive time. */
  warm(model: string): Promise<void>;
  /** A cheap reachability probe (`/api/tags` or `/v1/models`). */
  ping(timeoutMs: number): Promise<boolean>;
}

export interface UpstreamSettings {
  provider: 'ollama' | 'openai';
  baseUrl: string;
  keepAlive: string;
  timeoutMs: number;
  apiKey?: string | null;
}

export const llmUnavailable = (message: string): AppError => new AppError(503, 'LLM_UNAVAILABLE', message);
/** The upstream answered, but with an error of its own (unknown model, crash, ...). */
export const llmFailed = (message: string): AppError => new AppError(502, 'LLM_ERROR', message);
/** The upstream answered something that is not the protocol. */
export const llmNonsense = (message: string): AppError => new AppError(502, 'LLM_BAD_RESPONSE', message);
export const generationCancelled = (): AppError => new AppError(409, 'CANCELLED', 'The generation was cancelled');
/** The caller named a model the upstream does not have (Ollama and OpenAI answer 404): the caller's error. */
export const modelNotFound = (model: string): AppError =>
  new AppError(404, 'MODEL_NOT_FOUND', `Model "${model}" is not available on the language model server (it may need to be pulled)`);

/**
 * A missing model is the caller's error only when the caller named it: the default `CHAT_MODEL`
 * missing upstream is this server's misconfiguration, a 502 like any other upstream refusal.
 */
export function blameForModel(error: unknown, callerNamedModel: boolean): unknown {
  if (callerNamedModel || !(error instanceof AppError) || error.code !== 'MODEL_NOT_FOUND') return error;
  return llmFailed(`The configured default model is not available on the language model server: ${error.message}`);
}

const MAX_ERROR_TEXT = 300;
const MAX_ANSWER_CHARS = 4_000_000;

function upstreamErrorText(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string') return error.slice(0, MAX_ERROR_TEXT);
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message.slice(0, MAX_ERROR_TEXT);
  }
  return null;
}

/**
 * A 404 that names a missing model: Ollama `{"error": "model \"x\" not found, try pulling it first"}`,
 * OpenAI `{"error": {"code": "model_not_found", ...}}`, vLLM `{"message": "The model `x` does not exist."}`.
 * A 404 without it (a wrong base URL) stays the server's problem.
 */
function isMissingModel(status: number, text: string): boolean {
  return status === 404 && (/model_not_found/.test(text) || (/model/i.test(text) && /not found|does not exist/i.test(text)));
}

/** Turns an HTTP error answer into our error: a busy or absent server is unavailable, a missing model is 404, anything else failed. */
async function errorFromResponse(response: Response, model?: string): Promise<AppError> {
  const text = await response.text().catch(() => '');
  let detail: string | null = null;
  try {
    detail = upstreamErrorText(JSON.parse(text));
  } catch {
    // not JSON: fall through to the status alone
  }
  if (model !== undefined && isMissingModel(response.status, text)) return modelNotFound(model);
  if (response.status === 503 || response.status === 429 || response.status === 502 || response.status === 504) {
    return llmUnavailable(`The language model server is unavailable (HTTP ${response.status}${detail ? `: ${detail}` : ''})`);
  }
  return llmFailed(`The language model server refused the request (HTTP ${response.status}${detail ? `: ${detail}` : ''})`);
}

/** Runs `fetch` under the caller's signal and the generation timeout, and names the failure. */
async function send(url: string, init: RequestInit, signal: AbortSignal, timeoutMs: number): Promise<{ response: Response; timeout: AbortSignal }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.any([signal, timeout]) });
    return { response, timeout };
  } catch (error) {
    throw translateFailure(error, signal, timeout, timeoutMs, false);
  }
}

function translateFailure(error: unknown, signal: AbortSignal, timeout: AbortSignal, timeoutMs: number, started: boolean): Error {
  if (error instanceof AppError) return error;
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : generationCancelled();
  if (timeout.aborted) return llmUnavailable(`The language model server did not finish within ${Math.round(timeoutMs / 1000)} s`);
  if (started) return llmFailed('The connection to the language model server was lost mid-answer');
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return llmUnavailable(`The language model server cannot be reached${cause ? ` (${cause})` : ''}`);
}

/** Yields the lines of a streamed body as they complete. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') yield line;
      newline = buffered.indexOf('\n');
    }
    if (buffered.length > MAX_ANSWER_CHARS) throw llmNonsense('The language model server sent an endless line');
  }
  buffered += decoder.decode();
  if (buffered.trim() !== '') yield buffered;
}

function parseLine(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw llmNonsense('The language model server sent something that is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw llmNonsense('The language model server sent an unexpected JSON value');
  return value as Record<string, unknown>;
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);

function ollamaOptions(options: GenerationOptions | undefined): Record<string, unknown> | undefined {
  if (!options) return undefined;
  const mapped: Record<string, unknown> = {};
  if (options.temperature !== undefined) mapped.temperature = options.temperature;
  if (options.top_p !== undefined) mapped.top_p = options.top_p;
  if (options.max_tokens !== undefined) mapped.num_predict = options.max_tokens;
  if (options.seed !== undefined) mapped.seed = options.seed;
  if (options.stop !== undefined) mapped.stop = options.stop;
  return Object.keys(mapped).length > 0 ? mapped : undefined;
}

/** Ollama reads a bare number as seconds (`-1`: keep loaded forever) and a string as a Go duration ("15m"). */
export function keepAliveValue(raw: string): string | number {
  return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw.trim();
}

/** URL parsing keeps a `%` that starts no escape (`pa%zz`), which `decodeURIComponent` would throw on at start-up. */
const decodedOrAsWritten = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/**
 * `http://user:pass@host` (a server behind a proxy with basic auth): the URL without its credentials,
 * which is what stats show and what fetch accepts (it refuses URLs with credentials), and the
 * Authorization header they stand for.
 */
export function splitCredentials(url: string): { url: string; authorization: Record<string, string> } {
  // A URL no client can use stays as it is: the calls fail as unreachable.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || (parsed.username === '' && parsed.password === '')) return { url, authorization: {} };
  const credentials = `${decodedOrAsWritten(parsed.username)}:${decodedOrAsWritten(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

function ollamaUpstream(settings: UpstreamSettings): Upstream {
  const { url, authorization } = splitCredentials(settings.baseUrl);
  const base = url.replace(/\/+$/, '');
  const keepAlive = keepAliveValue(settings.keepAlive);
  const json = { 'content-type': 'application/json', ...authorization };

  return {
    provider: 'ollama',
    url: base,
    async chat(request, hooks) {
      const body = {
        model: request.model,
        messages: request.messages,
        stream: true,
        keep_alive: keepAlive,
        ...(request.format ? { format: request.format } : {}),
        ...(ollamaOptions(request.options) ? { options: ollamaOptions(request.options) } : {}),
      };
      const { response, timeout } = await send(`${base}/api/chat`, { method: 'POST', headers: json, body: JSON.stringify(body) }, hooks.signal, settings.timeoutMs);
      if (!response.ok) throw await errorFromResponse(response, request.model);
      if (!response.body) throw llmNonsense('The language model server sent an empty answer');
      const type = response.headers.get('content-type') ?? '';
      if (!/ndjson|json/.test(type)) {
        await response.body.cancel().catch(() => undefined);
        throw llmNonsense(`The language model server answered with ${type || 'no content type'} instead of NDJSON`);
      }
      hooks.onAccepted?.();
      let content = '';
      try {
        for await (const line of lines(response.body)) {
          const event = parseLine(line);
          const error = upstreamErrorText(event);
          if (error !== null) throw llmFailed(`The language model failed mid-answer: ${error}`);
          const message = event.message as { content?: unknown } | undefined;
          if (typeof message !== 'object' || message === null || typeof message.content !== 'string') {
            throw llmNonsense('The language model server sent a line without message.content');
          }
          if (message.content !== '') {
            content += message.content;
            if (content.length > MAX_ANSWER_CHARS) throw llmNonsense('The language model answer is too long');
            hooks.onPiece?.(message.content);
          }
          if (event.done === true) {
            return {
              content,
              finish_reason: typeof event.done_reason === 'string' ? event.done_reason : 'stop',
              prompt_tokens: count(event.prompt_eval_count),
              completion_tokens: count(event.eval_count),
            };
          }
        }
      } catch (error) {
        throw translateFailure(error, hooks.signal, timeout, settings.timeoutMs, true);
      }
      // A stream that ends without its final object (`done: true` / `data: [DONE]`) is not the protocol.
      throw llmNonsense('The language model server ended the answer without finishing it');
    },
    async models() {
      const { response } = await send(`${base}/api/tags`, { method: 'GET', headers: authorization }, new AbortController().signal, Math.min(settings.timeoutMs, 10_000));
      if (!response.ok) throw await errorFromResponse(response);
      const body = (await response.json().catch(() => null)) as { models?: unknown } | null;
      if (!body || !Array.isArray(body.models)) throw llmNonsense('The language model server sent a model list of an unknown shape');
      return body.models
        .filter((model): model is { name: string; modified_at?: unknown } => typeof model === 'object' && model !== null && typeof (model as { name?: unknown }).name === 'string')
        .map((model) => {
          const modified = typeof model.modified_at === 'string' ? Date.parse(model.modified_at) : NaN;
          return { id: model.name, created: Number.isFinite(modified) ? Math.floor(modified / 1000) : 0, owned_by: 'library' };
        });
    },
    async warm(model) {
      // An empty prompt makes Ollama load the model and keep it for keep_alive, without generating.
      const { response } = await send(
        `${base}/api/generate`,
        { method: 'POST', headers: json, body: JSON.stringify({ model, prompt: '', stream: false, keep_alive: keepAlive }) },
        new AbortController().signal,
        settings.timeoutMs,
      );
      if (!response.ok) throw await errorFromResponse(response, model);
      const body = (await response.json().catch(() => null)) as { done?: unknown } | null;
      if (!body || body.done !== true) throw llmNonsense('The language model server did not confirm loading the model');
    },
    ping: (timeoutMs) => answers(`${base}/api/tags`, authorization, timeoutMs),
  };
}

/**
 * Whether a GET of `url` gets a 2xx within `timeoutMs`, for the health checks. Through node:http
 * rather than fetch: the first fetch in a process loads undici, ~40 ms and ~10 MB of RSS (bench/README.md,
 * thirteenth session), which every process answering `/health` would pay whether or not it ever
 * generates anything.
 */
function answers(url: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    try {
      const request = send(url, { headers, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
        // Read to the end (or until the timeout), so that the connection can serve the next check.
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 300);
      });
      request.on('error', () => resolve(false));
      request.end();
    } catch {
      resolve(false);
    }
  });
}

/** `http://host:8000` and `http://host:8000/v1` both name the same server. */
export function openAiBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function openAiUpstream(settings: UpstreamSettings): Upstream {
  const { url, authorization } = splitCredentials(settings.baseUrl);
  const base = openAiBase(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : authorization) };

  async function complete(request: UpstreamRequest, hooks: ChatHooks, stream: boolean) {
    const body = {
      model: request.model,
      messages: request.messages,
      stream,
      // OpenAI-compatible servers report a stream's token usage only when asked.
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      ...(request.options ?? {}),
      ...(request.format === 'json' ? { response_format: { type: 'json_object' } } : {}),
    };
    const sent = await send(`${base}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) }, hooks.signal, settings.timeoutMs);
    if (!sent.response.ok) throw await errorFromResponse(sent.response, request.model);
    return sent;
  }

  return {
    provider: 'openai',
    url: base,
    async chat(request, hooks) {
      const { response, timeout } = await complete(request, hooks, true);
      if (!response.body) throw llmNonsense('The language model server sent an empty answer');
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('text/event-stream')) {
        await response.body.cancel().catch(() => undefined);
        throw llmNonsense(`The language model server answered with ${type || 'no content type'} instead of an event stream`);
      }
      hooks.onAccepted?.();
      let content = '';
      let finish = 'stop';
      let usage = { prompt_tokens: 0, completion_tokens: 0 };
      try {
        for await (const line of lines(response.body)) {
          if (!line.startsWith('data:')) continue; // comments, event names, ids
          const data = line.slice(5).trim();
          if (data === '[DONE]') return { content, finish_reason: finish, ...usage };
          const event = parseLine(data);
          const error = upstreamErrorText(event);
          if (error !== null) throw llmFailed(`The language model failed mid-answer: ${error}`);
          const choices = event.choices;
          if (!Array.isArray(choices)) throw llmNonsense('The language model server sent a chunk without choices');
          const choice = choices[0] as { delta?: { content?: unknown }; finish_reason?: unknown } | undefined;
          const piece = choice?.delta?.content;
          if (typeof piece === 'string' && piece !== '') {
            content += piece;
            if (content.length > MAX_ANSWER_CHARS) throw llmNonsense('The language model answer is too long');
            hooks.onPiece?.(piece);
          }
          if (typeof choice?.finish_reason === 'string') finish = choice.finish_reason;
          const reported = event.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
          if (reported) usage = { prompt_tokens: count(reported.prompt_tokens), completion_tokens: count(reported.completion_tokens) };
        }
      } catch (error) {
        throw translateFailure(error, hooks.signal, timeout, settings.timeoutMs, true);
      }
      // A stream that ends without its final object (`done: true` / `data: [DONE]`) is not the protocol.
      throw llmNonsense('The language model server ended the answer without finishing it');
    },
    async models() {
      const { response } = await send(`${base}/v1/models`, { method: 'GET', headers }, new AbortController().signal, Math.min(settings.timeoutMs, 10_000));
      if (!response.ok) throw await errorFromResponse(response);
      const body = (await response.json().catch(() => null)) as { data?: unknown } | null;
      if (!body || !Array.isArray(body.data)) throw llmNonsense('The language model server sent a model list of an unknown shape');
      return body.data
        .filter((model): model is { id: string; created?: unknown; owned_by?: unknown } => typeof model === 'object' && model !== null && typeof (model as { id?: unknown }).id === 'string')
        .map((model) => ({ id: model.id, created: count(model.created), owned_by: typeof model.owned_by === 'string' ? model.owned_by : 'upstream' }));
    },
    async warm(model) {
      // OpenAI-compatible servers have no load call: a one-token completion loads the model.
      const { response } = await complete({ model, messages: [{ role: 'user', content: 'hi' }], options: { max_tokens: 1 } }, { signal: new AbortController().signal }, false);
      const body = (await response.json().catch(() => null)) as { choices?: unknown } | null;
      if (!body || !Array.isArray(body.choices)) throw llmNonsense('The language model server did not answer the warm-up completion');
    },
    ping: (timeoutMs) => answers(`${base}/v1/models`, headers, timeoutMs),
  };
}

export function createUpstream(settings: UpstreamSettings): Upstream {
  return settings.provider === 'openai' ? openAiUpstream(settings) : ollamaUpstream(settings);
}
