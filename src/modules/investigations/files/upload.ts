import type { FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../../../core/http/errors.js';
import { sanitizeFilename } from '../../../core/storage/file-type.js';
import { FileTooLargeError, type FileStorage, type SavedFile } from '../../../core/storage/storage.js';

export const STORAGE_NAMESPACE = 'investigations';

export interface ReceivedFile {
  saved: SavedFile;
  /** The client's name, made safe: metadata only, never a path. */
  filename: string;
  declaredType: string;
}

/** Errors of the multipart parser about the request itself (as opposed to our disk failing). */
const MALFORMED = /unexpected end of (form|multipart)|part terminated early|malformed|boundary|multipart/i;

const fileRequired = (field: string, message: string) => badRequest(message, 'VALIDATION_FAILED', [{ field, message: 'is required' }]);

const tooManyFiles = (field: string) =>
  badRequest(`Send exactly one file per upload, in the field "${field}"`, 'TOO_MANY_FILES', [{ field, message: 'must be the only file in the request' }]);

function asClientError(error: unknown, field: string): unknown {
  if (error instanceof AppError) return error;
  // @fastify/multipart's `files` limit (1) is reached by a second file part: not a size problem.
  if ((error as { code?: unknown }).code === 'FST_FILES_LIMIT') return tooManyFiles(field);
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new AppError(413, 'PAYLOAD_TOO_LARGE', (error as Error).message);
    return new AppError(400, 'INVALID_MULTIPART', `Malformed multipart upload: ${(error as Error).message}`);
  }
  const code = (error as { code?: unknown }).code;
  if (error instanceof Error && typeof code !== 'string' && MALFORMED.test(error.message)) {
    return new AppError(400, 'INVALID_MULTIPART', `Malformed multipart upload: ${error.message}`);
  }
  return error;
}

/**
 * Streams the one file of a multipart request from `field` straight into storage: never held
 * whole in memory, cut off past `maxBytes` (413), and refused early by `accept` (content checks).
 * The whole request is read: a second file anywhere in it is 400 `TOO_MANY_FILES` and the first
 * is deleted, so no part of an upload is ever silently dropped. Plain form fields are ignored.
 */
export async function receiveFile(
  request: FastifyRequest,
  storage: FileStorage,
  options: { field: string; maxBytes: number; accept?: (head: Buffer) => void },
): Promise<ReceivedFile> {
  if (!request.isMultipart()) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send the file as multipart/form-data in the field "${options.field}"`);
  }
  let received: ReceivedFile | undefined;
  try {
    // One byte over the limit lets the storage see, and refuse, an oversized file. `files: 1` makes
    // the parser report a second file (FST_FILES_LIMIT) instead of handing it over.
    const files = request.files({ limits: { fileSize: options.maxBytes + 1, files: 1, fields: 10, fieldSize: 10_000, parts: 20 }, throwFileSizeLimit: false });
    for await (const part of files) {
      if (part.fieldname !== options.field) {
        part.file.resume();
        throw fileRequired(options.field, `Send the file in the field "${options.field}"`);
      }
      const saved = await storage.save(part.file, { namespace: STORAGE_NAMESPACE, maxBytes: options.maxBytes, ...(options.accept ? { accept: options.accept } : {}) });
      received = { saved, filename: sanitizeFilename(part.filename), declaredType: part.mimetype };
      if (part.file.truncated) throw new FileTooLargeError(options.maxBytes);
    }
  } catch (error) {
    if (received) await storage.delete(received.saved.key);
    throw asClientError(error, options.field);
  }
  if (!received) throw fileRequired(options.field, `No file in the field "${options.field}"`);
  return received;
}
