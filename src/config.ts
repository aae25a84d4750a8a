import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { compile as compileTrust } from '@fastify/proxy-addr';

/** Every setting of the server, read once from the environment and validated. */
export interface Config {
  port: number;
  host: string;
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dataDir: string;
  /** Unset: embedded SQLite at `dataDir/app.db`. */
  databaseUrl: string | null;
  redisUrl: string | null;
  /** Prefix of every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  /** Null means every available module. */
  modules: string[] | null;
  workers: number;
  jwtSecret: string;
  jwtTtlSeconds: number;
  refreshTtlSeconds: number;
  /** `true` reflects any origin (only when `CORS_ORIGINS=*`), `false` disables CORS. */
  corsOrigins: string[] | true | false;
  bodyLimitBytes: number;
  rateLimitMax: number;
  authRateLimit: number;
  shutdownTimeoutMs: number;
  adminEmail: string | null;
  adminPassword: string | null;
  uploadMaxBytes: number;
  vatRate: number;
  /**
   * Which proxies' X-Forwarded-* to believe (for client IPs in rate limits, sessions and logs): none,
   * or those at these addresses or networks. Never all of them: a client could then name any address
   * it likes in X-Forwarded-For and get a fresh per-IP budget with each request.
   */
  trustProxy: false | string[];
  /** Above this event-loop delay new requests get 503 OVERLOADED until it recovers; 0 disables the check. */
  maxEventLoopDelayMs: number;
  /** How long a /health check result is reused; keeps load balancer polling off the database. */
  healthCacheMs: number;
  ollamaUrl: string;
  ollamaKeepAlive: string;
  llmProvider: 'ollama' | 'openai';
  llmBaseUrl: string | null;
  chatModel: string;
  chatSystemPrompt: string | null;
  chatPublic: boolean;
  chatMaxConcurrent: number;
  chatQueueMax: number;
  chatTimeoutSeconds: number;
  chatResultTtlSeconds: number;
  /** Generation requests per minute per user (per IP for anonymous callers when CHAT_PUBLIC). */
  chatRateLimit: number;
  /** Bearer key for an OpenAI-compatible upstream (LLM_PROVIDER=openai); unset for servers without keys. */
  llmApiKey: string | null;
  cacheMaxSizeMb: number;
  cacheTtlSeconds: number;
  facilityName: string;
  facilityCode: string;
  /** Problems worth a log line at start-up that do not stop the server. */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const MIN_SECRET_LENGTH = 32;

/** What an admin account's email must look like (ADMIN_EMAIL here, `npm run admin -- create` too). */
export const isEmailAddress = (value: string): boolean => /^[^\s@]+@[^\s@]+$/.test(value);

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, `must be a number between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (TRUE_WORDS.includes(raw)) return true;
  if (FALSE_WORDS.includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "3600", "15m", "7d" -> seconds. */
export function parseDurationSeconds(raw: string): number | null {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!match) return null;
  return Number(match[1]) * DURATION_UNITS[match[2] || 's']!;
}

/**
 * Token and session lifetimes: at most ten years. An expiry is stored as ISO text, and one past the
 * year 9999 (REFRESH_TTL=999999999d) cannot be written at all: every login and registration was a 500.
 */
const MAX_DURATION_SECONDS = 3650 * 86400;

function duration(env: Env, name: string, fallbackSeconds: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallbackSeconds;
  const seconds = parseDurationSeconds(raw);
  if (seconds === null || seconds <= 0) {
    throw new ConfigError(name, `must be a duration such as 3600, 15m, 12h or 7d, got "${raw}"`);
  }
  if (seconds > MAX_DURATION_SECONDS) throw new ConfigError(name, `must be at most 3650d (ten years), got "${raw}"`);
  return seconds;
}

function workers(env: Env): number {
  const raw = read(env, 'WORKERS');
  if (raw === 'auto') return availableParallelism();
  return integer(env, 'WORKERS', 1, 1, 256);
}

/** What `TRUST_PROXY=true` trusts: a proxy on this host or on a private network (proxy-addr's names). */
const PRIVATE_PROXIES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `false` (default); `true`, a proxy on this host or a private network (the usual case: nginx beside
 * the server, a load balancer in the VPC); or the proxies' addresses or networks
 * (`10.0.0.0/8,192.0.2.7`, proxy-addr's names `loopback`, `linklocal`, `uniquelocal`). The client is
 * the address the outermost trusted proxy saw: what a client writes into X-Forwarded-For itself, or
 * sends from a public address, is never taken for its address.
 */
function trustProxy(env: Env): Config['trustProxy'] {
  const raw = read(env, 'TRUST_PROXY');
  const keyword = raw?.toLowerCase();
  if (keyword === undefined || FALSE_WORDS.includes(keyword)) return false;
  if (TRUE_WORDS.includes(keyword)) return PRIVATE_PROXIES;
  const proxies = raw!
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => (PRIVATE_PROXIES.includes(entry.toLowerCase()) ? entry.toLowerCase() : entry));
  const invalid = (proxy: string, why = '') =>
    new ConfigError('TRUST_PROXY', `must be true, false or a comma-separated list of proxy addresses or networks, got "${proxy}"${why}`);
  for (const proxy of proxies) {
    // proxy-addr would read "2" as the address 0.0.0.2, and trust nothing through an IPv4-mapped network.
    if (/^\d+$/.test(proxy)) throw invalid(proxy, ' (a number of proxies is not accepted: name them)');
    if (/^::ffff:/i.test(proxy)) throw invalid(proxy, ' (write IPv4 proxies in IPv4 notation)');
    // Checked by the library Fastify hands them to, so that what passes here also starts.
    try {
      compileTrust(proxy);
    } catch {
      throw invalid(proxy);
    }
  }
  if (proxies.length === 0) throw invalid(raw!);
  return proxies;
}

/**
 * An origin as a browser writes it in its `Origin` header, which CORS compares character for
 * character: `https://App.example.com/` and `https://app.example.com:443` are `https://app.example.com`.
 * A path or query is refused rather than dropped (it would never match), and so is text that is no
 * origin at all (`localhost:3000` parses as a URL of scheme `localhost:`). An app's own scheme
 * (`capacitor://localhost`) is kept as written.
 */
function origin(raw: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return null;
  }
  if (parsed.origin !== 'null') {
    return parsed.pathname === '/' && !parsed.search && !parsed.hash && !parsed.username && !parsed.password ? parsed.origin : null;
  }
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+$/i.test(raw) ? raw : null;
}

function corsOrigins(env: Env): Config['corsOrigins'] {
  const raw = read(env, 'CORS_ORIGINS');
  if (raw === undefined) return false;
  if (raw === '*') return true;
  const origins: string[] = [];
  for (const entry of raw.split(',').map((item) => item.trim()).filter(Boolean)) {
    const normalised = origin(entry);
    if (normalised === null) throw new ConfigError('CORS_ORIGINS', `must be "*" or a comma-separated list of origins (scheme://host[:port]), got "${entry}"`);
    origins.push(normalised);
  }
  return origins;
}

/**
 * In production a weak secret is refused. Elsewhere a missing one is generated once and kept under
 * DATA_DIR, so tokens survive restarts of a development server.
 */
function jwtSecret(env: Env, nodeEnv: Config['nodeEnv'], dataDir: string, warnings: string[]): string {
  const given = read(env, 'JWT_SECRET');
  if (given !== undefined) {
    if (given.length >= MIN_SECRET_LENGTH) return given;
    if (nodeEnv === 'production') {
      throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_LENGTH} characters in production`);
    }
    warnings.push(`JWT_SECRET is shorter than ${MIN_SECRET_LENGTH} characters; production would refuse it`);
    return given;
  }
  if (nodeEnv === 'production') {
    throw new ConfigError('JWT_SECRET', `is required in production (at least ${MIN_SECRET_LENGTH} characters)`);
  }
  const file = path.join(dataDir, '.jwt-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= MIN_SECRET_LENGTH) return kept;
    // Empty (a start stopped while writing it, before the write was made atomic) or edited short.
    warnings.push(`${file} held no usable secret (under ${MIN_SECRET_LENGTH} characters); replacing it`);
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  // Written whole and renamed into place: a start stopped half-way leaves the old file or none.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, secret, { mode: 0o600 });
  renameSync(partial, file);
  warnings.push(`JWT_SECRET is not set: generated one and stored it in ${file} (set JWT_SECRET in production)`);
  return secret;
}

function modules(env: Env): string[] | null {
  const raw = read(env, 'MODULES');
  if (raw === undefined || raw === 'all') return null;
  return raw.split(',').map((name) => name.trim()).filter(Boolean);
}

export function loadConfig(env: Env = process.env): Config {
  const warnings: string[] = [];
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const dataDir = path.resolve(read(env, 'DATA_DIR') ?? './data');
  const adminEmail = read(env, 'ADMIN_EMAIL') ?? null;
  const adminPassword = read(env, 'ADMIN_PASSWORD') ?? null;
  if ((adminEmail === null) !== (adminPassword === null)) {
    throw new ConfigError(adminEmail === null ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'must be set together with its pair');
  }
  if (adminEmail !== null && !isEmailAddress(adminEmail)) throw new ConfigError('ADMIN_EMAIL', `must be an email address, got "${adminEmail}"`);
  if (adminPassword !== null && (adminPassword.length < 8 || adminPassword.length > 128)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 8 to 128 characters');
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']) ?? null;

  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: read(env, 'HOST') ?? '0.0.0.0',
    nodeEnv,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir,
    databaseUrl,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']) ?? null,
    redisPrefix: read(env, 'REDIS_PREFIX') ?? 'ub:',
    modules: modules(env),
    workers: workers(env),
    jwtSecret: jwtSecret(env, nodeEnv, dataDir, warnings),
    jwtTtlSeconds: duration(env, 'JWT_TTL', 7 * 86400),
    refreshTtlSeconds: duration(env, 'REFRESH_TTL', 30 * 86400),
    corsOrigins: corsOrigins(env),
    bodyLimitBytes: Math.round(decimal(env, 'BODY_LIMIT_MB', 1, 0.001, 1024) * 1024 * 1024),
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 1000, 1),
    authRateLimit: integer(env, 'AUTH_RATE_LIMIT', 100, 1),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0),
    adminEmail,
    adminPassword,
    uploadMaxBytes: Math.round(decimal(env, 'UPLOAD_MAX_MB', 25, 0.001, 10240) * 1024 * 1024),
    vatRate: decimal(env, 'VAT_RATE', 0.16, 0, 1),
    trustProxy: trustProxy(env),
    maxEventLoopDelayMs: integer(env, 'MAX_EVENT_LOOP_DELAY_MS', 1000, 0),
    healthCacheMs: integer(env, 'HEALTH_CACHE_MS', 1000, 0),
    ollamaUrl: url(env, 'OLLAMA_URL', ['http:', 'https:']) ?? 'http://127.0.0.1:11434',
    ollamaKeepAlive: read(env, 'OLLAMA_KEEP_ALIVE') ?? '15m',
    llmProvider: oneOf(env, 'LLM_PROVIDER', ['ollama', 'openai'] as const, 'ollama'),
    llmBaseUrl: url(env, 'LLM_BASE_URL', ['http:', 'https:']) ?? null,
    chatModel: read(env, 'CHAT_MODEL') ?? 'llama3.2',
    chatSystemPrompt: read(env, 'CHAT_SYSTEM_PROMPT') ?? null,
    chatPublic: boolean(env, 'CHAT_PUBLIC', false),
    chatMaxConcurrent: integer(env, 'CHAT_MAX_CONCURRENT', 1, 1, 1024),
    chatQueueMax: integer(env, 'CHAT_QUEUE_MAX', 1000, 1),
    chatTimeoutSeconds: integer(env, 'CHAT_TIMEOUT_SECONDS', 300, 1),
    chatResultTtlSeconds: integer(env, 'CHAT_RESULT_TTL_SECONDS', 3600, 1),
    chatRateLimit: integer(env, 'CHAT_RATE_LIMIT', 60, 1),
    llmApiKey: read(env, 'LLM_API_KEY') ?? null,
    cacheMaxSizeMb: decimal(env, 'CACHE_MAX_SIZE_MB', 256, 1, 1024 * 1024),
    cacheTtlSeconds: integer(env, 'CACHE_TTL_SECONDS', 3600, 1),
    facilityName: read(env, 'FACILITY_NAME') ?? 'Demo Health Centre',
    facilityCode: read(env, 'FACILITY_CODE') ?? 'FID-00-000000-0',
    warnings,
  };
}
