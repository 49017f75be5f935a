/**
 * Header names → exchange-format field names (exchange-format-v1.md § csv/xlsx transports),
 * matched case- and space-insensitively. The spec's field names themselves (`jenis_kelamin`,
 * `tmt_jabatan`) are accepted too, as are formation headers.
 */
const ALIASES: Record<string, readonly string[]> = {
  nip: ['nip', 'nip baru', 'no nip'],
  nama: ['nama', 'nama lengkap', 'nama pegawai'],
  jenis_kelamin: ['jenis kelamin', 'jk', 'l/p'],
  tanggal_lahir: ['tanggal lahir', 'tgl lahir'],
  jenjang: ['jenjang', 'jenjang jabatan', 'jabatan'],
  golongan: ['golongan', 'gol', 'gol/ruang', 'pangkat/gol'],
  unit_kerja: ['unit kerja', 'satuan kerja', 'instansi'],
  kode_wilayah: ['kode wilayah', 'kode wil'],
  tmt_jabatan: ['tmt jabatan', 'tmt'],
  status: ['status', 'status kepegawaian'],
  email: ['email', 'surel', 'e-mail'],
  telepon: ['telepon', 'no hp', 'hp'],
  updated_at: ['updated at', 'diperbarui'],
  tahun: ['tahun'],
  kebutuhan: ['kebutuhan', 'kebutuhan abk', 'abk'],
  formasi: ['formasi', 'formasi disetujui'],
};

/**
 * Header text reduced for matching: lower case, with white space, `_`, `.` and `:` dropped, so
 * `Nama Lengkap`, `NAMA_LENGKAP`, `NamaLengkap` and `Tgl. Lahir` all match their alias.
 */
export function headerKey(header: string): string {
  return header.toLowerCase().replace(/[\s_.:\uFEFF]+/g, '');
}

const BY_KEY = new Map<string, string>();
for (const [field, aliases] of Object.entries(ALIASES)) {
  for (const a of aliases) BY_KEY.set(headerKey(a), field);
}

/** The field a header names, or null when it is not one the spec knows. */
export function fieldForHeader(header: string): string | null {
  return BY_KEY.get(headerKey(header)) ?? null;
}

/**
 * Maps a header row to record keys: a known header becomes its field name; an unknown (or repeated)
 * one keeps its own trimmed text (the core counts it as an unknown field); a blank one becomes
 * `kolom N`.
 */
export function mapHeader(headers: readonly string[]): { keys: string[]; known: number } {
  const used = new Set<string>();
  let known = 0;
  const keys = headers.map((h, i) => {
    const field = fieldForHeader(h);
    if (field && !used.has(field)) {
      used.add(field);
      known++;
      return field;
    }
    const own = h.replaceAll('\u0000', '').trim();
    return own === '' ? `kolom ${i + 1}` : own;
  });
  return { keys, known };
}

/** True when mapped keys describe a formation table (year and counts, no NIP). */
export function looksLikeFormations(keys: readonly string[]): boolean {
  return !keys.includes('nip') && keys.includes('tahun') && (keys.includes('kebutuhan') || keys.includes('formasi'));
}
