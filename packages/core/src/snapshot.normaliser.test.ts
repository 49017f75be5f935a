import { describe, expect, it } from 'vitest';
import type { RawRecord } from './officer.ts';
import { SnapshotNormaliser } from './snapshot.normaliser.ts';

const base: RawRecord = {
  nip: '198503122010011003',
  nama: 'Budi Santoso',
  jenjang: 'ahli_muda',
  golongan: 'III/c',
  unit_kerja: 'Disnaker',
  tmt_jabatan: '2020-01-01',
  status: 'aktif',
};
const other: RawRecord = { ...base, nip: '199001012015032001', nama: 'Siti' };

function snapshot() {
  return new SnapshotNormaliser({ sourceRegion: '16.71', asOf: '2026-11-27' });
}

describe('SnapshotNormaliser', () => {
  it('R7: identical records count once, with no finding', () => {
    const s = snapshot();
    s.addOfficer(base, 2);
    s.addOfficer({ ...base, nama: '  Budi Santoso ' }, 3);
    const r = s.finish();
    expect(r.accepted).toHaveLength(1);
    expect(r.findings).toEqual([]);
    expect(r.stats).toMatchObject({ rows: 2, accepted: 1, rejected: 0, duplicates: 1 });
  });

  it('R7: differing records keep the later tmt_jabatan and warn', () => {
    const s = snapshot();
    s.addOfficer({ ...base, tmt_jabatan: '2022-01-01', unit_kerja: 'Baru' }, 2);
    s.addOfficer({ ...base, tmt_jabatan: '2020-01-01' }, 3);
    const r = s.finish();
    expect(r.accepted.map((o) => [o.unit, o.position])).toEqual([['Baru', 2]]);
    expect(r.findings).toEqual([
      {
        code: 'duplicate_in_source',
        severity: 'warning',
        row: 3,
        nip: '198503122010011003',
        details: { keptRow: 2, droppedRow: 3 },
      },
    ]);
    expect(r.stats.warningsByCode).toEqual({ duplicate_in_source: 1 });
  });

  it('R7: equal tmt_jabatan falls back to later updated_at, then later position', () => {
    const a = snapshot();
    a.addOfficer({ ...base, unit_kerja: 'A', updated_at: '2026-05-01T00:00:00Z' }, 2);
    a.addOfficer({ ...base, unit_kerja: 'B', updated_at: '2026-04-01T00:00:00Z' }, 3);
    expect(a.finish().accepted[0]?.unit).toBe('A');
    const b = snapshot();
    b.addOfficer({ ...base, unit_kerja: 'A' }, 2);
    b.addOfficer({ ...base, unit_kerja: 'B' }, 3);
    expect(b.finish().accepted[0]?.unit).toBe('B');
  });

  it('R7: drops the record-level warnings of the record that lost', () => {
    const s = snapshot();
    s.addOfficer({ ...base, jenis_kelamin: 'P', tmt_jabatan: '2019-01-01' }, 2);
    s.addOfficer({ ...base, tmt_jabatan: '2021-01-01' }, 3);
    expect(s.finish().findings.map((f) => f.code)).toEqual(['duplicate_in_source']);
  });

  it('R6: each rejection is a record_rejected error finding with its row; stats add up', () => {
    const s = snapshot();
    s.addOfficer(base, 2);
    s.addOfficer({ ...other, nip: '123', golongan: 'zz' }, 3);
    s.addOfficer({ ...other, jenis_kelamin: 'L', foo: 'x', bar: '' }, 4);
    s.addFormation({ tahun: '2026', jenjang: 'ahli_muda', kebutuhan: '4', formasi: '2', catatan: 'x' }, 2);
    s.addFormation({ tahun: '2026', jenjang: 'ahli_muda', kebutuhan: 'x', formasi: '2' }, 3);
    const r = s.finish();
    expect(r.rejected.map((x) => [x.row, x.codes])).toEqual([
      [3, ['nip_invalid', 'grade_unknown']],
      [3, ['field_missing']],
    ]);
    expect(r.findings.filter((f) => f.code === 'record_rejected')).toEqual([
      {
        code: 'record_rejected',
        severity: 'error',
        row: 3,
        nip: '123',
        details: { codes: ['nip_invalid', 'grade_unknown'], fields: ['nip', 'golongan'] },
      },
      {
        code: 'record_rejected',
        severity: 'error',
        row: 3,
        details: { codes: ['field_missing'], fields: ['kebutuhan'] },
      },
    ]);
    expect(r.stats).toEqual({
      rows: 5,
      accepted: 3,
      rejected: 2,
      duplicates: 0,
      unknownFields: 3,
      unknownFieldNames: ['bar', 'catatan', 'foo'],
      officerRows: 3,
      formationRows: 2,
      workloadRows: 0,
      warningsByCode: { gender_mismatch: 1 },
      rejectedByCode: { nip_invalid: 1, grade_unknown: 1, field_missing: 1 },
    });
    expect(r.stats.rows).toBe(r.stats.accepted + r.stats.rejected + r.stats.duplicates);
  });

  it('cannot be fed after finish()', () => {
    const s = snapshot();
    s.finish();
    expect(() => s.addOfficer(base, 2)).toThrow(/finish/);
  });
});
