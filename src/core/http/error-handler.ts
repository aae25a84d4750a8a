import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, onRequestHookHandler } from 'fastify';
import { isConnectionFailure } from '../db/errors.js';
import { AppError, type ErrorDetail } from './errors.js';

interface AjvIssue {
  instancePath?: string;
  schemaPath?: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

const MAX_DETAILS = 50;
const MAX_ISSUES_READ = 500;

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
  if (issue.keyword === 'pattern' && issue.params?.pattern === '\\S') return 'must not be blank'; // RequiredText
  if (issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)) {
    return `must be one of: ${issue.params.allowedValues.join(', ')}`;
  }
  return issue.message ?? 'is invalid';
}

const isNullTypeIssue = (issue: AjvIssue) => issue.keyword === 'type' && issue.params?.type === 'null';

/**
 * A union (`anyOf`) reports every branch's failures: a nullable field says both "must be >= 0" and
 * "must be null", a login body with an email is told the email "is not an allowed field" by the
 * username branch. Only the branch the value came closest to matching is kept (fewest failures, a
 * `null` branch last); a union of constants becomes one "must be one of" line.
 */
function closestBranches(issues: AjvIssue[]): AjvIssue[] {
  let kept = issues;
  const unions = issues.filter((issue) => issue.keyword === 'anyOf' && issue.schemaPath).sort((a, b) => a.schemaPath!.length - b.schemaPath!.length);
  for (const union of unions) {
    if (!kept.includes(union)) continue; // inside a branch already dropped
    const prefix = `${union.schemaPath}/`;
    const at = union.instancePath ?? '';
    const branches = new Map<string, AjvIssue[]>();
    for (const issue of kept) {
      // The union's own branches: below it in the schema and in the value (the items of an array
      // share one schema path, so the value's path tells one item's union from the next).
      if (!issue.schemaPath?.startsWith(prefix)) continue;
      const path = issue.instancePath ?? '';
      if (path !== at && !path.startsWith(`${at}/`)) continue;
      const branch = issue.schemaPath.slice(prefix.length).split('/')[0]!;
      const list = branches.get(branch);
      if (list) list.push(issue);
      else branches.set(branch, [issue]);
    }
    const all = [...branches.values()];
    if (all.length === 0) continue;
    const inBranches = new Set(all.flat());
    const constants = all.every((branch) => branch.length === 1 && branch[0]!.keyword === 'const');
    const replacement: AjvIssue[] = constants
      ? [{ ...union, keyword: 'enum', params: { allowedValues: all.map((branch) => branch[0]!.params?.allowedValue) } }]
      : all.reduce((best, branch) => {
          const nullOnly = (candidate: AjvIssue[]) => candidate.every(isNullTypeIssue);
          if (nullOnly(best) !== nullOnly(branch)) return nullOnly(best) ? branch : best;
          return branch.length < best.length ? branch : best;
        });
    kept = kept.flatMap((issue) => (issue === union ? replacement : inBranches.has(issue) ? [] : [issue]));
  }
  return kept;
}

function validationError(error: FastifyError): AppError {
  // Only the first few hundred issues are read: at most MAX_DETAILS are reported, and sorting a body
  // of 60,000 bad items into union branches took the event loop for seconds.
  const issues = closestBranches(((error.validation ?? []) as AjvIssue[]).slice(0, MAX_ISSUES_READ));
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
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

/** Every failure answers `{error, code, details?}` (and a request id for a 5xx); 5xx are logged. */
function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
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
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
}

/** A hook in callback style, as the per-IP limit is, run where Fastify runs no hooks of its own. */
export type LimitHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

/**
 * Fastify's `frameworkErrors`: what fails before routing (a malformed URL) answers in the same
 * shape. No route's hooks run for it, so it spends the per-IP budget here (once `limit()` has one):
 * a flood of malformed URLs is counted like any other.
 */
export function createFrameworkErrors(limit: () => LimitHook | undefined): NonNullable<FastifyServerOptions['frameworkErrors']> {
  return (error, request, reply) => {
    const perIpLimit = limit();
    if (!perIpLimit) return void sendError(error, request, reply);
    perIpLimit(request, reply, (limited) => void sendError((limited as FastifyError | undefined) ?? error, request, reply));
  };
}

const CLIENT_ERRORS: Record<string, [status: number, reason: string, body: { error: string; code: string }]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', { error: 'Request headers are too large', code: 'HEADERS_TOO_LARGE' }],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', { error: 'The request took too long to arrive', code: 'REQUEST_TIMEOUT' }],
};
const MALFORMED_REQUEST: [number, string, { error: string; code: string }] = [400, 'Bad Request', { error: 'Malformed HTTP request', code: 'BAD_REQUEST' }];

/**
 * Fastify's `clientErrorHandler`: a request node:http could not parse (headers over the limit,
 * broken syntax) never reaches Fastify, so the answer is written to the socket here, in the error
 * shape, and the connection closed.
 */
export const clientErrorHandler: NonNullable<FastifyServerOptions['clientErrorHandler']> = (error, socket) => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] = (code && CLIENT_ERRORS[code]) || MALFORMED_REQUEST;
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy(error);
};

/**
 * Unknown routes answer 404 in the error format. The per-IP limit runs first, as an onRequest hook of
 * a scope holding only the not-found handler: before any body is read, so probing for routes, with
 * or without a (bad) body, is limited too.
 */
export async function registerNotFound(app: FastifyInstance, perIpLimit: onRequestHookHandler): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', perIpLimit);
    scope.setNotFoundHandler((request, reply) => {
      return reply.code(404).send({ error: `Route ${request.method} ${request.url.split('?')[0]} not found`, code: 'NOT_FOUND' });
    });
  });
}
