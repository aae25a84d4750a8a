import type { FastifyPluginAsync } from 'fastify';
import type { Migration } from './db/migrator.js';

/**
 * A module is a folder under src/modules whose index.ts exports one of these. Its plugin is
 * registered after the core, so it can use every decoration of `FastifyInstance` (db, cache, bus,
 * requireUser, ...). Its migrations run after the core's, in the order listed.
 */
export interface AppModule {
  name: string;
  migrations: Migration[];
  plugin: FastifyPluginAsync;
}
