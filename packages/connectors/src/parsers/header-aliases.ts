/**
 * Which table a header belongs to: `agency` is exchange format v1's officers and formations (one
 * alias table, as before), `workloads` the workload table of needs-planning-v1.md. They have their
 * own aliases because a word may mean another field in the other table: `Jumlah` is a workload's
 * `volume`, but an officers file's `Jumlah` column is an unknown field of its own, not a volume.
 */
export type HeaderDataset = 'agency' | 'workloads';

/**
 * Header names → exchange-format field names (exchange-format-v1.md § csv/xlsx transports),
 * matched case- and space-insensitively. The spec's field names themselves (`jenis_kelamin`,
 * `tmt_jabatan`) are accepted too, as are formation headers.
 */
const AGENCY_ALIASES: Record<string, readonly string[]> = {
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

/** WorkloadRecord headers (needs-planning-v1.md § Workload data). */
const WORKLOAD_ALIASES: Record<string, readonly string[]> = {
  kode_wilayah: ['kode wilayah', 'kode wil'],
  tahun: ['tahun'],
  kegiatan: ['kegiatan', 'jenis kegiatan', 'kode kegiatan'],
  volume: ['volume', 'jumlah'],
  cakupan_kecamatan: ['cakupan kecamatan', 'kecamatan', 'jumlah kecamatan'],
  kompleksitas: ['kompleksitas'],
};

/**
 * Header text reduced for matching: lower case, with white space, `_`, `.` and `:` dropped, so
 * `Nama Lengkap`, `NAMA_LENGKAP`, `NamaLengkap` and `Tgl. Lahir` all match their alias.
 */
export function headerKey(header: string): string {
  return header.toLowerCase().replace(/[\s_.:\uFEFF]+/g, '');
}

function byKey(aliases: Record<string, readonly string[]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [field, list] of Object.entries(aliases)) {
    // The field's own name (`cakupan_kecamatan`) is accepted like its aliases.
    for (const a of [field, ...list]) m.set(headerKey(a), field);
  }
  return m;
}

const BY_KEY: Record<HeaderDataset, Map<string, string>> = {
  agency: byKey(AGENCY_ALIASES),
  workloads: byKey(WORKLOAD_ALIASES),
};

/** The field a header names in `dataset`'s table, or null when it is not one the spec knows. */
export function fieldForHeader(header: string, dataset: HeaderDataset = 'agency'): string | null {
  return BY_KEY[dataset].get(headerKey(header)) ?? null;
}

/**
 * Maps a header row to record keys: a known header becomes its field name; an unknown (or repeated)
 * one keeps its own trimmed text (the core counts it as an unknown field); a blank one becomes
 * `kolom N`.
 */
export function mapHeader(
  headers: readonly string[],
  dataset: HeaderDataset = 'agency',
): { keys: string[]; known: number } {
  const used = new Set<string>();
  let known = 0;
  const keys = headers.map((h, i) => {
    const field = fieldForHeader(h, dataset);
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

/** True when mapped keys (through the workload aliases) describe a workload table (activity and volume, no NIP). */
export function looksLikeWorkloads(keys: readonly string[]): boolean {
  return !keys.includes('nip') && keys.includes('kegiatan') && keys.includes('volume');
}

/**
 * The table a header row (as written) belongs to, for a file that holds one table (a CSV or a
 * JSON document): `workloads` when, mapped through the workload aliases, it names an activity
 * and a volume and no NIP; otherwise `agency` (officers or formations).
 */
export function datasetOfHeader(headers: readonly string[]): HeaderDataset {
  // The NIP is an officers' column: looked for through the officers' aliases (`NIP Baru`).
  if (headers.some((h) => fieldForHeader(h) === 'nip')) return 'agency';
  return looksLikeWorkloads(mapHeader(headers, 'workloads').keys) ? 'workloads' : 'agency';
}
