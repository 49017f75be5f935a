import { describe, expect, it } from 'vitest';
import { useTestDatabase, useTestRedis, insertSource } from './index.ts';

// Two files (this one and isolation.int.test.ts) write the same rows in parallel: each sees only its own.
describe('test isolation (b)', () => {
  const t = useTestDatabase();
  const r = useTestRedis();

  it('has its own database and Redis prefix', async () => {
    await insertSource(t.db, { id: 'same-id', regionCode: '16.71', agency: 'Isolation B' });
    await r.redis.set(`${r.prefix}:k`, 'b');
    await new Promise((res) => setTimeout(res, 200));
    const rows = await t.db.selectFrom('sources').select('agency').execute();
    expect(rows).toEqual([{ agency: 'Isolation B' }]);
    expect(await r.redis.get(`${r.prefix}:k`)).toBe('b');
    expect(r.prefix).toMatch(/^\{pksync-test-[0-9a-f]{10}\}$/);
  });
});
