import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, poolOf, type Db } from '@pksync/db';
import { startPostgres, startRedis, type FaultPostgres, type FaultRedis } from './support/index.ts';

// The fault tests' own servers behave as the tests assume: a migrated database, an immediate
// stop that empties UNLOGGED tables at the next start (crash recovery), a Redis wipe that loses
// every key. The shared PostgreSQL and Redis are never touched.
describe('fault-test servers', () => {
  let pgServer: FaultPostgres;
  let redis: FaultRedis;
  let db: Db;

  beforeAll(async () => {
    [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
    db = createDb(await pgServer.createDatabase('pksync_servers'), { max: 2 });
  });
  afterAll(async () => {
    await db?.destroy();
    await pgServer?.destroy();
    await redis?.destroy();
  });

  it('PostgreSQL: migrated with reference data; an immediate restart keeps logged rows and empties UNLOGGED ones', async () => {
    expect(pgServer.port).not.toBe(5432);
    const regions = await db
      .selectFrom('regions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(regions.n).toBe(552);
    const q = (text: string) => poolOf(db).query<{ n: number }>(text);
    await q('create table logged_t (n int); create unlogged table unlogged_t (n int)');
    await q('insert into logged_t values (1); insert into unlogged_t values (1)');

    const { downAt, upAt } = await pgServer.restartImmediate(500);
    expect(upAt - downAt).toBeGreaterThanOrEqual(500);
    // The pool's connections died with the server: the first query may fail, then it reconnects.
    await q('select 1').catch(() => {});
    expect((await q('select count(*)::int as n from logged_t')).rows).toEqual([{ n: 1 }]);
    expect((await q('select count(*)::int as n from unlogged_t')).rows).toEqual([{ n: 0 }]);
    expect(pgServer.log()).toMatch(/not properly shut down; automatic recovery in progress/);
  });

  it('Redis: wipe() loses every key; the server answers again on the same port', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => {});
    try {
      await client.set('k', 'v');
      await redis.wipe();
      expect(await client.get('k')).toBeNull();
      expect(await client.dbsize()).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});
