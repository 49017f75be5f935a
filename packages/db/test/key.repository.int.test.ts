import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { listAudit } from '../src/repositories/audit.repository.ts';
import { authenticateKey, createKey, KeyError, listKeys, revokeKey } from '../src/repositories/key.repository.ts';

describe('API keys', () => {
  const t = useTestDatabase();

  it('stores only a hash, authenticates the key, refuses tampered and revoked keys, audits changes', async () => {
    const { key, info } = await createKey(t.db, {
      name: 'sumsel',
      role: 'province',
      provinceCode: '16',
      actor: 'cli:test',
      reason: 'operator baru',
    });
    expect(key).toMatch(/^pks_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({ name: 'sumsel', role: 'province', provinceCode: '16', revokedAt: null });
    const row = await t.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(key.slice(21));
    expect(row.key_hash).toBe(createHash('sha256').update(key).digest('hex'));

    expect(await authenticateKey(t.db, key)).toMatchObject({ name: 'sumsel', role: 'province', provinceCode: '16' });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(await authenticateKey(t.db, key.slice(0, -1) + last)).toBeNull();
    expect(await authenticateKey(t.db, 'not-a-key')).toBeNull();
    expect(await authenticateKey(t.db, '')).toBeNull();

    await revokeKey(t.db, { name: 'sumsel', actor: 'cli:test', reason: 'operator pindah' });
    expect(await authenticateKey(t.db, key)).toBeNull();
    expect(await listKeys(t.db)).toEqual([]);
    expect((await listKeys(t.db, { includeRevoked: true }))[0]).toMatchObject({
      name: 'sumsel',
      revokedAt: expect.any(Date),
    });
    // A revoked name can be reused.
    const again = await createKey(t.db, { name: 'sumsel', role: 'province', provinceCode: '16', actor: 'cli:test' });
    expect(await authenticateKey(t.db, again.key)).toMatchObject({ name: 'sumsel' });

    const audit = await listAudit(t.db, { limit: 10 });
    expect(audit.map((a) => [a.action, a.target, a.reason])).toEqual([
      ['key.create', 'key:sumsel', null],
      ['key.revoke', 'key:sumsel', 'operator pindah'],
      ['key.create', 'key:sumsel', 'operator baru'],
    ]);
  });

  it('refuses a duplicate live name, a bad province, an admin bound to a province and a bad name', async () => {
    await createKey(t.db, { name: 'ops', role: 'admin', actor: 'cli:test' });
    const err = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e,
      );
    expect(await err(createKey(t.db, { name: 'ops', role: 'admin', actor: 'x' }))).toMatchObject({
      code: 'key_name_taken',
    });
    expect(await err(createKey(t.db, { name: 'p', role: 'province', provinceCode: '99', actor: 'x' }))).toMatchObject({
      code: 'invalid_province',
    });
    expect(
      await err(createKey(t.db, { name: 'p', role: 'province', provinceCode: '16.71', actor: 'x' })),
    ).toMatchObject({ code: 'invalid_province' });
    expect(await err(createKey(t.db, { name: 'p', role: 'province', actor: 'x' }))).toBeInstanceOf(KeyError);
    expect(await err(createKey(t.db, { name: 'a', role: 'admin', provinceCode: '16', actor: 'x' }))).toMatchObject({
      code: 'invalid_province',
    });
    expect(await err(createKey(t.db, { name: 'bad name; drop table', role: 'admin', actor: 'x' }))).toMatchObject({
      code: 'invalid_name',
    });
    expect(await err(revokeKey(t.db, { name: 'nobody', actor: 'x' }))).toMatchObject({ code: 'key_not_found' });
  });
});
