import type { FindingCode } from '@pksync/core';

/**
 * How a provincial data officer fixes each finding, in Bahasa Indonesia (R15 digests). Written
 * for someone who edits the agency's Excel/CSV file or API data, not for developers.
 */
export const FIX_HINTS: Record<FindingCode, string> = {
  record_rejected:
    'Perbaiki baris yang disebutkan pada berkas/data instansi (NIP 18 digit, jenjang, golongan, kode wilayah, tanggal dengan format YYYY-MM-DD, kolom wajib terisi), lalu kirim ulang atau unggah kembali berkasnya. Gunakan "pksync check" atau POST /check untuk memeriksa berkas sebelum diunggah.',
  gender_mismatch:
    'Samakan kolom jenis_kelamin dengan digit ke-15 NIP (1 = laki-laki, 2 = perempuan). Jika NIP yang salah, perbaiki NIP di data kepegawaian.',
  birthdate_mismatch:
    'Samakan tanggal_lahir dengan 8 digit pertama NIP (TTTTBBHH). Jika NIP yang salah, perbaiki NIP di data kepegawaian.',
  grade_level_mismatch:
    'Periksa golongan/ruang dan jenjang jabatan pejabat ini; perbarui salah satunya sesuai SK terakhir.',
  duplicate_in_source:
    'Hapus baris ganda untuk NIP yang sama pada berkas/data instansi; sisakan satu baris dengan data terbaru.',
  mass_removal_held:
    'Jika pejabat memang keluar dari instansi, minta admin Kementerian mengonfirmasi penghapusan atau kirim data yang sama sekali lagi. Jika tidak, kirim ulang data lengkap seluruh pejabat.',
  source_failed:
    'Pastikan layanan API atau berkas instansi dapat diakses, token masih berlaku, dan berkas dalam format CSV/XLSX/JSON yang benar; lalu minta sinkronisasi ulang.',
  source_stale:
    'Sumber belum berhasil diambil selama 3 hari. Periksa alamat, token dan ketersediaan layanan instansi, atau unggah berkas terbaru.',
  transferred_officer_still_listed:
    'Pejabat sudah tercatat di instansi baru (mutasi). Ubah statusnya menjadi mutasi_keluar atau hapus dari data instansi lama.',
  conflicting_assignment:
    'Dua instansi melaporkan pejabat yang sama aktif dengan TMT Jabatan sama. Koordinasikan dengan instansi lain dan perbaiki TMT Jabatan atau status di salah satu instansi.',
  past_retirement_age:
    'Periksa apakah pejabat sudah pensiun; jika ya, ubah statusnya menjadi pensiun. Jika tanggal lahir/NIP salah, perbaiki datanya.',
  formation_missing:
    'Kirim data formasi (formasi dan kebutuhan per jenjang) untuk tahun berjalan bersama data pejabat.',
  over_formation:
    'Periksa formasi yang disetujui dan status pejabat aktif; perbarui formasi atau status pejabat yang sudah tidak aktif.',
  need_differs_from_declared:
    'Hitung ulang kebutuhan dari beban kerja sesuai Permenaker 10/2023 (lihat halaman Kebutuhan & formasi), atau perbaiki volume kegiatan pada data beban kerja; lalu kirim ulang data formasi dan beban kerja.',
  workload_missing:
    'Kirim data beban kerja (lembar/berkas beban_kerja: kegiatan, volume, cakupan kecamatan, kompleksitas) untuk tahun berjalan bersama data pejabat.',
  appointed_without_formation:
    'Pastikan formasi untuk tahun dan jenjang pengangkatan sudah disetujui dan dikirim dalam data formasi; jika TMT Jabatan salah, perbaiki TMT Jabatan pejabat.',
  appointed_beyond_formation:
    'Jumlah pengangkatan melebihi formasi tahun itu. Periksa formasi yang disetujui, TMT Jabatan dan status pejabat; perbarui formasi atau data pejabat yang keliru.',
  retirement_wave:
    'Banyak pejabat akan pensiun dalam 3 tahun. Rencanakan usulan formasi dan pengangkatan pengganti sejak sekarang (lihat proyeksi kekurangan di halaman Kebutuhan & formasi).',
  delivery_failed:
    'Periksa alamat e-mail atau URL webhook provinsi dan server penerimanya; perbaiki kontak dengan "pksync contacts".',
};

/** The fix hint for a code, or a generic one for a code this version does not know. */
export function fixHint(code: string): string {
  return (
    (FIX_HINTS as Record<string, string>)[code] ??
    'Periksa data pada sumber yang disebutkan dan kirim ulang data yang sudah diperbaiki.'
  );
}
