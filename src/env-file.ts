import { existsSync } from 'node:fs';

/** Variables from `./.env`, when present, for anything the environment does not already set. */
export function loadEnvFile(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
