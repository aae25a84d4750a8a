import { parseArgs } from 'node:util';
import { migrationGroupsFor, selectModules } from './app.js';
import { loadConfig } from './config.js';
import { createAdmin, setRole, unlockAccount } from './core/auth/bootstrap.js';
import { openDatabase } from './core/db/connect.js';
import { migrate } from './core/db/migrator.js';
import { loadEnvFile } from './env-file.js';
import { availableModules } from './modules/registry.js';

const USAGE = `Usage:
  npm run migrate
  npm run admin -- create --email E --password P [--name N]
  npm run admin -- promote --email E       (make an existing user an admin)
  npm run admin -- demote --email E
  npm run admin -- unlock --email E        (lift a lock after failed logins)`;

async function main(): Promise<void> {
  loadEnvFile();
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
  });
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    const applied = await migrate(database, migrationGroupsFor(selectModules(availableModules, config.modules)));
    if (command === 'migrate') {
      console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
      return;
    }
    if (command !== 'admin') throw new Error(USAGE);
    const action = positionals[0];
    if (!values.email) throw new Error(`--email is required\n${USAGE}`);
    if (action === 'create') {
      if (!values.password) throw new Error(`--password is required\n${USAGE}`);
      const user = await createAdmin(database.db, { email: values.email, password: values.password, name: values.name });
      console.log(`Admin ${user.email} created (id ${user.id})`);
    } else if (action === 'promote' || action === 'demote') {
      const user = await setRole(database.db, values.email, action === 'promote' ? 'admin' : 'user');
      console.log(`${user.email} is now ${user.role}`);
    } else if (action === 'unlock') {
      await unlockAccount(database.db, values.email);
      console.log(`${values.email} unlocked`);
    } else {
      throw new Error(USAGE);
    }
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
