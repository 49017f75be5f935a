import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SourceEntry } from '@pksync/core';
import { useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { listSources } from '../src/repositories/query.repository.ts';
import { importSources, toSourceWithToken } from '../src/repositories/source.repository.ts';
import { TokenCryptoError } from '../src/token-crypto.ts';

const key = randomBytes(32);
const base: SourceEntry[] = [
  {
    id: '16.71-disnaker',
    agency: 'Dinas Tenaga Kerja Kota Palembang',
    region_code: '16.71',
    transport: 'api',
    url: 'https://sim.test/v1',
    token: 'tok-palembang-1',
  },
  {
    id: '16.02-disnaker',
    agency: 'Dinas Tenaga Kerja Kabupaten OKI',
    region_code: '16.02',
    transport: 'csv',
    url: 'https://sim.test/p.csv',
    formations_url: 'https://sim.test/f.csv',
    max_rows: 1000,
  },
  {
    id: '16.05-disnaker',
    agency: 'Dinas Tenaga Kerja Kabupaten Muara Enim',
    region_code: '16.05',
    transport: 'upload',
  },
];

/** A stored source as a fetch reads it (its token decrypted with `tokenKey`), or null. */
async function fetchedSource(db: Db, id: string, tokenKey: Buffer | undefined) {
  const row = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSourceWithToken(row, tokenKey) : null;
}

describe('source repository', () => {
  const t = useTestDatabase();

  it('creates, then reports unchanged, then reports exactly the changed fields', async () => {
    expect(await importSources(t.db, base, key)).toEqual({
      created: base.map((s) => s.id),
      updated: [],
      unchanged: [],
    });
    expect(await importSources(t.db, base, key)).toEqual({
      created: [],
      updated: [],
      unchanged: base.map((s) => s.id),
    });
    const changed = [
      { ...base[0]!, token: 'tok-palembang-2' },
      { ...base[1]!, max_rows: 2000, enabled: false },
      base[2]!,
    ];
    expect(await importSources(t.db, changed, key)).toEqual({
      created: [],
      updated: [
        { id: '16.71-disnaker', fields: ['token'] },
        { id: '16.02-disnaker', fields: ['enabled', 'max_rows'] },
      ],
      unchanged: ['16.05-disnaker'],
    });
    expect((await fetchedSource(t.db, '16.71-disnaker', key))!.token).toBe('tok-palembang-2');
  });

  it('keeps a stored token when the entry has no token key, removes it on null', async () => {
    const { token: _t, ...withoutToken } = base[0]!;
    await importSources(t.db, [withoutToken], key);
    expect((await fetchedSource(t.db, '16.71-disnaker', key))!.token).toBe('tok-palembang-2');
    const r = await importSources(t.db, [{ ...withoutToken, token: null }], key);
    expect(r.updated).toEqual([{ id: '16.71-disnaker', fields: ['token'] }]);
    expect((await fetchedSource(t.db, '16.71-disnaker', key))!.token).toBeNull();
    await importSources(t.db, [base[0]!], key);
  });

  it('stores tokens encrypted: not readable from the table, not without the key', async () => {
    const rows = await t.db.selectFrom('sources').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain('tok-palembang');
    const row = rows.find((r) => r.id === '16.71-disnaker')!;
    expect(row.token_encrypted).toMatch(/^v1:/);
    await expect(fetchedSource(t.db, '16.71-disnaker', randomBytes(32))).rejects.toBeInstanceOf(TokenCryptoError);
    await expect(fetchedSource(t.db, '16.71-disnaker', undefined)).rejects.toThrow(/TOKEN_ENCRYPTION_KEY/);
  });

  it('refuses a token without a key and writes nothing', async () => {
    const entry: SourceEntry = {
      id: '16.03-disnaker',
      agency: 'X',
      region_code: '16.03',
      transport: 'api',
      url: 'https://x.test/v1',
      token: 't',
    };
    await expect(importSources(t.db, [entry], undefined)).rejects.toBeInstanceOf(TokenCryptoError);
    expect(await fetchedSource(t.db, '16.03-disnaker', key)).toBeNull();
  });

  it('lists sources by province without tokens', async () => {
    const list = await listSources(t.db, { provinceCode: '16' });
    expect(list.map((s) => s.id)).toEqual(['16.02-disnaker', '16.05-disnaker', '16.71-disnaker']);
    expect(JSON.stringify(list)).not.toMatch(/tok-|token_encrypted|v1:/);
    expect(list.find((s) => s.id === '16.71-disnaker')!.hasToken).toBe(true);
    expect(await listSources(t.db, { provinceCode: '31' })).toEqual([]);
  });
});
