import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { SnapshotResult } from '@pksync/core';
import type { LevelCode } from '@pksync/reference';
import { insertSource, numberedOfficer, snapshotOf, useTestDatabase } from '@pksync/testing';
import type { Db } from '../src/db.ts';
import { createRun } from '../src/repositories/run.repository.ts';
import { stageSnapshot, STAGE_COPY_ABOVE } from '../src/repositories/staging.repository.ts';

// stageSnapshot has two paths: one statement (pksync_stage_snapshot) for snapshots up to
// STAGE_COPY_ABOVE rows, COPY streams above. Both must store exactly the same rows.
const PATHS = [
  { name: 'one statement', copyAbove: STAGE_COPY_ABOVE },
  { name: 'COPY', copyAbove: 0 },
] as const;

const WEIRD = 'Dr. A\tB\nC \\ D \'E\' "F" 😀 \u202eG =1+1 \\N {x,"y"}';

const officer = numberedOfficer;

/** Every kind of row and value: odd text, nulls, a past status, findings, rejections, formations. */
function richSnapshot(): SnapshotResult {
  return snapshotOf(
    [
      officer(1, {
        name: WEIRD,
        unit: '\\N',
        email: 'a@b.id',
        phone: '+62 812',
        updatedAt: '2026-11-01T03:04:05.000Z',
      }),
      officer(2, { status: 'pensiun', gender: 'P', level: 'madya' as LevelCode, grade: 'IV/a' }),
      officer(3),
    ],
    {
      formations: [
        { regionCode: '16.71', year: 2026, level: 'ahli_pertama' as LevelCode, need: 5, approved: 3, position: 2 },
        { regionCode: '16.71', year: 2025, level: 'madya' as LevelCode, need: 1, approved: 0, position: 3 },
      ],
      findings: [
        { code: 'name_suspect', severity: 'warning', row: 3, nip: officer(1).nip, details: { value: WEIRD } },
        { code: 'formation_gap', severity: 'info', details: {} },
        // R6's own per-row findings are not staged (rejected_records has them).
        { code: 'record_rejected', severity: 'error', row: 9, details: {} },
      ] as unknown as SnapshotResult['findings'],
      rejected: [
        { row: 9, nip: null, codes: ['field_missing'], fields: ['nama,"x"', 'a\\b'], raw: { nama: WEIRD }, issues: [] },
        {
          row: 11,
          nip: '123',
          codes: ['nip_invalid', 'date_invalid'],
          fields: ['nip'],
          raw: { nip: '123' },
          issues: [],
        },
      ] as unknown as SnapshotResult['rejected'],
    },
  );
}

/** What is staged for (run, source), in a stable order, without the run id. */
async function stagedRows(db: Db, runId: string, sourceId: string) {
  const of = async (table: string) => {
    const { rows } = await sql<Record<string, unknown>>`
      select * from ${sql.table(table)} where run_id = ${runId} and source_id = ${sourceId}`.execute(db);
    return rows
      .map(({ run_id: _r, source_id: _s, id: _i, ...rest }) => rest)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  };
  const header = await db
    .selectFrom('staged_snapshots')
    .select([
      'fetch_id',
      'content_hash',
      'officer_count',
      'formation_count',
      'finding_count',
      'rejected_count',
      'stats',
    ])
    .where('run_id', '=', runId)
    .where('source_id', '=', sourceId)
    .execute();
  return {
    officers: await of('staged_officers'),
    formations: await of('staged_formations'),
    findings: await of('staged_findings'),
    rejected: await of('rejected_records'),
    header,
  };
}

describe('stageSnapshot: one statement and COPY', () => {
  const t = useTestDatabase();
  let n = 0;
  async function freshRun(db: Db): Promise<{ runId: string; sourceId: string }> {
    const sourceId = `stage-${++n}`;
    await insertSource(db, { id: sourceId, regionCode: '16.71' });
    const { run } = await createRun(db, {
      scope: { kind: 'source', value: sourceId },
      trigger: 'manual',
      requestedBy: 'test',
      asOf: '2026-11-27',
    });
    return { runId: run.id, sourceId };
  }

  it('both paths store the same rows, values kept exactly', async () => {
    const { db } = t;
    const seen = [];
    for (const p of PATHS) {
      const { runId, sourceId } = await freshRun(db);
      await stageSnapshot(db, { runId, sourceId, fetchId: 7, result: richSnapshot(), contentHash: 'h1' }, p);
      seen.push(await stagedRows(db, runId, sourceId));
    }
    const [one, copy] = seen;
    expect(one!.officers).toHaveLength(3);
    expect(one!.officers.find((o) => o.nip === officer(1).nip)).toMatchObject({
      name: WEIRD,
      unit: '\\N',
      email: 'a@b.id',
      phone: '+62 812',
      active: true,
      position: 3,
    });
    expect(one!.officers.find((o) => o.nip === officer(2).nip)).toMatchObject({ active: false, status: 'pensiun' });
    expect(one!.formations).toHaveLength(2);
    expect(one!.findings).toHaveLength(2);
    expect(one!.findings.find((f) => f.code === 'name_suspect')).toMatchObject({ row: 3, details: { value: WEIRD } });
    expect(one!.rejected.find((r) => r.row === 9)).toMatchObject({
      nip: null,
      codes: ['field_missing'],
      fields: ['nama,"x"', 'a\\b'],
      raw: { nama: WEIRD },
    });
    expect(one!.header).toEqual([
      {
        fetch_id: 7,
        content_hash: 'h1',
        officer_count: 3,
        formation_count: 2,
        finding_count: 2,
        rejected_count: 2,
        stats: richSnapshot().stats,
      },
    ]);
    expect(copy).toEqual(one);
  });

  it.each(PATHS)('$name: staging again replaces, never doubles, even when stagings race', async (p) => {
    const { db } = t;
    const { runId, sourceId } = await freshRun(db);
    await stageSnapshot(db, { runId, sourceId, result: richSnapshot() }, p);
    await Promise.all(
      Array.from({ length: 4 }, () => stageSnapshot(db, { runId, sourceId, result: richSnapshot() }, p)),
    );
    const rows = await stagedRows(db, runId, sourceId);
    expect(rows.officers).toHaveLength(3);
    expect(rows.formations).toHaveLength(2);
    expect(rows.findings).toHaveLength(2);
    expect(rows.rejected).toHaveLength(2);
    expect(rows.header).toHaveLength(1);
  });

  it.each(PATHS)('$name: a clear error for an unknown run or source, and nothing half-staged', async (p) => {
    const { db } = t;
    const { runId, sourceId } = await freshRun(db);
    await expect(
      stageSnapshot(db, { runId: '00000000-0000-4000-8000-000000000000', sourceId, result: richSnapshot() }, p),
    ).rejects.toThrow(/run 00000000-0000-4000-8000-000000000000 does not exist/);
    await expect(stageSnapshot(db, { runId, sourceId: 'nope', result: richSnapshot() }, p)).rejects.toThrow(
      /source "nope" does not exist/,
    );
    // A value PostgreSQL refuses fails the whole snapshot, and keeps what was staged before.
    await stageSnapshot(db, { runId, sourceId, result: richSnapshot() }, p);
    const bad = snapshotOf([officer(1), officer(2, { birthDate: '1985-02-30' })]);
    await expect(stageSnapshot(db, { runId, sourceId, result: bad }, p)).rejects.toThrow(
      /could not stage source "stage-\d+" for run .*1985-02-30/,
    );
    const rows = await stagedRows(db, runId, sourceId);
    expect(rows.officers).toHaveLength(3);
    expect(rows.header[0]?.officer_count).toBe(3);
  });

  it('a snapshot over STAGE_COPY_ABOVE rows goes through COPY whole', async () => {
    const { db } = t;
    const { runId, sourceId } = await freshRun(db);
    const many = Array.from({ length: STAGE_COPY_ABOVE + 1 }, (_, i) =>
      officer(i, { nip: `19850312201001${String(i).padStart(4, '0')}` }),
    );
    await stageSnapshot(db, { runId, sourceId, result: snapshotOf(many) });
    const rows = await stagedRows(db, runId, sourceId);
    expect(rows.officers).toHaveLength(many.length);
    expect(rows.header[0]?.officer_count).toBe(many.length);
  });
});
