import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDate, isRealDate } from './date.ts';
import { validateNip, type NipProblem } from './nip.ts';

const AS_OF = '2026-11-27';

describe('validateNip (R1)', () => {
  it.each([
    ['198503122010011003', '198503122010011003', '1985-03-12', 'L'],
    ['19850312 201001 1 003', '198503122010011003', '1985-03-12', 'L'],
    ['19850312.201001.1.003', '198503122010011003', '1985-03-12', 'L'],
    ['19850312-201001-2-003', '198503122010012003', '1985-03-12', 'P'],
    [' 198402292010012001 ', '198402292010012001', '1984-02-29', 'P'],
    ["'198503122010011003", '198503122010011003', '1985-03-12', 'L'],
  ])('accepts %j', (input, nip, birthDate, gender) => {
    expect(validateNip(input, AS_OF)).toMatchObject({ ok: true, nip, birthDate, gender });
  });

  it.each<[unknown, NipProblem, string?]>([
    ['', 'missing'],
    [null, 'missing'],
    [Number('198503122010011003'), 'numeric_cell'],
    ['1.98503E+17', 'numeric_cell'],
    ['1,98503E+17', 'numeric_cell'],
    ['19850312201001100', 'not_18_digits'],
    ['1985031220100110031', 'not_18_digits'],
    ['19850312201001100A', 'not_18_digits'],
    ['198503122010011003'.replace('0', '٠'), 'not_18_digits'],
    ['198502292010011003', 'birth_date_invalid'], // 1985 is not a leap year
    ['198513012010011003', 'birth_date_invalid'],
    ['198504312010011003', 'birth_date_invalid'],
    ['193912312010011003', 'born_before_1940'],
    ['200811282026111001', 'under_18'], // turns 18 the day after as_of
    ['198503122010131003', 'tmt_cpns_invalid'],
    ['198503122010001003', 'tmt_cpns_invalid'],
    ['198503122026121003', 'tmt_cpns_in_future'],
    ['198503122002121003', 'tmt_cpns_before_age_18'], // TMT CPNS year 2002 < 1985 + 18
    ['198503122010013003', 'gender_digit_invalid'],
    ['198503122010010003', 'gender_digit_invalid'],
  ])('rejects %j: %s', (input, problem) => {
    expect(validateNip(input, AS_OF)).toMatchObject({ ok: false, problem });
  });

  it('takes age 18 on the 18th birthday, and the year of TMT CPNS from birth year + 18', () => {
    expect(validateNip('200811272026111001', AS_OF).ok).toBe(true); // 18 today; TMT 2026-11 = this month
    expect(validateNip('198503122003011003', AS_OF).ok).toBe(true); // TMT year exactly birth year + 18
    expect(validateNip('194001012000011001', AS_OF).ok).toBe(true); // 1940 is allowed
  });

  it('treats a 29 February birthday as reached on 1 March in common years', () => {
    const nip = '200802292026021001'; // born 2008-02-29
    expect(validateNip(nip, '2026-02-28')).toMatchObject({ ok: false, problem: 'under_18' });
    expect(validateNip(nip, '2026-03-01')).toMatchObject({ ok: true, birthDate: '2008-02-29' });
  });
});

/** A generated valid NIP with its parts. */
const validNipParts = fc
  .record({
    birth: fc.date({ min: new Date(Date.UTC(1940, 0, 1)), max: new Date(Date.UTC(1990, 11, 31)), noInvalidDate: true }),
    tmtOffset: fc.integer({ min: 18, max: 35 }),
    tmtMonth: fc.integer({ min: 1, max: 12 }),
    gender: fc.constantFrom('1', '2'),
    seq: fc.integer({ min: 0, max: 999 }),
  })
  .map(({ birth, tmtOffset, tmtMonth, gender, seq }) => {
    const y = birth.getUTCFullYear();
    const b = formatDate(y, birth.getUTCMonth() + 1, birth.getUTCDate())!.replaceAll('-', '');
    const tmtYear = Math.min(y + tmtOffset, 2025);
    return `${b}${tmtYear}${String(tmtMonth).padStart(2, '0')}${gender}${String(seq).padStart(3, '0')}`;
  });

describe('validateNip properties', () => {
  it('accepts every generated valid NIP, with any separators', () => {
    fc.assert(
      fc.property(validNipParts, fc.constantFrom('', ' ', '.', '-'), (nip, sep) => {
        const written = [nip.slice(0, 8), nip.slice(8, 14), nip.slice(14, 15), nip.slice(15)].join(sep);
        const r = validateNip(written, AS_OF);
        expect(r).toMatchObject({ ok: true, nip });
      }),
    );
  });

  it('rejects a NIP whose length changes', () => {
    fc.assert(
      fc.property(validNipParts, fc.integer({ min: 1, max: 17 }), fc.boolean(), (nip, n, cut) => {
        const broken = cut ? nip.slice(0, n) : nip + '0'.repeat((n % 3) + 1);
        expect(validateNip(broken, AS_OF).ok).toBe(false);
      }),
    );
  });

  it('rejects a NIP whose gender digit is not 1 or 2', () => {
    fc.assert(
      fc.property(validNipParts, fc.constantFrom('0', '3', '4', '5', '6', '7', '8', '9'), (nip, g) => {
        expect(validateNip(nip.slice(0, 14) + g + nip.slice(15), AS_OF)).toMatchObject({
          ok: false,
          problem: 'gender_digit_invalid',
        });
      }),
    );
  });

  it('rejects a NIP whose embedded birth date is not a real date', () => {
    fc.assert(
      fc.property(validNipParts, fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (nip, m, d) => {
        const y = Number(nip.slice(0, 4));
        fc.pre(!isRealDate(y, m, d));
        const broken = nip.slice(0, 4) + String(m).padStart(2, '0') + String(d).padStart(2, '0') + nip.slice(8);
        expect(validateNip(broken, AS_OF)).toMatchObject({ ok: false, problem: 'birth_date_invalid' });
      }),
    );
  });

  it('rejects a NIP whose TMT CPNS month is not a month', () => {
    fc.assert(
      fc.property(validNipParts, fc.constantFrom(0, 13, 20, 99), (nip, m) => {
        const broken = nip.slice(0, 12) + String(m).padStart(2, '0') + nip.slice(14);
        expect(validateNip(broken, AS_OF)).toMatchObject({ ok: false, problem: 'tmt_cpns_invalid' });
      }),
    );
  });

  it('rejects a NIP whose TMT CPNS year precedes birth year + 18 or follows as_of', () => {
    fc.assert(
      fc.property(validNipParts, fc.integer({ min: 1, max: 17 }), fc.boolean(), (nip, k, early) => {
        const by = Number(nip.slice(0, 4));
        const ty = early ? by + 18 - k : 2026 + k;
        const broken = nip.slice(0, 8) + String(ty) + nip.slice(12);
        expect(validateNip(broken, AS_OF)).toMatchObject({
          ok: false,
          problem: early ? 'tmt_cpns_before_age_18' : 'tmt_cpns_in_future',
        });
      }),
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (v) => {
        expect(typeof validateNip(v, AS_OF).ok).toBe('boolean');
      }),
    );
  });
});
