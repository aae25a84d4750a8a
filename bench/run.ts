/**
 * npm run bench [-- name ...] [--duration 10] [--connections 50]
 *
 * Builds the production server, starts it pinned to core 0 (taskset), and loads it from a separate
 * process pinned to core 1 (wrk where installed, else autocannon). In the same run it loads a bare
 * node:http server answering the same /health JSON: the ceiling our figures are compared against.
 * Results: a table on stdout and JSON in bench/results/.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

interface Row extends LoadResult {
  scenario: string;
  description: string;
  server: 'bare' | 'app';
  rss_mb: number;
  /** From the server's own request-duration histogram over the measured run (onRequest to onResponse): without the loader's queueing. */
  server_p50_ms: number | null;
  server_p99_ms: number | null;
}

const IDLE_MS = 15_000;
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

function runWrk(baseUrl: string, target: LoadTarget, seconds: number): LoadResult {
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
  const output = execFileSync(command, args, { encoding: 'utf8' });
  rmSync(script);
  return {
    requests_per_s: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0)),
    p50_ms: parseWrkDuration(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? ''),
    p99_ms: parseWrkDuration(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? ''),
    non_2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
    errors: (/Socket errors:[^\n]*/.exec(output)?.[0].match(/\d+/g) ?? []).reduce((sum, n) => sum + Number(n), 0),
  };
}

function runAutocannon(baseUrl: string, target: LoadTarget, seconds: number): LoadResult {
  const [command, args] = pinned(1, process.execPath, [
    '--import',
    'tsx',
    path.join(root, 'bench/load-autocannon.ts'),
    JSON.stringify({ url: `${baseUrl}${target.path}`, connections, duration: seconds, target }),
  ]);
  return JSON.parse(execFileSync(command, args, { encoding: 'utf8', cwd: root })) as LoadResult;
}

/** Cumulative request counts per bucket bound (seconds) of http_request_duration_seconds, all routes but /metrics summed. */
async function durationBuckets(baseUrl: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
    if (match[1]!.includes('route="/metrics"')) continue;
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

const load = (baseUrl: string, target: LoadTarget, seconds: number): LoadResult =>
  hasWrk ? runWrk(baseUrl, target, seconds) : runAutocannon(baseUrl, target, seconds);

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

const coreScenarios: Scenario[] = [
  {
    name: 'health',
    description: 'GET /health (database check cached 1 s)',
    setup: async () => ({ method: 'GET', path: '/health' }),
  },
  {
    name: 'me',
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

function startProcess(command: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
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
  const wanted = (name: string) => only.length === 0 || only.some((filter) => name === filter || name.startsWith(`${filter}.`) || name.startsWith(filter));

  // The ceilings: a bare node:http server with the same /health JSON, and the same again sending the
  // app's security headers and request id (what those alone cost).
  const barePort = 19_000 + Math.floor(Math.random() * 500);
  const bareUrl = `http://127.0.0.1:${barePort}`;
  for (const [sameHeaders, description] of [['0', 'bare node:http, same JSON (ceiling)'], ['1', 'bare node:http, same JSON and security headers']] as const) {
    const [bareCommand, bareArgs] = pinned(0, process.execPath, [path.join(root, 'bench/bare-server.mjs')]);
    const bare = startProcess(bareCommand, bareArgs, { PORT: String(barePort), SAME_HEADERS: sameHeaders });
    try {
      await waitForHealth(bareUrl, bare, 10_000);
      const target: LoadTarget = { method: 'GET', path: '/health' };
      load(bareUrl, target, warmupS);
      rows.push({
        scenario: sameHeaders === '1' ? 'health+headers' : 'health',
        description,
        server: 'bare',
        ...load(bareUrl, target, durationS),
        rss_mb: rssMb(bare.pid!),
        server_p50_ms: null,
        server_p99_ms: null,
      });
    } finally {
      await stopProcess(bare);
    }
  }

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
  let startupMs: number | undefined;
  let startRssMb: number | undefined;
  let idleRssMb: number | undefined;
  // Start-up and memory are measured on a server of their own. V8 keeps the young generation that
  // start-up grew (~12 MB, empty) until its memory reducer runs, which was seen anywhere from 10 s to
  // over 30 s after start-up: RSS is read 1 s after start-up and again after 15 s without requests.
  // The load scenarios then run on a fresh start, not on a heap that has just been shrunk.
  const idle = startProcess(command, args, env);
  try {
    startupMs = Math.round(await waitForHealth(baseUrl, idle, 30_000));
    await sleep(1000);
    startRssMb = rssMb(idle.pid!);
    await sleep(IDLE_MS - 1000);
    idleRssMb = rssMb(idle.pid!);
  } finally {
    await stopProcess(idle);
  }
  const server = startProcess(command, args, env);
  try {
    await waitForHealth(baseUrl, server, 30_000);
    const client = benchClient(baseUrl, admin);
    for (const { scenario } of selected) {
      process.stdout.write(`running ${scenario.name}... `);
      const target = await scenario.setup(client);
      const quarter = Math.floor((target.bodies?.length ?? 0) / 4);
      load(baseUrl, target.bodies ? { ...target, bodies: target.bodies.slice(0, quarter) } : target, warmupS);
      const before = await durationBuckets(baseUrl);
      const result = load(baseUrl, target.bodies ? { ...target, bodies: target.bodies.slice(quarter) } : target, durationS);
      const after = await durationBuckets(baseUrl);
      rows.push({
        scenario: scenario.name,
        description: scenario.description,
        server: 'app',
        ...result,
        rss_mb: rssMb(server.pid!),
        server_p50_ms: bucketQuantile(before, after, 0.5),
        server_p99_ms: bucketQuantile(before, after, 0.99),
      });
      console.log(`${result.requests_per_s} req/s`);
    }
  } finally {
    await stopProcess(server);
    for (const cleanup of cleanups) await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const bareHealth = rows.find((row) => row.server === 'bare' && row.scenario === 'health')?.requests_per_s ?? 0;
  const bareWithHeaders = rows.find((row) => row.server === 'bare' && row.scenario === 'health+headers')?.requests_per_s ?? 0;
  const appHealth = rows.find((row) => row.server === 'app' && row.scenario === 'health')?.requests_per_s ?? 0;
  const appMe = rows.find((row) => row.scenario === 'me')?.requests_per_s ?? 0;
  const ms = (value: number | null) => (value === null ? '' : value.toFixed(2));
  console.log('\n| scenario | server | req/s | p50 ms | p99 ms | server p50 ms | server p99 ms | non-2xx | RSS MB | what |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    console.log(
      `| ${row.scenario} | ${row.server} | ${row.requests_per_s} | ${ms(row.p50_ms)} | ${ms(row.p99_ms)} | ${ms(row.server_p50_ms)} | ${ms(row.server_p99_ms)} | ${row.non_2xx + row.errors} | ${row.rss_mb} | ${row.description} |`,
    );
  }
  console.log(`\np50/p99: at the loader, ${connections} connections (mostly queueing); server p50/p99: the server's own histogram, onRequest to onResponse.`);
  const ratios = {
    health_vs_bare: bareHealth && appHealth ? Math.round((appHealth / bareHealth) * 1000) / 10 : null,
    health_vs_bare_same_headers: bareWithHeaders && appHealth ? Math.round((appHealth / bareWithHeaders) * 1000) / 10 : null,
    me_vs_health: appHealth && appMe ? Math.round((appMe / appHealth) * 1000) / 10 : null,
  };
  console.log(`\nstartup to first answered /health: ${startupMs} ms; RSS 1 s after start-up: ${startRssMb} MB; idle RSS (${IDLE_MS / 1000} s without requests): ${idleRssMb} MB`);
  if (ratios.health_vs_bare !== null) console.log(`our /health = ${ratios.health_vs_bare}% of bare node:http (target >= 90%)`);
  if (ratios.health_vs_bare_same_headers !== null) console.log(`our /health = ${ratios.health_vs_bare_same_headers}% of bare node:http sending the same headers`);
  if (ratios.me_vs_health !== null) console.log(`authenticated /api/auth/me = ${ratios.me_vs_health}% of our /health (target >= 50%)`);

  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ at: new Date().toISOString(), loader: hasWrk ? 'wrk' : 'autocannon', connections, duration_s: durationS, pinned: hasTaskset, startup_ms: startupMs, start_rss_mb: startRssMb, idle_rss_mb: idleRssMb, ratios, rows }, null, 2),
  );
  console.log(`results written to ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
