/**
 * Writes the sample agency files, one per field quirk (run: `npx tsx packages/connectors/samples/make-samples.ts`).
 * The outputs are committed; the parser tests read them.
 */
import { writeFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

const dir = new URL('./', import.meta.url);
const out = (name: string, data: string | Buffer) => writeFileSync(new URL(name, dir), data);

const header = 'NIP,Nama,Jenis Kelamin,Tanggal Lahir,Jenjang,Golongan,Unit Kerja,Kode Wilayah,TMT Jabatan,Status,Email,Telepon';
const rows = [
  '198503122010011003,"Dr. Budi Santoso, S.E., M.M.",L,1985-03-12,ahli_muda,III/c,Dinas Tenaga Kerja Kota Palembang,16.71,2020-01-01,aktif,budi@example.go.id,0812-3456-7890',
  '19900215 201503 2 001,Siti Aminah,Perempuan,15-02-1990,Pengantar Kerja Ahli Pertama,IIIa,Dinas Tenaga Kerja Kota Palembang,1671,01/03/2019,Aktif,,+62 811 234 567',
];
out('officers-utf8-bom.csv', `\uFEFF${header}\r\n${rows.join('\r\n')}\r\n`);

out(
  'officers-semicolon.csv',
  [
    'NIP Baru;Nama Lengkap;L/P;Tgl Lahir;Jabatan;Gol/Ruang;Satuan Kerja;Kode Wil;TMT;Status Kepegawaian;Surel;No HP;Catatan',
    '198503122010011003;BUDI SANTOSO;M;12 Maret 1985;Madya;IV/a;Disnaker Palembang;16.71;9 Oktober 2021;Aktif;;081234567890;pindahan',
    '198709092012122002;Rina Marlina, S.Psi.;F;9 September 1987;ahli muda;3-d;Disnaker Palembang;;1 Januari 2022;Tugas Belajar;rina@example.go.id;;',
    // Broken on purpose: a NIP that is not 18 digits, an unknown level.
    '1985031220100110;Andi;L;12/03/1985;Penyuluh;III/b;Disnaker Palembang;16.71;2020-01-01;aktif;;;',
  ].join('\n') + '\n',
);

out(
  'officers-windows-1252.csv',
  iconv.encode(
    [
      header,
      '198503122010011003,José Ma’ruf Ünal,L,1985-03-12,Ahli Muda,III/d,Disnaker Palembang,16.71,2020-01-01,aktif,,',
      '199001012015032001,Désirée Françoise,P,1990-01-01,Ahli Pertama,III/b,Disnaker Palembang,16.71,2020-01-01,cuti,,',
    ].join('\r\n') + '\r\n',
    'win1252',
  ),
);

out(
  'formasi.csv',
  ['Kode Wilayah,Tahun,Jenjang,Kebutuhan,Formasi', '16.71,2026,Ahli Pertama,10,6', '16.71,2026,Ahli Muda,5,3', '16.71,2026,Ahli Utama,-1,0'].join(
    '\n',
  ) + '\n',
);

out(
  'hostile.csv',
  [
    header,
    `198503122010011003,"Budi ""The Boss"" <script>alert(1)</script>",L,,ahli_muda,III/c,"Robert'); DROP TABLE officers;--",16.71,2020-01-01,aktif,,`,
    `199001012015032001,"=HYPERLINK(""http://evil"",""klik"") 😀 \u202Eنص",P,,ahli_pertama,III/a,"@SUM(A1)\u0000 +1 -1",16.71,2020-01-01,aktif,,`,
  ].join('\n') + '\n',
);

out('broken-quote.csv', `${header}\n198503122010011003,"Budi Santoso,L,1985-03-12\n`);

out(
  'officers.json',
  JSON.stringify(
    {
      data: [
        {
          nip: '198503122010011003',
          nama: 'Budi Santoso',
          jenis_kelamin: 'L',
          jenjang: 'ahli_muda',
          golongan: 'III/c',
          unit_kerja: 'Disnaker Palembang',
          tmt_jabatan: '2020-01-01',
          status: 'aktif',
          updated_at: '2026-11-01T08:00:00+07:00',
        },
        // A NIP sent as a JSON number: the point of this sample is the lost precision.
        // eslint-disable-next-line no-loss-of-precision
        { nip: 198503122010011003, nama: 'Budi Santoso', jenjang: 'ahli_muda', golongan: 'III/c', unit_kerja: 'X', tmt_jabatan: '2020-01-01', status: 'aktif' },
      ],
    },
    null,
    2,
  ),
);

const wb = new ExcelJS.Workbook();
wb.creator = 'pksync samples';
const sheet = wb.addWorksheet('Pejabat');
sheet.addRow(['NIP', 'Nama', 'JK', 'Tanggal Lahir', 'Jenjang', 'Golongan', 'Unit Kerja', 'Kode Wilayah', 'TMT Jabatan', 'Status', 'Telepon']);
sheet.addRow(['198503122010011003', 'Budi Santoso', 'L', new Date(Date.UTC(1985, 2, 12)), 'Ahli Muda', 'III/c', 'Disnaker Palembang', '16.71', new Date(Date.UTC(2020, 0, 1)), 'Aktif', 81234567890]);
// A NIP typed as a number: Excel keeps 15 significant digits, the NIP is lost.
// eslint-disable-next-line no-loss-of-precision
sheet.addRow([198503122010011003, 'Numeric Nip', 'L', new Date(Date.UTC(1985, 2, 12)), 'Ahli Muda', 'III/c', 'Disnaker Palembang', 1671, new Date(Date.UTC(2020, 0, 1)), 'Aktif', null]);
// 29 February birth date and a TMT as an Excel serial number (44927 = 2023-01-01).
sheet.addRow(['198402292010012001', 'Dewi Kabisat', 'P', new Date(Date.UTC(1984, 1, 29)), 'Ahli Pertama', 'III/b', 'Disnaker Palembang', null, 44927, 'cuti', null]);
for (const r of [2, 3, 4]) {
  sheet.getRow(r).getCell(4).numFmt = 'dd/mm/yyyy';
  sheet.getRow(r).getCell(9).numFmt = 'dd/mm/yyyy';
}
const formasi = wb.addWorksheet('formasi');
formasi.addRow(['Kode Wilayah', 'Tahun', 'Jenjang', 'Kebutuhan', 'Formasi']);
formasi.addRow(['16.71', 2026, 'Ahli Pertama', 10, 6]);
formasi.addRow(['16.71', 2026, 'Ahli Muda', 5, 3]);
await wb.xlsx.writeFile(new URL('officers.xlsx', dir).pathname);

// Workload (needs-planning-v1.md): the headers as agencies write them, and odd rows on purpose.
const workloadCsv = [
  'Kode Wilayah;Tahun;Jenis Kegiatan;Jumlah;Jumlah Kecamatan;Kompleksitas',
  '16.71;2026;pendaftaran_pencari_kerja;5200;18;sedang',
  '16.71;2026;Penempatan AKAD;140;;',
  '16.71;2026;bursa_kerja;3;;',
  // An activity the parameter set does not know, a bad year, a volume that is not a whole number.
  '16.71;2026;senam_pagi;12;;',
  '16.71;26;verifikasi_lowongan;300;;',
  '16.71;2026;penempatan_akl;12,5;;',
].join('\r\n');
out('beban-kerja.csv', `${workloadCsv}\r\n`);

const wbWorkload = new ExcelJS.Workbook();
wbWorkload.creator = 'pksync samples';
wbWorkload.created = new Date(Date.UTC(2026, 0, 1));
wbWorkload.modified = new Date(Date.UTC(2026, 0, 1));
const pejabat = wbWorkload.addWorksheet('pejabat');
pejabat.addRow(['NIP', 'Nama', 'JK', 'Jenjang', 'Golongan', 'Unit Kerja', 'TMT Jabatan', 'Status']);
pejabat.addRow(['198503122010011003', 'Budi Santoso', 'L', 'Ahli Muda', 'III/c', 'Disnaker Palembang', '2020-01-01', 'aktif']);
const formasiSheet = wbWorkload.addWorksheet('Formasi');
formasiSheet.addRow(['Tahun', 'Jenjang', 'Kebutuhan', 'Formasi']);
formasiSheet.addRow([2026, 'Ahli Muda', 2, 1]);
// The sheet name in another case, and the headers as a spreadsheet user types them.
const beban = wbWorkload.addWorksheet('Beban_Kerja');
beban.addRow(['Tahun', 'Kegiatan', 'Volume', 'Cakupan Kecamatan', 'Kompleksitas']);
beban.addRow([2026, 'pendaftaran_pencari_kerja', 4000, 18, 'Tinggi']);
beban.addRow([2026, 'penempatan_akad', 90, null, null]);
beban.addRow([2026, 'tidak_dikenal', 1, null, null]);
await wbWorkload.xlsx.writeFile(new URL('beban-kerja.xlsx', dir).pathname);
