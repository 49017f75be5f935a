import { describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis } from './index.ts';

// Two files (this one and isolation-twin.int.test.ts) write the same rows in parallel: each sees only its own.
describe('test isolation (a)', () => {
  const t = useTestDatabase();
  const r = useTestRedis();

  it('has its own database and Redis prefix', async () => {
    await t.db
      .insertInto('sources')
      .values({
        id: 'same-id',
        agency: 'Isolation A',
        region_code: '16.71',
        transport: 'upload',
        url: null,
        formations_url: null,
        token_encrypted: null,
        timeout_s: null,
        max_bytes: null,
        max_rows: null,
        last_success_at: null,
        last_content_hash: null,
      })
      .execute();
    await r.redis.set(`${r.prefix}:k`, 'a');
    await new Promise((res) => setTimeout(res, 200));
    const rows = await t.db.selectFrom('sources').select('agency').execute();
    expect(rows).toEqual([{ agency: 'Isolation A' }]);
    expect(await r.redis.get(`${r.prefix}:k`)).toBe('a');
    expect(r.prefix).toMatch(/^\{pksync-test-[0-9a-f]{10}\}$/);
  });
});
