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
  /** Longest wait for a new connection (default 10 s). */
  connectionTimeoutMs?: number;
  /**
   * Told about every connection the server dropped (restart, failover, `pg_terminate_backend`), idle
   * or in use, e.g. to log it. The process carries on either way: a query in flight rejects, the
   * broken connection is discarded, the next query opens a new one.
   */
  onConnectionError?: (err: Error) => void;
}

/** A Kysely instance over a pg pool. Call `db.destroy()` to close it. */
export function createDb(connectionString: string, options: CreateDbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'pksync',
    // A server that stops answering (a dropped network) fails a new connection in 10 s instead of
    // the operating system's TCP time-out (minutes); the caller sees an outage (`isConnectionError`).
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    // Dead peers on idle or checked-out connections are noticed by TCP keepalive.
    keepAlive: true,
  });
  const onConnectionError = options.onConnectionError ?? (() => {});
  // pg emits 'error' on a client whose connection breaks, and an 'error' event with no listener ends
  // the process. pg-pool listens only while a client is idle (and re-emits on the pool); a client
  // checked out (inside a transaction, between two queries, during a COPY) has no listener of its
  // own. So every client gets one for its whole life: its query in flight rejects anyway, and the
  // pool discards it on release (it is no longer queryable).
  pool.on('connect', (client) => client.on('error', onConnectionError));
  pool.on('error', () => {}); // an idle client's: already reported by its own listener above
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
