import { randomBytes } from 'node:crypto';
import type { Db } from '../db.ts';

/**
 * The 32-byte key that seals the API's paging cursors (`paging_keys`, migration 0012), made on
 * first use: the first replica to ask inserts a random key, a concurrent one keeps the row that
 * won, so every replica seals and opens cursors with the same key.
 */
export async function pagingKey(db: Db): Promise<Buffer> {
  const read = async () =>
    (await db.selectFrom('paging_keys').select('key').where('id', '=', 1).executeTakeFirst())?.key;
  const existing = await read();
  if (existing) return existing;
  await db
    .insertInto('paging_keys')
    .values({ id: 1, key: randomBytes(32) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const key = await read();
  if (!key) throw new Error('paging_keys: no key after inserting one');
  return key;
}
