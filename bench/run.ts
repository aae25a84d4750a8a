/**
 * npm run bench [-- name ...] [--duration 10] [--connections 50]
 *
 * Builds the production server, starts it pinned to core 0 (taskset), and loads it from a separate
 * process pinned to core 1 (wrk where installed, else autocannon). In the same run it loads a bare
 * node:http server answering the same /health JSON: the ceiling our figures are compared against
 * (and plain Fastify with the same route, to show what the framework alone costs).
 * The ceilings, /health and /api/auth/me are loaded in turn, in short slices, so their ratios are
 * taken on the same machine; then the /health servers are loaded all at once, for the same ratios
 * from one window of time; module scenarios follow one after the other.
 * Results: a table on stdout and JSON in bench/results/.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchClient, BenchUser, LoadTarget, Scenario, ScenarioFile } from './scenario.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options, positionals: only } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
});
const durationS = Number(options.duration);
const warmupS = Number(options.warmup);
const connections = Number(options.connections);

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
const pinned = (core: number, command: string, args: string[]) => (hasTaskset ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]) as [string, string[]];

interface LoadResult {
  requests_per_s: number;
  /** Requests answered in the run (for the server's CPU time per request). */
  requests: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

interface Row extends LoadResult {
  scenario: string;
  description: string;
  /** bare node:http (the ceiling), plain Fastify (the framework alone) or the app. */
  server: 'bare' | 'fastify' | 'app';
  rss_mb: number;
  /**
   * The server process's CPU time (user + system, from /proc) per answered request: the capacity
   * the server would have with the whole core. Time the hypervisor steals from the VM is not in it,
   * so it does not move with the VM's share of the host (what other guests do to caches still
   * shows); the ratios are also given from it.
   */
  server_cpu_us: number | null;
  /** From the server's own request-duration histogram over the measured run (onRequest to onResponse): without the loader's queueing. */
  server_p50_ms: number | null;
  server_p99_ms: number | null;
}

const IDLE_MS = 15_000;
const SETTLE_MAX_MS = 60_000;

interface IdleFigures {
  /** From spawning the process to the first answered /health. */
  startup_ms: number;
  /** RSS 1 s after start-up, and after IDLE_MS without requests. */
  start_rss_mb: number;
  idle_rss_mb: number;
  /** RSS once V8's memory reducer has run; null when it had not within SETTLE_MAX_MS. */
  settled_rss_mb: number | null;
}
/** Length of one slice in the interleaved comparison of the ceilings and the core scenarios. */
const SLICE_S = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function waitForHealth(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${baseUrl}/health`);
      if (response.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  throw new Error(`server did not answer /health within ${timeoutMs} ms`);
}

function parseWrkDuration(text: string): number {
  const match = /([\d.]+)(us|ms|s|m)/.exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 'ms' ? value : match[2] === 's' ? value * 1000 : value * 60_000;
}

/** How to run one load: the loader's command line, how to read its output, and what to remove after. */
interface LoaderRun {
  command: string;
  args: string[];
  parse(output: string): LoadResult;
  cleanup(): void;
}

function wrkRun(baseUrl: string, target: LoadTarget, seconds: number): LoaderRun {
  const script = path.join(tmpdir(), `wrk-${randomBytes(4).toString('hex')}.lua`);
  const sendsBody = target.body !== undefined || target.bodies !== undefined;
  const headers = { ...(sendsBody ? { 'content-type': 'application/json' } : {}), ...target.headers };
  const lines = [`wrk.method = ${JSON.stringify(target.method)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  if (target.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(JSON.stringify(target.body))}`);
  if (target.bodies) {
    // Lua strings in long brackets need no escaping; JSON never contains "]==]".
    lines.push('local bodies = {', ...target.bodies.map((body) => `[==[${JSON.stringify(body)}]==],`), '}');
    lines.push('local next_body = 0', 'request = function()', '  next_body = next_body % #bodies + 1', '  return wrk.format(nil, nil, nil, bodies[next_body])', 'end');
  }
  writeFileSync(script, lines.join('\n'));
  const [command, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${baseUrl}${target.path}`]);
  return {
    command,
    args,
    parse: (output) => ({
      requests_per_s: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0)),
      requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0),
      p50_ms: parseWrkDuration(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? ''),
      p99_ms: parseWrkDuration(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? ''),
      non_2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
      errors: (/Socket errors:[^\n]*/.exec(output)?.[0].match(/\d+/g) ?? []).reduce((sum, n) => sum + Number(n), 0),
    }),
    cleanup: () => rmSync(script),
  };
}

function autocannonRun(baseUrl: string, target: LoadTarget, seconds: number): LoaderRun {
  const [command, args] = pinned(1, process.execPath, [
    '--import',
    'tsx',
    path.join(root, 'bench/load-autocannon.ts'),
    JSON.stringify({ url: `${baseUrl}${target.path}`, connections, duration: seconds, target }),
  ]);
  return { command, args, parse: (output) => JSON.parse(output) as LoadResult, cleanup: () => undefined };
}

const loaderRun = (baseUrl: string, target: LoadTarget, seconds: number): LoaderRun =>
  hasWrk ? wrkRun(baseUrl, target, seconds) : autocannonRun(baseUrl, target, seconds);

/**
 * Cumulative request counts per bucket bound (seconds) of http_request_duration_seconds: of one
 * route if given, else of all routes but /metrics summed.
 */
async function durationBuckets(baseUrl: string, route?: string): Promise<Map<number, number>> {
  // Not fetch: its pooled keep-alive connection would be reused after minutes in which this process
  // was blocked in the loader and could not notice that the server had closed it.
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(`${baseUrl}/metrics`, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body)).on('error', reject);
      })
      .on('error', reject);
  });
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
    if (route ? !match[1]!.includes(`route="${route}"`) : match[1]!.includes('route="/metrics"')) continue;
    const bound = /le="([^"]+)"/.exec(match[1]!)![1]!;
    const le = bound === '+Inf' ? Infinity : Number(bound);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/** The q-quantile of the requests between two snapshots, interpolated within its bucket as Prometheus' histogram_quantile does; in ms. */
function bucketQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => after.get(le)! - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  const index = counts.findIndex((count) => count >= rank);
  const upper = bounds[index]!;
  const lower = index === 0 ? 0 : bounds[index - 1]!;
  if (upper === Infinity) return lower * 1000;
  const below = index === 0 ? 0 : counts[index - 1]!;
  const inBucket = counts[index]! - below;
  return Math.round((lower + ((upper - lower) * (rank - below)) / inBucket) * 1e6) / 1000;
}

function load(baseUrl: string, target: LoadTarget, seconds: number): LoadResult {
  const run = loaderRun(baseUrl, target, seconds);
  try {
    return run.parse(execFileSync(run.command, run.args, { encoding: 'utf8', cwd: root }));
  } finally {
    run.cleanup();
  }
}

/** As `load`, without blocking: for loads that must run at the same time. */
function loadInBackground(baseUrl: string, target: LoadTarget, seconds: number): Promise<LoadResult> {
  const run = loaderRun(baseUrl, target, seconds);
  return new Promise<string>((resolve, reject) => {
    execFile(run.command, run.args, { encoding: 'utf8', cwd: root }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  })
    .then(run.parse)
    .finally(run.cleanup);
}

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, in microseconds. */
function cpuTimeUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond;
}

/** Runs a load and also returns the server's CPU time over it. */
function loadMeasured(pid: number, baseUrl: string, target: LoadTarget, seconds: number): LoadResult & { cpu_us: number } {
  const before = cpuTimeUs(pid);
  const result = load(baseUrl, target, seconds);
  return { ...result, cpu_us: cpuTimeUs(pid) - before };
}
const cpuPerRequest = (cpuUs: number, requests: number) => (requests > 0 ? Math.round((cpuUs / requests) * 100) / 100 : null);

/** A server and the request to repeat against it, in a comparison whose figures must share the same machine. */
interface Contender {
  scenario: string;
  description: string;
  server: Row['server'];
  baseUrl: string;
  pid: number;
  target: LoadTarget;
  /** The route whose own request-duration histogram gives the server-side p50/p99 (app servers only). */
  route?: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/**
 * Loads each contender in turn for SLICE_S seconds, round after round until each has had `seconds`,
 * the order rotating each round. This machine's speed drifted by 20-37% between runs a few seconds apart, which made
 * ratios between runs done one after the other meaningless; slices taken in turn see the same drift.
 * A contender's req/s is the mean of its slices, its p50/p99 the median of its slices'. Also returns
 * each contender's req/s per round, for the spread of the ratios.
 */
async function loadInterleaved(contenders: Contender[], seconds: number): Promise<{ rows: Row[]; perRound: number[][] }> {
  const rounds = Math.max(1, Math.round(seconds / SLICE_S));
  const slices = contenders.map((): (LoadResult & { cpu_us: number })[] => []);
  const before = await Promise.all(contenders.map((contender) => (contender.route ? durationBuckets(contender.baseUrl, contender.route) : null)));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < contenders.length; turn++) {
      const index = (turn + round) % contenders.length;
      const contender = contenders[index]!;
      slices[index]!.push(loadMeasured(contender.pid, contender.baseUrl, contender.target, SLICE_S));
    }
  }
  const rows = await Promise.all(
    contenders.map(async (contender, index): Promise<Row> => {
      const own = slices[index]!;
      const after = contender.route ? await durationBuckets(contender.baseUrl, contender.route) : null;
      return {
        scenario: contender.scenario,
        description: contender.description,
        server: contender.server,
        requests_per_s: Math.round(own.reduce((sum, slice) => sum + slice.requests_per_s, 0) / own.length),
        requests: own.reduce((sum, slice) => sum + slice.requests, 0),
        p50_ms: median(own.map((slice) => slice.p50_ms)),
        p99_ms: median(own.map((slice) => slice.p99_ms)),
        non_2xx: own.reduce((sum, slice) => sum + slice.non_2xx, 0),
        errors: own.reduce((sum, slice) => sum + slice.errors, 0),
        rss_mb: rssMb(contender.pid),
        server_cpu_us: cpuPerRequest(
          own.reduce((sum, slice) => sum + slice.cpu_us, 0),
          own.reduce((sum, slice) => sum + slice.requests, 0),
        ),
        server_p50_ms: before[index] && after ? bucketQuantile(before[index]!, after, 0.5) : null,
        server_p99_ms: before[index] && after ? bucketQuantile(before[index]!, after, 0.99) : null,
      };
    }),
  );
  return { rows, perRound: slices.map((own) => own.map((slice) => slice.requests_per_s)) };
}

/** Rounds of the loads run together, and their length (seconds). */
const TOGETHER_ROUNDS = 6;
const TOGETHER_S = 4;

interface TogetherRound {
  /** Per contender, in the order given. */
  requests_per_s: number[];
  server_cpu_us: (number | null)[];
  /** Of core 0: the servers' CPU time over the round's wall time. */
  busy_share: number;
}

/**
 * Loads every contender at once, each by a loader of its own on core 1, round after round. The
 * scheduler gives each busy server the same share of core 0, so the ratio of their req/s is the
 * ratio of their capacities, taken in exactly the same window of time: in the eleventh session's
 * runs these ratios moved a few percent from round to round where slices taken in turn moved by
 * tens of percent. Contenders must be distinct processes. If core 0 is not kept busy (busy_share
 * well below 1), the loaders set the pace and the ratios say little.
 */
async function loadTogether(contenders: Contender[]): Promise<TogetherRound[]> {
  const rounds: TogetherRound[] = [];
  for (let round = 0; round < TOGETHER_ROUNDS; round++) {
    const before = contenders.map(({ pid }) => cpuTimeUs(pid));
    const startedAt = performance.now();
    const results = await Promise.all(contenders.map(({ baseUrl, target }) => loadInBackground(baseUrl, target, TOGETHER_S)));
    const wallUs = (performance.now() - startedAt) * 1000;
    const cpuUs = contenders.map(({ pid }, index) => cpuTimeUs(pid) - before[index]!);
    rounds.push({
      requests_per_s: results.map((result) => result.requests_per_s),
      server_cpu_us: results.map((result, index) => cpuPerRequest(cpuUs[index]!, result.requests)),
      busy_share: Math.round((cpuUs.reduce((sum, used) => sum + used, 0) / wallUs) * 100) / 100,
    });
  }
  return rounds;
}

const percent = (part: number | null | undefined, whole: number | null | undefined) => (part && whole ? Math.round((part / whole) * 1000) / 10 : null);

/** The comparisons the bench reports, each contender named `server:scenario` against another. */
const comparisons = {
  health_vs_bare: ['app:health', 'bare:health'],
  health_vs_bare_same_headers: ['app:health', 'bare:health+headers'],
  bare_same_headers_vs_bare: ['bare:health+headers', 'bare:health'],
  fastify_vs_bare: ['fastify:health', 'bare:health'],
  health_vs_fastify: ['app:health', 'fastify:health'],
  fastify_same_headers_vs_bare: ['fastify:health+headers', 'bare:health'],
  health_vs_fastify_same_headers: ['app:health', 'fastify:health+headers'],
  me_vs_health: ['app:me', 'app:health'],
} as const;
type Comparison = keyof typeof comparisons;

/** One figure per comparison, from the names of its two contenders. */
function eachComparison<T>(figure: (of: string, against: string) => T): Record<Comparison, T> {
  return Object.fromEntries(Object.entries(comparisons).map(([name, [of, against]]) => [name, figure(of, against)])) as Record<Comparison, T>;
}

/** Each comparison of the servers loaded together as the median of its rounds' ratios (and their range), from req/s and from server CPU time per request. */
function togetherRatios(keys: string[], rounds: TogetherRound[]) {
  const figures = (measure: (round: TogetherRound, column: number) => number | null) =>
    eachComparison((of, against) => {
      const [mine, theirs] = [keys.indexOf(of), keys.indexOf(against)];
      if (mine < 0 || theirs < 0) return null;
      const values = rounds.map((round) => percent(measure(round, mine), measure(round, theirs))).filter((value) => value !== null);
      return values.length > 0 ? { median: median(values), min: Math.min(...values), max: Math.max(...values) } : null;
    });
  return {
    ratios: figures((round, column) => round.requests_per_s[column]!),
    ratios_by_cpu: figures((round, column) => (round.server_cpu_us[column] ? 1 / round.server_cpu_us[column]! : null)),
  };
}

function benchClient(baseUrl: string, adminCredentials: { email: string; password: string }): BenchClient {
  let userCount = 0;
  let admin: BenchUser | null = null;
  const request = async <T>(method: LoadTarget['method'], urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const response = await fetch(`${baseUrl}${urlPath}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${urlPath} -> ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const login = async (path_: string, body: unknown): Promise<BenchUser> => {
    const result = await request<{ token: string; user: { id: string } }>('POST', path_, body);
    return { id: result.user.id, headers: { authorization: `Bearer ${result.token}` } };
  };
  return {
    baseUrl,
    request,
    newUser: () => login('/api/auth/register', { email: `bench${++userCount}-${randomBytes(3).toString('hex')}@example.com`, password: 'bench-password-1' }),
    admin: async () => (admin ??= await login('/api/auth/login', adminCredentials)),
  };
}

/** The core scenarios, with the route whose server-side latency is theirs. */
const coreScenarios: (Scenario & { route: string })[] = [
  {
    name: 'health',
    route: '/health',
    description: 'GET /health (database check cached 1 s)',
    setup: async () => ({ method: 'GET', path: '/health' }),
  },
  {
    name: 'me',
    route: '/api/auth/me',
    description: 'GET /api/auth/me: JWT check, session check, user read',
    setup: async (client) => ({ method: 'GET', path: '/api/auth/me', headers: (await client.newUser()).headers }),
  },
];

async function loadScenarioFiles(): Promise<{ file: string; module: ScenarioFile }[]> {
  const dir = path.join(root, 'bench/scenarios');
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts')).sort();
  return Promise.all(files.map(async (file) => ({ file, module: (await import(pathToFileURL(path.join(dir, file)).href)) as ScenarioFile })));
}

function startProcess(command: string, args: string[], env: Record<string, string>, stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function main(): Promise<void> {
  console.log('building the production server (npm run build)...');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  console.log(`loader: ${hasWrk ? 'wrk' : 'autocannon'}, ${connections} connections, ${durationS}s per scenario after ${warmupS}s warm-up; ` +
    `${hasTaskset ? 'server pinned to core 0, loader to core 1' : 'taskset not available: processes not pinned'}`);

  const rows: Row[] = [];
  let perRound = new Map<string, number[]>();
  let together: { keys: string[]; rounds: TogetherRound[] } | null = null;
  const wanted = (name: string) => only.length === 0 || only.some((filter) => name === filter || name.startsWith(`${filter}.`) || name.startsWith(filter));

  const barePort = 19_000 + Math.floor(Math.random() * 500);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'ub-bench-'));
  const files = await loadScenarioFiles();
  const moduleScenarios = files.flatMap(({ file, module }) => module.scenarios.map((scenario) => ({ file, scenario })));
  const selected = [...coreScenarios.map((scenario) => ({ file: 'core', scenario })), ...moduleScenarios].filter(({ scenario }) => wanted(scenario.name));
  const neededFiles = new Set(selected.map(({ file }) => file));

  const admin = { email: 'bench-admin@example.com', password: 'bench-admin-password' };
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(barePort + 1),
    RATE_LIMIT_MAX: '1000000000',
    AUTH_RATE_LIMIT: '1000000000',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
  };
  const cleanups: (() => Promise<void>)[] = [];
  for (const { file, module } of files) {
    if (!neededFiles.has(file) || !module.beforeStart) continue;
    console.log(`preparing ${file}...`);
    const prepared = await module.beforeStart({ dataDir, databaseUrl: env.DATABASE_URL ?? null });
    Object.assign(env, prepared.env ?? {});
    if (prepared.cleanup) cleanups.push(prepared.cleanup);
  }

  const [command, args] = pinned(0, process.execPath, [path.join(root, 'dist/server.mjs')]);
  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  // Start-up and memory are measured on servers of their own, traced for V8's garbage collections.
  // V8 keeps the young generation that start-up grew (~8 MB, empty) and start-up's freed old-space
  // pages until its memory reducer runs, which was seen anywhere from 8 s to over 30 s after
  // start-up: RSS is read 1 s after start-up, after 15 s without requests, and once the reducer
  // has run (its last collection 2 s past, at most SETTLE_MAX_MS after start-up).
  // The first start creates the schema and hashes the bootstrap admin's password; a restart on the
  // same database does neither, as every later start of a deployed server. Both are measured.
  // The load scenarios then run on a fresh start, not on a heap that has just been shrunk.
  const [tracedCommand, tracedArgs] = pinned(0, process.execPath, ['--trace-gc', path.join(root, 'dist/server.mjs')]);
  const measureIdle = async (): Promise<IdleFigures> => {
    const idle = startProcess(tracedCommand, tracedArgs, env, 'pipe');
    let lastReduceAt: number | null = null;
    createInterface({ input: idle.stdout! }).on('line', (line) => {
      if (line.includes('Mark-Compact (reduce)')) lastReduceAt = performance.now();
    });
    try {
      const spawnedAt = performance.now();
      const startupMs = Math.round(await waitForHealth(baseUrl, idle, 30_000));
      await sleep(1000);
      const startRssMb = rssMb(idle.pid!);
      await sleep(IDLE_MS - 1000);
      const idleRssMb = rssMb(idle.pid!);
      const settled = () => lastReduceAt !== null && performance.now() - lastReduceAt >= 2000;
      while (!settled() && performance.now() - spawnedAt < SETTLE_MAX_MS) await sleep(250);
      const settledRssMb = settled() ? rssMb(idle.pid!) : null;
      return { startup_ms: startupMs, start_rss_mb: startRssMb, idle_rss_mb: idleRssMb, settled_rss_mb: settledRssMb };
    } finally {
      await stopProcess(idle);
    }
  };
  // A deployment's first start: a fresh database and the code cache `npm run build` wrote for Node's
  // default flags (scripts/server-entry.mjs). The traced starts run with --trace-gc, a flag V8 keys
  // its cache on, so the first of them compiles the bundle as a start without any cache does (and
  // writes a cache for those flags, which the traced restart reads).
  const deployedFirstStartMs = await (async () => {
    const server = startProcess(command, args, { ...env, DATA_DIR: path.join(dataDir, 'deployed-first-start') });
    try {
      return Math.round(await waitForHealth(baseUrl, server, 30_000));
    } finally {
      await stopProcess(server);
    }
  })();
  const firstStart = await measureIdle();
  const restart = await measureIdle();
  // The ceilings: a bare node:http server with the same /health JSON, the same again sending the
  // app's security headers and request id (what those alone cost), plain Fastify with the same route
  // and nothing else (what the framework alone costs), and plain Fastify sending the same headers
  // (the floor for any Fastify server under the app's header policy). They run beside the app, idle
  // but for their slices, so that they are loaded in the same windows of time as its core scenarios.
  const healthTarget: LoadTarget = { method: 'GET', path: '/health' };
  const ceilingKinds = [
    { scenario: 'health', server: 'bare', script: 'bench/bare-server.mjs', sameHeaders: '0', description: 'bare node:http, same JSON (ceiling)' },
    { scenario: 'health+headers', server: 'bare', script: 'bench/bare-server.mjs', sameHeaders: '1', description: 'bare node:http, same JSON and security headers' },
    { scenario: 'health', server: 'fastify', script: 'bench/fastify-server.mjs', sameHeaders: '0', description: 'plain Fastify, same route and JSON, no hooks' },
    { scenario: 'health+headers', server: 'fastify', script: 'bench/fastify-server.mjs', sameHeaders: '1', description: 'plain Fastify, same route and JSON, security headers' },
  ] as const;
  const ceilings = (wanted('health') ? ceilingKinds : []).map(({ scenario, server, script, sameHeaders, description }, index) => {
    const port = barePort + 2 * index;
    const [ceilingCommand, ceilingArgs] = pinned(0, process.execPath, [path.join(root, script)]);
    const child = startProcess(ceilingCommand, ceilingArgs, { PORT: String(port), SAME_HEADERS: sameHeaders });
    return { scenario, description, server, child, baseUrl: `http://127.0.0.1:${port}`, target: healthTarget };
  });
  const stopCeilings = () => Promise.all(ceilings.map(({ child }) => stopProcess(child)));

  const server = startProcess(command, args, env);
  try {
    await waitForHealth(baseUrl, server, 30_000);
    const client = benchClient(baseUrl, admin);
    const contenders: Contender[] = [];
    for (const ceiling of ceilings) {
      await waitForHealth(ceiling.baseUrl, ceiling.child, 10_000);
      contenders.push({ ...ceiling, pid: ceiling.child.pid! });
    }
    for (const scenario of coreScenarios.filter(({ name }) => wanted(name))) {
      contenders.push({ scenario: scenario.name, description: scenario.description, server: 'app', baseUrl, pid: server.pid!, target: await scenario.setup(client), route: scenario.route });
    }
    if (contenders.length > 0) {
      process.stdout.write(`running ${contenders.map(({ scenario, server: kind }) => `${scenario} (${kind})`).join(', ')} in turn, ${SLICE_S} s each... `);
      for (const contender of contenders) load(contender.baseUrl, contender.target, warmupS);
      const compared = await loadInterleaved(contenders, durationS);
      rows.push(...compared.rows);
      perRound = new Map(contenders.map((contender, index) => [`${contender.server}:${contender.scenario}`, compared.perRound[index]!]));
      console.log('done');
      // The /health servers once more, all loaded at once (the app's /me would share its process with its /health).
      const healthServers = contenders.filter(({ scenario }) => scenario !== 'me');
      if (healthServers.length > 1) {
        process.stdout.write(`running ${healthServers.map(({ scenario, server: kind }) => `${scenario} (${kind})`).join(', ')} together, ${TOGETHER_ROUNDS} rounds of ${TOGETHER_S} s... `);
        const rounds = await loadTogether(healthServers);
        together = { keys: healthServers.map(({ server: kind, scenario }) => `${kind}:${scenario}`), rounds };
        console.log('done');
      }
    }
    await stopCeilings();
    for (const { scenario } of selected.filter(({ file }) => file !== 'core')) {
      process.stdout.write(`running ${scenario.name}... `);
      const target = await scenario.setup(client);
      const quarter = Math.floor((target.bodies?.length ?? 0) / 4);
      load(baseUrl, target.bodies ? { ...target, bodies: target.bodies.slice(0, quarter) } : target, warmupS);
      const before = await durationBuckets(baseUrl);
      const { cpu_us: cpuUs, ...result } = loadMeasured(server.pid!, baseUrl, target.bodies ? { ...target, bodies: target.bodies.slice(quarter) } : target, durationS);
      const after = await durationBuckets(baseUrl);
      rows.push({
        scenario: scenario.name,
        description: scenario.description,
        server: 'app',
        ...result,
        rss_mb: rssMb(server.pid!),
        server_cpu_us: cpuPerRequest(cpuUs, result.requests),
        server_p50_ms: bucketQuantile(before, after, 0.5),
        server_p99_ms: bucketQuantile(before, after, 0.99),
      });
      console.log(`${result.requests_per_s} req/s`);
    }
  } finally {
    await stopCeilings();
    await stopProcess(server);
    for (const cleanup of cleanups) await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const rowOf = (contender: string) => rows.find((row) => `${row.server}:${row.scenario}` === contender);
  const ms = (value: number | null) => (value === null ? '' : value.toFixed(2));
  console.log('\n| scenario | server | req/s | server CPU us/req | p50 ms | p99 ms | server p50 ms | server p99 ms | non-2xx | RSS MB | what |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    console.log(
      `| ${row.scenario} | ${row.server} | ${row.requests_per_s} | ${ms(row.server_cpu_us)} | ${ms(row.p50_ms)} | ${ms(row.p99_ms)} | ${ms(row.server_p50_ms)} | ${ms(row.server_p99_ms)} | ${row.non_2xx + row.errors} | ${row.rss_mb} | ${row.description} |`,
    );
  }
  console.log(`\np50/p99: at the loader, ${connections} connections (mostly queueing); server p50/p99: the server's own histogram, onRequest to onResponse.`);
  // Each ratio twice: from req/s (what the targets name) and from the server's CPU time per request
  // (the capacity each would have with the whole core: steadier where the VM's share of the host moves).
  const ratiosBy = (measure: (row: Row | undefined) => number | null | undefined) => eachComparison((of, against) => percent(measure(rowOf(of)), measure(rowOf(against))));
  const ratios = ratiosBy((row) => row?.requests_per_s);
  const cpuRatios = ratiosBy((row) => (row?.server_cpu_us ? 1 / row.server_cpu_us : null));
  // The same ratios round by round: how far one window of time could move them.
  const perRoundPercent = (of: string, against: string) => {
    const [mine, theirs] = [perRound.get(of), perRound.get(against)];
    return mine && theirs ? mine.map((value, round) => Math.round((value / theirs[round]!) * 1000) / 10) : null;
  };
  const ratiosPerRound = eachComparison(perRoundPercent);
  const spread = (values: number[] | null) => (values ? ` (rounds: ${Math.min(...values)}-${Math.max(...values)}%)` : '');
  const idleLine = (label: string, figures: IdleFigures) =>
    `${label}: start-up to first answered /health ${figures.startup_ms} ms; RSS 1 s after start-up ${figures.start_rss_mb} MB; ` +
    `idle RSS (${IDLE_MS / 1000} s without requests) ${figures.idle_rss_mb} MB; ` +
    `once V8's memory reducer has run ${figures.settled_rss_mb === null ? `(not within ${SETTLE_MAX_MS / 1000} s)` : `${figures.settled_rss_mb} MB`}`;
  console.log(`\nfirst start as deployed (creates the schema and the admin; the build's code cache): start-up to first answered /health ${deployedFirstStartMs} ms`);
  console.log(idleLine('first start, traced (creates the schema and the admin; no code cache for --trace-gc: compiles the bundle)', firstStart));
  console.log(idleLine('restart, traced (same database; the code cache the traced first start wrote)', restart));
  // The targets are read on the worst start-up (the first, which also creates the schema and hashes
  // the admin's password) and on the idle memory of a server in service: every start but a
  // database's first is a restart, and the first start's extra memory is that one-off work's.
  const settledRestart = restart.settled_rss_mb ?? restart.idle_rss_mb;
  console.log(
    `start-up (first start as deployed) ${deployedFirstStartMs} ms (target < 1000 ms; ${firstStart.startup_ms} ms without a code cache); idle RSS (restart, settled) ${settledRestart} MB (target < 80 MB)`,
  );
  const byCpu = (value: number | null) => (value === null ? '' : `; by server CPU per request ${value}%`);
  if (ratios.health_vs_bare !== null) console.log(`our /health = ${ratios.health_vs_bare}% of bare node:http${spread(ratiosPerRound.health_vs_bare)}${byCpu(cpuRatios.health_vs_bare)} (target >= 90%)`);
  if (ratios.health_vs_bare_same_headers !== null) console.log(`our /health = ${ratios.health_vs_bare_same_headers}% of bare node:http sending the same headers${spread(ratiosPerRound.health_vs_bare_same_headers)}${byCpu(cpuRatios.health_vs_bare_same_headers)}`);
  if (ratios.fastify_vs_bare !== null) console.log(`plain Fastify /health = ${ratios.fastify_vs_bare}% of bare node:http${spread(ratiosPerRound.fastify_vs_bare)}${byCpu(cpuRatios.fastify_vs_bare)}`);
  if (ratios.health_vs_fastify !== null) console.log(`our /health = ${ratios.health_vs_fastify}% of plain Fastify${spread(ratiosPerRound.health_vs_fastify)}${byCpu(cpuRatios.health_vs_fastify)}`);
  if (ratios.fastify_same_headers_vs_bare !== null) console.log(`plain Fastify sending the same headers = ${ratios.fastify_same_headers_vs_bare}% of bare node:http${spread(ratiosPerRound.fastify_same_headers_vs_bare)}${byCpu(cpuRatios.fastify_same_headers_vs_bare)}`);
  if (ratios.health_vs_fastify_same_headers !== null) console.log(`our /health = ${ratios.health_vs_fastify_same_headers}% of plain Fastify sending the same headers${spread(ratiosPerRound.health_vs_fastify_same_headers)}${byCpu(cpuRatios.health_vs_fastify_same_headers)}`);
  if (ratios.me_vs_health !== null) console.log(`authenticated /api/auth/me = ${ratios.me_vs_health}% of our /health${spread(ratiosPerRound.me_vs_health)}${byCpu(cpuRatios.me_vs_health)} (target >= 50%)`);

  const togetherFigures = together && { rounds: TOGETHER_ROUNDS, seconds: TOGETHER_S, servers: together.keys, per_round: together.rounds, ...togetherRatios(together.keys, together.rounds) };
  if (togetherFigures) {
    const busy = togetherFigures.per_round.map((round) => Math.round(round.busy_share * 100));
    console.log(`\nloaded together (${TOGETHER_ROUNDS} rounds of ${TOGETHER_S} s, each server an equal share of core 0, busy ${Math.min(...busy)}-${Math.max(...busy)}%):`);
    const line = (label: string, name: keyof typeof togetherFigures.ratios, target = '') => {
      const [byRps, byCpuPerRequest] = [togetherFigures.ratios[name], togetherFigures.ratios_by_cpu[name]];
      if (byRps && byCpuPerRequest) console.log(`  ${label} = ${byRps.median}% (rounds: ${byRps.min}-${byRps.max}%); by server CPU per request ${byCpuPerRequest.median}%${target}`);
    };
    line('our /health / bare node:http', 'health_vs_bare', ' (target >= 90%)');
    line('bare node:http sending the same headers / bare', 'bare_same_headers_vs_bare');
    line('plain Fastify / bare', 'fastify_vs_bare');
    line('plain Fastify sending the same headers / bare', 'fastify_same_headers_vs_bare');
    line('our /health / plain Fastify sending the same headers', 'health_vs_fastify_same_headers');
    line('our /health / bare node:http sending the same headers', 'health_vs_bare_same_headers');
  }

  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ at: new Date().toISOString(), loader: hasWrk ? 'wrk' : 'autocannon', connections, duration_s: durationS, pinned: hasTaskset, deployed_first_start_ms: deployedFirstStartMs, ...firstStart, restart, ratios, ratios_per_round: ratiosPerRound, ratios_by_cpu: cpuRatios, together: togetherFigures, rows }, null, 2),
  );
  console.log(`results written to ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
