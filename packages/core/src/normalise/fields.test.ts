import { describe, expect, it } from 'vitest';
import { normaliseEmail, normaliseGender, normaliseLevel, normalisePhone, normaliseStatus } from './fields.ts';
import { normaliseName } from './name.ts';
import { cleanText, isTooLong } from './text.ts';

describe('field normalisers', () => {
  it.each([
    ['L', 'L'],
    ['P', 'P'],
    ['l', 'L'],
    ['Laki-laki', 'L'],
    ['LAKI-LAKI', 'L'],
    ['laki laki', 'L'],
    ['Perempuan', 'P'],
    ['M', 'L'],
    ['F', 'P'],
    [' p ', 'P'],
    ['X', null],
    ['', null],
  ])('gender %j → %j', (input, expected) => expect(normaliseGender(input)).toBe(expected));

  it.each([
    ['ahli_pertama', 'ahli_pertama'],
    ['AHLI_MUDA', 'ahli_muda'],
    ['Ahli Madya', 'ahli_madya'],
    ['ahli  utama', 'ahli_utama'],
    ['Pengantar Kerja Ahli Pertama', 'ahli_pertama'],
    ['pengantar kerja ahli muda', 'ahli_muda'],
    ['Jabatan Fungsional Pengantar Kerja Ahli Madya', 'ahli_madya'],
    ['Pertama', 'ahli_pertama'],
    ['Muda', 'ahli_muda'],
    ['Madya', 'ahli_madya'],
    ['Utama', 'ahli_utama'],
    ['ahli-muda', 'ahli_muda'],
    ['Terampil', null],
    ['Penyuluh', null],
    ['Ahli', null],
    ['Muda Madya', null],
    ['', null],
  ])('level %j → %j', (input, expected) => expect(normaliseLevel(input)).toBe(expected));

  it.each([
    ['aktif', 'aktif'],
    ['Aktif', 'aktif'],
    ['CUTI', 'cuti'],
    ['Tugas Belajar', 'tugas_belajar'],
    ['tugas  belajar', 'tugas_belajar'],
    ['Diberhentikan Sementara', 'diberhentikan_sementara'],
    ['pensiun', 'pensiun'],
    ['Meninggal', 'meninggal'],
    ['Meninggal Dunia', 'meninggal'],
    ['mutasi keluar', 'mutasi_keluar'],
    ['mutasi-keluar', 'mutasi_keluar'],
    ['hidup', null],
    ['', null],
  ])('status %j → %j', (input, expected) => expect(normaliseStatus(input)).toBe(expected));

  it.each([
    ['081234567890', '+6281234567890'],
    ['0812-3456-7890', '+6281234567890'],
    ['+62 812 3456 7890', '+6281234567890'],
    ['62812345678', '+62812345678'],
    ['(0711) 123456', '+62711123456'],
    ['81234567890', '+6281234567890'],
    ['12345', null],
    ['telp kantor', null],
    ['+1 555 123 4567', null],
  ])('phone %j → %j', (input, expected) => expect(normalisePhone(input)).toBe(expected));

  it.each([
    ['budi@example.go.id', 'budi@example.go.id'],
    [' budi@example.go.id ', 'budi@example.go.id'],
    ['budi at example', null],
    ['<b>@x.y', null],
  ])('email %j → %j', (input, expected) => expect(normaliseEmail(input)).toBe(expected));

  it.each([
    ['Budi Santoso', 'budi santoso'],
    ['Dr. Budi Santoso, S.E., M.M.', 'budi santoso'],
    ['  BUDI   SANTOSO ', 'budi santoso'],
    ['Prof. Dr. Ir. H. Ahmad Dahlan, M.Sc.', 'ahmad dahlan'],
    ['Hj. Siti Aminah S.Pd. M.Pd.', 'siti aminah'],
    ['Drs. Rudi Hartono SE MM', 'rudi hartono'],
    ['dr. Rina', 'rina'],
    ['Budi Ma', 'budi ma'],
    ['Désirée Françoise', 'desiree francoise'],
    ['Dr.', 'dr.'],
  ])('name %j → %j', (input, expected) => expect(normaliseName(input)).toBe(expected));

  it('removes NUL bytes and trims, and keeps everything else', () => {
    expect(cleanText('  a\u0000b  ')).toBe('ab');
    expect(cleanText('=1+1')).toBe('=1+1');
    expect(cleanText('\u202Eabc')).toBe('\u202Eabc');
  });

  it('counts characters, not UTF-16 units, for the 500-character limit', () => {
    expect(isTooLong('a'.repeat(500))).toBe(false);
    expect(isTooLong('a'.repeat(501))).toBe(true);
    expect(isTooLong('😀'.repeat(500))).toBe(false);
    expect(isTooLong('😀'.repeat(501))).toBe(true);
  });
});
