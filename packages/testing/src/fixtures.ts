import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { Redis } from 'ioredis';
import { createDb, type Db } from '@pksync/db';
import { createDatabaseFromTemplate, dropDatabase } from './template.ts';

export interface TestDatabase {
  /** Kysely over this test file's own migrated database. */
  readonly db: Db;
  /** Its connection URL (give it to services and worker processes under test). */
  readonly url: string;
  readonly name: string;
}

/**
 * Gives the calling test file its own PostgreSQL database, copied from the migrated template
 * (schema + reference data) in beforeAll and dropped in afterAll.
 *
 * @example
 * const t = useTestDatabase();
 * it('counts regions', async () => {
 *   expect(await t.db.selectFrom('regions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()).toEqual({ n: 552 });
 * });
 */
export function useTestDatabase(): TestDatabase {
  let state: { db: Db; url: string; name: string } | undefined;
  const adminUrl = inject('pksyncDatabaseUrl');
  beforeAll(async () => {
    const { name, url } = await createDatabaseFromTemplate(adminUrl, inject('pksyncTemplate'));
    state = { name, url, db: createDb(url, { max: 5, applicationName: 'pksync-test' }) };
  });
  afterAll(async () => {
    if (!state) return;
    await state.db.destroy();
    await dropDatabase(adminUrl, state.name);
  });
  const get = () => {
    if (!state) throw new Error('useTestDatabase(): the database exists only inside tests and hooks');
    return state;
  };
  return {
    get db() {
      return get().db;
    },
    get url() {
      return get().url;
    },
    get name() {
      return get().name;
    },
  };
}

/** Creates a database outside the hooks (e.g. several per file); call `drop()` when done. */
export async function createTestDatabase(): Promise<TestDatabase & { drop(): Promise<void> }> {
  const adminUrl = inject('pksyncDatabaseUrl');
  const { name, url } = await createDatabaseFromTemplate(adminUrl, inject('pksyncTemplate'));
  const db = createDb(url, { max: 5, applicationName: 'pksync-test' });
  return {
    db,
    url,
    name,
    drop: async () => {
      await db.destroy();
      await dropDatabase(adminUrl, name);
    },
  };
}

export interface TestRedis {
  /** A connection for the test's own use (maxRetriesPerRequest: null, as BullMQ workers want). */
  readonly redis: Redis;
  readonly url: string;
  /** This test file's BullMQ prefix, a Redis Cluster hash tag: `{pksync-test-ab12cd34}`. */
  readonly prefix: string;
}

/** Gives the calling test file its own BullMQ/Redis key prefix; its keys are deleted afterwards. */
export function useTestRedis(): TestRedis {
  const url = inject('pksyncRedisUrl');
  const prefix = `{pksync-test-${randomBytes(5).toString('hex')}}`;
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = new Redis(url, { maxRetriesPerRequest: null });
    redis.on('error', () => {}); // ioredis reconnects; a command in flight rejects
  });
  afterAll(async () => {
    if (!redis) return;
    // The prefix without its closing brace: prefixes a test derives from it (`{pksync-test-…-ref}`) go too.
    await deleteKeys(redis, `${prefix.slice(0, -1)}*`);
    redis.disconnect();
  });
  return {
    get redis() {
      if (!redis) throw new Error('useTestRedis(): the connection exists only inside tests and hooks');
      return redis;
    },
    url,
    prefix,
  };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      pattern.replace(/[{}]/g, (c) => `\\${c}`),
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}
