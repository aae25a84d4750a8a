import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, parseDurationSeconds } from '../../src/config.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'ub-config-'));
const secret = 'a'.repeat(40);

describe('config', () => {
  test('defaults', () => {
    const config = loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir() });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.databaseUrl, null);
    assert.equal(config.redisUrl, null);
    assert.equal(config.modules, null);
    assert.equal(config.workers, 1);
    assert.equal(config.jwtTtlSeconds, 7 * 86400);
    assert.equal(config.refreshTtlSeconds, 30 * 86400);
    assert.equal(config.bodyLimitBytes, 1024 * 1024);
    assert.equal(config.rateLimitMax, 1000);
    assert.equal(config.authRateLimit, 100);
    assert.equal(config.uploadMaxBytes, 25 * 1024 * 1024);
    assert.equal(config.vatRate, 0.16);
    assert.equal(config.corsOrigins, false);
    assert.equal(config.ollamaUrl, 'http://127.0.0.1:11434');
    assert.equal(config.chatMaxConcurrent, 1);
    assert.equal(config.chatQueueMax, 1000);
    assert.equal(config.cacheMaxSizeMb, 256);
    assert.equal(config.trustProxy, false);
  });

  test('TRUST_PROXY: true trusts proxies on this host or a private network, never every hop; a list names them', () => {
    const trusted = (value: string) => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), TRUST_PROXY: value }).trustProxy;
    assert.deepEqual(trusted('true'), ['loopback', 'linklocal', 'uniquelocal']);
    assert.equal(trusted('false'), false);
    assert.deepEqual(trusted('10.0.0.0/8, 192.0.2.7,2001:db8::/32,LoopBack'), ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', 'loopback']);
    // Each of these passed a looser check here, then stopped the start inside Fastify or trusted nothing.
    for (const bad of ['2', 'proxy.example', '10.0.0.0/33', '10.0.0.1/8/8', '2001:db8::/129', '0.0.0.0/0', 'fe80::1%eth-0', '::ffff:10.0.0.0/8', ' , ']) {
      assert.throws(() => trusted(bad), /TRUST_PROXY must be true, false or a comma-separated list of proxy addresses or networks/, bad);
    }
  });

  test('parses lists, durations, booleans and "auto"', () => {
    const config = loadConfig({
      JWT_SECRET: secret,
      DATA_DIR: tempDir(),
      MODULES: 'freelance, chat',
      JWT_TTL: '15m',
      REFRESH_TTL: '3600',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      WORKERS: 'auto',
      CHAT_PUBLIC: 'true',
      DATABASE_URL: 'postgres://u@h:5432/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    assert.deepEqual(config.modules, ['freelance', 'chat']);
    assert.equal(config.jwtTtlSeconds, 900);
    assert.equal(config.refreshTtlSeconds, 3600);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.ok(config.workers >= 1, 'config.workers >= 1');
    assert.equal(config.chatPublic, true);
    assert.equal(config.databaseUrl, 'postgres://u@h:5432/db');
    assert.equal(parseDurationSeconds('7d'), 604800);
    assert.equal(parseDurationSeconds('soon'), null);
  });

  test('a bad value names the variable', () => {
    const cases: Record<string, RegExp> = {
      PORT: /PORT must be between 0 and 65535/,
      WORKERS: /WORKERS must be a whole number/,
      JWT_TTL: /JWT_TTL must be a duration/,
      DATABASE_URL: /DATABASE_URL must start with postgres:\/\//,
      REDIS_URL: /REDIS_URL must be a URL/,
      CHAT_PUBLIC: /CHAT_PUBLIC must be true or false/,
      LOG_LEVEL: /LOG_LEVEL must be one of/,
      VAT_RATE: /VAT_RATE must be a number between 0 and 1/,
      CORS_ORIGINS: /CORS_ORIGINS must be "\*" or a comma-separated list/,
    };
    const bad: Record<string, string> = {
      PORT: '70000',
      WORKERS: 'many',
      JWT_TTL: 'forever',
      DATABASE_URL: 'mysql://x@y/z',
      REDIS_URL: 'not a url',
      CHAT_PUBLIC: 'maybe',
      LOG_LEVEL: 'loud',
      VAT_RATE: '16',
      CORS_ORIGINS: 'not an origin',
    };
    for (const [name, pattern] of Object.entries(cases)) {
      assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), [name]: bad[name] }), pattern, name);
    }
  });

  test('CORS_ORIGINS: origins are written as browsers send them; text that could never match one is refused', () => {
    const config = loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), CORS_ORIGINS: 'https://App.Example.com/, https://b.example:443, http://localhost:3000, capacitor://localhost' });
    assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'https://b.example', 'http://localhost:3000', 'capacitor://localhost']);
    for (const bad of ['localhost:3000', 'https://app.example.com/login', 'https://app.example.com?x=1']) {
      assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), CORS_ORIGINS: bad }), /CORS_ORIGINS must be "\*" or a comma-separated list of origins/, bad);
    }
  });

  test('a token or session lifetime that no expiry could be written for is refused at start-up', () => {
    for (const name of ['JWT_TTL', 'REFRESH_TTL']) {
      assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), [name]: '999999999d' }), new RegExp(`${name} must be at most 3650d`), name);
      assert.equal(loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), [name]: '3650d' })[name === 'JWT_TTL' ? 'jwtTtlSeconds' : 'refreshTtlSeconds'], 3650 * 86400);
    }
  });

  test('production refuses a missing or short JWT_SECRET', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: tempDir() }), /JWT_SECRET is required in production/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short', DATA_DIR: tempDir() }), /JWT_SECRET must be at least 32 characters/);
    assert.equal(loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: tempDir() }).jwtSecret, secret);
  });

  test('development generates a secret once, keeps it under DATA_DIR, and warns', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    assert.ok(first.jwtSecret.length >= 32, 'first.jwtSecret.length >= 32');
    assert.match(first.warnings.join('\n'), /JWT_SECRET is not set/);
    const file = path.join(dataDir, '.jwt-secret');
    assert.equal(readFileSync(file, 'utf8'), first.jwtSecret);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(loadConfig({ DATA_DIR: dataDir }).jwtSecret, first.jwtSecret);
  });

  test('development replaces a kept secret file that is empty or too short, instead of failing to start or signing with it', () => {
    for (const kept of ['', 'short']) {
      const dataDir = tempDir();
      writeFileSync(path.join(dataDir, '.jwt-secret'), kept);
      const config = loadConfig({ DATA_DIR: dataDir });
      assert.ok(config.jwtSecret.length >= 32, `secret of ${config.jwtSecret.length} characters from a file holding "${kept}"`);
      assert.match(config.warnings.join('\n'), /held no usable secret/);
      assert.equal(loadConfig({ DATA_DIR: dataDir }).jwtSecret, config.jwtSecret, 'the new secret is kept');
    }
  });

  test('ADMIN_EMAIL and ADMIN_PASSWORD go together', () => {
    assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), ADMIN_EMAIL: 'a@b.io' }), /ADMIN_PASSWORD must be set together/);
    assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), ADMIN_EMAIL: 'a@b.io', ADMIN_PASSWORD: 'short' }), /ADMIN_PASSWORD must be 8 to 128/);
  });

  test('an ADMIN_EMAIL that is no email address is refused naming the variable, whether or not the database is fresh', () => {
    assert.throws(() => loadConfig({ JWT_SECRET: secret, DATA_DIR: tempDir(), ADMIN_EMAIL: 'boss', ADMIN_PASSWORD: 'boss password 1' }), /ADMIN_EMAIL must be an email address/);
  });
});
