import type { FastifyBaseLogger } from 'fastify';
import type { FileStorage } from '../../../core/storage/storage.js';

const PARALLEL = 8;

/**
 * Removes files whose rows are already deleted (called after the commit, so a rolled-back delete
 * never loses a file). A failure is logged, not raised: the rows are gone either way.
 */
export async function removeFiles(storage: FileStorage, keys: string[], log: FastifyBaseLogger): Promise<void> {
  for (let i = 0; i < keys.length; i += PARALLEL) {
    const batch = keys.slice(i, i + PARALLEL);
    const results = await Promise.allSettled(batch.map((key) => storage.delete(key)));
    results.forEach((result, j) => {
      if (result.status === 'rejected') log.warn({ key: batch[j], err: (result.reason as Error).message }, 'stored file not removed');
    });
  }
}
