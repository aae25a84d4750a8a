import type { FileStorage } from '../../core/storage/storage.js';
import type { Db } from './access.js';

/** What every resource plugin of the module is registered with. */
export interface ModuleContext {
  db: Db;
  storage: FileStorage;
  /** Interval of the comment lines that keep idle event streams open through proxies. */
  heartbeatMs: number;
}
