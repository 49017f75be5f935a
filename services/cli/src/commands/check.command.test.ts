import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jakartaToday, runCheck } from './check.command.ts';

const sample = (name: string) => new URL(`../../../../packages/connectors/samples/${name}`, import.meta.url).pathname;
const opts = { region: '1671', asOf: '2026-11-27' };

describe('pksync check', () => {
  it('exits 0 and says the file is ready when nothing is rejected', async () => {
    const r = await runCheck(sample('officers-utf8-bom.csv'), opts);
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('Diterima: 2 · Ditolak: 0');
    expect(r.output).toContain('utf-8-bom');
    expect(r.output).toContain('siap diunggah');
  });

  it('exits 1 and lists each rejection with its row, reasons in Bahasa Indonesia and the code', async () => {
    const r = await runCheck(sample('officers-semicolon.csv'), opts);
    expect(r.exitCode).toBe(1);
    expect(r.output).toContain('Baris data: 3');
    expect(r.output).toContain('Ditolak: 1');
    expect(r.output).toContain('Kolom tidak dikenal (diabaikan): Catatan');
    expect(r.output).toMatch(
      /Baris 4 \(NIP 1985031220100110\):\n {4}- NIP: NIP harus 18 digit angka\..*\[nip_invalid\]/,
    );
    expect(r.output).toMatch(/- Jenjang: "Penyuluh" bukan jenjang.*\[level_unknown\]/);
  });

  it('reports warnings by code, with their rows', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pksync-check-'));
    const file = path.join(dir, 'warn.csv');
    await writeFile(
      file,
      [
        'NIP,Nama,JK,Jenjang,Golongan,Unit Kerja,TMT,Status',
        '198503122010011003,Budi,P,Ahli Pertama,III/c,Disnaker,2020-01-01,aktif',
        '199001012015032001,Siti,P,Ahli Pertama,III/d,Disnaker,2020-01-01,aktif',
      ].join('\n'),
    );
    const r = await runCheck(file, opts);
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/2 × .*\[grade_level_mismatch\]/);
    expect(r.output).toMatch(/1 × .*\[gender_mismatch\]/);
    expect(r.output).toContain('Baris 2 (NIP 198503122010011003) [gender_mismatch]');
  });

  it('lists at most 20 warning rows per code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pksync-check-'));
    const file = path.join(dir, 'many.csv');
    const rows = Array.from(
      { length: 25 },
      (_, i) => `1985031220100110${String(i).padStart(2, '0')},Budi,P,Ahli Muda,III/c,Disnaker,2020-01-01,aktif`,
    );
    await writeFile(file, ['NIP,Nama,JK,Jenjang,Golongan,Unit Kerja,TMT,Status', ...rows].join('\n'));
    const r = await runCheck(file, opts);
    expect(r.output).toMatch(/25 × .*\[gender_mismatch\]/);
    expect(r.output.match(/^ {4}Baris \d+ .*\[gender_mismatch\]$/gm)).toHaveLength(20);
    expect(r.output).toContain('… dan 5 baris lain [gender_mismatch]');
  });

  it('prints the full result with --json', async () => {
    const r = await runCheck(sample('officers.xlsx'), { ...opts, json: true });
    expect(r.exitCode).toBe(1);
    const parsed = JSON.parse(r.output);
    expect(parsed).toMatchObject({ format: 'xlsx', region: '16.71', asOf: '2026-11-27' });
    expect(parsed.accepted).toHaveLength(2);
    expect(parsed.formations).toHaveLength(2);
    expect(parsed.rejected[0]).toMatchObject({ row: 3, codes: ['nip_invalid'] });
    expect(parsed.stats).toMatchObject({ rows: 5, accepted: 4, rejected: 1 });
  });

  it('exits 2 when the file cannot be read, a region is unknown or the date is bad', async () => {
    const broken = await runCheck(sample('broken-quote.csv'), opts);
    expect(broken.exitCode).toBe(2);
    expect(broken.output).toContain('[unparseable_file]');
    expect((await runCheck('/nonexistent.csv', opts)).exitCode).toBe(2);
    expect((await runCheck(sample('officers.xlsx'), { ...opts, maxRows: 1 })).output).toContain('payload_too_large');
    expect((await runCheck(sample('officers.xlsx'), { region: '99.99' })).exitCode).toBe(2);
    expect((await runCheck(sample('officers.xlsx'), { region: '16.71', asOf: '27-11-2026' })).exitCode).toBe(2);
  });

  it.each(['2026-02-30', '0000-01-01', '2026-13-01', '1899-12-31'])(
    'exits 2 naming the date for --as-of %s, which has the form but is no calendar date in 1900–9999',
    async (asOf) => {
      const r = await runCheck(sample('officers-utf8-bom.csv'), { region: '16.71', asOf });
      expect(r.exitCode).toBe(2);
      expect(r.output).toBe(`Tanggal acuan harus tanggal kalender yang ada, YYYY-MM-DD, tahun 1900–9999: ${asOf}`);
    },
  );

  it('escapes control and bidi characters in the terminal output', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pksync-check-'));
    const file = path.join(dir, 'hostile.csv');
    await writeFile(
      file,
      'NIP,Nama,Jenjang,Golongan,Unit Kerja,TMT,Status\n198503122010011003,Budi,\u202eMuda\u001b[31m,III/c,X,2020-01-01,aktif\n',
    );
    const r = await runCheck(file, opts);
    expect(r.exitCode).toBe(1);
    expect(r.output.includes('\u202e') || r.output.includes('\u001b')).toBe(false);
    expect(r.output).toContain('"\\u202eMuda\\u001b[31m" bukan jenjang');
    expect((await runCheck(sample('hostile.csv'), opts)).exitCode).toBe(0);
  });

  it("checks a workbook's beban_kerja sheet, saying its activity codes were not checked without a database", async () => {
    const r = await runCheck(sample('beban-kerja.xlsx'), opts);
    expect(r.exitCode).toBe(0);
    expect(r.output).toContain('lembar pejabat + Formasi + Beban_Kerja');
    expect(r.output).toContain('Baris data: 5 (pejabat 1, formasi 1, beban kerja 3) · Diterima: 5 · Ditolak: 0');
    expect(r.output).toContain(
      'Parameter perhitungan kebutuhan tidak dapat dibaca dari basis data pksync (tanpa basis data): kode kegiatan beban kerja tidak diperiksa.',
    );
    // A file without workload says nothing of it.
    const plain = await runCheck(sample('officers-utf8-bom.csv'), opts);
    expect(plain.output).toContain('Baris data: 2 (pejabat 2, formasi 0) ·');
    expect(plain.output).not.toMatch(/beban kerja|Parameter/i);
  });

  it('checks a --workloads file with the officers file, listing its rejected rows apart, in Bahasa Indonesia', async () => {
    const r = await runCheck(sample('officers-utf8-bom.csv'), { ...opts, workloads: sample('beban-kerja.csv') });
    expect(r.exitCode).toBe(1);
    expect(r.output).toContain('Berkas beban kerja: beban-kerja.csv (CSV, pemisah ";", utf-8)');
    expect(r.output).toContain('(pejabat 2, formasi 0, beban kerja 6)');
    expect(r.output).toMatch(
      / {2}Beban kerja \(berkas beban-kerja\.csv\):\n {4}Baris 6:\n {6}- Tahun: "26" bukan tahun 4 digit\..*\[date_invalid\]/,
    );
    expect(r.output).toMatch(/ {4}Baris 7:\n {6}- Volume: "12,5" bukan bilangan bulat ≥ 0\..*\[field_missing\]/);
    const json = JSON.parse(
      (await runCheck(sample('officers-utf8-bom.csv'), { ...opts, json: true, workloads: sample('beban-kerja.csv') }))
        .output,
    );
    expect(json).toMatchObject({
      workloadsFile: 'beban-kerja.csv',
      workloadsFormat: 'csv',
      needParameters: { version: null, activityCodesChecked: false },
      stats: { workloadRows: 6 },
    });
    expect(json.workloads).toHaveLength(4);
  });

  it('exits 2 naming the --workloads file when it cannot be read', async () => {
    const r = await runCheck(sample('officers-utf8-bom.csv'), { ...opts, workloads: sample('broken-quote.csv') });
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/^Berkas beban kerja broken-quote\.csv tidak dapat dibaca: .*\[unparseable_file\]$/);
    const missing = await runCheck(sample('officers-utf8-bom.csv'), { ...opts, workloads: '/nonexistent.csv' });
    expect(missing.output).toContain('Berkas beban kerja nonexistent.csv tidak dapat dibaca');
  });

  it('defaults as_of to the calendar date in Asia/Jakarta', () => {
    expect(jakartaToday(new Date('2026-11-27T16:59:59Z'))).toBe('2026-11-27');
    expect(jakartaToday(new Date('2026-11-27T17:00:00Z'))).toBe('2026-11-28');
  });
});
