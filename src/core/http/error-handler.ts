import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { isConnectionFailure } from '../db/errors.js';
import { AppError, type ErrorDetail } from './errors.js';

interface AjvIssue {
  instancePath?: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

const MAX_DETAILS = 50;

function fieldOf(issue: AjvIssue): string {
  const path = (issue.instancePath ?? '').split('/').filter(Boolean);
  if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') path.push(issue.params.missingProperty);
  if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
    path.push(issue.params.additionalProperty);
  }
  return path.join('.');
}

function messageOf(issue: AjvIssue): string {
  if (issue.keyword === 'additionalProperties') return 'is not an allowed field';
  if (issue.keyword === 'required') return 'is required';
  if (issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)) {
    return `must be one of: ${issue.params.allowedValues.join(', ')}`;
  }
  return issue.message ?? 'is invalid';
}

function validationError(error: FastifyError): AppError {
  const issues = (error.validation ?? []) as AjvIssue[];
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    // A union reports one failure per branch; one line per field and message is enough.
    const detail = { field: fieldOf(issue), message: messageOf(issue) };
    const key = `${detail.field}\u0000${detail.message}`;
    if (seen.has(key) || issue.keyword === 'anyOf') continue;
    seen.add(key);
    details.push(detail);
    if (details.length === MAX_DETAILS) break;
  }
  const where = error.validationContext ?? 'request';
  const first = details[0];
  const summary = first ? `${first.field || where} ${first.message}` : 'is invalid';
  return new AppError(400, 'VALIDATION_FAILED', `Invalid ${where}: ${summary}`, details);
}

/** Fastify's own client errors, turned into our codes. */
const FRAMEWORK_ERRORS: Record<string, (error: FastifyError) => AppError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError(400, 'INVALID_JSON', 'Malformed JSON in request body'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError(400, 'INVALID_JSON', 'Request body is empty but Content-Type is application/json'),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError(400, 'BAD_REQUEST', 'Content-Length does not match the body'),
  FST_ERR_BAD_URL: () => new AppError(400, 'BAD_REQUEST', 'Malformed URL'),
  FST_ERR_ASYNC_CONSTRAINT: () => new AppError(400, 'BAD_REQUEST', 'Bad request'),
};

export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return validationError(fastifyError);
  const mapped = fastifyError.code ? FRAMEWORK_ERRORS[fastifyError.code] : undefined;
  if (mapped) return mapped(fastifyError);
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new AppError(400, 'INVALID_JSON', 'Malformed JSON in request body');
  }
  const status = fastifyError.statusCode;
  if (status === 413) return new AppError(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
  if (status !== undefined && status >= 400 && status < 500) {
    // Framework and plugin client errors carry safe, readable messages.
    return new AppError(status, status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST', error.message);
  }
  if (isConnectionFailure(error)) return new AppError(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable, try again shortly');
  return new AppError(500, 'INTERNAL_ERROR', 'Internal server error');
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.statusCode >= 500 && !(error instanceof AppError)) {
      request.log.error({ err: error }, 'request failed');
    } else if (appError.statusCode >= 500) {
      // A deliberate answer (overloaded, upstream down): one line, no stack, so that shedding load
      // does not turn into a flood of error logs.
      request.log.warn({ code: appError.code, status: appError.statusCode }, appError.message);
    } else if (appError.statusCode !== 404 && appError.statusCode !== 401) {
      request.log.info({ code: appError.code, status: appError.statusCode }, appError.message);
    }
    if (appError.headers) reply.headers(appError.headers);
    const body: Record<string, unknown> = { error: appError.message, code: appError.code };
    if (appError.details?.length) body.details = appError.details;
    if (appError.statusCode >= 500) body.request_id = request.id;
    // Errors from a route with a response schema would be filtered by it; send raw JSON instead.
    return reply.code(appError.statusCode).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
  });
}

/** Unknown routes answer 404 in the error format; `preHandler` (the per-IP limit) runs first, so probing for routes is limited too. */
export function registerNotFound(app: FastifyInstance, preHandler: preHandlerAsyncHookHandler): void {
  app.setNotFoundHandler({ preHandler }, (request, reply) => {
    return reply.code(404).send({ error: `Route ${request.method} ${request.url.split('?')[0]} not found`, code: 'NOT_FOUND' });
  });
}
