import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config.js';
import { AppError } from '../http/errors.js';

/** The first bytes of a file, handed to `accept` before anything is kept (content type checks). */
export const HEAD_BYTES = 64;

export interface SaveOptions {
  /** A folder per owner of the files (`investigations`, `clinic`): lower-case letters, digits and dashes. */
  namespace: string;
  /** More bytes than this: the save fails with a 413 AppError and nothing is kept. */
  maxBytes: number;
  /** Sees the first HEAD_BYTES bytes (fewer for a shorter file); throwing refuses the file. */
  accept?: (head: Buffer) => void;
}

export interface SavedFile {
  /** Generated; the only name the storage knows the file by. Store it, never show it. */
  key: string;
  size: number;
  head: Buffer;
}

export interface OpenedFile {
  stream: Readable;
  size: number;
}

/**
 * Where uploaded files live. Names are always generated here, so nothing a client sends can
 * choose or escape the location of a file; a client's file name is metadata for the caller to keep.
 */
export interface FileStorage {
  /** Streams `source` into a new file; on any failure (size, `accept`, I/O) nothing is left behind. */
  save(source: Readable, options: SaveOptions): Promise<SavedFile>;
  /** Null when there is no such file. */
  open(key: string): Promise<OpenedFile | null>;
  /** Removing a file that is already gone is not an error. */
  delete(key: string): Promise<void>;
}

export class FileTooLargeError extends AppError {
  constructor(maxBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `File is larger than the limit of ${formatBytes(maxBytes)}`);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(2))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(2))} KB`;
  return `${bytes} bytes`;
}

const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const KEY = /^([a-z0-9][a-z0-9-]{0,63})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const isStorageKey = (key: string): boolean => KEY.test(key);

/** Counts bytes, fails past the limit, and shows the first bytes to `accept` before passing them on. */
function guard(options: SaveOptions, result: { size: number; head: Buffer }): Transform {
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let inspected = options.accept === undefined;
  const inspect = (): void => {
    inspected = true;
    result.head = Buffer.concat(headChunks).subarray(0, HEAD_BYTES);
    options.accept?.(result.head);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      result.size += chunk.length;
      if (result.size > options.maxBytes) return callback(new FileTooLargeError(options.maxBytes));
      if (!inspected) {
        headChunks.push(chunk);
        headLength += chunk.length;
        if (headLength < HEAD_BYTES) return callback(); // held back until the head is complete
        try {
          inspect();
        } catch (error) {
          return callback(error as Error);
        }
        return callback(null, Buffer.concat(headChunks));
      }
      if (result.head.length < HEAD_BYTES) result.head = Buffer.concat([result.head, chunk]).subarray(0, HEAD_BYTES);
      callback(null, chunk);
    },
    flush(callback) {
      if (inspected) return callback();
      try {
        inspect();
      } catch (error) {
        return callback(error as Error);
      }
      callback(null, Buffer.concat(headChunks));
    },
  });
}

/** Files under `root/<namespace>/<uuid>`, written with exclusive create and owner-only permissions. */
export function createDiskStorage(root: string): FileStorage {
  const resolve = (key: string): string | null => (KEY.test(key) ? path.join(root, ...key.split('/')) : null);

  return {
    async save(source, options) {
      if (!NAMESPACE.test(options.namespace)) throw new Error(`Invalid storage namespace "${options.namespace}"`);
      const key = `${options.namespace}/${randomUUID()}`;
      const file = resolve(key)!;
      await mkdir(path.dirname(file), { recursive: true });
      const result = { size: 0, head: Buffer.alloc(0) };
      const sink = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      try {
        await pipeline(source, guard(options, result), sink);
      } catch (error) {
        // The pipeline fails as soon as a stage does, possibly before the file has finished opening:
        // removing it then would let the pending open create it again, empty, after the rm.
        if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
        await rm(file, { force: true });
        throw error;
      }
      return { key, size: result.size, head: result.head };
    },

    async open(key) {
      const file = resolve(key);
      if (file === null) return null;
      try {
        const info = await stat(file);
        if (!info.isFile()) return null;
        return { stream: createReadStream(file), size: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },

    async delete(key) {
      const file = resolve(key);
      if (file === null) return;
      await rm(file, { force: true });
    },
  };
}

/** The storage the configuration names: today always the disk under `DATA_DIR/uploads`. */
export function createStorage(config: Pick<Config, 'dataDir'>): FileStorage {
  return createDiskStorage(path.join(config.dataDir, 'uploads'));
}
