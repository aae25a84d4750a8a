import type { AppModule } from '../core/module.js';
import { freelanceModule } from './freelance/index.js';

/** Every module the server can mount, in mount and migration order. `MODULES` picks among them. */
export const availableModules: AppModule[] = [freelanceModule];
