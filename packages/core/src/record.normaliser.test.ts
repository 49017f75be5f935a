import { describe, expect, it } from 'vitest';
import { describeCode } from './describe.ts';
import { FINDING_CODES, REJECTION_CODES, type RejectionCode } from './findings.ts';
import type { RawRecord } from './officer.ts';
import { normaliseFormation, normaliseOfficer } from './record.normaliser.ts';
import { OfficerSchema, FormationSchema } from './schemas.ts';

const AS_OF = '2026-11-27';
const ctx = { sourceRegion: '16.71', asOf: AS_OF, position: 7 };

const valid: RawRecord = {
  nip: '198503122010011003',
  nama: 'Dr. Budi Santoso, S.E., M.M.',
  jenis_kelamin: 'L',
  tanggal_lahir: '12-03-1985',
  jenjang: 'Ahli Muda',
  golongan: 'III/c',
  unit_kerja: 'Dinas Tenaga Kerja Kota Palembang',
  kode_wilayah: '16.71',
  tmt_jabatan: '2020-01-01',
  status: 'aktif',
  email: 'budi@example.go.id',
  telepon: '0812 3456 7890',
  updated_at: '2026-11-01T08:00:00+07:00',
};

function rejectedCodes(patch: RawRecord): RejectionCode[] {
  const r = normaliseOfficer({ ...valid, ...patch }, ctx);
  return r.ok ? [] : r.rejection.codes;
}

function findingCodes(patch: RawRecord): string[] {
  const r = normaliseOfficer({ ...valid, ...patch }, ctx);
  if (!r.ok) throw new Error(`rejected: ${r.rejection.codes.join(',')}`);
  return r.findings.map((f) => f.code);
}

describe('normaliseOfficer', () => {
  it('produces a canonical officer', () => {
    const r = normaliseOfficer(valid, ctx);
    expect(r).toEqual({
      ok: true,
      findings: [],
      officer: {
        nip: '198503122010011003',
        name: 'Dr. Budi Santoso, S.E., M.M.',
        nameNormalised: 'budi santoso',
        gender: 'L',
        birthDate: '1985-03-12',
        level: 'ahli_muda',
        grade: 'III/c',
        unit: 'Dinas Tenaga Kerja Kota Palembang',
        regionCode: '16.71',
        tmtJabatan: '2020-01-01',
        status: 'aktif',
        email: 'budi@example.go.id',
        phone: '+6281234567890',
        updatedAt: '2026-11-01T01:00:00.000Z',
        position: 7,
      },
    });
    if (r.ok) expect(OfficerSchema.safeParse(r.officer).success).toBe(true);
  });

  it('uses the source region when kode_wilayah is absent, and accepts 1671', () => {
    const a = normaliseOfficer({ ...valid, kode_wilayah: undefined }, ctx);
    const b = normaliseOfficer({ ...valid, kode_wilayah: '1671' }, { ...ctx, sourceRegion: '1671' });
    expect(a.ok && a.officer.regionCode).toBe('16.71');
    expect(b.ok && b.officer.regionCode).toBe('16.71');
  });

  it('reads region codes from number cells, trailing zero included', () => {
    const a = normaliseOfficer({ ...valid, kode_wilayah: 16.1 }, { ...ctx, sourceRegion: '16.10' });
    const b = normaliseOfficer({ ...valid, kode_wilayah: 1671 }, ctx);
    const c = normaliseOfficer({ ...valid, kode_wilayah: 16.71 }, ctx);
    expect([a.ok && a.officer.regionCode, b.ok && b.officer.regionCode, c.ok && c.officer.regionCode]).toEqual([
      '16.10',
      '16.71',
      '16.71',
    ]);
  });

  it('accepts optional fields being absent', () => {
    const r = normaliseOfficer(
      { ...valid, jenis_kelamin: '', tanggal_lahir: undefined, email: null, telepon: '  ', updated_at: undefined },
      ctx,
    );
    expect(r.ok).toBe(true);
    if (r.ok)
      expect([r.officer.email, r.officer.phone, r.officer.updatedAt, r.findings]).toEqual([null, null, null, []]);
  });

  it.each<[string, RawRecord, RejectionCode[], string[]]>([
    ['R1 bad NIP', { nip: '1985031220100110' }, ['nip_invalid'], ['nip']],
    ['R1 NIP as a number', { nip: Number('198503122010011003') }, ['nip_invalid'], ['nip']],
    ['R1 NIP of someone under 18', { nip: '200811282026111001' }, ['nip_invalid'], ['nip']],
    ['R1 TMT CPNS before age 18', { nip: '198503122002121003' }, ['nip_invalid'], ['nip']],
    ['R3 unknown level', { jenjang: 'Penyuluh' }, ['level_unknown'], ['jenjang']],
    ['R3 unknown grade', { golongan: 'V/a' }, ['grade_unknown'], ['golongan']],
    ['R4 other region', { kode_wilayah: '16.72' }, ['region_mismatch'], ['kode_wilayah']],
    ['R4 province code for a regency source', { kode_wilayah: '16' }, ['region_mismatch'], ['kode_wilayah']],
    ['R4 unknown region', { kode_wilayah: '16.99' }, ['region_unknown'], ['kode_wilayah']],
    ['R4 not a region code', { kode_wilayah: 'Palembang' }, ['region_unknown'], ['kode_wilayah']],
    ['R6 missing NIP', { nip: '' }, ['field_missing'], ['nip']],
    ['R6 missing name', { nama: '   ' }, ['field_missing'], ['nama']],
    ['R6 missing level', { jenjang: undefined }, ['field_missing'], ['jenjang']],
    ['R6 missing grade', { golongan: null }, ['field_missing'], ['golongan']],
    ['R6 missing unit', { unit_kerja: '' }, ['field_missing'], ['unit_kerja']],
    ['R6 missing tmt_jabatan', { tmt_jabatan: '' }, ['field_missing'], ['tmt_jabatan']],
    ['R6 missing status', { status: '' }, ['field_missing'], ['status']],
    ['R6 unrecognised status', { status: 'hidup' }, ['field_missing'], ['status']],
    ['R6 object where text is expected', { nama: { first: 'Budi' } }, ['field_missing'], ['nama']],
    ['R6 bad tmt_jabatan', { tmt_jabatan: '31/02/2020' }, ['date_invalid'], ['tmt_jabatan']],
    ['R6 bad tanggal_lahir', { tanggal_lahir: 'kemarin' }, ['date_invalid'], ['tanggal_lahir']],
    ['R6 bad updated_at', { updated_at: 'yesterday' }, ['date_invalid'], ['updated_at']],
    ['R6 tmt_jabatan in the future', { tmt_jabatan: '2026-11-28' }, ['date_in_future'], ['tmt_jabatan']],
    ['R6 name too long', { nama: 'a'.repeat(501) }, ['field_too_long'], ['nama']],
    ['R6 unknown-field-free email too long', { email: `${'a'.repeat(495)}@x.com` }, ['field_too_long'], ['email']],
  ])('rejects: %s', (_name, patch, codes, fields) => {
    const r = normaliseOfficer({ ...valid, ...patch }, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.rejection.codes).toEqual(codes);
      expect(r.rejection.fields).toEqual(fields);
      expect(r.rejection.row).toBe(7);
      expect(r.rejection.issues.every((i) => codes.includes(i.code))).toBe(true);
    }
  });

  it('lists every reason of a record with several problems, and keeps the raw record', () => {
    const raw = { ...valid, nip: 'abc', golongan: 'X', tmt_jabatan: '2030-01-01', extra: 'kept' };
    const r = normaliseOfficer(raw, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.rejection.codes).toEqual(['nip_invalid', 'grade_unknown', 'date_in_future']);
    expect(r.rejection.nip).toBe('abc');
    expect(r.rejection.raw).toMatchObject({ nip: 'abc', golongan: 'X', extra: 'kept' });
  });

  it('explains a numeric NIP cell', () => {
    const r = normaliseOfficer({ ...valid, nip: Number('198503122010011003') }, ctx);
    expect(!r.ok && r.rejection.issues[0]?.detail).toMatch(/angka/);
  });

  it('accepts tmt_jabatan equal to as_of', () => {
    expect(rejectedCodes({ tmt_jabatan: AS_OF })).toEqual([]);
  });

  it.each([
    ['III/a', 'ahli_pertama', false],
    ['III/b', 'ahli_pertama', false],
    ['III/c', 'ahli_pertama', true],
    ['III/b', 'ahli_muda', true],
    ['III/c', 'ahli_muda', false],
    ['III/d', 'ahli_muda', false],
    ['IV/a', 'ahli_muda', true],
    ['IV/c', 'ahli_madya', false],
    ['IV/d', 'ahli_madya', true],
    ['IV/d', 'ahli_utama', false],
    ['II/d', 'ahli_pertama', true],
  ])('R3 grade %s at level %s on the boundary: mismatch=%s', (golongan, jenjang, mismatch) => {
    expect(findingCodes({ golongan, jenjang })).toEqual(mismatch ? ['grade_level_mismatch'] : []);
  });

  it.each(['IIIc', 'III-c', 'III/C', '3c', '3/c', 'Penata, III/c'])('accepts grade form %j', (golongan) => {
    const r = normaliseOfficer({ ...valid, golongan }, ctx);
    expect(r.ok && r.officer.grade).toBe('III/c');
  });

  it('R2: a contradicting gender is a warning and the NIP stands', () => {
    const r = normaliseOfficer({ ...valid, jenis_kelamin: 'Perempuan' }, ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.officer.gender).toBe('L');
    expect(r.findings).toEqual([
      {
        code: 'gender_mismatch',
        severity: 'warning',
        row: 7,
        nip: '198503122010011003',
        details: { given: 'Perempuan', fromNip: 'L', recognised: true },
      },
    ]);
  });

  it('R2: a contradicting birth date is a warning and the NIP stands', () => {
    const r = normaliseOfficer({ ...valid, tanggal_lahir: '9 Oktober 1985' }, ctx);
    expect(r.ok && r.officer.birthDate).toBe('1985-03-12');
    expect(r.ok && r.findings.map((f) => [f.code, f.severity])).toEqual([['birthdate_mismatch', 'warning']]);
  });

  it('R2: a 29 February birth date matching the NIP raises nothing', () => {
    const r = normaliseOfficer(
      { ...valid, nip: '198402292010012001', jenis_kelamin: 'P', tanggal_lahir: '29/02/1984' },
      ctx,
    );
    expect(r.ok && r.findings).toEqual([]);
    expect(r.ok && r.officer.birthDate).toBe('1984-02-29');
  });

  it('accepts Excel date cells and serials for dates', () => {
    const r = normaliseOfficer(
      {
        ...valid,
        tanggal_lahir: new Date(Date.UTC(1985, 2, 12)),
        tmt_jabatan: 43831,
        updated_at: new Date('2026-01-01T00:00:00Z'),
      },
      ctx,
    );
    expect(r.ok && [r.officer.tmtJabatan, r.officer.updatedAt, r.findings]).toEqual([
      '2020-01-01',
      '2026-01-01T00:00:00.000Z',
      [],
    ]);
  });

  it.each([
    ['double quotes', 'Budi "Bos" Santoso'],
    ['HTML/script', '<script>alert("x")</script>'],
    ['SQL', "Robert'); DROP TABLE officers;--"],
    ['emoji', 'Budi 😀 Santoso'],
    ['RTL mark', '\u202Eosotnas idub'],
    ['leading =', '=HYPERLINK("http://evil","x")'],
    ['leading +', '+1+1'],
    ['leading -', '-2'],
    ['leading @', '@SUM(A1)'],
  ])('passes hostile text through unchanged: %s', (_name, text) => {
    const r = normaliseOfficer({ ...valid, nama: text, unit_kerja: text }, ctx);
    expect(r.ok).toBe(true);
    if (r.ok) expect([r.officer.name, r.officer.unit]).toEqual([text, text]);
  });

  it('removes NUL bytes, both from accepted values and kept raw records', () => {
    const ok = normaliseOfficer({ ...valid, nama: 'Bu\u0000di' }, ctx);
    expect(ok.ok && ok.officer.name).toBe('Budi');
    const bad = normaliseOfficer({ ...valid, nama: 'Bu\u0000di', nip: 'x\u0000' }, ctx);
    expect(!bad.ok && bad.rejection.raw.nama).toBe('Budi');
  });

  it('never throws on hostile values of any type', () => {
    const weird: unknown[] = [
      null,
      undefined,
      0,
      -1,
      NaN,
      Infinity,
      true,
      [],
      {},
      new Date(NaN),
      10n,
      Symbol.iterator.toString(),
      '\u0000'.repeat(600),
    ];
    for (const v of weird) {
      for (const field of Object.keys(valid)) {
        expect(() => normaliseOfficer({ ...valid, [field]: v }, ctx)).not.toThrow();
      }
    }
  });

  it('refuses an invalid context (a caller bug)', () => {
    expect(() => normaliseOfficer(valid, { ...ctx, asOf: '2026-02-30' })).toThrow(/asOf/);
    expect(() => normaliseOfficer(valid, { ...ctx, sourceRegion: '99.99' })).toThrow(/sourceRegion/);
  });
});

describe('normaliseFormation', () => {
  const f = {
    kode_wilayah: '1671',
    tahun: '2026',
    jenjang: 'Pengantar Kerja Ahli Pertama',
    kebutuhan: '10',
    formasi: 6,
  };

  it('produces a canonical formation', () => {
    const r = normaliseFormation(f, ctx);
    expect(r).toEqual({
      ok: true,
      formation: { regionCode: '16.71', year: 2026, level: 'ahli_pertama', need: 10, approved: 6, position: 7 },
    });
    if (r.ok) expect(FormationSchema.safeParse(r.formation).success).toBe(true);
  });

  it.each<[RawRecord, RejectionCode[]]>([
    [{ tahun: '26' }, ['date_invalid']],
    [{ tahun: '' }, ['field_missing']],
    [{ jenjang: 'Utama Sekali' }, ['level_unknown']],
    [{ kebutuhan: '-1' }, ['field_missing']],
    [{ formasi: 2.5 }, ['field_missing']],
    [{ kode_wilayah: '16.72' }, ['region_mismatch']],
    [{ kode_wilayah: '77.77' }, ['region_unknown']],
  ])('rejects %j with %j', (patch, codes) => {
    const r = normaliseFormation({ ...f, ...patch }, ctx);
    expect(!r.ok && r.rejection.codes).toEqual(codes);
  });
});

describe('describeCode', () => {
  it('explains every rejection and finding code in Bahasa Indonesia', () => {
    for (const code of [...REJECTION_CODES, ...FINDING_CODES]) {
      const text = describeCode(code);
      expect(text).not.toBe(code);
      expect(text.length).toBeGreaterThan(10);
    }
  });
});
