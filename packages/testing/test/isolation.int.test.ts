import { describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase, useTestDatabase, useTestRedis, insertSource } from '../src/index.ts';

// Test files run in parallel, each with a database and a Redis prefix of its own. Two of each in
// one test write the same rows and keys: each sees only its own, whatever else runs meanwhile.
describe('test isolation', () => {
  const t = useTestDatabase();
  const r = useTestRedis();
  const r2 = useTestRedis();

  it('gives each user its own database and Redis prefix', async () => {
    const other = await createTestDatabase();
    onTestFinished(() => other.drop());
    expect(other.name).not.toBe(t.name);
    await insertSource(t.db, { id: 'same-id', regionCode: '16.71', agency: 'Isolation A' });
    await insertSource(other.db, { id: 'same-id', regionCode: '16.71', agency: 'Isolation B' });
    await r.redis.set(`${r.prefix}:k`, 'a');
    await r2.redis.set(`${r2.prefix}:k`, 'b');
    expect(await t.db.selectFrom('sources').select('agency').execute()).toEqual([{ agency: 'Isolation A' }]);
    expect(await other.db.selectFrom('sources').select('agency').execute()).toEqual([{ agency: 'Isolation B' }]);
    expect(await r.redis.get(`${r.prefix}:k`)).toBe('a');
    expect(await r2.redis.get(`${r2.prefix}:k`)).toBe('b');
    expect(r.prefix).not.toBe(r2.prefix);
    for (const p of [r.prefix, r2.prefix]) expect(p).toMatch(/^\{pksync-test-[0-9a-f]{10}\}$/);
  });
});
