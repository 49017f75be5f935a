import { describe, expect, it } from 'vitest';
import { ageInYears, isCalendarDate, parseDate } from './date.ts';

describe('parseDate', () => {
  it.each<[unknown, string | null]>([
    ['1985-10-09', '1985-10-09'],
    ['1985-1-9', '1985-01-09'],
    ['2026-11-01T08:00:00+07:00', '2026-11-01'],
    ['09-10-1985', '1985-10-09'],
    ['9-10-1985', '1985-10-09'],
    ['09/10/1985', '1985-10-09'],
    ['09.10.1985', '1985-10-09'],
    ['9 Oktober 1985', '1985-10-09'],
    ['09 oktober 1985', '1985-10-09'],
    ['1 Januari 2020', '2020-01-01'],
    ['12 Maret 1985', '1985-03-12'],
    ['31 Mei 2000', '2000-05-31'],
    ['17 Agustus 1945', '1945-08-17'],
    ['17 Agt 1945', '1945-08-17'],
    ['25 Desember 1999', '1999-12-25'],
    ['1 Nopember 1990', '1990-11-01'],
    ['29 Februari 2024', '2024-02-29'],
    ['29 Februari 2023', null],
    ['2023-02-29', null],
    ['31/04/2020', null],
    ['2020-13-01', null],
    ['10/31/2020', null], // month-first is not a form agencies use
    ['9 Oktobre 1985', null],
    ['', null],
    ['kemarin', null],
    [new Date(Date.UTC(1985, 9, 9)), '1985-10-09'],
    [new Date(Number.NaN), null],
    [31329, '1985-10-09'], // Excel serial
    [44927, '2023-01-01'],
    [60, null], // Excel's fictitious 1900-02-29
    [61, '1900-03-01'],
    [-5, null],
    [null, null],
    [{}, null],
  ])('parses %j as %j', (input, expected) => {
    expect(parseDate(input)).toBe(expected);
  });
});

describe('ageInYears', () => {
  it.each([
    ['2008-02-29', '2026-02-28', 17],
    ['2008-02-29', '2026-03-01', 18],
    ['2008-02-29', '2028-02-29', 20],
    ['1985-03-12', '2026-03-11', 40],
    ['1985-03-12', '2026-03-12', 41],
  ])('age of someone born %s on %s is %i', (birth, on, age) => {
    expect(ageInYears(birth, on)).toBe(age);
  });
});

describe('isCalendarDate (the as_of check)', () => {
  it.each<[unknown, boolean]>([
    ['2026-11-27', true],
    ['2024-02-29', true],
    ['1900-01-01', true],
    ['9999-12-31', true],
    ['2026-02-30', false],
    ['2023-02-29', false],
    ['1900-02-29', false], // 1900 is not a leap year
    ['2026-13-01', false],
    ['2026-00-10', false],
    ['2026-04-31', false],
    ['2026-01-00', false],
    ['0000-01-01', false],
    ['1899-12-31', false],
    ['2026-1-9', false], // only the canonical form
    ['2026-11-27T00:00:00Z', false],
    [' 2026-11-27', false],
    ['２０２６-11-27', false],
    ['', false],
    [20261127, false],
    [null, false],
  ])('%j → %j', (input, expected) => {
    expect(isCalendarDate(input)).toBe(expected);
  });
});
