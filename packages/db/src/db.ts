import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// `date` as 'YYYY-MM-DD' (no time-zone shift), int8 and numeric counts as numbers (they stay far
// below 2^53 here).
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Db = Kysely<Database>;

export interface CreateDbOptions {
  /** Pool size; keep it small per process: workers scale by process count. */
  max?: number;
  applicationName?: string;
}

/** A Kysely instance over a pg pool. Call `db.destroy()` to close it. */
export function createDb(connectionString: string, options: CreateDbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'pksync',
  });
  // An idle client's error (e.g. server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

const pools = new WeakMap<Db, pg.Pool>();

/**
 * The pg pool behind a Kysely instance made by {@link createDb}: for the few repository functions
 * that stream with `COPY` (pg-copy-streams) instead of going through Kysely.
 */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this Kysely instance was not made by createDb()');
  return pool;
}
