import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { AppModule } from '../../src/core/module.js';
import { startTestApp } from '../helpers/app.js';
import { onNewConnection, root, startServer } from '../helpers/server.js';

describe('process', () => {
  test('npm start’s entry point serves /health on SQLite and exits 0 on SIGTERM with the database closed cleanly', async () => {
    const server = await startServer({});
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; checks: { database: string } };
    assert.equal(health.status, 'ok');
    assert.equal(health.checks.database, 'ok');
    const register = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'proc@example.com', password: 'process password' }),
    });
    assert.equal(register.status, 201);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /shut down cleanly/);
  });

  test('each answered request writes one JSON access line carrying its request id, never the bearer token; probes are not logged', async () => {
    const server = await startServer({});
    try {
      const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2ctcHJvYmUifQ.bG9nLXByb2JlLXNpZ25hdHVyZQ';
      const answer = await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'log-probe-1' } });
      assert.equal(answer.status, 401);
      await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'log-probe-2' } });
      const deadline = Date.now() + 5000;
      while (!server.output().includes('log-probe-1') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = server.output().split('\n').filter((line) => line.includes('log-probe'));
      assert.equal(lines.length, 1, `one access line for the /me request and none for /health:\n${lines.join('\n')}`);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.request_id, 'log-probe-1');
      assert.equal(line.msg, 'request');
      assert.deepEqual([line.method, line.url, line.status], ['GET', '/api/auth/me', 401]);
      assert.ok(!server.output().includes(token), 'the bearer token never reaches the log');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('WORKERS=2 runs two processes on one port and stops them all on SIGTERM', async () => {
    const server = await startServer({ WORKERS: '2' });
    const responses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/health`)));
    assert.ok(responses.every((response) => response.status === 200), 'responses.every((response) => response.status === 200)');
    const deadline = Date.now() + 30_000;
    while ((server.output().match(/server ready/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const pids = new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*server ready/g)].map((match) => match[1]));
    assert.equal(pids.size, 2, server.output());
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    for (const pid of pids) assert.throws(() => process.kill(Number(pid), 0), 'worker has exited');
  });
});

describe('workers without Redis', () => {
  test('a live event reaches streams on every worker, whichever worker the change went through', async () => {
    const server = await startServer({ WORKERS: '2', MODULES: 'investigations' });
    let stream: IncomingMessage | undefined;
    try {
      // /health answered as soon as one worker listened; the other may still be starting.
      const bothReady = Date.now() + 30_000;
      while ((server.output().match(/server ready/g) ?? []).length < 2 && Date.now() < bothReady) await new Promise((resolve) => setTimeout(resolve, 100));
      const registered = await onNewConnection(`${server.url}/api/auth/register`, 'POST', {}, { email: 'live@example.com', password: 'correct horse battery' });
      const auth = { authorization: `Bearer ${(registered.json as { token: string }).token}` };
      const created = await onNewConnection(`${server.url}/api/investigations`, 'POST', auth, { title: 'Relay' });
      const id = (created.json as { id: string }).id;
      let received = '';
      stream = await new Promise<IncomingMessage>((resolve, reject) =>
        httpRequest(`${server.url}/api/investigations/${id}/events`, { agent: false, headers: auth }, resolve).on('error', reject).end(),
      );
      stream.on('data', (chunk: Buffer) => (received += chunk.toString()));
      while (!received.includes(': connected')) await new Promise((resolve) => setTimeout(resolve, 20));
      // Request ids carry a tag per process: the changes must have gone through both workers.
      const workers = new Set<string>();
      let sent = 0;
      while (workers.size < 2 && sent < 20) {
        const entity = await onNewConnection(`${server.url}/api/investigations/${id}/entities`, 'POST', auth, { entity_type: 'person', title: `Person ${++sent}` });
        assert.equal(entity.status, 201);
        workers.add(entity.requestId.split('-')[0]!);
      }
      assert.equal(workers.size, 2, 'the changes went through both workers');
      const deadline = Date.now() + 5000;
      const count = () => (received.match(/event: entity\.created/g) ?? []).length;
      while (count() < sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(count(), sent, received);
      assert.match(server.output(), /WORKERS=2 without REDIS_URL: .*, but caches and the per-IP rate limit are per worker/, 'the operator is told what stays per worker');
    } finally {
      stream?.destroy();
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
});

describe('rate limits with WORKERS=2 without Redis', () => {
  test('a budget is spent once across the workers, with one count in its headers', async () => {
    const server = await startServer({ WORKERS: '2', AUTH_RATE_LIMIT: '4' });
    try {
      const bothReady = Date.now() + 30_000;
      while ((server.output().match(/server ready/g) ?? []).length < 2 && Date.now() < bothReady) await new Promise((resolve) => setTimeout(resolve, 100));
      const answers: { status: number; remaining: string | undefined; worker: string }[] = [];
      // Each guess on a connection of its own, so the kernel spreads them over both workers.
      for (let i = 0; i < 12; i++) {
        const response = await new Promise<IncomingMessage>((resolve, reject) => {
          const sent = httpRequest(`${server.url}/api/auth/login`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, resolve);
          sent.on('error', reject);
          sent.end(JSON.stringify({ email: 'nobody@example.com', password: 'a wrong guess' }));
        });
        response.resume();
        answers.push({ status: response.statusCode!, remaining: response.headers['x-ratelimit-remaining'] as string | undefined, worker: String(response.headers['x-request-id']).split('-')[0]! });
      }
      assert.equal(new Set(answers.map((answer) => answer.worker)).size, 2, 'both workers answered');
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [...Array<number>(4).fill(401), ...Array<number>(8).fill(429)],
        JSON.stringify(answers),
      );
      assert.deepEqual(
        answers.slice(0, 5).map((answer) => answer.remaining),
        ['3', '2', '1', '0', '0'],
      );
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
});

/** The bundle and its entry point do not depend on the database or Redis: checked once, in the SQLite run. */
const onlyInTheSqliteRun = process.env.TEST_DATABASE_URL || process.env.REDIS_URL ? 'the bundle does not depend on the database: checked once, in the SQLite run' : false;

describe('production build', () => {
  const skip = onlyInTheSqliteRun;
  test('npm run build produces a bundle that starts from its code cache, serves the API and stops cleanly', { skip }, async () => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
    const server = await startServer({}, ['dist/server.mjs']);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; modules: string[] };
    assert.equal(health.status, 'ok');
    assert.deepEqual(health.modules, ['freelance', 'investigations', 'clinic', 'chat']);
    assert.match(server.output(), /"code_cache":"loaded"[^\n]*server ready/, 'the first start after the build reads the code cache the build wrote');
    const register = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bundle@example.com', password: 'bundle password' }),
    });
    assert.equal(register.status, 201, 'the password hasher, loaded on first use, resolves from the bundle');
    const docs = await fetch(`${server.url}/docs/static/index.html`);
    assert.equal(docs.status, 200, 'the docs page assets resolve from the bundle');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);

    // Development's readable logs once needed a pino worker thread whose script the bundle lacks.
    const development = await startServer({ NODE_ENV: 'development' }, ['dist/server.mjs']);
    try {
      assert.equal((await fetch(`${development.url}/health`)).status, 200);
      assert.match(development.output(), /INFO: server ready/, 'development logs are pretty-printed');
    } finally {
      development.child.kill('SIGTERM');
      assert.equal(await development.exited, 0);
    }

    const mapped = await startServer({}, ['--enable-source-maps', 'dist/server.mjs']);
    try {
      assert.equal((await fetch(`${mapped.url}/health`)).status, 200);
      assert.match(mapped.output(), /"code_cache":"off: source maps enabled"[^\n]*server ready/, 'with source maps Node loads the bundle itself');
    } finally {
      mapped.child.kill('SIGTERM');
      assert.equal(await mapped.exited, 0);
    }
  });
});

describe('production entry point', { skip: onlyInTheSqliteRun }, () => {
  /** The entry point beside a stand-in bundle that prints what it was run with and asks for the cache to be saved. */
  const entryWith = (answer: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ub-entry-'));
    copyFileSync(path.join(root, 'scripts/server-entry.mjs'), path.join(dir, 'server.mjs'));
    const bundle = (value: string) =>
      writeFileSync(
        path.join(dir, 'server.cjs'),
        `"use strict";\nconst cache = globalThis[Symbol.for('unified-backend.code-cache')];\nconsole.log(JSON.stringify({ state: cache.state, answer: ${value} }));\ncache.save();\nsetTimeout(() => undefined, 1500);\n`,
      );
    bundle(answer);
    const run = (flags: string[] = [], from = dir) => {
      const result = spawnSync(process.execPath, [...flags, path.join(from, 'server.mjs')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as { state: string; answer: number };
    };
    const caches = (from = dir) => readdirSync(from).filter((file) => file.includes('.v8cache'));
    return { dir, bundle, run, caches };
  };

  test('the first run writes the code cache and later runs read it; a bundle of the same length but other text does not', () => {
    const entry = entryWith('1111');
    try {
      assert.deepEqual(entry.run(), { state: 'absent', answer: 1111 });
      assert.equal(entry.caches().length, 1, 'one cache written once the stand-in said it was ready');
      const written = statSync(path.join(entry.dir, entry.caches()[0]!)).mtimeMs;
      assert.deepEqual(entry.run(), { state: 'loaded', answer: 1111 });
      assert.equal(statSync(path.join(entry.dir, entry.caches()[0]!)).mtimeMs, written, 'a start that read the cache does not write it again');
      // V8 refuses another flag set's cache; it gets a file of its own instead of evicting this one.
      assert.deepEqual(entry.run(['--max-old-space-size=100']), { state: 'absent', answer: 1111 });
      assert.deepEqual(entry.run(['--max-old-space-size=100']), { state: 'loaded', answer: 1111 });
      assert.deepEqual(entry.run(), { state: 'loaded', answer: 1111 });
      // V8 checks only the source's length: with the cache of 1111 it would run 1111 again.
      entry.bundle('2222');
      assert.deepEqual(entry.run(), { state: 'absent', answer: 2222 });
      assert.equal(entry.caches().length, 3);
    } finally {
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });

  test('a damaged code cache is never given to V8 (it would crash), the bundle is compiled and a sound cache written in its place', () => {
    const entry = entryWith('3333');
    try {
      entry.run();
      const [cache] = entry.caches();
      const file = path.join(entry.dir, cache!);
      const sound = readFileSync(file);
      writeFileSync(file, Buffer.concat([sound.subarray(0, 64), Buffer.alloc(sound.length - 64, 0xa5)]));
      assert.deepEqual(entry.run(), { state: 'damaged', answer: 3333 });
      assert.deepEqual(entry.run(), { state: 'loaded', answer: 3333 });
      writeFileSync(file, sound.subarray(0, sound.length >> 1));
      assert.deepEqual(entry.run(), { state: 'damaged', answer: 3333 }, 'a file cut short');
      // Sound by its checksum, but written by another V8 or with other flags: V8 itself refuses it.
      const foreign = Buffer.from('not bytecode from this V8');
      writeFileSync(file, Buffer.concat([createHash('sha256').update(foreign).digest(), foreign]));
      assert.deepEqual(entry.run(), { state: 'rejected', answer: 3333 });
      assert.deepEqual(entry.caches(), [cache], 'rewritten under the same name, no partial file left');
    } finally {
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });

  test('a build copied elsewhere does not run on the cache made at its old path (V8 would keep that path in stack traces)', () => {
    const entry = entryWith('4444');
    const copy = mkdtempSync(path.join(tmpdir(), 'ub-entry-copy-'));
    try {
      entry.run();
      for (const file of readdirSync(entry.dir)) copyFileSync(path.join(entry.dir, file), path.join(copy, file));
      assert.deepEqual(entry.run([], copy), { state: 'absent', answer: 4444 });
      assert.deepEqual(entry.run([], copy), { state: 'loaded', answer: 4444 });
    } finally {
      rmSync(entry.dir, { recursive: true, force: true });
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('something that is not a cache file in its place is not read, and a cache that cannot be written leaves no partial file', () => {
    const entry = entryWith('5555');
    try {
      entry.run();
      const [cache] = entry.caches();
      rmSync(path.join(entry.dir, cache!));
      mkdirSync(path.join(entry.dir, cache!));
      assert.deepEqual(entry.run(), { state: 'unusable: not a cache file', answer: 5555 });
      assert.deepEqual(entry.caches(), [cache], 'the rename onto the directory failed and its partial file was removed');
    } finally {
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });
});

describe('graceful drain', () => {
  const slowModule: AppModule = {
    name: 'slow',
    migrations: [],
    async plugin(app) {
      app.get('/test/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return { finished: true };
      });
    },
  };

  test('closing lets an in-flight request finish, refuses new ones, then closes the database', async () => {
    const t = await startTestApp({}, { modules: [slowModule] });
    const url = await t.listen();
    const inFlight = fetch(`${url}/test/slow`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = t.app.close();
    const late = await fetch(`${url}/health`).then((response) => response.status, () => 'refused');
    assert.ok(late === 'refused' || late === 503, `a request after close began got ${late}`);

    const response = await inFlight;
    assert.equal(response.status, 200);
    // Its keep-alive connection closes with it, so the drain does not wait for the idle timeout (72 s).
    assert.equal(response.headers.get('connection'), 'close');
    assert.deepEqual(await response.json(), { finished: true });
    const stillOpen = Symbol('still open');
    assert.notEqual(await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5000, stillOpen))]), stillOpen);
    await assert.rejects(t.app.db.selectFrom('users').select('id').execute());
    await t.close();
  });

  test('a request that still reaches the server once shutdown has begun is refused in the error shape', async () => {
    // The listener stays open while the preClose hooks run; this module's hook holds it open a while.
    const lingering: AppModule = {
      name: 'lingering',
      migrations: [],
      async plugin(app) {
        app.addHook('preClose', (done) => void setTimeout(done, 500));
      },
    };
    const t = await startTestApp({}, { modules: [lingering] });
    const url = await t.listen();
    const closing = t.app.close();
    const refused = await fetch(`${url}/api/auth/me`);
    assert.equal(refused.status, 503);
    assert.deepEqual(await refused.json(), { error: 'The server is shutting down; retry shortly', code: 'SHUTTING_DOWN', request_id: refused.headers.get('x-request-id') });
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('connection'), 'close');
    await closing;
    await t.close();
  });
});

describe('SQLite files after a clean stop', () => {
  test('the WAL is checkpointed on close', async () => {
    // Always the embedded database, whatever TEST_DATABASE_URL says: this is about SQLite's files.
    const t = await startTestApp({ DATABASE_URL: '' });
    assert.equal(t.app.database.dialect, 'sqlite');
    const dataDir = t.config.dataDir;
    await t.app.close();
    const wal = path.join(dataDir, 'app.db-wal');
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'no un-checkpointed WAL left behind');
    rmSync(dataDir, { recursive: true, force: true });
  });
});
