/**
 * npm run fuzz [-- --seed N] [--database-url postgres://...] [--url http://...] [--only REGEX] [--skip-cross]
 *
 * Robustness fuzzer driven by the server's own OpenAPI document. Every operation in /openapi.json gets
 * its valid request and dozens to hundreds of hostile ones (no, forged or foreign tokens; odd path
 * ids; hostile query strings and headers; malformed, oversized and wrongly typed bodies with every
 * field mutated; multipart oddities; other methods), then whole-API checks: one user reading or
 * changing another's objects, roles reaching the clinic, text and date-times that read back
 * differently from what was sent, LIKE wildcards in searches, date ranges ending on 9999-12-31, and
 * raw HTTP that node's client will not send.
 *
 * A finding is: a 5xx, no answer or a timeout; a 4xx whose body is not {error, code} (OpenAI's error
 * shape under /v1); an answer slower than 2 s, or a body over 64 KB, sent alone, refused slower than
 * 250 ms; a stack trace or SQL text in an answer; a 2xx to a
 * request the schema forbids; another user's object read or changed; stored text or a date-time that
 * reads back differently; a server that does not exit cleanly on SIGTERM.
 *
 * By default it builds nothing and starts the server from source as `npm start` does
 * (node --import tsx src/main.ts) with NODE_ENV=production, a random JWT_SECRET, raised rate limits, a
 * bootstrap admin and LOG_LEVEL=info, on a fresh SQLite database in a temporary DATA_DIR (the server's
 * output goes to server.log there); waits for /health, fuzzes, stops it with SIGTERM and removes the
 * directory. Under a minute on two cores, some 20,000 requests.
 *
 * Options (an argument, or the environment variable beside it):
 *   --seed N            FUZZ_SEED          seed of the generated values, ids and boundaries (printed, so a
 *                                          run can be repeated; names still carry a per-run id)
 *   --database-url URL  FUZZ_DATABASE_URL  run the server on this PostgreSQL database instead of SQLite; it
 *                                          must exist, is migrated and written to, and nothing is dropped
 *   --url URL           FUZZ_URL           fuzz a server already running there instead of starting one: it
 *                                          must allow ~20,000 requests a minute (RATE_LIMIT_MAX,
 *                                          AUTH_RATE_LIMIT, CHAT_RATE_LIMIT) and have the admin
 *                                          FUZZ_ADMIN_EMAIL / FUZZ_ADMIN_PASSWORD
 *                                          (default admin@example.com / 'admin password 1')
 *   --only REGEX        FUZZ_ONLY          fuzz only the operations whose "METHOD /path" matches (the
 *                                          setup and the whole-API checks still run)
 *   --skip-cross        FUZZ_SKIP_CROSS=1  skip the cross-user phase
 *
 * Output: progress and findings on the console; everything (each finding with its request, the status
 * histogram, coverage per operation) in $TMPDIR/ub-fuzz-<run>.json, and with findings the server's log
 * beside it. Exit code 0 when clean, 1 with findings, 2 when the run itself failed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'Usage: npm run fuzz [-- --seed N] [--database-url postgres://...] [--url http://...] [--only REGEX] [--skip-cross]';
function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
const argv = (() => {
  try {
    const options = { seed: { type: 'string' }, 'database-url': { type: 'string' }, url: { type: 'string' }, only: { type: 'string' }, 'skip-cross': { type: 'boolean' } } as const;
    return parseArgs({ options }).values;
  } catch (error) {
    return usageError((error as Error).message);
  }
})();
const env = (name: string): string | undefined => process.env[name]?.trim() || undefined;
const OPTIONS = {
  seed: argv.seed ?? env('FUZZ_SEED'),
  databaseUrl: argv['database-url'] ?? env('FUZZ_DATABASE_URL'),
  url: argv.url ?? env('FUZZ_URL'),
  only: argv.only ?? env('FUZZ_ONLY'),
  skipCross: argv['skip-cross'] ?? !!env('FUZZ_SKIP_CROSS'),
};

const CONCURRENCY = 8;
const TIMEOUT_MS = 10_000;
const SLOW_MS = 2_000;
/** Bodies larger than this are sent one at a time. */
const HEAVY_BYTES = 64 * 1024;
/**
 * A large body refused slower than this, sent alone, costs the server more than reading it: parsing
 * 1 MB of JSON takes tens of ms. Validation that listed every error of 150,000 bad array items
 * took 130-170 ms on a 300 KB body, and a second under load on a larger one.
 */
const HEAVY_REFUSAL_MS = 250;
/** Unique names (users, tags, numbers) so runs against the same database do not collide. */
const RUN = randomBytes(3).toString('hex');
const SEED = OPTIONS.seed === undefined ? randomInt(2 ** 31) : Number(OPTIONS.seed);
if (!Number.isSafeInteger(SEED)) usageError(`FUZZ_SEED must be a whole number, got "${OPTIONS.seed}"`);

/** mulberry32: the seeded choices of a run. */
const random = (() => {
  let state = SEED >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
})();
const randomHex = (length: number) => Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
function randomUuid(): string {
  const hex = randomHex(32);
  const variant = '89ab'[Math.floor(random() * 4)]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20)}`;
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------
type JsonObject = { [key: string]: unknown };
type FieldPath = (string | number)[];
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const asObject = (value: unknown): JsonObject => (isObject(value) ? value : {});
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The value at a path in parsed JSON; undefined where the path leaves it. */
function dig(value: unknown, ...keys: FieldPath): unknown {
  let cursor = value;
  for (const key of keys) {
    if (Array.isArray(cursor) && typeof key === 'number') cursor = cursor[key] as unknown;
    else if (isObject(cursor)) cursor = cursor[key];
    else return undefined;
  }
  return cursor;
}

const DELETE = Symbol('delete');
/** A copy of a JSON value with the value at a path set (or deleted). */
function setAt(root: unknown, at: FieldPath, value: unknown): unknown {
  const copy = structuredClone(root);
  const parent = dig(copy, ...at.slice(0, -1));
  if (typeof parent !== 'object' || parent === null) return copy;
  const container = parent as Record<string | number, unknown>; // an object, or an array indexed by number
  const key = at[at.length - 1]!;
  if (value === DELETE) delete container[key];
  else container[key] = value;
  return copy;
}

function findById(json: unknown, id: string): unknown {
  if (typeof json !== 'object' || json === null) return undefined;
  if (isObject(json) && (json.id === id || json._id === id)) return json;
  for (const value of Object.values(json) as unknown[]) {
    const found = findById(value, id);
    if (found) return found;
  }
  return undefined;
}

function extractId(json: unknown): string | undefined {
  for (const at of [['id'], ['_id'], ['request_id'], ['user', 'id'], ['payment', 'id'], ['investigation_id']]) {
    const id = asString(dig(json, ...at));
    if (id) return id;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------
let BASE = new URL('http://127.0.0.1');
const basePort = () => Number(BASE.port || 80);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

interface Req {
  method: string;
  path: string; // already encoded, sent verbatim
  headers?: Record<string, string>;
  body?: Buffer | string;
  token?: string | null;
  op: string; // "METHOD /template"
  variant: string;
  /** The schema says this must fail (4xx): a 2xx is an ACCEPTED_INVALID finding. */
  mustFail?: boolean;
}
interface Res {
  status: number; // -1: no answer
  headers: http.IncomingHttpHeaders;
  text: string;
  json?: unknown;
  ms: number;
  error?: string;
}
interface Finding {
  kind: string;
  op: string;
  variant: string;
  method: string;
  path: string;
  reqHeaders: Record<string, unknown>;
  reqBody?: string;
  status: number;
  ms: number;
  response: string;
  note?: string;
}
interface OpStats {
  sent: number;
  ok2xx: number;
  statuses: Record<string, number>;
  validStatus?: number;
}

const findings: Finding[] = [];
const statusHistogram: Record<string, number> = {};
const perOp = new Map<string, OpStats>();
let totalRequests = 0;
let totalMs = 0;
let roundTripCompared = 0;
let crossChecks = 0;
let snapshotsCompared = 0;
/** Operations the fuzzer could not reach, and valid requests the server refused: gaps in coverage, not findings. */
const unreachable: string[] = [];
const invalidValid: string[] = [];
const setupFailures: string[] = [];
const rawResults: { probe: string; status: number; ms: number; body: string }[] = [];

function shortBody(body: Buffer | string | undefined): string | undefined {
  if (body === undefined) return undefined;
  const text = typeof body === 'string' ? body : body.toString('latin1');
  return text.length > 400 ? `${text.slice(0, 400)}...(${text.length} chars)` : text;
}

function addFinding(kind: string, req: Req, res: Pick<Res, 'status' | 'ms' | 'text'>, note?: string): void {
  const reqHeaders: Record<string, unknown> = { ...req.headers };
  if (req.token) reqHeaders.authorization = 'Bearer <token>';
  findings.push({
    kind,
    op: req.op,
    variant: req.variant,
    method: req.method,
    path: req.path,
    reqHeaders,
    reqBody: shortBody(req.body),
    status: res.status,
    ms: Math.round(res.ms),
    response: res.text.length > 600 ? `${res.text.slice(0, 600)}...` : res.text,
    note,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function rawRequest(req: Req): Promise<Res> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    if (req.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const started = performance.now();
    let request: http.ClientRequest;
    try {
      request = http.request({ host: BASE.hostname, port: basePort(), method: req.method, path: req.path, headers, agent });
    } catch (error) {
      resolve({ status: -1, headers: {}, text: '', ms: 0, error: `client refused to send: ${(error as Error).message}` });
      return;
    }
    const timer = setTimeout(() => request.destroy(new Error('TIMEOUT')), TIMEOUT_MS);
    let done = false;
    const finish = (res: Res) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(res);
    };
    const failed = (error: string, status = -1) => finish({ status, headers: {}, text: '', ms: performance.now() - started, error });
    request.on('response', (response) => {
      const headersAt = performance.now() - started;
      const type = String(response.headers['content-type'] ?? '');
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      if (type.includes('text/event-stream')) {
        // A stream: read what comes in the first 300 ms, then hang up. Time = time to headers.
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        const hangUp = setTimeout(() => {
          response.destroy();
          request.destroy();
        }, 300);
        const end = () => {
          clearTimeout(hangUp);
          finish({ status, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), ms: headersAt });
        };
        response.on('end', end);
        response.on('close', end);
        response.on('error', end);
        return;
      }
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes < 4_000_000) chunks.push(chunk);
      });
      response.on('end', () => {
        const binary = /pdf|octet-stream|image\//.test(type);
        const text = binary ? `<${type} ${bytes} bytes>` : Buffer.concat(chunks).toString('utf8');
        const json = type.includes('json') ? parseJson(text) : undefined;
        finish({ status, headers: response.headers, text, json, ms: performance.now() - started });
      });
      response.on('error', (error) => failed(error.message, status));
    });
    request.on('error', (error) => failed(error.message));
    request.end(req.body);
  });
}

const STACK = new RegExp(String.raw`\n\s+at [^\n]+\(?[^\n]*:\d+:\d+\)?|node_modules\/|${escapeRegex(`${root}/`)}|dist\/server\.mjs|\.ts:\d+:\d+`);
const SQL_LEAK =
  /SQLITE_[A-Z_]+|syntax error at or near|violates (?:not-null|foreign key|unique|check) constraint|duplicate key value|relation "[^"]+"|column "[^"]+" (?:does not exist|of relation)|no such (?:table|column)|UNIQUE constraint failed|FOREIGN KEY constraint failed|NOT NULL constraint failed|CHECK constraint failed|datatype mismatch|invalid input syntax for|out of range for type|value too long for type|\bselect\b[^"]{0,80}\bfrom\b\s+"?\w|\binsert into\b|\bupdate\b\s+"?\w+"?\s+set\b|PostgresError|SqliteError|kysely/i;

/** Operations that call the language model, which is not there: a quick 502/503 in the error shape is right. */
const CHAT_GENERATION = new Set(['POST /api/chat-optimized', 'POST /api/chat-queue', 'POST /v1/chat/completions', 'POST /api/resumes/optimize', 'POST /api/cache-stats', 'GET /v1/models']);

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function checkResponse(req: Req, res: Res): void {
  if (res.status === -1) {
    addFinding(res.error === 'TIMEOUT' ? 'TIMEOUT' : 'NETWORK_ERROR', req, res, res.error);
    return;
  }
  if (res.status >= 500) {
    if (!CHAT_GENERATION.has(req.op) || (res.status !== 502 && res.status !== 503)) addFinding('5XX', req, res);
    else if (res.json === undefined && req.method !== 'HEAD') addFinding('BAD_ERROR_SHAPE', req, res, 'chat 5xx without JSON');
  }
  if (res.status >= 400 && res.status < 500 && req.method !== 'HEAD') {
    const urlPath = req.path.split('?')[0]!;
    const type = String(res.headers['content-type'] ?? '');
    const coreShape = typeof dig(res.json, 'error') === 'string' && typeof dig(res.json, 'code') === 'string';
    if (urlPath.startsWith('/docs')) {
      // not part of the API
    } else if (urlPath.startsWith('/v1/')) {
      // OpenAI's error shape (docs/modules/chat.md); unknown /v1 routes and errors raised before routing
      // (431 from the HTTP parser) use the core shape
      const openAiShape = typeof dig(res.json, 'error', 'message') === 'string' && typeof dig(res.json, 'error', 'code') === 'string';
      if (!openAiShape && !(coreShape && (!findOp(req.method, urlPath) || res.status === 431))) {
        addFinding('BAD_ERROR_SHAPE', req, res, 'expected OpenAI error shape {error:{message,type,code}}');
      }
    } else if (!type.includes('application/json') || !coreShape) {
      addFinding('BAD_ERROR_SHAPE', req, res, `content-type ${type}`);
    }
  }
  if (res.ms > SLOW_MS) addFinding('SLOW', req, res, `${Math.round(res.ms)} ms`);
  // what the request itself carried is not a leak
  const sentText = `${decodeSafe(req.path)}\n${req.body?.toString() ?? ''}`;
  const stack = STACK.exec(res.text);
  if (stack && !sentText.includes(stack[0])) addFinding('STACK_LEAK', req, res, stack[0]);
  if (res.status >= 400) {
    const sql = SQL_LEAK.exec(res.text);
    if (sql && !sentText.toLowerCase().includes(sql[0].toLowerCase())) addFinding('SQL_LEAK', req, res, sql[0]);
  }
  if (req.mustFail && res.status >= 200 && res.status < 300) addFinding('ACCEPTED_INVALID', req, res);
}

function count(req: Req, status: number, ms: number): void {
  totalRequests++;
  totalMs += ms;
  const bucket = status === -1 ? 'ERR' : String(status);
  statusHistogram[bucket] = (statusHistogram[bucket] ?? 0) + 1;
  let stats = perOp.get(req.op);
  if (!stats) perOp.set(req.op, (stats = { sent: 0, ok2xx: 0, statuses: {} }));
  stats.sent++;
  stats.statuses[bucket] = (stats.statuses[bucket] ?? 0) + 1;
  if (status >= 200 && status < 300) stats.ok2xx++;
  if (req.variant === 'valid') stats.validStatus = status;
}

/** A body over the server's limit (BODY_LIMIT_MB=1) is refused with 413 and Connection: close before it is read. */
const BODY_LIMIT_BYTES = 1024 * 1024;
const lostAnswer = (req: Req, res: Res) =>
  res.status === -1 && /EPIPE|ECONNRESET|socket hang up/.test(res.error ?? '') && req.body !== undefined && Buffer.byteLength(req.body) > BODY_LIMIT_BYTES;

async function send(req: Req): Promise<Res> {
  let res = await rawRequest(req);
  // The client may still be writing such a body when the server closes the connection, and lose the
  // 413 (EPIPE, ECONNRESET): a race, so try again; a server that never answers is still a finding.
  for (let retry = 0; retry < 3 && lostAnswer(req, res); retry++) res = await rawRequest(req);
  count(req, res.status, res.ms);
  checkResponse(req, res);
  return res;
}

const is2xx = (res: Res) => res.status >= 200 && res.status < 300;

async function pool<T>(items: T[], worker: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) await worker(items[next++]!);
  });
  await Promise.all(runners);
}

const jsonReq = (method: string, urlPath: string, body: unknown, token: string | null | undefined, op: string, variant = 'valid'): Req => ({
  method,
  path: urlPath,
  token,
  op,
  variant,
  headers: body === undefined ? {} : { 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------
/** The parts of a JSON Schema (as @fastify/swagger writes it) the fuzzer reads. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  /** An amount in whole cents: at most two decimals. */
  'x-whole-cents'?: boolean;
}
/** A schema with its reference, union and type list resolved (see normalise). */
type Normal = Omit<Schema, 'type'> & { type?: string; /** a union of several types (or of a type and null) */ union?: boolean };

interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
  description?: string;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface Param {
  name: string;
  in: string;
  required: boolean;
  schema: Schema;
}
interface Op {
  key: string; // "METHOD /template"
  method: string;
  template: string;
  params: Param[];
  body?: Schema;
  /** The multipart field that carries the file. */
  multipart?: string;
  security: boolean;
}
let spec: OpenApiDocument = { paths: {} };
let ops: Op[] = [];

function deref(schema: Schema | undefined): Schema {
  let current = schema ?? {};
  for (let i = 0; i < 10 && typeof current.$ref === 'string'; i++) {
    const name = current.$ref.replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
    current = spec.components?.schemas?.[name] ?? {};
  }
  return current;
}

function loadOps(): void {
  ops = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        key: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        params: (op.parameters ?? []).map((p) => ({ name: p.name, in: p.in, required: !!p.required, schema: deref(p.schema) })),
        body: body ? deref(body) : undefined,
        multipart: /multipart\/form-data with the file in the field `(\w+)`/.exec(op.description ?? '')?.[1],
        security: !(Array.isArray(op.security) && op.security.length === 0),
      });
    }
  }
}

const templateRegexes = new Map<string, RegExp>();
function findOp(method: string, concretePath: string): Op | undefined {
  return ops.find((op) => {
    let regex = templateRegexes.get(op.template);
    if (!regex) templateRegexes.set(op.template, (regex = new RegExp(`^${escapeRegex(op.template).replace(/\\\{[^}]+\\\}/g, '[^/]+')}$`)));
    return op.method === method && regex.test(concretePath);
  });
}

const isNullBranch = (b: Schema) => b.type === 'null' || (Array.isArray(b.enum) && b.enum.length === 1 && b.enum[0] === null);

function normalise(schema: Schema | undefined): Normal {
  let s: Schema = deref(schema);
  const union = s.anyOf ?? s.oneOf;
  if (union) {
    const branches = union.map(deref);
    const nullable = !!s.nullable || branches.some((b) => isNullBranch(b) || b.nullable);
    // A union of constants: an enum.
    if (branches.every((b) => b.const !== undefined || b.enum?.length === 1)) return { enum: branches.map((b) => (b.const !== undefined ? b.const : b.enum![0])), nullable };
    const normal = normalise(branches.find((b) => !isNullBranch(b)) ?? union[0]);
    return { ...normal, ...(nullable ? { nullable } : {}), ...(branches.length > 1 ? { union: true } : {}) };
  }
  if (s.allOf) s = Object.assign({}, ...s.allOf.map(deref)) as Schema;
  return { ...s, type: Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type };
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------
interface Actor {
  name: string;
  email: string;
  token: string;
  refresh: string;
  id: string;
}
/**
 * admin: the bootstrap admin (clinic and admin routes). A: owns the objects most operations work on;
 * B: tries to reach A's; C: joins A's investigation; D: logs out and changes the password; E: the user
 * admin operations act on; L: logs in; P: a pharmacist; R: refreshes.
 */
const actors: Record<string, Actor> = {};
const PASSWORD = 'correct horse battery staple';
const actor = (name: string): Actor => {
  const found = actors[name];
  if (!found) throw new Error(`no user ${name}`);
  return found;
};

function actorFrom(res: Res, name: string, email: string): Actor {
  const token = asString(dig(res.json, 'token'));
  const refresh = asString(dig(res.json, 'refresh_token'));
  const id = asString(dig(res.json, 'user', 'id'));
  if (!token || !refresh || !id) throw new Error(`${name}: no token, refresh_token and user.id in ${res.status} ${res.text.slice(0, 300)}`);
  return { name, email, token, refresh, id };
}

async function register(name: string): Promise<Actor> {
  const email = `fz-${RUN}-${name}@example.com`;
  const res = await send(jsonReq('POST', '/api/auth/register', { email, password: PASSWORD, name: `Fuzz ${name}` }, null, 'POST /api/auth/register', 'setup'));
  if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${res.text}`);
  return actorFrom(res, name, email);
}

async function login(email: string, password: string, name: string): Promise<Actor> {
  const res = await send(jsonReq('POST', '/api/auth/login', { email, password }, null, 'POST /api/auth/login', 'setup'));
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${res.text}`);
  return actorFrom(res, name, email);
}

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------
let counter = 0;
const uniq = () => `${RUN}${(++counter).toString(36)}`;
const upperId = (prefix: string) => `${prefix}${uniq()}`.toUpperCase().replace(/[^A-Z0-9]/g, '');
const today = () => new Date().toISOString().slice(0, 10);
const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const CLINIC_PREFIXES = ['/api/patients', '/api/visits', '/api/financial', '/api/sha', '/api/reports', '/api/audit', '/api/admin/staff'];
const isClinic = (template: string) => CLINIC_PREFIXES.some((prefix) => template.startsWith(prefix));

/** Which user performs an operation in the main phase. */
function actorFor(op: Op): string {
  if (!op.security) return 'anon';
  if (op.template.startsWith('/api/admin/') || isClinic(op.template) || op.key === 'POST /api/cache-stats') return 'admin';
  if (op.key === 'POST /api/auth/logout' || op.key === 'POST /api/auth/password') return 'D';
  if (op.key === 'POST /api/investigations/join') return 'C';
  return 'A';
}

/** Reference fields in bodies and queries, to the collection they name. */
function refCollection(name: string, opTemplate: string, concretePrefix: string): string | undefined {
  const inv = /^\/api\/investigations\/([^/]+)/.exec(concretePrefix)?.[1];
  switch (name) {
    case 'client_id':
      return '/api/clients';
    case 'project_id':
      return '/api/projects';
    case 'patient_id':
      return '/api/patients';
    case 'visit_id':
      return '/api/visits';
    case 'invoice_id':
      return opTemplate.startsWith('/api/financial') ? '/api/financial/invoices' : '/api/invoices';
    case 'from_entity_id':
    case 'to_entity_id':
      return inv ? `/api/investigations/${inv}/entities` : undefined;
    case 'resume_id':
      return '/api/resumes';
    case 'entry_ids':
      return '/api/time-tracking';
    case 'requestId':
      return '/api/chat-queue';
    case 'user_id':
    case 'resource_id':
      return '@user';
    default:
      return undefined;
  }
}

interface GenCtx {
  actor: string;
  op: Op;
  concretePath: string;
  /** Every optional field too, not only the required ones. */
  full: boolean;
  fresh?: boolean;
  /** Owner of referenced objects, when not the actor (cross-user checks). */
  refActor?: string;
}

const isFreeText = (s: Normal) => s.type === 'string' && !s.format && !s.enum && s.const === undefined && (s.pattern === undefined || s.pattern === '\\S');

const PATTERN_VALUES: Record<string, () => string> = {
  '^[A-Z]{3}$': () => 'USD',
  '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$': () => 'llama3.2',
  '^\\+?[0-9][0-9 ()-]{5,18}[0-9]$': () => `07${String(Math.floor(random() * 1e8)).padStart(8, '0')}`,
  '^[A-Za-z0-9-]+$': () => upperId('ID'),
  '^[A-Za-z0-9][A-Za-z0-9 /-]*$': () => upperId('SHA'),
  '^[A-Za-z0-9][A-Za-z0-9._/-]*$': () => 'SHA-OPD-001',
  '^[A-Za-z0-9_.-]{3,32}$': () => `u_${uniq()}`,
  '^[\\x21-\\x7E]+$': () => `key-${uniq()}`,
  '^https?://': () => 'https://example.com/avatar.png',
  '^#[0-9A-Fa-f]{6}$': () => '#AABBCC',
};

/** The status a status change moves to (elsewhere the schema's first value). */
const STATUS_UPDATES: Record<string, string> = { '/api/invoices/{id}/status': 'sent', '/api/visits/{id}/status': 'triaged', '/api/sha/claims/{id}/status': 'ready_to_submit' };

/** Values by field name, where the schema alone does not give a valid one (undefined: from the schema). */
const NAMED_VALUES: Record<string, (ctx: GenCtx) => unknown> = {
  email: () => `fz-${uniq()}@example.com`,
  password: () => PASSWORD,
  new_password: () => PASSWORD,
  current_password: () => PASSWORD,
  insurance_type: (ctx) => (ctx.op.template.startsWith('/api/patients') ? 'sha' : undefined),
  insurance_number: () => upperId('SHA'),
  amount: (ctx) => (ctx.op.template === '/api/financial/payments' ? 1 : undefined),
  visit_id: (ctx) => (ctx.op.template.startsWith('/api/sha/claims') ? null : undefined),
  date_of_birth: () => '1990-05-01',
  due_date: () => daysFromNow(30),
  date: () => today(),
  start_date: () => '2025-01-01',
  end_date: () => '2026-12-31',
  deadline: () => '2026-12-31',
  event_date: () => '2024-01-01',
  event_end_date: () => '2024-01-02',
  start_time: () => new Date(Date.now() - 2 * 3600_000).toISOString(),
  end_time: () => new Date(Date.now() - 3600_000).toISOString(),
  from: () => '2024-01-01',
  to: () => today(),
  code: (ctx) => (ctx.op.template === '/api/investigations/join' ? (joinCodes.get(primaryInvestigation ?? '') ?? 'NOCODE00') : 'CA40.0'),
  model: () => undefined,
  status: (ctx) => STATUS_UPDATES[ctx.op.template],
  role: (ctx) => (ctx.op.template.includes('/members/') ? 'viewer' : undefined),
  roles: () => ['receptionist'],
  action: () => 'clear_response_cache',
  duration: () => undefined,
  refresh_token: (ctx) => actors[ctx.actor]?.refresh,
  is_active: (ctx) => (ctx.op.template.startsWith('/api/admin/users') ? true : undefined),
};

/** Optional fields left out even of a full body (they conflict with others or are computed). */
const FULL_SKIPS = ['amount', 'subtotal', 'total', 'duration', 'model', 'system_prompt', 'type', 'discount'];

/** Optional fields a valid body of these operations needs all the same. */
function forcedField(op: Op, key: string, ctx: GenCtx): boolean {
  return (
    (op.template === '/api/time-tracking' && op.method === 'POST' && (key === 'start_time' || key === 'end_time') && !ctx.fresh) ||
    (op.template === '/api/investigations/{id}/entities' && key === 'entity_type') ||
    (op.template === '/api/patients' && op.method === 'POST' && key === 'insurance_number') ||
    (op.template === '/api/sha/claims' && op.method === 'POST' && (key === 'diagnoses' || key === 'items'))
  );
}

/** A valid value for a schema: named values first, references to objects the actor owns. */
async function gen(schema: Schema | undefined, name: string, ctx: GenCtx, depth = 0): Promise<unknown> {
  const s = normalise(schema);
  if (depth > 8) return undefined;
  if (Object.hasOwn(NAMED_VALUES, name)) {
    const value = NAMED_VALUES[name]!(ctx);
    if (value !== undefined) return value;
  }
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return name === 'status' && ctx.op.method === 'PATCH' ? (s.enum[1] ?? s.enum[0]) : s.enum[0];
  if (s.default !== undefined && s.type !== 'object' && s.type !== 'array') return s.default;
  const ref = refCollection(name, ctx.op.template, ctx.concretePath);
  switch (s.type) {
    case 'object': {
      const out: JsonObject = {};
      const required = new Set(s.required ?? []);
      const all = ctx.full || (required.size === 0 && (s.minProperties ?? 0) > 0);
      for (const [key, prop] of Object.entries(s.properties ?? {})) {
        const forced = forcedField(ctx.op, key, ctx);
        if (!required.has(key) && !all && !forced) continue;
        if (ctx.full && !required.has(key) && FULL_SKIPS.includes(key)) continue;
        const value = await gen(prop, key, forced ? { ...ctx, full: true } : ctx, depth + 1);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case 'array': {
      if (name === 'entry_ids' && ref) return [(await refId(ctx, ref, true)) ?? randomUuid()];
      const length = Math.max(s.minItems ?? 0, ctx.full || (s.minItems ?? 0) > 0 ? 1 : 0);
      const out: unknown[] = [];
      for (let i = 0; i < length; i++) out.push(await gen(deref(s.items), name.replace(/s$/, ''), ctx, depth + 1));
      return out;
    }
    case 'string': {
      if (s.format === 'uuid') return (ref ? await refId(ctx, ref, name === 'to_entity_id') : undefined) ?? randomUuid();
      if (s.format === 'email') return `fz-${uniq()}@example.com`;
      if (s.format === 'date') return today();
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'uri' || s.format === 'url') return 'https://example.com/';
      if (s.pattern && Object.hasOwn(PATTERN_VALUES, s.pattern)) return PATTERN_VALUES[s.pattern]!();
      return `fuzz ${name} ${uniq()}`.slice(0, s.maxLength ?? 60).padEnd(s.minLength ?? 0, 'x');
    }
    case 'integer': {
      let value = s.minimum !== undefined ? Math.max(s.minimum, 1) : 1;
      if (s.exclusiveMinimum !== undefined) value = Math.max(value, Math.floor(s.exclusiveMinimum) + 1);
      return s.maximum !== undefined ? Math.min(value, s.maximum) : value;
    }
    case 'number': {
      let value = 10.5;
      if (s.minimum !== undefined) value = Math.max(value, s.minimum);
      return s.maximum !== undefined ? Math.min(value, s.maximum) : value;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return s.properties ? gen({ ...s, type: 'object' }, name, ctx, depth) : 'fuzz';
  }
}

// ---------------------------------------------------------------------------------------------
// Objects created along the way
// ---------------------------------------------------------------------------------------------
const store = new Map<string, string>(); // `${actor} ${concreteCollection}` (+ ' #2' for a second one) -> id
const joinCodes = new Map<string, string>(); // investigation id -> join code
let primaryInvestigation: string | undefined;
const created: { actor: string; collection: string; id: string }[] = [];

/** The id of an object in `collection` for a reference field; `second`: another one than the usual. */
async function refId(ctx: GenCtx, collection: string, second = false): Promise<string | undefined> {
  const owner = ctx.refActor ?? ctx.actor;
  if (collection === '@user') return actors.E?.id;
  if (collection === '/api/chat-queue') return ensure(owner, collection);
  if (/\/entities$/.test(collection)) {
    // entities of the owner's own investigation
    const entities = owner === ctx.actor ? collection : `/api/investigations/${store.get(`${owner} /api/investigations`)}/entities`;
    return second ? createIn(owner, entities) : ensure(owner, entities);
  }
  if (!second) return ensure(owner, collection);
  // a second, distinct object (bills need a fresh finished time entry)
  const key = `${owner} ${collection} #2`;
  if (!store.has(key)) {
    const id = await createIn(owner, collection);
    if (id) store.set(key, id);
  }
  return store.get(key);
}

/** Creates an object in a collection through its POST operation (or a nested one); returns its id. */
async function createIn(owner: string, collection: string, running = false): Promise<string | undefined> {
  const token = actors[owner]?.token;
  let creator = findOp('POST', collection);
  let urlPath = collection;
  if (!creator) {
    // Collections without their own POST: created through a nested route.
    const concreteParts = collection.split('/');
    const prefixLength = concreteParts.length - 1;
    const last = concreteParts[prefixLength]!;
    const candidates = ops.filter((op) => op.method === 'POST' && op.template.endsWith(`/${last}`) && op.template.split('/').length > concreteParts.length);
    for (const candidate of candidates) {
      if (candidate.template.split('/').slice(0, prefixLength).some((part, i) => !part.startsWith('{') && part !== concreteParts[i])) continue;
      const filled = await fillPath(candidate, owner, { givenPrefix: concreteParts.slice(0, prefixLength) });
      if (filled) {
        creator = candidate;
        urlPath = filled;
        break;
      }
    }
  }
  if (!creator) return undefined;
  if (creator.multipart) {
    const res = await send(multipartReq(creator, urlPath, token, 'setup', { ...png(creator.multipart), filename: 'evidence.png' }));
    return extractId(res.json);
  }
  let body = creator.body ? await gen(creator.body, '', { actor: owner, op: creator, concretePath: urlPath, full: false, fresh: running }) : undefined;
  // one open visit per patient and day: a new patient each time
  if (creator.template === '/api/visits') body = { ...asObject(body), patient_id: await createIn(owner, '/api/patients') };
  if (creator.template === '/api/chat-queue') body = { messages: [{ role: 'user', content: `hello ${uniq()}` }] };
  if (creator.template === '/api/time-tracking' && running) body = { description: `running ${uniq()}` };
  const res = await send(jsonReq('POST', urlPath, body, token, creator.key, 'setup'));
  const id = extractId(res.json);
  if (is2xx(res) && id) {
    created.push({ actor: owner, collection, id });
    const code = asString(dig(res.json, 'code'));
    if (creator.template === '/api/investigations' && code) joinCodes.set(id, code);
  } else if (res.status >= 300) {
    setupFailures.push(`${creator.key} as ${owner}: ${res.status} ${res.text.slice(0, 200)}`);
  }
  return id;
}

/** The usual object of `actor` in `collection`, created the first time. */
async function ensure(owner: string, collection: string): Promise<string | undefined> {
  const key = `${owner} ${collection}`;
  if (store.has(key)) return store.get(key);
  let id: string | undefined;
  if (/\/api\/investigations\/[^/]+\/members$/.test(collection)) id = await joinAs('C', collection.split('/')[3]!);
  else if (collection === '/api/admin/users' || collection === '/api/admin/staff') id = actor('E').id;
  else id = await createIn(owner, collection);
  if (id) store.set(key, id);
  return id;
}

async function joinAs(name: string, investigationId: string): Promise<string | undefined> {
  const code = joinCodes.get(investigationId);
  if (!code) return undefined;
  const res = await send(jsonReq('POST', '/api/investigations/join', { code }, actor(name).token, 'POST /api/investigations/join', 'setup'));
  return res.status === 200 || res.status === 409 ? actor(name).id : undefined;
}

/** Fills an operation's path params with ids of objects `owner` owns (created on demand); `fresh`: a new last one. */
async function fillPath(op: Op, owner: string, opts: { fresh?: boolean; givenPrefix?: string[] } = {}): Promise<string | undefined> {
  const parts = op.template.split('/');
  const out: string[] = [];
  const lastParam = parts.findLastIndex((part) => part.startsWith('{'));
  for (const [i, part] of parts.entries()) {
    if (opts.givenPrefix && i < opts.givenPrefix.length) out.push(opts.givenPrefix[i]!);
    else if (!part.startsWith('{')) out.push(part);
    else {
      const collection = out.join('/');
      let id: string | undefined;
      if (opts.fresh && i === lastParam && !/\/members$/.test(collection) && !collection.startsWith('/api/admin/')) {
        const running = op.template === '/api/time-tracking/{id}/stop';
        id = await createIn(owner, collection, running);
        if (!id && running) {
          const active = await send({ method: 'GET', path: '/api/time-tracking/active', token: actor(owner).token, op: 'GET /api/time-tracking/active', variant: 'setup' });
          id = asString(dig(active.json, 'id'));
        }
      } else id = await ensure(owner, collection);
      if (!id) return undefined;
      out.push(id);
    }
  }
  return out.join('/');
}

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
interface Upload {
  field: string;
  content: Buffer;
  filename: string;
  type: string;
}
const png = (field: string): Upload => ({ field, content: PNG, filename: 'photo.png', type: 'image/png' });

function multipartReq(op: Op, urlPath: string, token: string | null | undefined, variant: string, file: Upload, extra: Partial<Req> = {}): Req {
  const boundary = `----fuzz${randomHex(16)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`),
    file.content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { method: 'POST', path: urlPath, token, op: op.key, variant, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body, ...extra };
}

// ---------------------------------------------------------------------------------------------
// The valid request of an operation
// ---------------------------------------------------------------------------------------------
interface Built {
  op: Op;
  actor: string;
  path: string; // without the query
  query: [string, string][];
  headers: Record<string, string>;
  body?: unknown;
}

async function buildValid(op: Op, who: string, opts: { fresh?: boolean; full?: boolean; refActor?: string } = {}): Promise<Built | undefined> {
  const urlPath = await fillPath(op, who, { fresh: opts.fresh });
  if (!urlPath) return undefined;
  const ctx: GenCtx = { actor: who, op, concretePath: urlPath, full: !!opts.full, refActor: opts.refActor };
  const query: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const param of op.params) {
    if (param.in === 'query') {
      if (param.name === 'requestId' && op.template === '/api/chat-queue') {
        const id = await refId(ctx, '/api/chat-queue');
        if (id) query.push([param.name, id]);
      } else if (param.required && normalise(param.schema).default === undefined) query.push([param.name, String(await gen(param.schema, param.name, ctx))]);
    } else if (param.in === 'header') {
      headers[param.name] = String(await gen(param.schema, param.name, ctx));
    }
  }
  let body = op.body ? await gen(op.body, '', ctx) : undefined;
  if (op.template === '/api/auth/login') body = { email: actor('L').email, password: PASSWORD };
  if (op.template === '/api/auth/refresh') body = { refresh_token: actor('R').refresh };
  if (op.template === '/api/visits' && op.method === 'POST') body = { ...asObject(body), patient_id: await createIn(who, '/api/patients') };
  if (op.template === '/api/investigations/join') body = { code: joinCodes.get(primaryInvestigation ?? '') };
  if (op.template === '/api/chat-optimized') body = { messages: [{ role: 'user', content: 'hello' }], stream: false };
  if (op.template === '/api/time-tracking/{id}/stop') body = {};
  if (op.template === '/api/cache-stats' && op.method === 'POST') body = { action: 'clear_response_cache' };
  return { op, actor: who, path: urlPath, query, headers, body };
}

const encodeQuery = (query: [string, string][]) => (query.length ? `?${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : '');

/** The request of a built operation, with overrides; `token`: another token (null: none) than the actor's. */
function toReq(built: Built, variant: string, overrides: Partial<Req> = {}, token?: string | null): Req {
  const bearer = token === undefined ? actors[built.actor]?.token : token;
  const urlPath = built.path + encodeQuery(built.query);
  if (built.op.multipart) return multipartReq(built.op, urlPath, bearer, variant, png(built.op.multipart), overrides);
  const headers: Record<string, string> = { ...built.headers };
  let body: string | undefined;
  if (built.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(built.body);
  }
  return { method: built.op.method, path: urlPath, token: bearer, op: built.op.key, variant, headers, body, ...overrides };
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------
const RICH_TEXTS = [
  'Zoë 🚀👩‍👩‍👧 مرحبا עברית \u202eRTL\u202c 𝕏 ñ',
  'e\u0301 a\u0308\u0301\u0327 Z\u0351\u0352\u0357 ﬁ \u00c5 A\u030a \u1e9b\u0323',
  "100% _under_ 'quote' \"dq\" \\ back\\slash %_ \\% \\_ ; -- /* */ x",
  "Robert'); DROP TABLE users;-- \u2028\u2029 tab\there\nnewline\r\ncr x",
  '<script>alert(1)</script> &amp; {{7*7}} ${7*7} %s %n %x',
  'a\ufeffb\u200bc\u200dd\u00a0e\u3000f\u180eg',
  'ctl\u0001\u0007\u001b[31m\u007f\u0085\u009fend',
  '\u{10FFFF}\u{E0001}\u{1F1FA}\u{1F1F8}\u{1D11E}x\uFFFD\uFFFE',
  '\\u0000 \\ud800 literal escapes, not real ones',
];

interface Mutation {
  name: string;
  value: unknown;
  mustFail?: boolean;
}

const RAW_MARK = '\u0000RAW\u0000';
/** A JSON literal put into the body text as it is (numbers and nesting JSON.stringify cannot write). */
const RAW = (literal: string) => `${RAW_MARK}${literal}${RAW_MARK}`;
const RAW_IN_JSON = /"\\u0000RAW\\u0000(.*?)\\u0000RAW\\u0000"/g;
const stringifyWithRaw = (value: unknown) => JSON.stringify(value).replace(RAW_IN_JSON, (_match, literal: string) => JSON.parse(`"${literal}"`) as string);

function stringMutations(s: Normal): Mutation[] {
  const max = s.maxLength;
  const min = s.minLength ?? 0;
  const out: Mutation[] = [
    { name: 'empty', value: '', mustFail: min > 0 },
    { name: 'blank', value: '   ', mustFail: s.pattern === '\\S' },
    { name: 'nul', value: 'a\u0000b', mustFail: true },
    { name: 'lone-surrogate', value: 'a\ud800b', mustFail: true },
    { name: 'lone-low-surrogate', value: '\udc00', mustFail: true },
    { name: 'sql', value: "' OR '1'='1'; --" },
    { name: 'like-metas', value: '%_\\%' },
    { name: 'backslashes', value: '\\\\\\"\\' },
    { name: 'emoji', value: '🚀👩‍👩‍👧‍👦' },
    { name: 'rtl-combining', value: '\u202e\u0301abc\u0308' },
    { name: 'control', value: '\u0001\u001f\u007f' },
    { name: 'newlines', value: 'a\nb\r\nc' },
    { name: 'number-as-string', value: '123' },
    { name: 'date-like', value: '0000-00-00T00:00:00Z' },
    { name: 'year0', value: '0000-01-01' },
    { name: 'year9999', value: '9999-12-31' },
    { name: 'leap', value: '2023-02-29' },
    { name: 'ts-year0', value: '0000-01-01T00:00:00Z' },
    { name: 'ts-far', value: '9999-12-31T23:59:59.999999999+23:59' },
    { name: 'ts-offset', value: '2024-01-01T00:00:00-23:59' },
    { name: 'ts-negative-year', value: '0000-01-01T00:00:00+23:59' },
    { name: 'ts-year-10000', value: '9999-12-31T23:59:59-23:59' },
    { name: 'ts-lowercase', value: '2024-01-01t00:00:00z' },
    { name: 'ts-space', value: '2024-01-01 00:00:00Z' },
    { name: 'huge-900k', value: `a@${'a-'.repeat(450_000)}!`, mustFail: max !== undefined },
    { name: 'uuid-upper', value: randomUuid().toUpperCase() },
    { name: 'uuid-nil', value: '00000000-0000-0000-0000-000000000000' },
  ];
  if (max !== undefined) {
    out.push({ name: 'at-max', value: 'x'.repeat(max) });
    out.push({ name: 'over-max', value: 'x'.repeat(max + 1), mustFail: true });
    out.push({ name: 'at-max-astral', value: '😀'.repeat(max) });
    out.push({ name: 'over-max-astral', value: '😀'.repeat(max + 1), mustFail: true });
    out.push({ name: 'at-max-combining', value: 'e\u0301'.repeat(Math.floor(max / 2)) });
  } else {
    out.push({ name: 'huge-100k', value: 'y'.repeat(100_000) });
  }
  if (min > 1) out.push({ name: 'under-min', value: 'x'.repeat(min - 1), mustFail: true });
  return out;
}

function numberMutations(s: Normal): Mutation[] {
  const isInt = s.type === 'integer';
  const cents = s['x-whole-cents'] === true;
  const out: Mutation[] = [
    { name: 'negative', value: -1, mustFail: s.minimum !== undefined && s.minimum >= 0 },
    { name: 'zero', value: 0, mustFail: (s.minimum !== undefined && s.minimum > 0) || s.exclusiveMinimum !== undefined },
    { name: 'neg-zero-literal', value: RAW('-0') },
    { name: 'huge', value: 1e308, mustFail: s.maximum !== undefined },
    { name: 'overflow-literal', value: RAW('1e400'), mustFail: s.maximum !== undefined },
    { name: 'neg-huge', value: -1e308, mustFail: s.minimum !== undefined },
    { name: 'max-safe+1', value: 2 ** 53 + 1, mustFail: s.maximum !== undefined && s.maximum < 2 ** 53 },
    { name: 'bigint-literal', value: RAW('123456789012345678901234567890'), mustFail: s.maximum !== undefined },
    { name: 'int64-max', value: RAW('9223372036854775807'), mustFail: s.maximum !== undefined },
    { name: 'tiny', value: 1e-7, mustFail: isInt || cents },
    { name: 'fraction', value: 1.5, mustFail: isInt },
    { name: 'three-decimals', value: 10.555, mustFail: isInt || cents },
    { name: 'NaN-string', value: 'NaN', mustFail: true },
    { name: 'num-string', value: '5', mustFail: true },
    { name: 'Infinity-string', value: 'Infinity', mustFail: true },
  ];
  if (s.maximum !== undefined) {
    out.push({ name: 'at-maximum', value: s.maximum });
    out.push({ name: 'over-maximum', value: s.maximum + (isInt ? 1 : 0.01), mustFail: true });
  }
  if (s.minimum !== undefined) out.push({ name: 'under-minimum', value: s.minimum - (isInt ? 1 : 0.01), mustFail: true });
  return out;
}

/** Hostile values for a field, each with whether the schema makes it a must-fail. */
function mutationsFor(schema: Schema): Mutation[] {
  const s = normalise(schema);
  const t = s.type;
  const alwaysInvalid = (m: Mutation) => m.name === 'nul' || m.name.includes('surrogate');
  if (s.union) {
    // a union (or a nullable type): only what no branch takes must fail
    const out: Mutation[] = [
      { name: 'type-object', value: { a: 1 }, mustFail: true },
      { name: 'type-array', value: [1, 'a'], mustFail: true },
    ];
    if (t === 'string') out.push(...stringMutations(s).map((m) => ({ ...m, mustFail: alwaysInvalid(m) ? true : undefined })));
    if (t === 'number' || t === 'integer') out.push(...numberMutations(s).map((m) => ({ ...m, mustFail: undefined })));
    return out;
  }
  const out: Mutation[] = [
    { name: 'type-number', value: 42, mustFail: t !== 'number' && t !== 'integer' },
    { name: 'type-string', value: 'str', mustFail: t !== 'string' },
    { name: 'type-bool', value: true, mustFail: t !== 'boolean' },
    { name: 'type-null', value: null, mustFail: !s.nullable },
    { name: 'type-object', value: { a: 1 }, mustFail: t !== 'object' },
    { name: 'type-array', value: [1, 'a'], mustFail: t !== 'array' },
    { name: 'deep-array', value: RAW(`${'['.repeat(5000)}${']'.repeat(5000)}`), mustFail: t !== 'array' },
  ];
  if (t === 'string' || s.enum) {
    // free text: the schema's own bounds decide; a format or pattern: the server may go either way
    const freeText = !s.format && (s.pattern === undefined || s.pattern === '\\S');
    out.push(
      ...stringMutations(t === 'string' ? s : { type: 'string' }).map((m) => ({
        ...m,
        mustFail: alwaysInvalid(m) || m.name.startsWith('over-max') || (s.enum ? true : freeText ? m.mustFail : undefined),
      })),
    );
  }
  if (s.enum) {
    const upper = String(s.enum[0]).toUpperCase();
    out.push({ name: 'enum-case', value: upper, mustFail: !s.enum.includes(upper) });
  }
  if (t === 'number' || t === 'integer') out.push(...numberMutations(s));
  if (t === 'array') {
    out.push({ name: 'empty-array', value: [], mustFail: (s.minItems ?? 0) > 0 });
    out.push({ name: 'array-of-nulls', value: [null, null], mustFail: true });
    if (s.maxItems !== undefined && s.maxItems <= 1000) out.push({ name: 'over-maxItems', value: Array.from({ length: s.maxItems + 1 }, (_, i) => `x${i}`), mustFail: true });
    out.push({ name: 'array-10k', value: Array.from({ length: 10_000 }, () => ({})), mustFail: true });
    out.push({ name: 'array-300k-objects', value: RAW(`[${'{},'.repeat(300_000)}{}]`), mustFail: true });
    out.push({ name: 'array-300k-strings', value: RAW(`[${'"",'.repeat(250_000)}""]`), mustFail: true });
  }
  if (t === 'object') {
    out.push({ name: 'obj-extra', value: { zzz_extra: 1 }, mustFail: s.additionalProperties === false });
    out.push({ name: 'obj-proto', value: RAW('{"__proto__":{"polluted":1}}'), mustFail: s.additionalProperties === false });
  }
  return out;
}

/** Every field of a body schema (top level and into objects and arrays of objects) with its path. */
function fieldsOf(schema: Schema, body: unknown, prefix: FieldPath = [], depth = 0): { path: FieldPath; schema: Schema; required: boolean }[] {
  const s = normalise(schema);
  const out: { path: FieldPath; schema: Schema; required: boolean }[] = [];
  if (s.type !== 'object' || !s.properties || depth > 2) return out;
  const required = new Set(s.required ?? []);
  for (const [key, prop] of Object.entries(s.properties)) {
    const at = [...prefix, key];
    out.push({ path: at, schema: prop, required: required.has(key) });
    const p = normalise(prop);
    const value = dig(body, key);
    if (p.type === 'object' && typeof value === 'object' && value !== null) out.push(...fieldsOf(p, value, at, depth + 1));
    if (p.type === 'array' && Array.isArray(value) && value.length > 0 && normalise(p.items).type === 'object') {
      out.push(...fieldsOf(deref(p.items), value[0], [...at, 0], depth + 1));
    }
  }
  return out;
}

const PATH_VALUES: { name: string; value: string }[] = [
  { name: 'not-an-id', value: 'not-an-id' },
  { name: 'zero', value: '0' },
  { name: 'negative', value: '-1' },
  { name: 'bigint', value: '99999999999999999999999' },
  { name: 'float', value: '1.5e308' },
  { name: 'nil-uuid', value: '00000000-0000-0000-0000-000000000000' },
  { name: 'random-uuid', value: '7d444840-9dc0-11d1-b245-5ffdce74fad2' },
  { name: 'sql', value: encodeURIComponent("1' OR '1'='1") },
  { name: 'like', value: '%25_%25' },
  { name: 'traversal', value: '..%2F..%2Fetc%2Fpasswd' },
  { name: 'dotdot', value: '..' },
  { name: 'long-250', value: 'a'.repeat(250) },
  { name: 'emoji', value: encodeURIComponent('🚀') },
  { name: 'nul', value: 'abc%00' },
  { name: 'bad-utf8', value: '%ED%A0%80' },
  { name: 'bad-percent', value: '%ZZ' },
  { name: 'literal-brace', value: '%7Bid%7D' },
  { name: 'space', value: '%20' },
  { name: 'uuid-with-braces', value: '%7B7d444840-9dc0-11d1-b245-5ffdce74fad2%7D' },
  { name: 'uuid-no-dashes', value: '7d4448409dc011d1b2455ffdce74fad2' },
];

/** Hostile query values (raw, already encoded); REPEAT and BRACKETS change the key instead. */
const QUERY_VALUES: { name: string; raw: string; mustFail?: boolean }[] = [
  { name: 'empty', raw: '' },
  { name: 'repeated', raw: 'REPEAT' },
  { name: 'array-brackets', raw: 'BRACKETS' },
  { name: 'sql', raw: encodeURIComponent("' OR 1=1 --") },
  { name: 'like-percent', raw: '%25' },
  { name: 'like-underscore', raw: '_' },
  { name: 'like-backslash', raw: '%5C' },
  { name: 'like-mixed', raw: encodeURIComponent("%_\\'") },
  { name: 'unicode', raw: encodeURIComponent('Zoë🚀\u202e\u0301') },
  { name: 'nul', raw: 'a%00b', mustFail: true },
  { name: 'bad-percent', raw: '%ZZ%' },
  { name: 'bad-utf8', raw: '%ED%A0%80' },
  { name: 'long-5000', raw: 'q'.repeat(5000) },
  { name: 'negative', raw: '-1' },
  { name: 'zero', raw: '0' },
  { name: 'huge', raw: '1e308' },
  { name: 'bigint', raw: '99999999999999999999' },
  { name: 'fraction', raw: '1.5' },
  { name: 'NaN', raw: 'NaN' },
  { name: 'Infinity', raw: 'Infinity' },
  { name: 'hex', raw: '0x10' },
  { name: 'bool-ish', raw: 'yes' },
  { name: 'date-year0', raw: '0000-01-01' },
  { name: 'date-far', raw: '9999-12-31' },
  { name: 'date-bad', raw: '2024-13-45' },
  { name: 'ts-leap-second', raw: encodeURIComponent('2016-12-31T23:59:60Z') },
  { name: 'ts-year0', raw: encodeURIComponent('0000-01-01T00:00:00Z') },
  { name: 'ts-offset', raw: encodeURIComponent('2024-01-01T00:00:00+23:59') },
  { name: 'ts-negative-year', raw: encodeURIComponent('0000-01-01T00:00:00+23:59') },
  { name: 'ts-year-10000', raw: encodeURIComponent('9999-12-31T23:59:59-23:59') },
  { name: 'date-0001', raw: '0001-01-01' },
  { name: 'uuid-nil', raw: '00000000-0000-0000-0000-000000000000' },
];

// ---------------------------------------------------------------------------------------------
// Round trips of stored text and date-times
// ---------------------------------------------------------------------------------------------
/** Paths of the free-text fields in a generated body. */
function freeTextPaths(schema: Schema, body: unknown, prefix: FieldPath = []): { path: FieldPath; max?: number }[] {
  const s = normalise(schema);
  const out: { path: FieldPath; max?: number }[] = [];
  if (s.type !== 'object' || !s.properties || !isObject(body)) return out;
  for (const [key, prop] of Object.entries(s.properties)) {
    if (!(key in body)) continue;
    const p = normalise(prop);
    const value = body[key];
    if (isFreeText(p)) out.push({ path: [...prefix, key], max: p.maxLength });
    else if (p.type === 'object') out.push(...freeTextPaths(p, value, [...prefix, key]));
    else if (p.type === 'array' && Array.isArray(value)) {
      const items = normalise(p.items);
      value.forEach((item: unknown, i) => {
        if (isFreeText(items)) out.push({ path: [...prefix, key, i], max: items.maxLength });
        else out.push(...freeTextPaths(items, item, [...prefix, key, i]));
      });
    }
  }
  return out;
}

const cut = (text: string, max?: number) => (max === undefined ? text : Array.from(text).slice(0, max).join(''));

/** What a write reads back as: its own answer, and the object fetched again (by id, or from its list). */
async function readBack(op: Op, built: Built, res: Res): Promise<{ where: string; value: unknown }[]> {
  let answer = res.json;
  if (op.template === '/api/auth/register') answer = dig(answer, 'user') ?? answer;
  if (op.template === '/api/financial/payments') answer = dig(answer, 'payment') ?? answer;
  const views = [{ where: 'response', value: answer }];
  const id = op.method === 'POST' ? extractId(res.json) : undefined;
  let getPath: string | undefined;
  if (op.method === 'POST' && id && findOp('GET', `${built.path}/${id}`)) getPath = `${built.path}/${id}`;
  else if (op.method === 'PUT' && findOp('GET', built.path)) getPath = built.path;
  else if (op.template === '/api/auth/me') getPath = '/api/auth/me';
  else if (op.method === 'POST' && id && findOp('GET', built.path)) getPath = built.path; // a list
  else if (op.method === 'PUT' && !/\/comments\/[^/]+$/.test(built.path)) {
    const parent = built.path.split('/').slice(0, -1).join('/');
    if (findOp('GET', parent)) getPath = parent;
  }
  if (getPath) {
    const got = await send({ method: 'GET', path: getPath, token: actors[built.actor]?.token, op: findOp('GET', getPath)!.key, variant: 'readback' });
    let value = got.json;
    const lookFor = id ?? built.path.split('/').pop()!;
    if (getPath !== '/api/auth/me' && (Array.isArray(value) || (isObject(value) && value.id !== lookFor && value._id !== lookFor))) value = findById(value, lookFor) ?? value;
    if (getPath.startsWith('/api/patients/')) value = dig(value, 'patient') ?? value;
    views.push({ where: `GET ${getPath.replace(/[0-9a-f-]{36}/g, '{id}')}`, value });
  }
  return views;
}

const acceptsDateTime = (schema: Schema): boolean => {
  const s = deref(schema);
  return s.format === 'date-time' || (s.anyOf ?? s.oneOf ?? []).some(acceptsDateTime);
};
function dateTimePaths(schema: Schema, body: unknown, prefix: FieldPath = [], depth = 0): FieldPath[] {
  const s = normalise(schema);
  const out: FieldPath[] = [];
  if (depth > 3 || s.type !== 'object' || !s.properties) return out;
  for (const [key, prop] of Object.entries(s.properties)) {
    const value = dig(body, key);
    if (acceptsDateTime(prop)) out.push([...prefix, key]);
    else if (normalise(prop).type === 'object' && typeof value === 'object' && value !== null) out.push(...dateTimePaths(prop, value, [...prefix, key], depth + 1));
  }
  return out;
}

/** Valid RFC 3339 date-times far from UTC, whose UTC instants fall outside years 0000-9999. */
const EDGE_DATE_TIMES = ['9999-12-31T23:59:59-23:59', '0000-01-01T00:00:00+23:59'];

/** Every date-time field, sent at the ends of the calendar, must read back as an RFC 3339 date-time of the same instant. */
async function dateTimeRoundTrip(op: Op, who: string): Promise<void> {
  for (const value of EDGE_DATE_TIMES) {
    const built = await buildValid(op, who, { full: true, fresh: op.method !== 'POST' && op.method !== 'PUT' });
    if (!op.body || !built || built.body === undefined) return;
    const paths = dateTimePaths(op.body, built.body);
    if (paths.length === 0) return;
    for (const at of paths) {
      const req = toReq({ ...built, body: setAt(built.body, at, value) }, `roundtrip-datetime-${at.join('.')}-${value.slice(0, 4)}`);
      const res = await send(req);
      if (!is2xx(res)) continue;
      for (const view of await readBack(op, built, res)) {
        const got = dig(view.value, ...at);
        if (typeof got !== 'string') continue;
        roundTripCompared++;
        if (!/^\d{4}-\d{2}-\d{2}/.test(got) || Date.parse(got) !== Date.parse(value)) {
          addFinding('STORED_DIFFERENTLY', req, res, `${view.where}: date-time field ${at.join('.')} sent ${value} read ${got} (not an RFC 3339 date-time)`);
        }
      }
    }
  }
}

/** Every free-text field, sent with hostile Unicode, must read back exactly as sent. */
async function roundTrip(op: Op, who: string): Promise<void> {
  await dateTimeRoundTrip(op, who);
  for (const [index, text] of RICH_TEXTS.entries()) {
    const built = await buildValid(op, who, { full: true, fresh: op.method !== 'POST' && op.method !== 'PUT' });
    if (!op.body || !built || built.body === undefined) return;
    const paths = freeTextPaths(op.body, built.body);
    if (paths.length === 0) return;
    let body: unknown = built.body;
    const sent: { path: FieldPath; value: string }[] = [];
    for (const p of paths) {
      // tag names are unique per user
      const value = (op.template.includes('/tags') && p.path.join('.') === 'name' ? cut(`${uniq()} ${text}`, p.max) : cut(`${text} ${index}`, p.max)).trim();
      body = setAt(body, p.path, value);
      sent.push({ path: p.path, value });
    }
    const req = toReq({ ...built, body }, `roundtrip-${index}`);
    const res = await send(req);
    if (!is2xx(res)) continue;
    for (const view of await readBack(op, built, res)) {
      for (const s of sent) {
        // an entity's tags read back as objects with a name
        const entity = op.template.startsWith('/api/investigations/{id}/entities');
        const got = dig(view.value, ...(entity && s.path[0] === 'tags' ? [...s.path, 'name'] : s.path));
        if (typeof got !== 'string') continue;
        roundTripCompared++;
        if (got !== s.value) {
          const gotPoints = Array.from(got);
          const first = Array.from(s.value).findIndex((ch, i) => gotPoints[i] !== ch);
          addFinding('STORED_DIFFERENTLY', req, res, `${view.where}: field ${s.path.join('.')} sent ${JSON.stringify(s.value)} read ${JSON.stringify(got)} (first difference at code point ${first})`);
        }
      }
    }
  }
}

/** `to=9999-12-31` is a valid date: it must select what `to=9999-12-30` selects (all data is from now). */
async function rangeChecks(): Promise<void> {
  for (const op of ops.filter((o) => o.method === 'GET' && o.params.some((p) => p.in === 'query' && p.name === 'to'))) {
    const built = await buildValid(op, actorFor(op));
    if (!built) continue;
    const answers: string[] = [];
    for (const to of ['9999-12-30', '9999-12-31']) {
      const query = built.query.filter(([k]) => k !== 'to' && k !== 'from');
      if (op.params.some((p) => p.name === 'from')) query.push(['from', '2020-01-01']);
      query.push(['to', to]);
      const req = toReq({ ...built, query }, `range-to-${to}`);
      const res = await send(req);
      // (either date may also be stored text, from the field mutations)
      answers.push(res.text.replace(/9999-12-3[01]/g, 'TO').replace(/"(timestamp|generated_at)":"[^"]+"/g, ''));
      if (answers.length === 2 && answers[0] !== answers[1]) {
        addFinding('WRONG_RESULT', req, res, `to=9999-12-31 answers differently from to=9999-12-30 (${answers[0]!.length} vs ${answers[1]!.length} chars): ${answers[0]!.slice(0, 150)}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The main fuzz of one operation
// ---------------------------------------------------------------------------------------------
/** Operations that use up their object: each request gets a fresh one. */
const DESTRUCTIVE = (op: Op) =>
  op.method === 'DELETE' ||
  /\/(stop|status|duplicate|unlock)$/.test(op.template) ||
  ['POST /api/auth/logout', 'POST /api/auth/password', 'POST /api/auth/refresh', 'PUT /api/admin/users/{id}', 'PUT /api/investigations/{id}/members/{user_id}'].includes(op.key);

/** State a valid request needs beyond the object itself. */
async function prepare(built: Built): Promise<void> {
  if (built.op.method === 'DELETE' && built.op.template.endsWith('/photo')) {
    await send(multipartReq(findOp('POST', built.path)!, built.path, actor(built.actor).token, 'setup', { ...png('photo'), filename: 'p.png' }));
  }
}

/** The request's own headers, its JSON content type when it has a body, and `extra`. */
type HeadersWith = (extra: Record<string, string>) => Record<string, string>;

function authVariants(built: Built, who: string, headersWith: HeadersWith): Req[] {
  const out = [
    toReq(built, 'auth-none', {}, null),
    toReq(built, 'auth-garbage', { headers: headersWith({ authorization: 'Bearer garbage' }) }, null),
    toReq(built, 'auth-basic', { headers: headersWith({ authorization: 'Basic YWRtaW46YWRtaW4=' }) }, null),
  ];
  const token = actors[who]?.token;
  if (token) {
    const [header, payload, signature = ''] = token.split('.');
    out.push(toReq(built, 'auth-bad-signature', {}, `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`));
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    out.push(toReq(built, 'auth-alg-none', { headers: headersWith({ authorization: `Bearer ${none}.${payload}.` }) }, null));
    out.push(toReq(built, 'auth-huge-token', {}, `${'a'.repeat(6000)}.${'b'.repeat(6000)}.c`));
  }
  if (who === 'admin' || isClinic(built.op.template)) out.push(toReq(built, 'auth-non-admin', {}, actor('A').token));
  return out;
}

function pathVariants(built: Built): Req[] {
  const out: Req[] = [];
  const qs = encodeQuery(built.query);
  for (const [i, part] of built.op.template.split('/').entries()) {
    if (!part.startsWith('{')) continue;
    const withSegment = (segment: string) => {
      const concrete = built.path.split('/');
      concrete[i] = segment;
      return { path: concrete.join('/') + qs };
    };
    for (const v of PATH_VALUES) out.push(toReq(built, `path-${part}-${v.name}`, withSegment(v.value)));
    // the real id in upper case
    out.push(toReq(built, `path-${part}-upper`, withSegment(built.path.split('/')[i]!.toUpperCase())));
  }
  out.push(toReq(built, 'trailing-slash', { path: `${built.path}/${qs}` }));
  out.push(toReq(built, 'double-slash', { path: `${built.path.replace('/api/', '//api/')}${qs}` }));
  return out;
}

function queryVariants(built: Built): Req[] {
  const out: Req[] = [];
  for (const param of built.op.params.filter((p) => p.in === 'query')) {
    const s = normalise(param.schema);
    const values = [...QUERY_VALUES, { name: 'uuid-upper', raw: randomUuid().toUpperCase() }];
    if (s.maxLength !== undefined) values.push({ name: 'at-max', raw: 'm'.repeat(s.maxLength) }, { name: 'over-max', raw: 'm'.repeat(s.maxLength + 1), mustFail: true });
    if (s.maximum !== undefined) values.push({ name: 'over-maximum', raw: String(s.maximum + 1), mustFail: true });
    if (s.enum) values.push({ name: 'enum-other', raw: 'zzz', mustFail: true });
    const others = built.query.filter(([k]) => k !== param.name).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    for (const m of values) {
      const own =
        m.raw === 'REPEAT' ? [`${param.name}=1`, `${param.name}=2`] : m.raw === 'BRACKETS' ? [`${param.name}[]=1`, `${param.name}[a]=2`] : [`${param.name}=${m.raw}`];
      out.push(toReq(built, `query-${param.name}-${m.name}`, { path: `${built.path}?${[...others, ...own].join('&')}`, mustFail: m.mustFail }));
    }
  }
  if (built.op.method === 'GET') {
    const query = built.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    out.push(
      toReq(built, 'head', { method: 'HEAD' }),
      toReq(built, 'range-bogus', { headers: { range: 'bytes=5-1' } }),
      toReq(built, 'range-multi', { headers: { range: 'bytes=0-1,2-3,4-5' } }),
      toReq(built, 'if-none-match', { headers: { 'if-none-match': '*' } }),
      toReq(built, 'accept-xml', { headers: { accept: 'application/xml' } }),
      toReq(built, 'query-unknown', { path: `${built.path}?zzz_unknown=1&${query}` }),
      toReq(built, 'query-many', { path: `${built.path}?${Array.from({ length: 2000 }, (_, i) => `p${i}=${i}`).join('&')}` }),
      toReq(built, 'query-proto', { path: `${built.path}?__proto__[x]=1&constructor[prototype][x]=1` }),
    );
  }
  return out;
}

function headerVariants(built: Built, headersWith: HeadersWith): Req[] {
  const out: Req[] = [];
  for (const param of built.op.params.filter((p) => p.in === 'header')) {
    for (const [name, value, mustFail] of [
      ['empty', '', true],
      ['space', 'a b', true],
      ['long', 'k'.repeat(300), true],
      ['unicode', 'k\u00e9', true],
      ['sql', "k'--", false],
    ] as const) {
      out.push(toReq(built, `header-${param.name}-${name}`, { headers: { ...built.headers, 'content-type': 'application/json', [param.name]: value }, mustFail }));
    }
  }
  out.push(toReq(built, 'header-request-id-odd', { headers: headersWith({ 'x-request-id': 'a'.repeat(100) }) }));
  out.push(toReq(built, 'header-xff', { headers: headersWith({ 'x-forwarded-for': "1.2.3.4, ' OR 1=1, ::1" }) }));
  return out;
}

function bodyVariants(body: Schema, built: Built): Req[] {
  const out: Req[] = [];
  const bodyText = JSON.stringify(built.body);
  const mustFailIfClosed = body.additionalProperties === false;
  const needsBody = !!body.required?.length;
  const b = (variant: string, text: string | Buffer | undefined, contentType: string | undefined, mustFail = true, headers: Record<string, string> = {}) =>
    out.push(toReq(built, variant, { body: text, headers: { ...built.headers, ...(contentType ? { 'content-type': contentType } : {}), ...headers }, mustFail }));
  const prepend = (fields: string) => bodyText.replace(/^\{/, `{${fields},`);
  b('malformed-open-brace', '{', 'application/json');
  b('malformed-truncated', bodyText.slice(0, -1), 'application/json');
  b('malformed-single-quotes', "{'a':1}", 'application/json');
  b('malformed-trailing-comma', bodyText.replace(/}$/, ',}'), 'application/json');
  b('malformed-nan', '{"x":NaN}', 'application/json');
  b('malformed-garbage', '\u0000\u0001\u0002', 'application/json');
  b('empty-json', '', 'application/json', needsBody);
  b('empty-no-type', undefined, undefined, needsBody);
  b('text-plain', bodyText, 'text/plain');
  b('form-urlencoded', 'a=1&b=2', 'application/x-www-form-urlencoded');
  b('multipart', `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n`, 'multipart/form-data; boundary=x');
  b('xml', '<a>1</a>', 'application/xml');
  b('json-charset-utf16', bodyText, 'application/json; charset=utf-16', false);
  b('json-charset-latin1', bodyText, 'application/json; charset=latin1', false);
  b('json-suffix-type', bodyText, 'application/vnd.api+json');
  b('json-uppercase-type', bodyText, 'APPLICATION/JSON', false);
  b('invalid-utf8', Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), 'application/json');
  b('utf8-bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(bodyText)]), 'application/json', false);
  b('top-array', '[]', 'application/json');
  b('top-array-valid', `[${bodyText}]`, 'application/json');
  b('top-string', '"x"', 'application/json');
  b('top-number', '1', 'application/json');
  b('top-null', 'null', 'application/json');
  b('top-true', 'true', 'application/json');
  b('deep-object', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, 'application/json');
  b('deep-array', `${'['.repeat(100000)}${']'.repeat(100000)}`, 'application/json');
  b('huge-2mb', JSON.stringify({ ...asObject(built.body), zzz: 'x'.repeat(2_000_000) }), 'application/json');
  b('extra-field', JSON.stringify({ ...asObject(built.body), zzz_extra: 1 }), 'application/json', mustFailIfClosed);
  b('proto-pollution', prepend('"__proto__":{"isAdmin":true}'), 'application/json', mustFailIfClosed);
  b('constructor-pollution', prepend('"constructor":{"prototype":{"isAdmin":true}}'), 'application/json', mustFailIfClosed);
  b('duplicate-keys', prepend('"zzz":1,"zzz":2'), 'application/json', mustFailIfClosed);
  b('escaped-nul-key', prepend('"a\\u0000":1'), 'application/json');
  b('lone-surrogate-key', prepend('"\\ud800":1'), 'application/json');
  // (A Content-Length longer than the body is left out: the server rightly waits for the rest.)
  b('many-keys-60k', `{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":1`).join(',')}}`, 'application/json');
  b('many-keys-60k-valid-rest', prepend(Array.from({ length: 60_000 }, (_, i) => `"k${i}":[]`).join(',')), 'application/json', mustFailIfClosed);
  b('gzip-body', gzipSync(bodyText), 'application/json', false, { 'content-encoding': 'gzip' });
  b('bogus-content-encoding', bodyText, 'application/json', false, { 'content-encoding': 'zzz' });
  b('chunked', bodyText, 'application/json', false, { 'transfer-encoding': 'chunked' });

  // each required field missing, and every field mutated
  for (const field of fieldsOf(body, built.body)) {
    if (dig(built.body, ...field.path.slice(0, -1)) === undefined) continue;
    const name = field.path.join('.');
    if (field.required) out.push(toReq(built, `missing-${name}`, { body: JSON.stringify(setAt(built.body, field.path, DELETE)), mustFail: !normalise(field.schema).default }));
    for (const m of mutationsFor(field.schema)) {
      out.push(toReq(built, `field-${name}-${m.name}`, { body: stringifyWithRaw(setAt(built.body, field.path, m.value)), mustFail: m.mustFail }));
    }
  }
  return out;
}

function multipartVariants(op: Op, field: string, built: Built, token: string | null): Req[] {
  const out: Req[] = [];
  const photo = field === 'photo'; // a profile photo must be an image; an attachment may be any file
  const m = (variant: string, file: Partial<Upload>, mustFail = false) => out.push(multipartReq(op, built.path, token, variant, { ...png(field), ...file }, { mustFail }));
  const raw = (variant: string, contentType: string, body: string | Buffer) => out.push({ method: 'POST', path: built.path, token, op: op.key, variant, headers: { 'content-type': contentType }, body, mustFail: true });
  m('mp-svg', { content: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), filename: 'x.svg', type: 'image/svg+xml' }, photo);
  m('mp-empty-file', { content: Buffer.alloc(0), filename: 'empty.png' }, photo);
  m('mp-wrong-field', { field: 'zzz', filename: 'a.png' }, true);
  m('mp-traversal-name', { filename: '../../../etc/passwd' });
  m('mp-unicode-name', { filename: 'ph\u202eotoe\u0301🚀\u0000.png' });
  m('mp-long-name', { filename: `${'n'.repeat(1000)}.png` });
  m('mp-bad-type', { filename: 'a.png', type: 'not a type;;;' });
  m('mp-quote-name', { filename: 'a"; name="x.png' });
  raw('mp-no-boundary', 'multipart/form-data', 'x');
  raw('mp-truncated', 'multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhello');
  raw('mp-json-instead', 'application/json', '{}');
  const part = (name: string) => `Content-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`;
  raw('mp-two-files', 'multipart/form-data; boundary=two', Buffer.concat([Buffer.from(`--two\r\n${part('a.png')}`), PNG, Buffer.from(`\r\n--two\r\n${part('b.png')}`), PNG, Buffer.from('\r\n--two--\r\n')]));
  return out;
}

/** An upload the server took must download again, with a Content-Disposition that cannot be split. */
async function checkDownload(op: Op, built: Built, token: string | null, req: Req, res: Res): Promise<void> {
  const id = asString(dig(res.json, 'id'));
  const urlPath = op.multipart === 'photo' ? built.path : id ? `${built.path.split('/entities/')[0]}/attachments/${id}` : undefined;
  if (!urlPath) return;
  const download: Req = { method: 'GET', path: urlPath, token, op: findOp('GET', urlPath)!.key, variant: `download-after-${req.variant}` };
  const got = await send(download);
  if (got.status !== 200) addFinding('DOWNLOAD_FAILED', download, got);
  const disposition = String(got.headers['content-disposition'] ?? '');
  if (/[\r\n"]/.test(disposition.replace(/filename="[^"]*"/, '').replace(/filename\*=[^;]*/, ''))) addFinding('BAD_DISPOSITION', download, got, disposition);
}

async function fuzzOp(op: Op): Promise<void> {
  const who = actorFor(op);
  const fresh = DESTRUCTIVE(op);
  let built = await buildValid(op, who, { fresh });
  if (!built) {
    unreachable.push(`${op.key}: could not build a valid request (no parent object)`);
    return;
  }
  await prepare(built);
  let validDone = false;
  if (!fresh && op.body && (op.method === 'PUT' || op.method === 'PATCH')) {
    // an update with every field, if the server takes it; else the minimal one
    const full = await buildValid(op, who, { full: true });
    if (full) {
      const res = await send(toReq(full, 'valid'));
      if (is2xx(res)) {
        built = full;
        validDone = true;
      } else invalidValid.push(`${op.key} as ${who} (all fields): ${res.status} ${res.text.slice(0, 300)}`);
    }
  }
  const base = built;
  const jsonType: Record<string, string> = base.body === undefined ? {} : { 'content-type': 'application/json' };
  const headersWith: HeadersWith = (extra) => ({ ...base.headers, ...jsonType, ...extra });
  const token = actors[who]?.token ?? null;

  const variants: Req[] = [];
  if (op.security) variants.push(...authVariants(base, who, headersWith));
  variants.push(...pathVariants(base), ...queryVariants(base), ...headerVariants(base, headersWith));
  if (op.body && base.body !== undefined) variants.push(...bodyVariants(op.body, base));
  else if (!op.multipart && op.method !== 'GET') {
    // routes without a body: send one anyway
    variants.push(
      toReq(base, 'unexpected-json-body', { body: '{"a":1}', headers: { 'content-type': 'application/json' } }),
      toReq(base, 'unexpected-malformed-body', { body: '{', headers: { 'content-type': 'application/json' } }),
      toReq(base, 'unexpected-text-body', { body: 'hello', headers: { 'content-type': 'text/plain' } }),
      toReq(base, 'empty-json-type', { body: '', headers: { 'content-type': 'application/json' } }),
    );
  }
  if (op.multipart) variants.push(...multipartVariants(op, op.multipart, base, token));
  for (const method of ['PATCH', 'OPTIONS', 'TRACE']) {
    if (!ops.some((o) => o.template === op.template && o.method === method)) variants.push(toReq(base, `method-${method}`, { method, body: undefined, headers: {} }));
  }

  // Chat generation calls the language model, which is not there: fewer field mutations (all must still answer quickly).
  const chat = CHAT_GENERATION.has(op.key);
  const selected = chat ? variants.filter((v, i) => !v.variant.startsWith('field-') || i % 3 === 0) : variants;

  // The valid request first; for destructive operations last, on a fresh object.
  if (!fresh && !validDone) {
    const res = await send(toReq(base, 'valid'));
    if (!is2xx(res)) invalidValid.push(`${op.key} as ${who}: ${res.status} ${res.text.slice(0, 300)}`);
  }
  // Large bodies one at a time: eight at once would make every one of them look slow, and alone each
  // refusal is timed against HEAVY_REFUSAL_MS.
  const heavy = (req: Req) => req.body !== undefined && Buffer.byteLength(req.body) > HEAVY_BYTES;
  const sendAndCheck = async (req: Req) => {
    const res = await send(req);
    if (op.multipart && is2xx(res)) await checkDownload(op, base, token, req, res);
    return res;
  };
  await pool(selected.filter((req) => !heavy(req)), sendAndCheck);
  for (const req of selected.filter(heavy)) {
    const res = await sendAndCheck(req);
    if (res.status >= 400 && res.status < 500 && res.ms > HEAVY_REFUSAL_MS) addFinding('SLOW_REFUSAL', req, res, `${Math.round(res.ms)} ms for ${Buffer.byteLength(req.body!)} bytes`);
  }
  if (fresh) {
    const again = await buildValid(op, who, { fresh: true });
    if (again) await prepare(again);
    const res = await send(toReq(again ?? base, 'valid'));
    if (!is2xx(res)) invalidValid.push(`${op.key} as ${who}: ${res.status} ${res.text.slice(0, 300)}`);
  }
  if (op.body && ['POST', 'PUT', 'PATCH'].includes(op.method) && !chat && !/\/api\/auth\/(login|password|refresh)/.test(op.template)) await roundTrip(op, who);
}

// ---------------------------------------------------------------------------------------------
// Cross-user phase: B against A's objects, roles against the clinic
// ---------------------------------------------------------------------------------------------
const VOLATILE = new Set(['last_seen', 'online', 'updated_at', 'age', 'status_effective', 'comments_count', 'attachments_count']);
const stable = (json: unknown) => JSON.stringify(json, (key, value: unknown) => (VOLATILE.has(key) ? undefined : value));

/** A's objects as A sees them. */
async function snapshot(): Promise<Map<string, string>> {
  const shots = new Map<string, string>();
  for (const [key, id] of store) {
    const [owner, collection] = key.split(' ') as [string, string];
    if (owner !== 'A' || key.endsWith('#2')) continue;
    const urlPath = `${collection}/${id}`;
    const op = findOp('GET', urlPath);
    if (!op) continue;
    const res = await send({ method: 'GET', path: urlPath, token: actor('A').token, op: op.key, variant: 'snapshot' });
    shots.set(urlPath, `${res.status} ${stable(res.json ?? res.text)}`);
  }
  return shots;
}

async function crossUser(): Promise<void> {
  const before = await snapshot();
  const aIds = new Set(created.filter((c) => c.actor === 'A').map((c) => c.id));
  const checks: Req[] = [];
  for (const op of ops) {
    if (!op.security || CHAT_GENERATION.has(op.key) || op.template.startsWith('/api/auth/')) continue;
    const owner = actorFor(op);
    if (owner === 'A') {
      // B on A's objects
      if (op.template.includes('{')) {
        const built = await buildValid(op, 'A', { fresh: DESTRUCTIVE(op) });
        if (built) checks.push(toReq(built, 'cross-user-B-on-A', {}, actor('B').token));
      }
      if (op.template === '/api/chat-queue') {
        const built = await buildValid(op, 'A');
        if (built) checks.push(toReq(built, 'cross-user-B-on-A-job', {}, actor('B').token));
      }
      // B on B's own objects, naming A's objects in the body or query
      const built = await buildValid(op, 'B', { refActor: 'A', full: true, fresh: DESTRUCTIVE(op) });
      if (built) {
        const text = JSON.stringify(built.body ?? '') + encodeQuery(built.query);
        if ([...aIds].some((id) => text.includes(id))) checks.push(toReq(built, 'cross-ref-B-uses-A-ids'));
      }
    }
    if (owner === 'admin') {
      const built = await buildValid(op, 'admin', { fresh: DESTRUCTIVE(op) });
      if (built) {
        checks.push(toReq(built, 'cross-role-B-no-clinic-role', {}, actor('B').token));
        if (isClinic(op.template)) checks.push(toReq(built, 'cross-role-pharmacist', {}, actor('P').token));
      }
    }
  }
  crossChecks = checks.length;
  await pool(checks, async (req) => {
    const res = await send(req);
    const ok = is2xx(res);
    if (req.variant === 'cross-ref-B-uses-A-ids') {
      if (ok && [...aIds].some((id) => res.text.includes(id))) addFinding('CROSS_USER_ACCESS', req, res, "B referenced A's object and the answer shows it");
      else if (ok && req.method !== 'GET') addFinding('CROSS_USER_SUSPECT', req, res, "B's write naming A's object was accepted");
    } else if (req.variant === 'cross-role-pharmacist') {
      const allowed = /^(GET \/api\/financial\/invoices|POST \/api\/financial\/(invoices|payments)|GET \/api\/visits)/.test(req.op);
      if (ok && !allowed) addFinding('CROSS_ROLE_ACCESS', req, res, 'pharmacist role allowed');
    } else if (ok) addFinding(req.variant.startsWith('cross-role') ? 'CROSS_ROLE_ACCESS' : 'CROSS_USER_ACCESS', req, res);
    else if (![400, 401, 403, 404].includes(res.status)) addFinding('CROSS_USER_SUSPECT', req, res, `expected 403/404, got ${res.status}`);
  });
  // a pharmacist sees a visit's patient without the personal details
  const visitId = store.get('admin /api/visits');
  if (visitId) {
    const req: Req = { method: 'GET', path: `/api/visits/${visitId}`, token: actor('P').token, op: 'GET /api/visits/{id}', variant: 'pharmacist-visit' };
    const res = await send(req);
    const patient = dig(res.json, 'patient');
    if (isObject(patient) && ('national_id' in patient || 'phone' in patient || 'date_of_birth' in patient)) addFinding('CROSS_ROLE_ACCESS', req, res, 'pharmacist sees full patient');
  }
  const after = await snapshot();
  snapshotsCompared = before.size;
  for (const [urlPath, shot] of before) {
    if (after.get(urlPath) === shot) continue;
    const text = `before: ${shot.slice(0, 300)}\nafter:  ${after.get(urlPath)?.slice(0, 300)}`;
    addFinding('CROSS_USER_CHANGED', { method: 'GET', path: urlPath, op: `GET ${urlPath}`, variant: 'snapshot' }, { status: 0, ms: 0, text });
  }
}

// ---------------------------------------------------------------------------------------------
// LIKE wildcards: a search for "%" must match only text holding a "%"
// ---------------------------------------------------------------------------------------------
async function likeChecks(): Promise<void> {
  const targets: { path: string; actor: string; list: (json: unknown) => unknown }[] = [
    { path: '/api/clients', actor: 'A', list: (json) => json },
    { path: '/api/admin/users', actor: 'admin', list: (json) => dig(json, 'users') },
    { path: '/api/admin/staff', actor: 'admin', list: (json) => dig(json, 'staff') },
  ];
  const inv = store.get('A /api/investigations');
  if (inv) targets.push({ path: `/api/investigations/${inv}/entities`, actor: 'A', list: (json) => dig(json, 'entities') });
  for (const t of targets) {
    const op = findOp('GET', t.path);
    if (!op) continue;
    for (const term of ['%', '_', '\\', "'"]) {
      const req: Req = { method: 'GET', path: `${t.path}?search=${encodeURIComponent(term)}`, token: actor(t.actor).token, op: op.key, variant: `like-${term}` };
      const res = await send(req);
      const items = t.list(res.json);
      if (!Array.isArray(items)) continue;
      const escaped = JSON.stringify(term).slice(1, -1);
      const strays = items.filter((item: unknown) => !JSON.stringify(item).toLowerCase().includes(escaped));
      if (strays.length > 0) addFinding('LIKE_WILDCARD', req, res, `${strays.length} of ${items.length} results do not contain ${JSON.stringify(term)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: what node's client refuses to send
// ---------------------------------------------------------------------------------------------
function rawSocket(data: Buffer | string): Promise<Res> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(basePort(), BASE.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? -1);
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const line of head.split('\r\n').slice(1)) {
        const at = line.indexOf(':');
        if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      const json = parseJson(body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n$/, ''));
      resolve({ status, headers, text: body || text, json, ms: performance.now() - started, error: status === -1 ? 'no HTTP answer' : undefined });
    };
    const timer = setTimeout(done, 3000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // one answer is enough
      const text = Buffer.concat(chunks).toString('latin1');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      const headEnd = text.indexOf('\r\n\r\n');
      if (length && headEnd >= 0 && text.length >= headEnd + 4 + Number(length)) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(data);
  });
}

async function rawProbes(): Promise<void> {
  const host = `${BASE.hostname}:${basePort()}`;
  const a = actor('A');
  const credentials = (email: string) => JSON.stringify({ email, password: PASSWORD });
  const login = credentials(a.email);
  const probes: { name: string; op: string; data: Buffer | string }[] = [];
  const withUa = (name: string, ua: Buffer, urlPath: string, payload: string) =>
    probes.push({
      name,
      op: `POST ${urlPath}`,
      data: Buffer.concat([
        Buffer.from(`POST ${urlPath} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nUser-Agent: `),
        ua,
        Buffer.from(`\r\nConnection: close\r\n\r\n${payload}`),
      ]),
    });
  for (const [name, ua] of [
    ['ua-nul', Buffer.from('fuzz\u0000agent', 'latin1')],
    ['ua-latin1-bytes', Buffer.from([0x66, 0xe9, 0xff, 0x80, 0x41])],
    ['ua-invalid-utf8', Buffer.from([0xed, 0xa0, 0x80, 0xc3, 0x28])],
    ['ua-ctrl', Buffer.from('a\u0001\u001b[31mb', 'latin1')],
    ['ua-huge', Buffer.from('u'.repeat(15_000))],
  ] as const) {
    withUa(`register-${name}`, ua, '/api/auth/register', credentials(`fz-${uniq()}@example.com`));
    withUa(`login-${name}`, ua, '/api/auth/login', login);
  }
  const me = (name: string, head: string, extra = '') => probes.push({ name, op: 'GET /api/auth/me', data: `${head}\r\n${extra}\r\n` });
  const asA = `Authorization: Bearer ${a.token}\r\n`;
  const close = 'Connection: close\r\n';
  const loginHead = `POST /api/auth/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n`;
  probes.push({ name: 'cl-and-te', op: 'POST /api/auth/login', data: `${loginHead}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n${close}\r\n${Buffer.byteLength(login).toString(16)}\r\n${login}\r\n0\r\n\r\n` });
  probes.push({ name: 'double-cl', op: 'POST /api/auth/login', data: `${loginHead}Content-Length: ${Buffer.byteLength(login)}\r\nContent-Length: 1\r\n${close}\r\n${login}` });
  probes.push({ name: 'two-content-types', op: 'POST /api/auth/login', data: `${loginHead}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(login)}\r\n${close}\r\n${login}` });
  me('http10', 'GET /api/auth/me HTTP/1.0', asA);
  me('no-host', 'GET /api/auth/me HTTP/1.1', asA + close);
  me('absolute-uri', 'GET http://evil.example/api/auth/me HTTP/1.1', `Host: ${host}\r\n${asA}${close}`);
  me('auth-nul', 'GET /api/auth/me HTTP/1.1', `Host: ${host}\r\nAuthorization: Bearer ${a.token}\u0000x\r\n${close}`);
  me('obs-fold', 'GET /api/auth/me HTTP/1.1', `Host: ${host}\r\nAuthorization: Bearer\r\n ${a.token}\r\n${close}`);
  me('two-auth-headers', 'GET /api/auth/me HTTP/1.1', `Host: ${host}\r\n${asA}Authorization: Bearer ${actor('B').token}\r\n${close}`);
  probes.push({ name: 'asterisk', op: 'OPTIONS *', data: `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n${close}\r\n` });
  probes.push({ name: 'raw-space-in-path', op: 'GET /api/clients', data: `GET /api/clients/a b HTTP/1.1\r\nHost: ${host}\r\n${close}\r\n` });
  const rawTarget = (name: string, op: string, before: string, bytes: Buffer) =>
    probes.push({ name, op, data: Buffer.concat([Buffer.from(before), bytes, Buffer.from(` HTTP/1.1\r\nHost: ${host}\r\n${asA}${close}\r\n`)]) });
  rawTarget('raw-utf8-in-path', 'GET /api/clients/{id}', 'GET /api/clients/', Buffer.from('é🚀'));
  rawTarget('raw-utf8-in-query', 'GET /api/clients', 'GET /api/clients?search=', Buffer.from('é🚀'));
  rawTarget('raw-latin1-in-query', 'GET /api/clients', 'GET /api/clients?search=', Buffer.from([0xe9, 0xff]));
  probes.push({ name: 'bare-lf', op: 'GET /health', data: `GET /health HTTP/1.1\nHost: ${host}\nConnection: close\n\n` });
  for (const probe of probes) {
    const req: Req = { method: 'RAW', path: probe.op.split(' ')[1]!, op: probe.op, variant: `raw-${probe.name}`, body: probe.data };
    const res = await rawSocket(probe.data);
    count(req, res.status, res.ms);
    rawResults.push({ probe: probe.name, status: res.status, ms: Math.round(res.ms), body: res.text.slice(0, 200) });
    if (res.status !== -1) checkResponse(req, res); // a closed connection is a fine answer to a broken request
  }
  // the odd user agents stored with A's sessions must not break them
  const after: Req = { method: 'GET', path: '/api/auth/me', token: a.token, op: 'GET /api/auth/me', variant: 'after-raw' };
  const res = await send(after);
  if (res.status !== 200) addFinding('SESSION_BROKEN', after, res);
}

async function docsProbes(): Promise<void> {
  const paths = ['/docs', '/docs/', '/docs/static/index.html', '/docs/json', '/docs/yaml', '/docs/%2e%2e/package.json', '/docs/static/..%2f..%2f..%2fpackage.json', '/docs/static/%00', '/docs/static/%ZZ', `/docs/${'x'.repeat(3000)}`];
  for (const urlPath of paths) await send({ method: 'GET', path: urlPath, op: 'GET /docs', variant: `docs-${urlPath.slice(0, 40)}` });
  await send({ method: 'GET', path: '/docs/static/swagger-ui.css', op: 'GET /docs', variant: 'docs-range', headers: { range: 'bytes=999999999-' } });
  await send({ method: 'GET', path: '/metrics', op: 'GET /metrics', variant: 'metrics' });
  await send({ method: 'GET', path: '/openapi.json', op: 'GET /openapi.json', variant: 'openapi' });
  await send({ method: 'GET', path: '/does/not/exist', op: 'GET (unmatched)', variant: 'unmatched' });
  await send({ method: 'DELETE', path: '/', op: 'GET (unmatched)', variant: 'unmatched-root' });
}

// ---------------------------------------------------------------------------------------------
// The fuzz
// ---------------------------------------------------------------------------------------------
/** Creators first, then reads, updates, other actions; deletions (members, then investigations) and logout last. */
function opOrder(op: Op): number {
  if (op.template.startsWith('/api/auth/')) return op.key === 'POST /api/auth/logout' ? 90 : op.key === 'POST /api/auth/password' ? 89 : 0;
  if (op.method === 'POST' && !op.template.endsWith('}') && !/\/(stop|duplicate|unlock|status|join|presence|ats-score)$/.test(op.template)) return 10;
  if (op.method === 'GET') return 20;
  if (op.method === 'PUT') return 30;
  if (op.method === 'PATCH') return 40;
  if (op.method === 'POST') return 50;
  if (op.method === 'DELETE') return op.template.endsWith('/members/{user_id}') ? 70 : op.template === '/api/investigations/{id}' ? 80 : 60;
  return 99;
}

async function fuzz(admin: { email: string; password: string; create?: () => void }): Promise<void> {
  const doc = await rawRequest({ method: 'GET', path: '/openapi.json', op: 'GET /openapi.json', variant: 'setup' });
  const parsed = parseJson(doc.text);
  if (doc.status !== 200 || !isObject(parsed) || !isObject(parsed.paths)) throw new Error(`GET /openapi.json: ${doc.status} ${doc.text.slice(0, 300)}`);
  spec = parsed as unknown as OpenApiDocument;
  loadOps();
  console.log(`${ops.length} operations in the document`);

  try {
    actors.admin = await login(admin.email, admin.password, 'admin');
  } catch (error) {
    if (!admin.create) throw error;
    // The server bootstraps ADMIN_EMAIL only into a database without users: in one used before, the CLI makes the admin.
    console.log('the database has users already: creating the admin with `npm run admin -- create`');
    admin.create();
    actors.admin = await login(admin.email, admin.password, 'admin');
  }
  for (const name of ['A', 'B', 'C', 'D', 'E', 'L', 'P', 'R']) actors[name] = await register(name);
  await send(jsonReq('PUT', `/api/admin/staff/${actor('P').id}`, { roles: ['pharmacist'] }, actor('admin').token, 'PUT /api/admin/staff/{user_id}', 'setup'));

  // Shared objects first: every collection a path refers to, for A, B and admin.
  for (const op of ops) {
    if (!op.template.includes('{') || !op.security) continue;
    const who = actorFor(op);
    if (who === 'A') {
      await fillPath(op, 'A');
      await fillPath(op, 'B');
    } else if (who === 'admin') await fillPath(op, 'admin');
  }
  primaryInvestigation = store.get('A /api/investigations');
  // C joins A's investigation (a member to change and remove)
  if (primaryInvestigation) await ensure('A', `/api/investigations/${primaryInvestigation}/members`);
  // body references used by B's cross-user requests
  for (const collection of ['/api/clients', '/api/projects', '/api/time-tracking', '/api/invoices', '/api/chat-queue']) await ensure('A', collection);

  if (!OPTIONS.skipCross) {
    console.log('cross-user phase');
    await crossUser();
  }

  const only = OPTIONS.only ? new RegExp(OPTIONS.only) : undefined;
  for (const op of [...ops].sort((x, y) => opOrder(x) - opOrder(y))) {
    if (only && !only.test(op.key)) continue;
    const before = totalRequests;
    const started = Date.now();
    try {
      await fuzzOp(op);
    } catch (error) {
      unreachable.push(`${op.key}: fuzzer error ${(error as Error).stack}`);
    }
    console.log(`${op.key.padEnd(70)} ${String(totalRequests - before).padStart(5)} req ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  await likeChecks();
  await rangeChecks();
  await docsProbes();
  await rawProbes();
}

// ---------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------
interface Server {
  child: ChildProcess;
  dataDir: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const logTail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)');
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Starts the server from source as `npm start` does, on a fresh DATA_DIR; resolves once /health answers. */
async function startServer(databaseUrl: string | undefined, admin: { email: string; password: string }): Promise<{ server: Server; base: URL }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ub-fuzz-'));
  const logFile = path.join(dataDir, 'server.log');
  const port = await freePort();
  const serverEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(36).toString('base64url'), // 48 characters
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    RATE_LIMIT_MAX: '100000000',
    AUTH_RATE_LIMIT: '100000',
    CHAT_RATE_LIMIT: '100000',
    LOG_LEVEL: 'info',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    // The same server whatever the caller's environment or .env say (an empty value hides .env's):
    // its own database, no Redis, one process, every module, the default body limit, and no language
    // model (nothing listens on port 9, so generation answers 503 at once).
    DATABASE_URL: databaseUrl ?? '',
    REDIS_URL: '',
    WORKERS: '1',
    MODULES: '',
    BODY_LIMIT_MB: '1',
    LLM_PROVIDER: 'ollama',
    OLLAMA_URL: 'http://127.0.0.1:9',
  };
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: serverEnv, stdio: ['ignore', log, log] });
  closeSync(log);
  const server = { child, dataDir, logFile, env: serverEnv };
  const base = new URL(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!running(child)) {
      await stopServer(server);
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before answering /health:\n${logTail(logFile)}`);
    }
    try {
      if ((await fetch(new URL('/health', base), { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`the server did not answer /health within 60 s:\n${logTail(logFile)}`);
    }
    await sleep(200);
  }
  return { server, base };
}

/** SIGTERM, then waits for the exit (SIGKILL after 20 s); returns how it exited. */
async function stopServer(server: Server): Promise<number | string | null> {
  const { child } = server;
  if (running(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 20_000)))]);
    clearTimeout(timer);
    if (running(child)) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  return child.exitCode ?? child.signalCode;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main(): Promise<number> {
  const started = Date.now();
  if (OPTIONS.url && OPTIONS.databaseUrl) throw new Error('FUZZ_URL fuzzes a running server; FUZZ_DATABASE_URL is for the server this script starts: give one of them');
  if (OPTIONS.databaseUrl && !/^postgres(ql)?:\/\//.test(OPTIONS.databaseUrl)) throw new Error('FUZZ_DATABASE_URL must be a postgres:// URL');
  let target: string;
  let server: Server | undefined;
  let admin: { email: string; password: string; create?: () => void };
  if (OPTIONS.url) {
    BASE = new URL(OPTIONS.url);
    if (BASE.protocol !== 'http:') throw new Error('FUZZ_URL must be an http:// URL');
    target = BASE.origin;
    admin = { email: env('FUZZ_ADMIN_EMAIL') ?? 'admin@example.com', password: env('FUZZ_ADMIN_PASSWORD') ?? 'admin password 1' };
  } else {
    const database = OPTIONS.databaseUrl ? new URL(OPTIONS.databaseUrl) : undefined;
    target = database ? `PostgreSQL database ${database.pathname.slice(1)} on ${database.host}` : 'SQLite';
    admin = { email: `fz-${RUN}-admin@example.com`, password: 'admin password 1' };
    console.log(`starting the server (${target})...`);
    const launched = await startServer(OPTIONS.databaseUrl, admin);
    server = launched.server;
    BASE = launched.base;
    const serverEnv = server.env;
    admin.create = () =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'admin', 'create', '--email', admin.email, '--password', admin.password], {
        cwd: root,
        env: serverEnv,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
  }
  console.log(`fuzzing ${BASE.origin} (${target}), seed ${SEED} (FUZZ_SEED=${SEED} repeats the run), run id ${RUN}`);

  let failure: unknown;
  const stopOnSignal = () => {
    // Ctrl-C: stop the server and remove its directory before leaving
    console.error('interrupted: stopping');
    void (server ? stopServer(server) : Promise.resolve()).finally(() => {
      if (server) rmSync(server.dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    await fuzz(admin);
  } catch (error) {
    failure = error;
  }
  agent.destroy();

  const resultsFile = path.join(tmpdir(), `ub-fuzz-${RUN}.json`);
  let serverLog: string | undefined;
  if (server) {
    const exit = await stopServer(server);
    if (exit !== 0) {
      const text = `exit ${exit}; the log ends:\n${logTail(server.logFile)}`;
      addFinding('UNCLEAN_SHUTDOWN', { method: 'SIGTERM', path: '', op: 'server', variant: 'stop' }, { status: 0, ms: 0, text });
    }
    if (findings.length > 0 || failure) {
      serverLog = resultsFile.replace(/\.json$/, '-server.log');
      copyFileSync(server.logFile, serverLog);
    }
    rmSync(server.dataDir, { recursive: true, force: true });
  }
  process.off('SIGINT', stopOnSignal);
  process.off('SIGTERM', stopOnSignal);
  if (failure) {
    if (serverLog) console.error(`server log: ${serverLog}`);
    throw failure;
  }

  const seconds = (Date.now() - started) / 1000;
  const coverage = ops.map((op) => ({ op: op.key, ...(perOp.get(op.key) ?? { sent: 0, ok2xx: 0, statuses: {} }) }));
  const opsWithout2xx = coverage.filter((c) => c.ok2xx === 0).map((c) => `${c.op} (${JSON.stringify(c.statuses)})`);
  const findingKinds: Record<string, number> = {};
  for (const f of findings) findingKinds[f.kind] = (findingKinds[f.kind] ?? 0) + 1;
  const summary = { target, base: BASE.origin, seed: SEED, run: RUN, seconds, operations: ops.length, totalRequests, meanMs: totalMs / Math.max(1, totalRequests), statusHistogram, findingKinds, roundTripCompared, crossChecks, snapshotsCompared };
  writeFileSync(resultsFile, JSON.stringify({ ...summary, findings, setupFailures, unreachable, invalidValid, opsWithout2xx, rawResults, coverage, serverLog }, null, 2));

  console.log(JSON.stringify({ statusHistogram, findingKinds, roundTripCompared, crossChecks, snapshotsCompared }));
  const gaps: [string, string[]][] = [
    ['operations without any 2xx (without a language model, those that need one)', opsWithout2xx],
    ['operations not reached', unreachable],
    ['valid requests refused', invalidValid],
    ['setup requests refused', setupFailures],
  ];
  for (const [title, lines] of gaps) {
    if (lines.length === 0) continue;
    console.log(`${title}: ${lines.length}`);
    for (const line of lines) console.log(`   ${line.slice(0, 300)}`);
  }
  const seen = new Set<string>();
  for (const f of findings) {
    const key = `${f.kind} ${f.op} ${f.variant.replace(/-\d+$/, '')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    console.log(`[${f.kind}] ${f.op} :: ${f.variant} -> ${f.status} (${f.ms} ms) ${f.note ?? ''}\n    ${f.response.slice(0, 200).replace(/\n/g, ' ')}`);
  }
  if (serverLog) console.log(`server log: ${serverLog}`);
  console.log(`results: ${resultsFile}`);
  console.log(
    `fuzz: ${totalRequests} requests to ${ops.length} operations in ${seconds.toFixed(1)} s on ${target}, seed ${SEED}: ` +
      (findings.length ? `${findings.length} findings (${seen.size} distinct)` : 'no findings'),
  );
  return findings.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
