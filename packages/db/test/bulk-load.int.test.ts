import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Officer } from '@pksync/core';
import { insertSource, numberedOfficer, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { reconcileRun } from '../src/reconcile/index.ts';
import { createRun } from '../src/repositories/run.repository.ts';
import { stageSnapshot } from '../src/repositories/staging.repository.ts';

// A publication that writes most of a table rebuilds its indexes once instead of updating them
// row by row (the first load of a large register). The indexes must come back exactly as the
// migrations made them, and the register must be the same as without the rebuild.

const officer = numberedOfficer;

const constraints = async (db: Db) =>
  (
    await sql<{ name: string; def: string; index: string }>`
      select conname as name, pg_get_constraintdef(oid) as def, conindid::regclass::text as index from pg_constraint
      where conrelid in ('officer_records'::regclass, 'publication_changes'::regclass) order by 1`.execute(db)
  ).rows;

async function indexes(db: Db) {
  const { rows } = await sql<{ oid: number; name: string; def: string; valid: boolean }>`
    select i.indexrelid::int as oid, i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def,
           i.indisvalid as valid
    from pg_index i
    where i.indrelid in ('officer_records'::regclass, 'publication_changes'::regclass)
    order by 2`.execute(db);
  return rows;
}

/** A run of one source that stages `officers` and is reconciled with the bulk threshold given. */
async function publish(db: Db, sourceId: string, officers: Officer[], bulkLoadRows: number) {
  const { run } = await createRun(db, {
    scope: { kind: 'source', value: sourceId },
    trigger: 'manual',
    requestedBy: 'test',
    asOf: '2026-11-27',
  });
  await stageSnapshot(db, { runId: run.id, sourceId, result: snapshotOf(officers) });
  await db.updateTable('source_fetches').set({ status: 'succeeded' }).where('run_id', '=', run.id).execute();
  const res = await reconcileRun(db, { runId: run.id, asOf: '2026-11-27', bulkLoadRows });
  await db.updateTable('runs').set({ status: 'completed' }).where('id', '=', run.id).execute();
  return res;
}

const register = (db: Db) =>
  db
    .selectFrom('officer_records')
    .select(['nip', 'name', 'region_code', 'valid_from', 'valid_to'])
    .orderBy('nip')
    .orderBy('valid_from')
    .execute();

describe('reconcileRun: indexes rebuilt for a publication that writes most of a table', () => {
  const bulk = useTestDatabase();
  const plain = useTestDatabase();

  it('rebuilds them as they were, and publishes the same register', async () => {
    for (const t of [bulk, plain]) await insertSource(t.db, { id: 'kota', regionCode: '16.71' });
    const before = await indexes(bulk.db);
    const constraintsBefore = await constraints(bulk.db);
    expect(constraintsBefore.map((c) => c.def)).toEqual(
      expect.arrayContaining(['PRIMARY KEY (id)', 'PRIMARY KEY (version, nip)']),
    );
    expect(before.map((i) => i.name)).toEqual(
      expect.arrayContaining(['officer_records_current_name_trgm', 'officer_records_nip', 'publication_changes_nip']),
    );
    const first = Array.from({ length: 40 }, (_, i) => officer(i));
    const res = await publish(bulk.db, 'kota', first, 10);
    expect(res.counts.added).toBe(40);
    const after = await indexes(bulk.db);
    // Same indexes and definitions, all valid, all rebuilt (new oids); the primary keys are
    // constraints again, on their rebuilt indexes.
    expect(after.map(({ name, def, valid }) => ({ name, def, valid }))).toEqual(
      before.map(({ name, def }) => ({ name, def, valid: true })),
    );
    const rebuilt = after.filter((a) => before.find((b) => b.name === a.name)!.oid !== a.oid).map((a) => a.name);
    expect(rebuilt.sort()).toEqual(before.map((b) => b.name).sort());
    expect(await constraints(bulk.db)).toEqual(constraintsBefore);

    // A small change to a table that now holds more rows than it writes: indexes updated in place.
    const second = first.map((o, i) => (i === 3 ? { ...o, name: 'Siti Aminah', nameNormalised: 'siti aminah' } : o));
    await publish(bulk.db, 'kota', second, 10);
    expect((await indexes(bulk.db)).map((i) => i.oid)).toEqual(after.map((i) => i.oid));

    // The same two runs without any rebuild give the same register.
    await publish(plain.db, 'kota', first, 1e9);
    await publish(plain.db, 'kota', second, 1e9);
    expect(await register(bulk.db)).toEqual(await register(plain.db));
    // The rebuilt unique index still refuses a second current row for a NIP.
    await expect(
      sql`insert into officer_records (nip, source_id, region_code, province_code, name, name_normalised, gender,
            birth_date, level, grade, unit, tmt_jabatan, status, active, valid_from)
          select nip, source_id, region_code, province_code, name, name_normalised, gender, birth_date, level, grade,
            unit, tmt_jabatan, status, active, 9
          from officer_records where valid_to is null limit 1`.execute(bulk.db),
    ).rejects.toThrow(/officer_records_nip/);
    // … and the rebuilt primary key of the diff a second row for a (version, NIP).
    await expect(
      sql`insert into publication_changes select * from publication_changes limit 1`.execute(bulk.db),
    ).rejects.toThrow(/publication_changes_pk/);
  });
});
