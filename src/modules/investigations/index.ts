import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin } from 'kysely';
import multipart from '@fastify/multipart';
import type { AppModule } from '../../core/module.js';
import { createStorage, type FileStorage } from '../../core/storage/storage.js';
import { registerAccessHook } from './access.js';
import { boardRoutes } from './boards/routes.js';
import { commentRoutes } from './comments/routes.js';
import type { ModuleContext } from './context.js';
import { entityRoutes } from './entities/routes.js';
import { fileRoutes } from './files/routes.js';
import { linkRoutes } from './links/routes.js';
import { liveRoutes } from './live/routes.js';
import { memberRoutes } from './members/routes.js';
import { investigationsMigrations } from './migrations.js';
import { tagRoutes } from './tags/routes.js';
import type { InvestigationsTables } from './tables.js';

export interface InvestigationsOptions {
  /** Default: the disk under DATA_DIR/uploads. */
  storage?: FileStorage;
  /** Default 15 s. */
  heartbeatMs?: number;
  /** Sees every SQL statement the module issues (tests count them to prove lists have no N+1). */
  observeQuery?: (sql: string) => void;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;

function observer(observe: (sql: string) => void): KyselyPlugin {
  return {
    transformQuery(args) {
      observe(args.node.kind);
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
}

export function createInvestigationsModule(options: InvestigationsOptions = {}): AppModule {
  return {
    name: 'investigations',
    migrations: investigationsMigrations,
    async plugin(app: FastifyInstance) {
      let db = app.db.withTables<InvestigationsTables>();
      if (options.observeQuery) db = db.withPlugin(observer(options.observeQuery));
      const context: ModuleContext = {
        db,
        storage: options.storage ?? createStorage(app.config),
        heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      };
      // Multipart parsing exists only inside this module; files are streamed, never buffered.
      await app.register(multipart, { limits: { fileSize: app.config.uploadMaxBytes + 1, files: 1 } });
      app.addRouteGuard(app.requireUser);
      registerAccessHook(app, db);
      await app.register(boardRoutes, context);
      await app.register(memberRoutes, context);
      await app.register(entityRoutes, context);
      await app.register(linkRoutes, context);
      await app.register(tagRoutes, context);
      await app.register(commentRoutes, context);
      await app.register(fileRoutes, context);
      await app.register(liveRoutes, context);
    },
  };
}

export const investigationsModule: AppModule = createInvestigationsModule();
