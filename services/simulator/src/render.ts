import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { OFFICER_FIELDS } from '@pksync/core';
import { renderOfficer, type FormationFields, type OfficerFields, type SimOfficer } from './officers.ts';
import type { WorkloadFields } from './planning.ts';
import type { AgencyStyle } from './world.ts';

type FieldKey = keyof OfficerFields;
// The simulated files carry the OfficerRecord fields except `updated_at`, in the spec's order.
const FILE_FIELDS: readonly FieldKey[] = OFFICER_FIELDS.filter((f): f is FieldKey => f !== 'updated_at');
/** Header spellings seen in the field (exchange-format-v1.md alias table), one set per agency. */
const HEADER_VARIANTS: readonly (readonly string[])[] = [
  [
    'NIP',
    'Nama',
    'Jenis Kelamin',
    'Tanggal Lahir',
    'Jenjang',
    'Golongan',
    'Unit Kerja',
    'Kode Wilayah',
    'TMT Jabatan',
    'Status',
    'Email',
    'Telepon',
  ],
  [
    'NIP Baru',
    'Nama Lengkap',
    'JK',
    'Tgl Lahir',
    'Jenjang Jabatan',
    'Gol/Ruang',
    'Satuan Kerja',
    'Kode Wil',
    'TMT',
    'Status Kepegawaian',
    'Surel',
    'No HP',
  ],
  [
    'No NIP',
    'NAMA PEGAWAI',
    'L/P',
    'tanggal lahir',
    'Jabatan',
    'Pangkat/Gol',
    'Instansi',
    'Kode  Wilayah',
    'TMT Jabatan',
    'STATUS',
    'Email',
    'HP',
  ],
];
const FORMATION_HEADERS = ['Kode Wilayah', 'Tahun', 'Jenjang', 'Kebutuhan', 'Formasi'];
/** Workload headers as agencies write them (needs-planning-v1.md aliases), one set per header variant. */
const WORKLOAD_HEADERS: readonly (readonly string[])[] = [
  ['Kode Wilayah', 'Tahun', 'Kegiatan', 'Volume', 'Cakupan Kecamatan', 'Kompleksitas'],
  ['Kode Wil', 'Tahun', 'Jenis Kegiatan', 'Jumlah', 'Jumlah Kecamatan', 'Kompleksitas'],
  ['KODE WILAYAH', 'TAHUN', 'KEGIATAN', 'VOLUME', 'Kecamatan', 'KOMPLEKSITAS'],
];
const WORKLOAD_COLUMNS = ['kode_wilayah', 'tahun', 'kegiatan', 'volume', 'cakupan_kecamatan', 'kompleksitas'] as const;

const workloadHeaders = (style: AgencyStyle) => WORKLOAD_HEADERS[style.headerVariant % WORKLOAD_HEADERS.length]!;

function headersOf(style: AgencyStyle): string[] {
  const h = [...HEADER_VARIANTS[style.headerVariant % HEADER_VARIANTS.length]!];
  // Variant 2 agencies add a column of their own: unknown extra fields are ignored (and counted).
  if (style.headerVariant === 2) h.push('Keterangan');
  return h;
}

function csvCell(v: string, sep: string): string {
  return /["\r\n]/.test(v) || v.includes(sep) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

function encode(text: string, style: AgencyStyle): Buffer {
  // Windows-1252 agencies: characters outside Latin-1 become '?', as Excel does on export.
  if (style.latin1) return Buffer.from(text.replace(/[\u0100-\u{10ffff}]/gu, '?'), 'latin1');
  return Buffer.from(text, 'utf8');
}

/**
 * An officers CSV, generated lazily from `rows` (an iterator over listing rows; nulls skipped),
 * in the agency's separator, BOM and encoding. Chunks of ≈64 KB keep throughput up without
 * holding the file.
 */
export async function* officersCsv(rows: Iterable<SimOfficer | null>, style: AgencyStyle): AsyncGenerator<Buffer> {
  const sep = style.separator;
  const headers = headersOf(style);
  let buf = (style.bom && !style.latin1 ? '\uFEFF' : '') + headers.map((h) => csvCell(h, sep)).join(sep) + '\r\n';
  for (const o of rows) {
    if (!o) continue;
    const f = renderOfficer(o, style);
    const cells = FILE_FIELDS.map((k) => csvCell(f[k] ?? '', sep));
    if (style.headerVariant === 2) cells.push('');
    buf += cells.join(sep) + '\r\n';
    if (buf.length > 65_536) {
      yield encode(buf, style);
      buf = '';
    }
  }
  if (buf) yield encode(buf, style);
}

export function formationsCsv(rows: readonly FormationFields[], style: AgencyStyle): Buffer {
  const sep = style.separator;
  const lines = [FORMATION_HEADERS.join(sep)];
  for (const r of rows) lines.push([r.kode_wilayah, r.tahun, r.jenjang, r.kebutuhan, r.formasi].join(sep));
  return encode((style.bom && !style.latin1 ? '\uFEFF' : '') + lines.join('\r\n') + '\r\n', style);
}

/** A workload CSV (`workloads_url`), in the agency's header variant, separator, BOM and encoding. */
export function workloadsCsv(rows: readonly WorkloadFields[], style: AgencyStyle): Buffer {
  const sep = style.separator;
  const lines = [workloadHeaders(style).join(sep)];
  for (const r of rows)
    lines.push(WORKLOAD_COLUMNS.map((k) => csvCell(r[k] === null ? '' : String(r[k]), sep)).join(sep));
  return encode((style.bom && !style.latin1 ? '\uFEFF' : '') + lines.join('\r\n') + '\r\n', style);
}

/** A workload record as an `api` agency returns it: the fields it has. */
export function workloadRecord(r: WorkloadFields): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
}

function excelDate(text: string): Date | string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return text;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? text : d;
}

/**
 * A workbook with sheets `pejabat`, `formasi` and, when the agency sends workload (`workloads`
 * not null), `beban_kerja` (`Beban_Kerja` for header variant 1: the sheet name's case does not
 * matter), written with ExcelJS's streaming writer (rows are committed as they are produced, not
 * held). NIPs are text cells, except the seeded `nip_scientific` defect, written as a number cell
 * (the digits an Excel user loses).
 *
 * `stamp` is the workbook's created/modified time and every zip entry's time: the same rows give
 * the same bytes (as a file re-served unchanged would), so raw-byte hashes and ETags are stable.
 */
export function officersXlsx(
  rows: Iterable<SimOfficer | null>,
  formations: readonly FormationFields[],
  style: AgencyStyle,
  stamp: Date = new Date(Date.UTC(2026, 0, 1)),
  workloads: readonly WorkloadFields[] | null = null,
): Readable {
  const out = new PassThrough();
  // ExcelJS stamps each zip entry with the current time (two of them inside its constructor) and
  // its archiver takes no default date: pin the clock while it is built, then every later entry.
  const wb = atFixedTime(
    stamp,
    () => new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false }),
  );
  wb.created = stamp;
  wb.modified = stamp;
  const zip = (wb as unknown as { zip: { append(src: unknown, data: { name: string; date?: Date }): unknown } }).zip;
  const append = zip.append.bind(zip);
  zip.append = (src, data) => append(src, { ...data, date: stamp });
  const run = async () => {
    const ws = wb.addWorksheet('pejabat');
    ws.addRow(headersOf(style)).commit();
    let n = 0;
    for (const o of rows) {
      if (!o) continue;
      // Real Excel dates need the canonical value, not the agency's text form.
      const f = renderOfficer(o, style.excelDates ? { ...style, dateStyle: 'iso' } : style);
      const cells: (string | number | Date | null)[] = FILE_FIELDS.map((k) => f[k]);
      if (o.defect === 'nip_scientific') cells[0] = Number(o.nip);
      if (style.excelDates) {
        cells[3] = excelDate(f.tanggal_lahir);
        cells[8] = excelDate(f.tmt_jabatan);
      }
      ws.addRow(cells).commit();
      // Let the socket drain now and then: the writer itself ignores back-pressure.
      if (++n % 2000 === 0 && out.writableNeedDrain) await new Promise((r) => out.once('drain', r));
    }
    await ws.commit();
    const fs = wb.addWorksheet('formasi');
    fs.addRow(FORMATION_HEADERS).commit();
    for (const r of formations) fs.addRow([r.kode_wilayah, r.tahun, r.jenjang, r.kebutuhan, r.formasi]).commit();
    await fs.commit();
    if (workloads) {
      const ws = wb.addWorksheet(style.headerVariant === 1 ? 'Beban_Kerja' : 'beban_kerja');
      ws.addRow([...workloadHeaders(style)]).commit();
      for (const r of workloads) ws.addRow(WORKLOAD_COLUMNS.map((k) => r[k])).commit();
      await ws.commit();
    }
    await wb.commit();
  };
  run().catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  return out;
}

/** Runs a synchronous `make` with `new Date()` / `Date.now()` answering `stamp`. */
function atFixedTime<T>(stamp: Date, make: () => T): T {
  const RealDate = Date;
  class FixedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(stamp.getTime());
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return stamp.getTime();
    }
  }
  globalThis.Date = FixedDate as DateConstructor;
  try {
    return make();
  } finally {
    globalThis.Date = RealDate;
  }
}
