import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { createDb, poolOf, type Db } from '../src/db.ts';

// A connection the server drops while it is checked out (in a transaction, between two queries)
// emits 'error' on its pg client; with no listener that ends the process (vitest would report an
// unhandled error). It must only make its query reject.
describe('createDb: a dropped connection', () => {
  const t = useTestDatabase();
  let db: Db;
  let admin: pg.Client;
  const reported: Error[] = [];

  beforeAll(async () => {
    db = createDb(t.url, { max: 3, applicationName: 'pksync-drop-test', onConnectionError: (e) => reported.push(e) });
    admin = new pg.Client({ connectionString: t.url });
    admin.on('error', () => {});
    await admin.connect();
  });
  afterAll(async () => {
    await db?.destroy();
    await admin?.end();
  });

  const terminate = (pid: number) => admin.query('select pg_terminate_backend($1)', [pid]);

  it('checked out between two queries: the next query rejects, the pool opens a new connection', async () => {
    const client = await poolOf(db).connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    await client.query('begin');
    await terminate(rows[0]!.pid);
    await delay(200); // the 'error' event arrives while no query runs
    await expect(client.query('select 1')).rejects.toThrow();
    client.release();
    expect(reported.length).toBeGreaterThanOrEqual(1);
    const again = await sql<{ n: number }>`select 1 as n`.execute(db);
    expect(again.rows).toEqual([{ n: 1 }]);
  });

  it('inside a Kysely transaction: the transaction rejects, the process carries on', async () => {
    const before = reported.length;
    const tx = db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
      await terminate(rows[0]!.pid);
      await delay(200);
      await sql`select 1`.execute(trx);
    });
    await expect(tx).rejects.toThrow();
    expect(reported.length).toBeGreaterThan(before);
    expect((await sql<{ n: number }>`select 2 as n`.execute(db)).rows).toEqual([{ n: 2 }]);
  });

  it('idle in the pool: reported once, the next query reconnects', async () => {
    const client = await poolOf(db).connect();
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    client.release();
    const before = reported.length;
    await terminate(rows[0]!.pid);
    await delay(200);
    expect(reported.length).toBe(before + 1);
    expect((await sql<{ n: number }>`select 3 as n`.execute(db)).rows).toEqual([{ n: 3 }]);
  });
});
