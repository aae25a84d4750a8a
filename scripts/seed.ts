/**
 * npm run seed -- [--patients 100000] [--visits N] [--seed 42]
 *
 * Demo data for the clinic module (patients, visits, invoices, payments, SHA claims), written to the
 * database the server uses (same .env / DATABASE_URL / DATA_DIR), migrating it first if needed.
 */
import { parseArgs } from 'node:util';
import { migrationGroupsFor, selectModules } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/core/db/connect.js';
import { migrate } from '../src/core/db/migrator.js';
import { loadEnvFile } from '../src/env-file.js';
import { seedClinic } from '../src/modules/clinic/seed.js';
import { availableModules } from '../src/modules/registry.js';

const USAGE = 'Usage: npm run seed -- [--patients 100000] [--visits N] [--seed 42]';

function count(raw: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 10_000_000) throw new Error(`--${name} must be a whole number up to 10,000,000\n${USAGE}`);
  return Number(raw);
}

/** A bar on stderr, redrawn at most 10 times a second; plain lines when stderr is not a terminal. */
function progressBar(label: string) {
  const started = Date.now();
  let lastDraw = 0;
  let lastPercent = -1;
  return (done: number, total: number) => {
    const now = Date.now();
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const finished = done >= total;
    if (process.stderr.isTTY) {
      if (!finished && now - lastDraw < 100) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      const seconds = ((now - started) / 1000).toFixed(1);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${seconds}s`);
      if (finished) process.stderr.write('\n');
    } else if (percent >= lastPercent + 10 || finished) {
      lastPercent = percent;
      process.stderr.write(`${label} ${percent}% (${done}/${total})\n`);
    }
  };
}

async function main(): Promise<void> {
  loadEnvFile();
  const { values } = parseArgs({ options: { patients: { type: 'string' }, visits: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const patients = count(values.patients, 'patients', 1000)!;
  const visits = count(values.visits, 'visits', undefined);
  const seed = count(values.seed, 'seed', undefined);
  const config = loadConfig();
  const modules = selectModules(availableModules, config.modules);
  if (!modules.some((module) => module.name === 'clinic')) throw new Error('The clinic module is not enabled (MODULES)');
  const database = await openDatabase(config);
  try {
    await migrate(database, migrationGroupsFor(modules));
    const started = Date.now();
    const summary = await seedClinic(database, { patients, visits, seed, vatRate: config.vatRate, onProgress: progressBar('seeding') });
    const where = database.dialect === 'postgres' ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
    console.log(
      `Seeded ${summary.patients} patients, ${summary.visits} visits, ${summary.invoices} invoices, ${summary.payments} payments, ` +
        `${summary.claims} SHA claims into ${where} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
