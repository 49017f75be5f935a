import { describe, expect, it } from 'vitest';
import { createSnapshotNormaliser, FINDING_RULES, type RawRecord, type SnapshotResult } from '@pksync/core';
import { insertSource, useTestDatabase } from '@pksync/testing';
import { completeRun, createRun, listOfficers, reconcileRun, stageSnapshot, type Db } from '../src/index.ts';

// The per-record rules R2, R3, R4 and R6 are decided by @pksync/core's normaliser (unit-tested
// there); this file follows what it decides through PostgreSQL: what stageSnapshot keeps
// (rejected_records, staged_findings) and the findings reconcileRun makes of it, with the register
// left holding only the accepted records.

const SOURCE = '16.71-disnaker';
const AS_OF = '2026-11-27';

/** A valid officer record of Kota Palembang; `seq` makes the NIP (born 1985-03-12, male). */
function officerRow(seq: number, o: RawRecord = {}): RawRecord {
  return {
    nip: `1985031220100110${String(seq).padStart(2, '0')}`,
    nama: `Budi Santoso ${seq}`,
    jenis_kelamin: 'L',
    tanggal_lahir: '1985-03-12',
    jenjang: 'Ahli Pertama',
    golongan: 'III/a',
    unit_kerja: 'Dinas Tenaga Kerja',
    kode_wilayah: '16.71',
    tmt_jabatan: '2020-01-01',
    status: 'aktif',
    ...o,
  };
}

function formationRow(o: RawRecord = {}): RawRecord {
  return { kode_wilayah: '16.71', tahun: 2026, jenjang: 'Ahli Pertama', kebutuhan: 3, formasi: 2, ...o };
}

const nipOf = (seq: number) => officerRow(seq).nip as string;
const TOO_LONG = 'U'.repeat(501);

/** Each officer row breaks exactly one rule (row = its position in the file). */
const OFFICERS: { row: number; raw: RawRecord; rejected?: { code: string; field: string } }[] = [
  { row: 2, raw: officerRow(1) },
  { row: 3, raw: officerRow(2, { tanggal_lahir: '1985-03-13' }) }, // R2 birthdate_mismatch
  { row: 4, raw: officerRow(3, { golongan: 'IV/a' }) }, // R3 grade_level_mismatch (warning)
  { row: 5, raw: officerRow(4, { jenjang: 'Penyuluh' }), rejected: { code: 'level_unknown', field: 'jenjang' } },
  { row: 6, raw: officerRow(5, { golongan: 'V/z' }), rejected: { code: 'grade_unknown', field: 'golongan' } },
  {
    row: 7,
    raw: officerRow(6, { kode_wilayah: '16.72' }),
    rejected: { code: 'region_mismatch', field: 'kode_wilayah' },
  },
  {
    row: 8,
    raw: officerRow(7, { kode_wilayah: '16.99' }),
    rejected: { code: 'region_unknown', field: 'kode_wilayah' },
  },
  { row: 9, raw: officerRow(8, { nama: undefined }), rejected: { code: 'field_missing', field: 'nama' } },
  {
    row: 10,
    raw: officerRow(9, { tmt_jabatan: '2020-02-30' }),
    rejected: { code: 'date_invalid', field: 'tmt_jabatan' },
  },
  {
    row: 11,
    raw: officerRow(10, { tmt_jabatan: '2026-11-28' }), // the day after as_of
    rejected: { code: 'date_in_future', field: 'tmt_jabatan' },
  },
  {
    row: 12,
    raw: officerRow(11, { unit_kerja: TOO_LONG }),
    rejected: { code: 'field_too_long', field: 'unit_kerja' },
  },
];

/** The formation rows (numbered apart from the officer rows), each rejected one breaking one rule. */
const FORMATIONS: { row: number; raw: RawRecord; rejected?: { code: string; field: string } }[] = [
  { row: 101, raw: formationRow() },
  { row: 102, raw: formationRow({ jenjang: 'Penyuluh' }), rejected: { code: 'level_unknown', field: 'jenjang' } },
  {
    row: 103,
    raw: formationRow({ kode_wilayah: '16.72' }),
    rejected: { code: 'region_mismatch', field: 'kode_wilayah' },
  },
  {
    row: 104,
    raw: formationRow({ kode_wilayah: '16.99' }),
    rejected: { code: 'region_unknown', field: 'kode_wilayah' },
  },
  { row: 105, raw: formationRow({ tahun: '26' }), rejected: { code: 'date_invalid', field: 'tahun' } },
  { row: 106, raw: formationRow({ kebutuhan: 'tiga' }), rejected: { code: 'field_missing', field: 'kebutuhan' } },
  { row: 107, raw: formationRow({ jenjang: TOO_LONG }), rejected: { code: 'field_too_long', field: 'jenjang' } },
];

const REJECTED = [...OFFICERS, ...FORMATIONS].filter((r) => r.rejected);

function normalise(): SnapshotResult {
  const n = createSnapshotNormaliser({ sourceRegion: '16.71', asOf: AS_OF });
  for (const o of OFFICERS) n.addOfficer(o.raw, o.row);
  for (const f of FORMATIONS) n.addFormation(f.raw, f.row);
  return n.finish();
}

/** The source and a run over it: staged as the fetch job stages it, its fetch marked succeeded. */
async function stageRun(db: Db): Promise<string> {
  await insertSource(db, { id: SOURCE, regionCode: '16.71' });
  const { run } = await createRun(db, {
    scope: { kind: 'source', value: SOURCE },
    trigger: 'manual',
    requestedBy: 'test',
    asOf: AS_OF,
  });
  const fetch = await db
    .selectFrom('source_fetches')
    .select('id')
    .where('run_id', '=', run.id)
    .executeTakeFirstOrThrow();
  await stageSnapshot(db, {
    runId: run.id,
    sourceId: SOURCE,
    fetchId: fetch.id,
    result: normalise(),
    contentHash: 'h1',
  });
  await db
    .updateTable('source_fetches')
    .set({ status: 'succeeded', content_hash: 'h1' })
    .where('id', '=', fetch.id)
    .execute();
  return run.id;
}

describe('R2, R3, R4, R6: the rows the normaliser hands over', () => {
  it('one code per rejected row (the premise of the tests below)', () => {
    const r = normalise();
    expect(r.rejected.map((x) => [x.row, x.codes, x.fields])).toEqual(
      REJECTED.map((x) => [x.row, [x.rejected!.code], [x.rejected!.field]]),
    );
    expect(r.accepted.map((o) => o.position)).toEqual([2, 3, 4]);
    expect(r.formations.map((f) => f.position)).toEqual([101]);
  });
});

describe('R2, R3, R4, R6 staged (stageSnapshot)', () => {
  const t = useTestDatabase();

  it('keeps every rejected record with its codes, fields, NIP and raw values, and the R2/R3 warnings', async () => {
    const { db } = t;
    const runId = await stageRun(db);

    const rejected = await db
      .selectFrom('rejected_records')
      .select(['row', 'nip', 'codes', 'fields', 'raw'])
      .where('run_id', '=', runId)
      .where('source_id', '=', SOURCE)
      .orderBy('row')
      .execute();
    expect(rejected.map((r) => ({ row: r.row, nip: r.nip, codes: r.codes, fields: r.fields }))).toEqual(
      REJECTED.map((x) => ({
        row: x.row,
        nip: 'nip' in x.raw ? x.raw.nip : null,
        codes: [x.rejected!.code],
        fields: [x.rejected!.field],
      })),
    );
    // The raw values as text, the offending one as given (R6: "kept with its reasons").
    const rawOf = (row: number) => rejected.find((r) => r.row === row)!.raw;
    expect(rawOf(7)).toMatchObject({ nip: nipOf(6), kode_wilayah: '16.72' });
    expect(rawOf(10)).toMatchObject({ tmt_jabatan: '2020-02-30' });
    expect(rawOf(12)!.unit_kerja).toBe(TOO_LONG);
    expect(rawOf(105)).toMatchObject({ tahun: '26', jenjang: 'Ahli Pertama' });

    const staged = await db
      .selectFrom('staged_findings')
      .select(['code', 'severity', 'row', 'nip', 'details'])
      .where('run_id', '=', runId)
      .orderBy('row')
      .execute();
    // R6's own per-row findings are not staged: rejected_records has them.
    expect(staged).toEqual([
      {
        code: 'birthdate_mismatch',
        severity: 'warning',
        row: 3,
        nip: nipOf(2),
        details: { given: '1985-03-13', fromNip: '1985-03-12' },
      },
      {
        code: 'grade_level_mismatch',
        severity: 'warning',
        row: 4,
        nip: nipOf(3),
        details: { level: 'ahli_pertama', grade: 'IV/a' },
      },
    ]);

    const header = await db
      .selectFrom('staged_snapshots')
      .select(['officer_count', 'formation_count', 'finding_count', 'rejected_count'])
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(header).toEqual({ officer_count: 3, formation_count: 1, finding_count: 2, rejected_count: REJECTED.length });
  });
});

describe('R2, R3, R4, R6 reconciled (reconcileRun)', () => {
  const t = useTestDatabase();

  it('one record_rejected per source with every code, the R2/R3 warnings, and only the accepted records registered', async () => {
    const { db } = t;
    const runId = await stageRun(db);
    const res = await reconcileRun(db, { runId, asOf: AS_OF });
    await completeRun(db, runId, res.findings);

    const findings = await db
      .selectFrom('findings')
      .selectAll()
      .where('source_id', '=', SOURCE)
      .orderBy('code')
      .execute();
    expect(findings.map((f) => f.code)).toEqual(['birthdate_mismatch', 'grade_level_mismatch', 'record_rejected']);
    for (const f of findings) {
      expect(f).toMatchObject({
        severity: FINDING_RULES[f.code as keyof typeof FINDING_RULES].severity,
        status: 'open',
        province_code: '16',
        region_code: '16.71',
      });
    }

    const [birth, grade, rejected] = findings;
    expect(birth).toMatchObject({ nip: nipOf(2), row: 3, details: { given: '1985-03-13', fromNip: '1985-03-12' } });
    expect(grade).toMatchObject({ nip: nipOf(3), row: 4, details: { level: 'ahli_pertama', grade: 'IV/a' } });

    // R6: one error finding for the source, listing every rejected row with its codes.
    expect(rejected).toMatchObject({ severity: 'error', nip: null, row: null });
    expect(rejected!.details).toEqual({
      count: REJECTED.length,
      records: REJECTED.map((x) => ({
        row: x.row,
        nip: 'nip' in x.raw ? x.raw.nip : null,
        codes: [x.rejected!.code],
        fields: [x.rejected!.field],
      })),
    });
    expect(rejected!.message).toMatch(new RegExp(`^${REJECTED.length} baris data dari sumber ${SOURCE} ditolak`));
    // Per code, most frequent first, then by name.
    expect(rejected!.message).toContain(
      'date_invalid 2, field_missing 2, field_too_long 2, level_unknown 2, region_mismatch 2, region_unknown 2, ' +
        'date_in_future 1, grade_unknown 1.',
    );
    expect(rejected!.message).toContain(`Baris: ${REJECTED.map((x) => x.row).join(', ')}`);

    // The register: the three accepted officers only; R2, the NIP's birth date stands.
    const { officers } = await listOfficers(db, {}, { limit: 100 });
    expect(officers.map((o) => [o.nip, o.birthDate, o.grade])).toEqual([
      [nipOf(1), '1985-03-12', 'III/a'],
      [nipOf(2), '1985-03-12', 'III/a'],
      [nipOf(3), '1985-03-12', 'IV/a'],
    ]);
    const formations = await db
      .selectFrom('formations')
      .select(['region_code', 'year', 'level', 'need', 'approved'])
      .where('valid_to', 'is', null)
      .execute();
    expect(formations).toEqual([{ region_code: '16.71', year: 2026, level: 'ahli_pertama', need: 3, approved: 2 }]);
  });
});
