import { describe, expect, it } from 'vitest';
import { memoise } from './normalise/fields.ts';
import { FormationPageSchema, OfficerPageSchema, OfficerRecordSchema } from './schemas.ts';

describe('boundary schemas', () => {
  it('accepts an officers page and refuses a wrong envelope', () => {
    expect(OfficerPageSchema.safeParse({ data: [{ nip: '1' }], next_cursor: null }).success).toBe(true);
    expect(OfficerPageSchema.safeParse({ data: [], next_cursor: 'abc' }).success).toBe(true);
    expect(OfficerPageSchema.safeParse({ data: [] }).success).toBe(false);
    expect(OfficerPageSchema.safeParse({ data: {}, next_cursor: null }).success).toBe(false);
    expect(OfficerPageSchema.safeParse({ data: [1], next_cursor: null }).success).toBe(false);
    expect(FormationPageSchema.safeParse({ data: [{ tahun: 2026 }] }).success).toBe(true);
  });

  it('describes a raw OfficerRecord loosely: extra fields allowed, values raw', () => {
    const r = OfficerRecordSchema.safeParse({
      nip: '198503122010011003',
      nama: 'x',
      jenjang: 'Muda',
      golongan: 3,
      unit_kerja: 'u',
      tmt_jabatan: new Date(),
      status: 'aktif',
      catatan: 'extra',
    });
    expect(r.success).toBe(true);
  });
});

describe('memoise', () => {
  it('stays correct past its bound', () => {
    let calls = 0;
    const f = memoise((s: string) => {
      calls++;
      return s.length;
    }, 10);
    for (let i = 0; i < 100; i++) expect(f(`x${i}`)).toBe(String(i).length + 1);
    expect(f('x99')).toBe(3);
    expect(calls).toBe(100);
  });
});
