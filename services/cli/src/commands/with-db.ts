import { loadConfig, type Config } from '@pksync/config';
import { createDb, type Db } from '@pksync/db';

/**
 * Runs one CLI command against the configured database: the config read once, a small pool
 * (a command runs a few statements), always closed — also when the command throws.
 */
export async function withDb<T>(fn: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = createDb(config.databaseUrl, { max: 2, applicationName: 'pksync-cli' });
  try {
    return await fn(db, config);
  } finally {
    await db.destroy();
  }
}
