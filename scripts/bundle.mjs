// npm run build, second step: bundle the compiled server (dist/main.js) into one file, dist/server.mjs.
// Start-up was mostly Node's module loader resolving, stat-ing and reading hundreds of files; one
// bundle measured ~0.7 s to the first answered request instead of ~1.2 s, and ~20 MB less RSS.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/server.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
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
  // CommonJS dependencies call require(); give the ES module bundle a real one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
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
