import type { FetchErrorCode, FindingCode, RejectionCode } from './findings.ts';

type Code = RejectionCode | FindingCode | FetchErrorCode;

const DESCRIPTIONS: Record<Code, string> = {
  // Rejections (R1, R3, R4, R6)
  nip_invalid:
    'NIP tidak sah: harus 18 digit, berisi tanggal lahir (umur minimal 18 tahun, lahir 1940 atau sesudahnya), TMT CPNS yang sah, dan kode jenis kelamin 1 atau 2',
  level_unknown: 'Jenjang tidak dikenal: gunakan Ahli Pertama, Ahli Muda, Ahli Madya atau Ahli Utama',
  grade_unknown: 'Golongan/ruang tidak dikenal: gunakan bentuk seperti III/a sampai IV/e',
  region_mismatch: 'Kode wilayah berbeda dengan wilayah instansi pengirim data',
  region_unknown: 'Kode wilayah tidak terdapat dalam daftar kode wilayah Kemendagri',
  field_missing: 'Kolom wajib kosong atau isinya tidak dapat digunakan',
  date_invalid: 'Tanggal tidak dapat dibaca: gunakan YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY atau "9 Oktober 1985"',
  date_in_future: 'Tanggal (TMT Jabatan) melewati tanggal acuan',
  field_too_long: 'Isian lebih dari 500 karakter',
  // Findings
  record_rejected: 'Baris data ditolak dan tidak masuk register',
  gender_mismatch: 'Jenis kelamin tidak sesuai dengan digit ke-15 NIP; yang dipakai adalah nilai dari NIP',
  birthdate_mismatch: 'Tanggal lahir tidak sesuai dengan NIP; yang dipakai adalah tanggal dari NIP',
  grade_level_mismatch: 'Golongan/ruang berada di luar rentang jenjangnya; data tetap diterima',
  duplicate_in_source:
    'NIP yang sama muncul lebih dari sekali dengan isi berbeda; yang dipakai adalah TMT Jabatan terbaru',
  mass_removal_held:
    'Pengiriman ini akan menghapus banyak pejabat sekaligus; penghapusan ditahan sampai dikonfirmasi admin atau terulang pada pengiriman berikutnya',
  source_failed: 'Data dari sumber gagal diambil atau dibaca; data sebelumnya tetap dipublikasikan',
  source_stale: 'Sumber data tidak berhasil diambil selama 3 hari atau lebih',
  transferred_officer_still_listed:
    'Pejabat sudah pindah (mutasi) ke instansi lain tetapi masih tercantum aktif di instansi ini',
  conflicting_assignment: 'Pejabat yang sama dilaporkan aktif oleh dua instansi dengan TMT Jabatan yang sama',
  past_retirement_age: 'Pejabat aktif telah mencapai batas usia pensiun jenjangnya',
  formation_missing: 'Wilayah memiliki pejabat aktif tetapi belum ada data formasi untuk tahun ini',
  over_formation: 'Jumlah pejabat aktif melebihi formasi yang disetujui',
  need_differs_from_declared:
    'Kebutuhan yang dilaporkan berbeda jauh dari kebutuhan hasil hitung beban kerja (Permenaker 10/2023)',
  workload_missing: 'Wilayah memiliki pejabat aktif tetapi belum mengirim data beban kerja untuk tahun ini',
  appointed_without_formation: 'Pejabat diangkat pada tahun yang tidak memiliki formasi untuk jenjangnya',
  appointed_beyond_formation: 'Pejabat diangkat melebihi formasi yang disetujui untuk tahun dan jenjangnya',
  retirement_wave: 'Banyak pejabat di wilayah ini akan mencapai batas usia pensiun dalam 3 tahun',
  delivery_failed: 'Pemberitahuan gagal dikirim',
  // Fetch errors
  payload_too_large: 'Berkas atau data terlalu besar (melebihi batas ukuran atau jumlah baris)',
  http_error: 'Server sumber menjawab dengan kesalahan HTTP',
  timeout: 'Server sumber tidak menjawab dalam batas waktu',
  network_error: 'Koneksi ke server sumber gagal',
  invalid_response: 'Jawaban server sumber bukan JSON dengan bentuk yang benar',
  unauthorized: 'Token akses ditolak oleh server sumber',
  unparseable_file: 'Berkas tidak dapat dibaca sebagai CSV, XLSX atau JSON',
  no_upload: 'Belum ada berkas yang diunggah untuk sumber ini',
};

/**
 * A plain Bahasa Indonesia explanation of a rule or error code, for provincial data officers
 * (used by `pksync check`, the API and e-mail digests).
 *
 * @example describeCode('nip_invalid') // 'NIP tidak sah: …'
 */
export function describeCode(code: Code): string {
  return DESCRIPTIONS[code] ?? code;
}
