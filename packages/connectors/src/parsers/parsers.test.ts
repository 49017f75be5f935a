import { createReadStream } from 'node:fs';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { activityCodes, parseNeedParameters, SnapshotNormaliser, type NeedParameters } from '@pksync/core';
import { shippedNeedParameters } from '@pksync/reference';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { binaryContentError, parseAgencyFile, sniffFormat } from './agency-file.parser.ts';
import { detectDelimiter, parseCsv, type CsvInfo } from './csv.parser.ts';
import { detectEncoding } from './encoding.ts';
import { FileFormatError, noDataRows, type ParsedRow } from './file-format-error.ts';
import { datasetOfHeader, fieldForHeader, mapHeader } from './header-aliases.ts';
import { parseJsonText } from './json.parser.ts';
import { parseXlsx } from './xlsx.parser.ts';

const sample = (name: string) => new URL(`../../samples/${name}`, import.meta.url).pathname;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function csvRows(name: string, opts = {}): Promise<{ rows: ParsedRow<string>[]; info: CsvInfo | undefined }> {
  let info: CsvInfo | undefined;
  const rows = await collect(parseCsv(createReadStream(sample(name)), { ...opts, onHeader: (i) => (info = i) }));
  return { rows, info };
}

async function tempFile(name: string, data: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pksync-parsers-'));
  const file = path.join(dir, name);
  await writeFile(file, data);
  return file;
}

async function expectFileError(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(FileFormatError);
  await expect(p).rejects.toMatchObject({ code });
}

describe('header aliases', () => {
  it.each([
    ['NIP', 'nip'],
    ['NIP Baru', 'nip'],
    ['no  nip', 'nip'],
    ['Nama Lengkap', 'nama'],
    ['Nama Pegawai', 'nama'],
    ['JK', 'jenis_kelamin'],
    ['L/P', 'jenis_kelamin'],
    ['L / P', 'jenis_kelamin'],
    ['jenis_kelamin', 'jenis_kelamin'],
    ['Tgl. Lahir', 'tanggal_lahir'],
    ['Jenjang Jabatan', 'jenjang'],
    ['Jabatan', 'jenjang'],
    ['Gol/Ruang', 'golongan'],
    ['Pangkat/Gol', 'golongan'],
    ['Satuan Kerja', 'unit_kerja'],
    ['INSTANSI', 'unit_kerja'],
    ['Kode Wil', 'kode_wilayah'],
    ['TMT', 'tmt_jabatan'],
    ['tmt_jabatan', 'tmt_jabatan'],
    ['Status Kepegawaian', 'status'],
    ['Surel', 'email'],
    ['No HP', 'telepon'],
    ['HP', 'telepon'],
    ['Tahun', 'tahun'],
    ['TMTJabatan', 'tmt_jabatan'],
    ['NAMA_LENGKAP', 'nama'],
    ['No. HP', 'telepon'],
    ['\uFEFFNIP', 'nip'],
    ['Catatan', null],
  ])('%j → %j', (header, field) => expect(fieldForHeader(header)).toBe(field));

  it.each([
    ['Kegiatan', 'kegiatan'],
    ['Jenis Kegiatan', 'kegiatan'],
    ['JENIS_KEGIATAN', 'kegiatan'],
    ['Volume', 'volume'],
    ['Jumlah', 'volume'],
    ['Kecamatan', 'cakupan_kecamatan'],
    ['Jumlah Kecamatan', 'cakupan_kecamatan'],
    ['Cakupan  Kecamatan', 'cakupan_kecamatan'],
    ['cakupan_kecamatan', 'cakupan_kecamatan'],
    ['Kompleksitas', 'kompleksitas'],
    ['Tahun', 'tahun'],
    ['Kode Wilayah', 'kode_wilayah'],
    ['NIP', null],
    ['Jenjang', null],
  ])('workload header %j → %j', (header, field) => expect(fieldForHeader(header, 'workloads')).toBe(field));

  it('keeps the workload aliases to the workload table: an officers file has no volume or district', () => {
    expect(fieldForHeader('Jumlah')).toBeNull();
    expect(fieldForHeader('Kecamatan')).toBeNull();
    expect(fieldForHeader('Kegiatan')).toBeNull();
    expect(datasetOfHeader(['Tahun', 'Jenis Kegiatan', 'Jumlah'])).toBe('workloads');
    // A NIP column makes it an officers table whatever else it has; formations are not workload.
    expect(datasetOfHeader(['NIP', 'Kegiatan', 'Volume'])).toBe('agency');
    expect(datasetOfHeader(['Tahun', 'Jenjang', 'Kebutuhan', 'Formasi'])).toBe('agency');
  });

  it('keeps unknown and repeated headers under their own name', () => {
    expect(mapHeader(['NIP', 'Catatan', 'NIP Baru', ''])).toEqual({
      keys: ['nip', 'Catatan', 'NIP Baru', 'kolom 4'],
      known: 1,
    });
  });
});

describe('detection', () => {
  it('detects encodings', () => {
    expect(detectEncoding(Buffer.from('\uFEFFnip', 'utf8'), true)).toBe('utf-8-bom');
    expect(detectEncoding(Buffer.from('José', 'utf8'), true)).toBe('utf-8');
    expect(detectEncoding(Buffer.from([0x4a, 0x6f, 0x73, 0xe9]), true)).toBe('windows-1252');
    // A UTF-8 character cut at the end of a partial sample is still UTF-8.
    expect(detectEncoding(Buffer.from('Jos\u00e9', 'utf8').subarray(0, 4), false)).toBe('utf-8');
  });

  it('detects separators', () => {
    expect(detectDelimiter('NIP,Nama,JK\n1;2;3')).toBe(',');
    expect(detectDelimiter('NIP;Nama;JK\n1,2,3')).toBe(';');
    expect(detectDelimiter('NIP;"Nama, Lengkap";JK')).toBe(';');
    expect(detectDelimiter('NIP\tNama\tJK')).toBe('\t');
  });

  it('sniffs formats from content', () => {
    expect(sniffFormat(Buffer.from('PK\u0003\u0004'))).toBe('xlsx');
    expect(sniffFormat(Buffer.from(' \n[{"a":1}]'))).toBe('json');
    expect(sniffFormat(Buffer.from('\uFEFF{"data":[]}'))).toBe('json');
    expect(sniffFormat(Buffer.from('NIP,Nama'))).toBe('csv');
    expect(() => sniffFormat(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]))).toThrow(FileFormatError);
  });
});

describe('parseCsv on real sample files', () => {
  it('reads UTF-8 with BOM, comma separated, with CRLF', async () => {
    const { rows, info } = await csvRows('officers-utf8-bom.csv');
    expect(info).toMatchObject({ encoding: 'utf-8-bom', delimiter: ',' });
    expect(info?.keys[0]).toBe('nip');
    expect(rows.map((r) => r.row)).toEqual([2, 3]);
    expect(rows[0]?.record).toMatchObject({ nip: '198503122010011003', nama: 'Dr. Budi Santoso, S.E., M.M.' });
    expect(rows[1]?.record.nip).toBe('19900215 201503 2 001');
  });

  it('reads `;`-separated files with alias headers and an unknown column', async () => {
    const { rows, info } = await csvRows('officers-semicolon.csv');
    expect(info).toMatchObject({ encoding: 'utf-8', delimiter: ';' });
    expect(info?.keys).toEqual([
      'nip',
      'nama',
      'jenis_kelamin',
      'tanggal_lahir',
      'jenjang',
      'golongan',
      'unit_kerja',
      'kode_wilayah',
      'tmt_jabatan',
      'status',
      'email',
      'telepon',
      'Catatan',
    ]);
    expect(rows).toHaveLength(3);
    expect(rows[0]?.record).toMatchObject({ tanggal_lahir: '12 Maret 1985', Catatan: 'pindahan' });
  });

  it('decodes Windows-1252 names', async () => {
    const { rows, info } = await csvRows('officers-windows-1252.csv');
    expect(info?.encoding).toBe('windows-1252');
    expect(rows.map((r) => r.record.nama)).toEqual(['José Ma’ruf Ünal', 'Désirée Françoise']);
  });

  it('passes hostile text through as data', async () => {
    const { rows } = await csvRows('hostile.csv');
    expect(rows[0]?.record.nama).toBe('Budi "The Boss" <script>alert(1)</script>');
    expect(rows[0]?.record.unit_kerja).toBe("Robert'); DROP TABLE officers;--");
    expect(rows[1]?.record.nama).toBe('=HYPERLINK("http://evil","klik") 😀 \u202Eنص');
    expect(rows[1]?.record.unit_kerja).toBe('@SUM(A1)\u0000 +1 -1');
    const s = new SnapshotNormaliser({ sourceRegion: '16.71', asOf: '2026-11-27' });
    for (const r of rows) s.addOfficer(r.record, r.row);
    const result = s.finish();
    expect(result.accepted.map((o) => o.unit)).toEqual(["Robert'); DROP TABLE officers;--", '@SUM(A1) +1 -1']);
  });

  it("honours Excel's `sep=` line", async () => {
    const rows = await collect(parseCsv(Readable.from([Buffer.from('sep=;\r\nNIP;Nama\r\n1,5;Budi, S.E.\r\n')])));
    expect(rows).toEqual([{ row: 3, record: { nip: '1,5', nama: 'Budi, S.E.' } }]);
  });

  it('fails a file with broken quoting as unparseable_file', async () => {
    await expectFileError(csvRows('broken-quote.csv'), 'unparseable_file');
  });

  it('names the row of a quote closed in the middle of a field', async () => {
    const bytes = Buffer.from('NIP,Nama\n1,Budi\n2,"Siti" Aminah\n3,Ani\n');
    const rows: ParsedRow<string>[] = [];
    const error = await (async () => {
      for await (const r of parseCsv(Readable.from([bytes]))) rows.push(r);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileFormatError);
    expect((error as FileFormatError).code).toBe('unparseable_file');
    expect((error as FileFormatError).message).toContain('row 3');
    expect(rows.map((r) => r.row)).toEqual([2]);
  });

  it('stops on a quote never closed once a row grows past 4 MB, without reading the rest', async () => {
    let chunksRead = 0;
    async function* chunks() {
      yield Buffer.from('NIP,Nama\n1,"Budi\n');
      for (let i = 0; i < 1000; i++) {
        chunksRead++;
        yield Buffer.alloc(64 * 1024, 'a');
      }
    }
    await expectFileError(collect(parseCsv(chunks())), 'unparseable_file');
    expect(chunksRead).toBeLessThan(100);
  });

  it('reads CRLF rows with quoted last fields, quotes inside unquoted text, and CR-only files', async () => {
    const crlf = 'NIP,Nama,Unit Kerja\r\n1,Budi "Boss" Santoso,"Dinas, Kota"\r\n\r\n2,"Siti ""S"" Aminah",Disnaker\r\n';
    // Every split point, so a chunk may end anywhere: in a quote, after one, between \r and \n.
    for (let at = 1; at < crlf.length; at++) {
      const rows = await collect(
        parseCsv(Readable.from([Buffer.from(crlf.slice(0, at)), Buffer.from(crlf.slice(at))])),
      );
      expect(rows).toEqual([
        { row: 2, record: { nip: '1', nama: 'Budi "Boss" Santoso', unit_kerja: 'Dinas, Kota' } },
        { row: 4, record: { nip: '2', nama: 'Siti "S" Aminah', unit_kerja: 'Disnaker' } },
      ]);
    }
    const closedThenSpaces = await collect(
      parseCsv(Readable.from([Buffer.from('NIP,Nama\n1,"Budi"  '), Buffer.from('\n2,Ani')])),
    );
    expect(closedThenSpaces.map((r) => r.record.nama)).toEqual(['Budi', 'Ani']);
    const cr = await collect(parseCsv(Readable.from([Buffer.from('NIP;Nama\r1;Budi\r2;"Ani\rB"\r')])));
    expect(cr).toEqual([
      { row: 2, record: { nip: '1', nama: 'Budi' } },
      { row: 3, record: { nip: '2', nama: 'Ani\rB' } },
    ]);
  });

  it('fails a file without a recognisable header, and an empty file', async () => {
    await expectFileError(collect(parseCsv(Readable.from([Buffer.from('a,b,c\n1,2,3\n')]))), 'unparseable_file');
    await expectFileError(collect(parseCsv(Readable.from([]))), 'unparseable_file');
  });

  it('enforces maxRows and maxBytes with payload_too_large', async () => {
    await expectFileError(csvRows('officers-semicolon.csv', { maxRows: 2 }), 'payload_too_large');
    await expectFileError(csvRows('officers-semicolon.csv', { maxBytes: 100 }), 'payload_too_large');
    // The limits are inclusive: a file of exactly 3 rows and `size` bytes is read whole.
    const { size } = await stat(sample('officers-semicolon.csv'));
    const atLimit = await csvRows('officers-semicolon.csv', { maxRows: 3, maxBytes: size });
    expect(atLimit.rows.map((r) => r.row)).toEqual([2, 3, 4]);
    expect(atLimit.rows.map((r) => r.record.nama)).toEqual(['BUDI SANTOSO', 'Rina Marlina, S.Psi.', 'Andi']);
    await expectFileError(csvRows('officers-semicolon.csv', { maxBytes: size - 1 }), 'payload_too_large');
  });

  it('streams large input chunk by chunk, keeping row numbers through blank lines and quoted newlines', async () => {
    const line = '198503122010011003,"Budi\nSantoso",ahli_muda\n';
    async function* chunks() {
      yield Buffer.from('NIP,Nama,Jenjang\n');
      for (let i = 0; i < 2000; i++) {
        const b = Buffer.from(i === 10 ? `\n${line}` : line);
        // Split mid-record to exercise the streaming decoder and parser.
        yield b.subarray(0, 7);
        yield b.subarray(7);
      }
    }
    const rows = await collect(parseCsv(chunks()));
    expect(rows).toHaveLength(2000);
    expect(rows[0]).toEqual({
      row: 2,
      record: { nip: '198503122010011003', nama: 'Budi\nSantoso', jenjang: 'ahli_muda' },
    });
    expect(rows[10]?.row).toBe(13); // the blank row 12 is skipped, not renumbered
    expect(rows[1999]?.row).toBe(2002);
  });
});

describe('parseXlsx on a real workbook', () => {
  it('reads pejabat and formasi sheets with date cells and a numeric NIP', async () => {
    const t = await parseXlsx(sample('officers.xlsx'));
    expect(t.sheets).toEqual({ officers: 'Pejabat', formations: 'formasi', workloads: null });
    const officers = await collect(t.officers);
    expect(officers.map((o) => o.row)).toEqual([2, 3, 4]);
    expect(officers[0]?.record.nip).toBe('198503122010011003');
    expect(officers[0]?.record.tanggal_lahir).toEqual(new Date(Date.UTC(1985, 2, 12)));
    expect(typeof officers[1]?.record.nip).toBe('number');
    expect(officers[2]?.record.tmt_jabatan).toEqual(new Date(Date.UTC(2023, 0, 1)));
    const formations = await collect(t.formations);
    expect(formations.map((f) => f.record)).toEqual([
      { kode_wilayah: '16.71', tahun: 2026, jenjang: 'Ahli Pertama', kebutuhan: 10, formasi: 6 },
      { kode_wilayah: '16.71', tahun: 2026, jenjang: 'Ahli Muda', kebutuhan: 5, formasi: 3 },
    ]);

    const s = new SnapshotNormaliser({ sourceRegion: '16.71', asOf: '2026-11-27' });
    for (const o of officers) s.addOfficer(o.record, o.row);
    for (const f of formations) s.addFormation(f.record, f.row);
    const result = s.finish();
    expect(result.accepted.map((o) => [o.nip, o.birthDate, o.tmtJabatan, o.phone])).toEqual([
      ['198503122010011003', '1985-03-12', '2020-01-01', '+6281234567890'],
      ['198402292010012001', '1984-02-29', '2023-01-01', null],
    ]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatchObject({ row: 3, codes: ['nip_invalid'], fields: ['nip'] });
    expect(result.rejected[0]?.issues[0]?.detail).toMatch(/angka/);
    expect(result.formations).toHaveLength(2);
  });

  it('fails a file that is not a workbook', async () => {
    const file = await tempFile('bad.xlsx', Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(100, 1)]));
    await expectFileError(parseXlsx(file), 'unparseable_file');
    await expectFileError(parseXlsx(sample('officers.xlsx'), { maxBytes: 1000 }), 'payload_too_large');
    const t = await parseXlsx(sample('officers.xlsx'), { maxRows: 3 });
    await collect(t.officers);
    await expectFileError(collect(t.formations), 'payload_too_large');
  });
});

describe('JSON', () => {
  it('accepts { data: [...] } and a bare array, keeping value types', () => {
    expect(parseJsonText('{"data":[{"NIP":"1","nama":"a"}]}')).toEqual([{ row: 1, record: { nip: '1', nama: 'a' } }]);
    expect(parseJsonText('[{"nip":1}, 5]')).toEqual([
      { row: 1, record: { nip: 1 } },
      { row: 2, record: { nilai: '5' } },
    ]);
  });

  it.each(['not json', '{"rows":[]}', '"x"', 'null'])('fails %j as unparseable_file', (text) => {
    expect(() => parseJsonText(text)).toThrow(FileFormatError);
  });

  it('enforces maxRows', () => {
    expect(() => parseJsonText('[{},{},{}]', { maxRows: 2 })).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }),
    );
  });
});

describe('parseAgencyFile', () => {
  it.each([
    ['officers-utf8-bom.csv', 'csv', 2, 0],
    ['officers-semicolon.csv', 'csv', 3, 0],
    ['formasi.csv', 'csv', 0, 3],
    ['officers.xlsx', 'xlsx', 3, 2],
    ['officers.json', 'json', 2, 0],
  ])('%s: %s with %i officers and %i formations', async (name, format, nOfficers, nFormations) => {
    const f = await parseAgencyFile(sample(name));
    expect(f.format).toBe(format);
    expect(await collect(f.officers)).toHaveLength(nOfficers);
    expect(await collect(f.formations)).toHaveLength(nFormations);
  });

  it('sniffs content, not the file name', async () => {
    const file = await tempFile('data.xlsx', 'NIP;Nama\n198503122010011003;Budi\n');
    const f = await parseAgencyFile(file);
    expect(f.format).toBe('csv');
    expect(await collect(f.officers)).toEqual([{ row: 2, record: { nip: '198503122010011003', nama: 'Budi' } }]);
  });

  it('fails a missing file or a directory as unparseable_file', async () => {
    await expectFileError(parseAgencyFile('/nonexistent/file.csv'), 'unparseable_file');
    await expectFileError(parseAgencyFile(tmpdir()), 'unparseable_file');
  });
});

describe('workload (needs-planning-v1.md): CSV, the beban_kerja sheet, JSON', () => {
  const shipped = parseNeedParameters(shippedNeedParameters()[0]!.document);
  const params = (shipped as { ok: true; parameters: NeedParameters }).parameters;

  it('reads a workload CSV through its aliases and rejects its odd rows with the v1 codes', async () => {
    const f = await parseAgencyFile(sample('beban-kerja.csv'));
    expect(f.csv?.dataset).toBe('workloads');
    expect(f.hasWorkloads).toBe(true);
    expect(await collect(f.officers)).toEqual([]);
    expect(await collect(f.formations)).toEqual([]);
    const rows = await collect(f.workloads);
    expect(rows[0]).toEqual({
      row: 2,
      record: {
        kode_wilayah: '16.71',
        tahun: '2026',
        kegiatan: 'pendaftaran_pencari_kerja',
        volume: '5200',
        cakupan_kecamatan: '18',
        kompleksitas: 'sedang',
      },
    });
    const s = new SnapshotNormaliser({
      sourceRegion: '16.71',
      asOf: '2026-11-27',
      activityCodes: activityCodes(params),
    });
    for (const r of rows) s.addWorkload(r.record, r.row);
    const result = s.finish();
    expect(result.workloads.map((w) => [w.activity, w.volume, w.districts, w.complexity])).toEqual([
      ['pendaftaran_pencari_kerja', 5200, 18, 'sedang'],
      ['penempatan_akad', 140, null, null],
      ['bursa_kerja', 3, null, null],
    ]);
    expect(result.rejected.map((r) => [r.row, r.codes, r.fields])).toEqual([
      [5, ['field_missing'], ['kegiatan']],
      [6, ['date_invalid'], ['tahun']],
      [7, ['field_missing'], ['volume']],
    ]);
    expect(result.rejected[0]!.issues[0]!.detail).toContain('senam_pagi');
    expect(result.stats.workloadRows).toBe(6);
  });

  it('reads the beban_kerja sheet (any case) beside pejabat and formasi, rows counted over every sheet', async () => {
    const t = await parseXlsx(sample('beban-kerja.xlsx'));
    expect(t.sheets).toEqual({ officers: 'pejabat', formations: 'Formasi', workloads: 'Beban_Kerja' });
    expect(await collect(t.officers)).toHaveLength(1);
    expect(await collect(t.formations)).toHaveLength(1);
    expect((await collect(t.workloads)).map((w) => w.record)).toEqual([
      {
        tahun: 2026,
        kegiatan: 'pendaftaran_pencari_kerja',
        volume: 4000,
        cakupan_kecamatan: 18,
        kompleksitas: 'Tinggi',
      },
      { tahun: 2026, kegiatan: 'penempatan_akad', volume: 90 },
      { tahun: 2026, kegiatan: 'tidak_dikenal', volume: 1 },
    ]);
    const limited = await parseXlsx(sample('beban-kerja.xlsx'), { maxRows: 4 });
    await collect(limited.officers);
    await collect(limited.formations);
    await expectFileError(collect(limited.workloads), 'payload_too_large');
    // A workbook without the sheet has no workload; its officers are still the first sheet.
    const plain = await parseAgencyFile(sample('officers.xlsx'));
    expect(plain.hasWorkloads).toBe(false);
    expect(await collect(plain.workloads)).toEqual([]);
  });

  it('never takes a lone beban_kerja sheet for the officers', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('beban kerja').addRows([
      ['Tahun', 'Kegiatan', 'Jumlah'],
      [2026, 'bursa_kerja', 2],
    ]);
    const file = await tempFile('only-workload.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    const f = await parseAgencyFile(file);
    expect(f.sheets).toEqual({ officers: null, formations: null, workloads: 'beban kerja' });
    expect(await collect(f.officers)).toEqual([]);
    expect(await collect(f.workloads)).toEqual([
      { row: 2, record: { tahun: 2026, kegiatan: 'bursa_kerja', volume: 2 } },
    ]);
  });

  it("reads a file as a workload table on request: a CSV whatever its header, a workbook's first sheet", async () => {
    const csv = await tempFile('w.csv', 'Tahun,Kegiatan,Kecamatan\n2026,bursa_kerja,3\n');
    // No volume column: not sniffed as workload, but read as one when asked.
    expect((await parseAgencyFile(csv)).csv?.dataset).toBe('agency');
    const asked = await parseAgencyFile(csv, { table: 'workloads' });
    expect(await collect(asked.workloads)).toEqual([
      { row: 2, record: { tahun: '2026', kegiatan: 'bursa_kerja', cakupan_kecamatan: '3' } },
    ]);
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Data 2026').addRows([
      ['Tahun', 'Jenis Kegiatan', 'Volume'],
      [2026, 'penempatan_akl', 12],
    ]);
    const xlsx = await tempFile('w.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    const book = await parseAgencyFile(xlsx, { table: 'workloads' });
    expect(book.sheets).toEqual({ officers: null, formations: null, workloads: 'Data 2026' });
    expect(await collect(book.officers)).toEqual([]);
    expect(await collect(book.workloads)).toEqual([
      { row: 2, record: { tahun: 2026, kegiatan: 'penempatan_akl', volume: 12 } },
    ]);
  });

  it('tells a workload JSON document from its first record, as a formations one', async () => {
    const doc = JSON.stringify({ data: [{ Tahun: 2026, Kegiatan: 'bursa_kerja', Jumlah: 2 }] });
    const f = await parseAgencyFile(Buffer.from(doc));
    expect(f.hasWorkloads).toBe(true);
    expect(await collect(f.workloads)).toEqual([
      { row: 1, record: { tahun: 2026, kegiatan: 'bursa_kerja', volume: 2 } },
    ]);
    expect(parseJsonText('[{"nip":"1","Jumlah":3}]')).toEqual([{ row: 1, record: { nip: '1', Jumlah: 3 } }]);
  });
});

describe('binary content (the rule of the parser and of the API upload sniffing)', () => {
  const binary = (b: Buffer) => binaryContentError(b)?.userMessage ?? null;

  it('refuses NUL-filled files, NULs in the header line, dense NULs and known signatures', () => {
    expect(binary(Buffer.alloc(4096))).toMatch(/data biner/);
    expect(binary(Buffer.from([1, 2, 0, 4, 0, 6, 7, 0]))).toMatch(/data biner/);
    expect(binary(Buffer.from('NIP,Na\u0000ma\n1,Budi\n'))).toMatch(/data biner/);
    const dense = Buffer.from(`NIP,Nama\n${'1,\u0000\n'.repeat(30)}`.padEnd(2048, 'x'));
    expect(binary(dense)).toMatch(/data biner/);
    expect(binary(Buffer.from('%PDF-1.7\n'))).toMatch(/PDF/);
    expect(binary(Buffer.from('89504e470d0a1a0a', 'hex'))).toMatch(/PNG/);
  });

  it('lets text through, a stray NUL in a cell included (exchange format § Limits removes it)', () => {
    expect(binary(Buffer.from('NIP,Nama\n198503122010011003,Bu\u0000di\n'))).toBeNull();
    expect(binary(Buffer.from('\uFEFFNIP;Nama\n'))).toBeNull();
    expect(binary(Buffer.from('\ufffeN\u0000I\u0000P\u0000', 'utf16le'))).toBeNull(); // UTF-16 with BOM
    expect(binary(Buffer.from('PK\u0003\u0004\u0000\u0000'))).toBeNull(); // for the workbook reader
    expect(binary(Buffer.alloc(0))).toBeNull();
  });

  it('makes parseAgencyFile refuse a binary file as unparseable, with the same words', async () => {
    const err = await parseAgencyFile(Buffer.alloc(4096)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).code).toBe('unparseable_file');
    expect((err as FileFormatError).userMessage).toBe(binary(Buffer.alloc(4096)));
    expect(noDataRows().code).toBe('unparseable_file');
  });
});
