import type { AppModule } from '../core/module.js';
import { chatModule } from './chat/index.js';
import { clinicModule } from './clinic/index.js';
import { freelanceModule } from './freelance/index.js';
import { investigationsModule } from './investigations/index.js';

/** Every module the server can mount, in mount and migration order. `MODULES` picks among them. */
export const availableModules: AppModule[] = [freelanceModule, investigationsModule, clinicModule, chatModule];
