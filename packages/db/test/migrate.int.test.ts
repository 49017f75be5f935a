import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@pksync/testing';
import { migrateToLatest } from '../src/migrate.ts';

describe('migrateToLatest', () => {
  const t = useTestDatabase();

  it('has loaded the reference data: 552 regions, 4 levels, 17 grades', async () => {
    const count = async (table: 'regions' | 'levels' | 'grades') =>
      Number(
        (
          await t.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count('regions')).toBe(552);
    expect(await count('levels')).toBe(4);
    expect(await count('grades')).toBe(17);
    const sumsel = await t.db.selectFrom('regions').select('code').where('parent_code', '=', '16').execute();
    expect(sumsel).toHaveLength(17);
  });

  it('changes nothing when run again', async () => {
    const report = await migrateToLatest(t.db);
    expect(report.migrations).toEqual([]);
    expect(report.reference.changed).toBe(0);
  });

  it('repairs edited reference rows', async () => {
    await t.db.updateTable('regions').set({ name: 'Palembang?' }).where('code', '=', '16.71').execute();
    const report = await migrateToLatest(t.db);
    expect(report.reference.changed).toBe(1);
    const r = await t.db.selectFrom('regions').select('name').where('code', '=', '16.71').executeTakeFirstOrThrow();
    expect(r.name).toBe('Kota Palembang');
  });
});
