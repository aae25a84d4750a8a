// The production entry point: `scripts/bundle.mjs` copies it to dist/server.mjs, beside the bundle
// (dist/server.cjs). It runs the bundle through V8's code cache. Compiling the 2.4 MB bundle, and
// then each function as start-up first calls it, was a third of the time to the first answered
// request (bench/README.md, thirteenth session); with the cache a start reads the bytecode instead.
//
// The cache is what V8 serialises from this process once the server is ready: the bytecode of every
// function compiled by then. Its file is named by a hash of the bundle's text, the Node version, the
// platform and the flags V8 runs with, so a rebuilt bundle or another Node never meets an old cache
// (V8's own check of the source is its length only); V8 still refuses data it cannot use, and then
// the start compiles as without a cache and writes a new one. It lives beside the bundle, not in a
// shared temporary directory where another user could plant bytecode for this process to run.
// Where dist/ is read-only, every start compiles; `npm run build` writes a cache for the default flags.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('./server.cjs', import.meta.url));
const require = createRequire(bundle);
const codeCacheKey = Symbol.for('unified-backend.code-cache');
const DIGEST_BYTES = 32;
/** A cache is about the size of the bundle; anything far larger is not one (and would be read whole). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

if (process.sourceMapsEnabled) {
  // Node maps stack traces through the bundle's source map only for modules its own loader compiled.
  globalThis[codeCacheKey] = { state: 'off: source maps enabled', save() {} };
  require(bundle);
} else {
  runWithCodeCache();
}

function runWithCodeCache() {
  const source = readFileSync(bundle, 'utf8');
  // V8 keeps the file name a cache was made under for stack traces, so the bundle's path is part of
  // the key too: a build copied elsewhere compiles once and caches under its own path.
  const key = createHash('sha256')
    .update(source)
    .update(`\0${bundle}\0${process.version}\0${process.platform}\0${process.arch}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  const cacheFile = path.join(path.dirname(bundle), `server.${key}.v8cache`);

  // V8 does not check the data against a checksum: a damaged file crashes the process as it is
  // read. Each file therefore starts with a SHA-256 of the rest, and one that does not match it is
  // not given to V8.
  const { stored, unusable } = readCache(cacheFile);
  const sound = stored !== undefined && stored.length > DIGEST_BYTES && createHash('sha256').update(stored.subarray(DIGEST_BYTES)).digest().equals(stored.subarray(0, DIGEST_BYTES));
  const cachedData = sound ? stored.subarray(DIGEST_BYTES) : undefined;
  // The CommonJS wrapper as Node's own loader writes it; the bundle's first line is "use strict", as
  // every ES module is.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  const state = unusable ?? (stored === undefined ? 'absent' : !sound ? 'damaged' : script.cachedDataRejected === false ? 'loaded' : 'rejected');

  /** Called by the server once it is ready: writes the cache if this start had none it could use. */
  const save = () => {
    if (state === 'loaded') return;
    // After the first requests rather than before them: serialising takes tens of milliseconds.
    setTimeout(() => {
      const partial = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        writeFileSync(partial, Buffer.concat([createHash('sha256').update(data).digest(), data]), { mode: 0o644 });
        // Whole or not at all, also when several workers write it at once.
        renameSync(partial, cacheFile);
      } catch (error) {
        // A partial file left by each failing start could fill the disk.
        rmSync(partial, { force: true });
        console.warn(`code cache not saved in ${path.dirname(cacheFile)} (${error.code ?? error.message}): each start compiles the bundle`);
      }
    }, 1000).unref();
  };

  globalThis[codeCacheKey] = { state, save };
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, bundle, path.dirname(bundle));
}

/** The cache file's bytes; nothing when there is none yet, and why when what is there cannot be one. */
function readCache(file) {
  try {
    // Checked first: reading a FIFO would wait for a writer, and a huge file would be read whole.
    const stats = statSync(file);
    if (!stats.isFile() || stats.size > MAX_CACHE_BYTES) return { unusable: 'unusable: not a cache file' };
    return { stored: readFileSync(file) };
  } catch (error) {
    // No file: the first start of this build (or with these flags), compiled, then cached once ready.
    return error.code === 'ENOENT' ? {} : { unusable: `unusable: ${error.code ?? error.message}` };
  }
}
