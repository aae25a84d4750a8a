// npm run build, second step: bundle the compiled server (dist/main.js) into one file, dist/server.cjs,
// and put its entry point (scripts/server-entry.mjs) beside it as dist/server.mjs. Start-up was mostly
// Node's module loader resolving, stat-ing and reading hundreds of files; one bundle measured ~0.7 s
// to the first answered request instead of ~1.2 s, and ~20 MB less RSS. The bundle is CommonJS so that
// the entry point can run it through V8's code cache (`vm.Script`), which Node 20 offers for scripts
// only, not for ES modules.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/server.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // The engine keeps the whole source in memory (7.5 MB as comments in dependencies made it a
  // two-byte string): whitespace and syntax are minified so it is smaller and one-byte. Identifiers
  // are not: names stay as written for stack traces, logs and libraries that read them. esbuild's
  // `keepNames`, which mangling would need, wraps every function expression in a call to
  // Object.defineProperty each time it is created; per-request closures made that 8-25% of /health's
  // CPU (bench/README.md).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Strict, as the ES modules it is made of are; `import.meta.url` is the bundle's own, as it was when
  // the bundle was an ES module.
  banner: { js: '"use strict";\nconst __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__importMetaUrl' },
  // Lazy imports of the external packages below become require() calls when first reached: a script
  // read from V8's code cache loses the callback Node needs for import().
  supported: { 'dynamic-import': false },
  external: [
    // Native addons.
    'better-sqlite3',
    '@node-rs/*',
    // Packages that read their own files at run time (fonts, the docs page's assets).
    'pdfkit',
    '@fastify/swagger-ui',
    // Imported only when configured (PostgreSQL, Redis) or in development (pretty logs).
    'pg',
    'ioredis',
    'pino-pretty',
  ],
});
copyFileSync('scripts/server-entry.mjs', 'dist/server.mjs');
const codeCaches = () => readdirSync('dist').filter((file) => file.endsWith('.v8cache'));
// Code caches of earlier builds can never match this one (their names hash the bundle's text), nor
// can a partial file a process stopped while writing left behind.
for (const file of readdirSync('dist')) if (file.includes('.v8cache')) rmSync(`dist/${file}`);
if (process.sourceMapsEnabled) {
  // The entry point then loads the bundle without the cache (scripts/server-entry.mjs).
  console.warn('npm run build: source maps are enabled (NODE_OPTIONS), so no code cache is written');
} else {
  await warmCodeCache().catch((error) => console.warn(`npm run build: the code cache was not written (${error.message}); each start will compile the bundle`));
}

/**
 * Starts the new bundle once, so that it writes its code cache (scripts/server-entry.mjs) and a
 * deployment's first start is as quick as its restarts. The server runs on a scratch SQLite database
 * in a scratch directory, so no `.env` is read and no configured database or Redis is touched;
 * NODE_OPTIONS is kept, as V8 keys the cache on its flags. A failure costs start-up time, not the build.
 */
async function warmCodeCache() {
  const scratch = mkdtempSync(path.join(tmpdir(), 'ub-build-'));
  const env = {
    PATH: process.env.PATH ?? '',
    ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATA_DIR: scratch,
    HOST: '127.0.0.1',
    PORT: '0',
  };
  const server = spawn(process.execPath, [path.resolve('dist/server.mjs')], { cwd: scratch, env, stdio: ['ignore', 'ignore', 'pipe'] });
  // The server must not outlive the build, however the build ends.
  const stopServer = () => server.kill('SIGTERM');
  const interrupted = (signal) => {
    stopServer();
    rmSync(scratch, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.on('exit', stopServer).once('SIGINT', interrupted).once('SIGTERM', interrupted).once('SIGHUP', interrupted);
  let errors = '';
  server.stderr.on('data', (chunk) => (errors += chunk));
  const exited = new Promise((resolve) => server.once('close', resolve));
  server.once('error', (error) => (errors += error.message));
  try {
    const deadline = Date.now() + 30_000;
    while (codeCaches().length === 0 && server.exitCode === null && server.pid !== undefined && Date.now() < deadline) await sleep(100);
  } finally {
    stopServer();
    await Promise.race([exited, sleep(10_000, undefined, { ref: false })]);
    process.off('exit', stopServer).off('SIGINT', interrupted).off('SIGTERM', interrupted).off('SIGHUP', interrupted);
    rmSync(scratch, { recursive: true, force: true });
  }
  if (codeCaches().length === 0) throw new Error(errors.trim() || 'the server did not write it within 30 s');
}
