import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REJECTION_CODES } from './findings.ts';
import { normaliseOfficer, OFFICER_FIELDS } from './record.normaliser.ts';
import { OfficerSchema } from './schemas.ts';

const ctx = { sourceRegion: '16.71', asOf: '2026-11-27', position: 2 };
const valid = {
  nip: '198503122010011003',
  nama: 'Budi',
  jenjang: 'ahli_muda',
  golongan: 'III/c',
  unit_kerja: 'Disnaker',
  tmt_jabatan: '2020-01-01',
  status: 'aktif',
};

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 600 }),
  fc.constantFrom(
    '\u0000',
    '=cmd|/C calc',
    '<img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    '\u202e\u200f',
    '😀'.repeat(300),
  ),
);

describe('normaliseOfficer on arbitrary input', () => {
  it('always answers with a valid officer or a rejection with spec codes; never throws', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...OFFICER_FIELDS, 'extra'), fc.oneof(hostileText, fc.anything()), {
          maxKeys: 14,
        }),
        fc.boolean(),
        (patch, onValid) => {
          const raw = onValid ? { ...valid, ...patch } : patch;
          const r = normaliseOfficer(raw, ctx);
          if (r.ok) {
            expect(OfficerSchema.safeParse(r.officer).success).toBe(true);
          } else {
            expect(r.rejection.codes.length).toBeGreaterThan(0);
            for (const c of r.rejection.codes) expect(REJECTION_CODES).toContain(c);
            for (const v of Object.values(r.rejection.raw)) expect(v.includes('\u0000')).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps any text of up to 500 characters unchanged, as data', () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: 'binary', minLength: 1, maxLength: 500 })
          .filter((s) => s.trim() === s && s !== '' && !s.includes('\u0000')),
        (text) => {
          const r = normaliseOfficer({ ...valid, nama: text, unit_kerja: text }, ctx);
          expect(r.ok).toBe(true);
          if (r.ok) expect([r.officer.name, r.officer.unit]).toEqual([text, text]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
