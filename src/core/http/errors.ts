export interface ErrorDetail {
  field: string;
  message: string;
}

/**
 * The one error type of the project: every failure a client sees is an AppError or is turned into
 * one by the error handler, and leaves as `{error, code, details?}`.
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST', details?: ErrorDetail[]): AppError =>
  new AppError(400, code, message, details);

/**
 * One bad body field found after schema validation (a rule across fields, a computed bound): the
 * same 400 `VALIDATION_FAILED` the validator gives, `message` optionally worded for a person.
 */
export const invalidField = (field: string, detail: string, message = `Invalid body: ${field} ${detail}`): AppError =>
  new AppError(400, 'VALIDATION_FAILED', message, [{ field, message: detail }]);

/** A body field that names something the caller may not use: 400 with the field in `details`. */
export const invalidReference = (field: string, what: string): AppError =>
  new AppError(400, 'INVALID_REFERENCE', `${what} not found`, [{ field, message: `must reference one of your own ${what.toLowerCase()}s` }]);

export const unauthorized = (message = 'Authentication required'): AppError => new AppError(401, 'UNAUTHORIZED', message);

export const forbidden = (message = 'You do not have permission to do this'): AppError => new AppError(403, 'FORBIDDEN', message);

export const notFound = (what = 'Resource'): AppError => new AppError(404, 'NOT_FOUND', `${what} not found`);

export const conflict = (message: string, code = 'CONFLICT'): AppError => new AppError(409, code, message);

export const tooManyRequests = (message: string, retryAfterSeconds: number, code = 'RATE_LIMITED'): AppError =>
  new AppError(429, code, message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });

export const serviceUnavailable = (message: string, code = 'SERVICE_UNAVAILABLE'): AppError => new AppError(503, code, message);
